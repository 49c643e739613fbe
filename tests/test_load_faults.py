"""The load fault matrix: each seeded fault that shows only in a stream of messages (``load_only``)
makes a short `conformance load` against the reference NSW not held, and the checks that fail are
exactly the test purposes the fault declares (its own and ``also``): capacity (spec section 8, the
P rows) is judged by a load run, and this is what proves each of its purposes can fail. The
unfaulted reference holds (tests/test_load.py). Short runs far below the reference's rate."""

from __future__ import annotations

import json

import pytest

from conformance.app.load.session import LoadOptions, run_load
from conformance.app.load.verdict import PURPOSES
from conformance.harness import registry

SHORT = dict(rate=8.0, duration_s=3.0, ramp_s=0.5)
PARTNER_FAULTS = 0.3  # the share of the reference's sends the harness inbox fails (P-03/partner-faults)


def _load_faults() -> list[tuple[str, str]]:
    return [
        (key, fault.name)
        for key in ("efdx", "rcpx")
        for fault in registry.get(key).faults()
        if fault.load_only
    ]


@pytest.mark.parametrize(("profile_key", "fault_name"), _load_faults())
def test_a_load_fault_fails_exactly_the_purposes_it_declares(tmp_path, profile_key, fault_name):
    profile = registry.get(profile_key)
    fault = profile.fault(fault_name)
    share = PARTNER_FAULTS if "P-03/partner-faults" in (fault.purpose, *fault.also) else None
    code, folder = run_load(
        LoadOptions(
            report_dir=tmp_path,
            live=False,
            profile=profile,
            reference_fault=fault_name,
            gateway_faults=share,
            seed=7,
            **SHORT,
        )
    )
    results = json.loads((folder / "results.json").read_text())
    checks = results["load"]["checks"]
    failed = {check["purpose"] for check in checks if not check["held"] and not check["inconclusive"]}
    assert (code, results["verdict"]) == (1, "not-held"), checks
    assert failed == {fault.purpose, *fault.also}, (checks, results["load"]["notes"])


def test_every_capacity_purpose_has_a_load_fault_in_each_pack():
    for key in ("efdx", "rcpx"):
        proven = {
            purpose
            for fault in registry.get(key).faults()
            if fault.load_only
            for purpose in (fault.purpose, *fault.also)
        }
        assert proven == set(PURPOSES), key
