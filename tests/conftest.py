"""Shared fixtures for the harness's own tests: the test PKI, a reference NSW, a partner inbox."""

from __future__ import annotations

import os
import shutil

import pytest

from conformance.family.inbox import HarnessInbox
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

FAST_RETRIES = (0.05, 0.1, 0.2)
# tests/data holds a profile pack whose suite tests a candidate, not the harness: never collected here.
collect_ignore = ["data"]


def require_tool(name: str, package: str | None = None) -> str:
    """The path of a Debian tool the tests use (from ``package``, by default of its own name):
    skipped where missing, but a failure under CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed (apt-get install {package or name})")
    return path


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.load()


@pytest.fixture
def partner_inbox(pki):
    """SG's inbox, played by the harness: receives what the reference NSW (KH) sends."""
    with HarnessInbox("SG", pki=pki, dialect=EFDX) as inbox:
        yield inbox


@pytest.fixture
def start_reference(tmp_path, partner_inbox):
    """Start KH's reference NSW (fresh SQLite file) with SG's inbox as peer; stopped after the test."""
    started: list[RunningReference] = []

    def start(**options) -> RunningReference:
        options.setdefault("peers", {"SG": partner_inbox.url})
        options.setdefault("retry_schedule", FAST_RETRIES)
        options.setdefault("outbound_timeout", 2.0)
        options.setdefault("db", tmp_path / f"kh-{len(started)}.sqlite")
        options.setdefault("dialect", EFDX)  # the reference these tests start is EFDX's unless named
        reference = RunningReference(Settings(party="KH", **options)).start()
        started.append(reference)
        return reference

    yield start
    for reference in started:
        reference.stop()
