"""EFDX 1.0 as a pack: the one object the engine is given (entry point ``conformance.profiles``:
``efdx``). Each field points at the module of this pack that does the job; imports happen on use,
so that listing the installed profiles loads no catalogue, PKI or reference NSW.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from conformance.core.profile import Profile, ReferenceSettings
from conformance.profiles.efdx import codes
from conformance.profiles.efdx.catalogue import CAPABILITIES, catalogue


def _load_pki() -> Any:
    from conformance.profiles.efdx.pki import TestPki

    return TestPki.load()


def _make_inbox(party: str, **options: Any) -> Any:
    from conformance.profiles.efdx.inbox import HarnessInbox

    return HarnessInbox(party, **options)


def _build_vector(vector_id: str, day: date, pki: Any, **options: Any) -> bytes:
    from conformance.profiles.efdx.vectors import build_vector

    return build_vector(vector_id, day, pki, **options)


def _new_build(**fields: Any) -> Any:
    from conformance.profiles.efdx.vectors import Build

    return Build(**fields)


def _after_suite(harness: Any) -> None:
    from conformance.profiles.efdx import steps

    steps.second_answers(harness)


def _reference_settings(settings: ReferenceSettings) -> Any:
    from conformance.profiles.efdx.reference.nsw import Settings

    return Settings(
        party=settings.party,
        db=settings.db,
        peers=settings.peers,
        fault=settings.fault,
        retry_schedule=settings.retry_schedule,
        outbound_timeout=settings.outbound_timeout,
        trigger_token=settings.trigger_token,
        tls=settings.tls,
        status_delay=settings.status_delay,
    )


@contextlib.contextmanager
def _start_reference(settings: ReferenceSettings) -> Iterator[Any]:
    from conformance.profiles.efdx.reference.runner import RunningReference

    with RunningReference(_reference_settings(settings)) as reference:
        yield reference


def _serve_reference(
    settings: ReferenceSettings, host: str, port: int, announce: Callable[[str], None]
) -> None:
    from conformance.profiles.efdx.reference.nsw import ReferenceNsw
    from conformance.profiles.efdx.reference.server import run_until_signalled, serve

    nsw = ReferenceNsw(_reference_settings(settings))
    server = serve(nsw, host, port, tls=settings.tls)
    scheme = "https" if settings.tls else "http"
    run_until_signalled(nsw, server, lambda running: announce(f"{scheme}://{host}:{running.port}"))


def _faults() -> Any:
    from conformance.profiles.efdx.reference.faults import FAULTS

    return FAULTS


def _spec_text(item_id: str) -> str:
    from conformance.profiles.efdx.spec import describe

    return describe(item_id)


def _spec_document() -> str:
    from conformance.profiles.efdx.spec import spec_text

    return spec_text()


def _validator(receiver: str) -> Any:
    from conformance.profiles.efdx.offline import validator

    return validator(receiver)


def _build_vectors(day: date, out: Path) -> list[Path]:
    from conformance.profiles.efdx.vectors import build_all

    return build_all(out, day)


def _pki_generator() -> Any:
    from conformance.profiles.efdx.pki_gen import GENERATOR

    return GENERATOR


PROFILE = Profile(
    key="efdx",
    title="EFDX 1.0",
    description="e-Form D (ATIGA certificate of origin) exchange between ASEAN NSWs",
    parties=codes.PARTIES,
    capabilities=CAPABILITIES,
    catalogue=catalogue,
    suite_package="conformance.profiles.efdx.suite",
    trigger_header="X-EFDX-Test-Token",
    inbox_path="/efdx/1/messages",
    trigger_path="/efdx/1/test/trigger",
    load_pki=_load_pki,
    make_inbox=_make_inbox,
    build_vector=_build_vector,
    new_build=_new_build,
    after_suite=_after_suite,
    start_reference=_start_reference,
    serve_reference=_serve_reference,
    reference_party="KH",
    faults=_faults,
    spec_text=_spec_text,
    spec_document=_spec_document,
    namespaces=(codes.ENVELOPE_NS, codes.EFORMD_NS),
    validator=_validator,
    build_vectors=_build_vectors,
    extras={"pki_generator": _pki_generator, "spec_file": "conformance/profiles/efdx/spec/EFDX-1.0.md"},
)
