"""The fault kill matrix, by test purpose: every seeded fault of the reference NSW is caught by the
tests of the purposes it breaks (`conformance run --reference-fault NAME`, restricted to the
purpose's tests, exits 1 and results.json shows fail on the purpose's requirement). That the
fault-free reference passes those same tests is shown for every requirement in
tests/test_single_requirement_runs.py. Every purpose has tests and a fault (no gaps).
"""

from __future__ import annotations

import json
import re

import pytest

from conformance.app import coverage
from conformance.app.run import RunOptions, run
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.profiles.efdx.reference.faults import FAULTS
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
    """Run the tests of ``purpose`` (over mutual TLS for T-05), stopping at the first that fails."""
    options = RunOptions(
        reference_fault=fault,
        purposes=(purpose,),
        maxfail=1,
        report_dir=tmp_path,
        live=False,
        tls=purpose.startswith("T-05/"),
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
    allowed = may_fail(profile, fault)
    assert blamed <= allowed, f"{fault} blamed {sorted(blamed - allowed)} beyond what it breaks"


STATUS_REQUIREMENTS = {"A-01", "A-03", "A-04"}  # the statuses that report a CO message's verdict


def may_fail(profile, name: str) -> set[str]:
    """What a seeded fault may fail, as the spec ties requirements together: the requirements of the
    purposes it breaks and those it declares (``fails``); the requirements their rows name (A-03
    names BR-14, M-22 names M-03..M-15); M-20 (errata 2: a wrong code breaks the clause's
    requirement and M-20, so an M-20 fault may fail any coded requirement); and for a business rule
    or a status, the statuses that report the verdict and the rules whose Reasons they carry (A-01:
    "all failed BR codes as Reason")."""
    catalogue = profile.catalogue()
    fault = profile.fault(name)
    own = {purpose.split("/")[0] for purpose in (fault.purpose, *fault.also)}
    own |= {catalogue.resolve(rid) or rid for rid in getattr(fault, "fails", ())}
    allowed = set(own) | {"M-20"}
    for rid in own:
        allowed |= named_in(catalogue.requirement(rid).text)
    rules = {req.id for req in catalogue.requirements() if req.error_code == req.id}  # BR IDs travel as codes
    if own & (rules | STATUS_REQUIREMENTS):
        allowed |= rules | STATUS_REQUIREMENTS
    if "M-20" in own:
        allowed |= {req.id for req in catalogue.requirements() if req.error_code and req.layer in ("T", "M")}
    return allowed


def named_in(text: str) -> set[str]:
    """Requirement IDs a requirement's text names, ranges (``M-03..M-15``) spelled out."""
    found = set(re.findall(r"\b(?:R?BR|[TMA])-\d\d\b", text))
    for layer, first, last in re.findall(r"\b([TMA])-(\d\d)\.\.[TMA]-(\d\d)\b", text):
        found |= {f"{layer}-{n:02d}" for n in range(int(first), int(last) + 1)}
    return found


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
