"""The fault kill matrix, by test purpose: every seeded fault of the reference NSW is caught by the
tests of the purposes it breaks (`conformance run --reference-fault NAME`, restricted to the
purpose's tests, exits 1 and results.json shows fail on the purpose's requirement), and the
requirements that run fails are exactly what the fault declares (``declared``: issue 17, both packs;
a fault says what it may fail besides, and why, in ``may_also``). That the
fault-free reference passes those same tests is shown for every requirement in
tests/test_single_requirement_runs.py. Every purpose has tests and a fault (no gaps).
"""

from __future__ import annotations

import json

import pytest

from conformance.app import coverage
from conformance.app.run import RunOptions, run
from conformance.family.suite.steps import STATUS_DUE
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.profiles.efdx.reference.seeded_faults import FAULTS
from conformance.profiles.rcpx.pack import PROFILE as RCPX
from tests.results_helpers import verdict_of

PROFILES = (EFDX, RCPX)
# A load-only fault (drop-status-per-mille) shows only in a stream of messages, not in the tests of
# its purpose run on their own: tests/test_load_faults.py shows that `conformance load` catches it.
MATRIX = [
    pytest.param(profile, row.purpose.id, fault, id=f"{profile.key}:{row.purpose.id}:{fault}")
    for profile in PROFILES
    for row in coverage.coverage(profile)
    if row.tests  # a purpose without tests is a gap (the test below), not a run of nothing
    for fault in row.faults
    if not profile.fault(fault).load_only
]
KNOWN_GAPS: dict[str, dict[str, str]] = {}  # none: every purpose of both profiles has tests and a fault


def run_purpose(purpose: str, tmp_path, fault: str | None = None, profile=EFDX) -> tuple[int, dict]:
    """Run the tests of ``purpose`` (over mutual TLS for T-05 and G-02: their clients are TLS clients),
    stopping at the first that fails."""
    options = RunOptions(
        reference_fault=fault,
        purposes=(purpose,),
        maxfail=1,
        report_dir=tmp_path,
        live=False,
        tls=purpose.startswith(("T-05/", "G-02/")),
        profile=profile,
    )
    code, folder = run(options)
    return code, json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize(("profile", "purpose", "fault"), MATRIX)
def test_fault_is_caught_by_its_purposes_tests(tmp_path, profile, purpose, fault, capsys):
    requirement = purpose.split("/")[0]
    code, results = run_purpose(purpose, tmp_path, fault, profile)
    assert code == 1, f"{fault} survived: every test of {purpose} passed"
    assert verdict_of(results, requirement, profile.title) == "fail", [
        (t["id"], t["verdict"], t["reason"]) for t in results["tests"]
    ]
    if profile.catalogue().requirement(requirement).level == "MUST":  # a failed SHOULD (T-02) does not decide
        assert results["verdict"] == "not-conformant"
    assert results["sut"]["fault"] == fault
    blamed = {
        row["requirement"]
        for row in results["requirements"]
        if row["verdict"] in ("fail", "error") and row["profile"] == profile.title
    }
    must, may = declared(profile, fault, purpose)
    assert must <= blamed <= must | may, (
        f"{fault} on {purpose}: failed {sorted(blamed)}, declared {sorted(must)}"
        + (f" (and may fail {sorted(may)})" if may else "")
    )


def declared(profile, name: str, purpose: str) -> tuple[set[str], set[str]]:
    """What a run of ``purpose``'s tests must fail with the fault on (issue 17: exactly what the fault
    declares), and what it may fail besides. Must: the purpose's requirement, the fault's ``fails``
    (M-20 among them where the fault makes a receiver answer a wrong code: errata 2) and, for a
    business rule, the status that reports its verdict (``reported_by``). May: the fault's
    ``may_also``, each with its reason where it is declared."""
    catalogue = profile.catalogue()
    fault = profile.fault(name)
    must = {purpose.split("/")[0]} | {catalogue.resolve(rid) or rid for rid in fault.fails}
    may = {catalogue.resolve(rid) or rid for rid in fault.may_also}
    if purpose.split("/")[0] in {req.id for req in catalogue.requirements() if req.error_code == req.id}:
        status_must, status_may = reported_by(catalogue.purpose(purpose).clause)
        must |= status_must
        may |= status_may
    return must, may - must


def reported_by(clause: str) -> tuple[set[str], set[str]]:
    """A business rule's verdict travels in a status, so a wrong one also breaks the requirement of
    that status (A-01: "REJECTED with all failed BR codes as Reason"; A-03, A-04): the one of the
    message kind the purpose's clause is about (steps.STATUS_DUE: A-01 for an IssueCO, A-04 and A-01
    for a ReplaceCO, A-03 for a CancelCO). A clause about a CancelCO and a ReplaceCO fails the status
    of whichever message of the run's first failing test comes first: each is allowed, none due."""
    kinds = [kind for kind in ("ReplaceCO", "CancelCO") if kind in clause] or ["IssueCO"]
    due = [set(STATUS_DUE[kind]) for kind in kinds]
    return (due[0], set()) if len(due) == 1 else (set(), set().union(*due))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.key)
def test_every_fault_breaks_a_purpose_and_every_purpose_has_tests_and_a_fault(profile):
    gaps = {row.purpose.id: row.gap for row in coverage.gaps(profile)}
    assert gaps == KNOWN_GAPS.get(profile.key, {})
    in_matrix = {param.values[2] for param in MATRIX if param.values[0] is profile}
    assert in_matrix == {fault.name for fault in profile.faults() if not fault.load_only}


@pytest.mark.parametrize("fault", ["ignore-crl", "no-retry"])
def test_a_full_run_with_a_fault_fails_its_requirement(tmp_path, fault):
    """The same without a subset: `conformance run --reference-fault NAME` runs everything, exits 1,
    and results.json shows fail on the fault's requirement (one importing, one exporting fault)."""
    code, folder = run(RunOptions(reference_fault=fault, report_dir=tmp_path, live=False, profile=EFDX))
    results = json.loads((folder / "results.json").read_text())
    requirement = next(f.requirement for f in FAULTS if f.name == fault)
    assert code == 1 and results["verdict"] == "not-conformant"
    assert verdict_of(results, requirement) == "fail"
    # every EFDX test ran (the run is partial only in leaving RCPX out: the reference claims it too)
    assert "a subset of the suite was run" not in results["certification"]["reasons"]
    assert len(results["tests"]) > 100
