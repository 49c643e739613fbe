"""The fault kill matrix: every seeded fault of the reference NSW is caught by the tests of its
requirement (`conformance run --reference-fault NAME --requirement ID` exits 1 and results.json
shows fail on ID), and the fault-free reference passes those same tests.
"""

from __future__ import annotations

import json

import pytest

from conformance.reference.faults import FAULTS
from conformance.run import RunOptions, run

MATRIX = list(FAULTS)


def run_for(requirement: str, tmp_path, fault: str | None = None) -> tuple[int, dict]:
    """Run the tests of ``requirement`` (over mutual TLS for T-05), stopping at the first that fails."""
    options = RunOptions(
        reference_fault=fault,
        requirements=(requirement,),
        maxfail=1,
        report_dir=tmp_path,
        live=False,
        tls=requirement == "T-05",
    )
    code, folder = run(options)
    return code, json.loads((folder / "results.json").read_text())


def verdict_of(results: dict, requirement: str) -> str:
    return next(row["verdict"] for row in results["requirements"] if row["id"] == requirement)


@pytest.mark.parametrize("fault", MATRIX, ids=lambda fault: fault.name)
def test_fault_is_caught_by_its_requirement(tmp_path, fault, capsys):
    code, results = run_for(fault.requirement, tmp_path, fault.name)
    assert code == 1, f"{fault.name} survived: every test of {fault.requirement} passed"
    assert verdict_of(results, fault.requirement) == "fail"
    assert results["verdict"] == "not-conformant"
    assert results["sut"]["fault"] == fault.name


@pytest.mark.parametrize("requirement", sorted({fault.requirement for fault in MATRIX}))
def test_fault_free_reference_passes_the_same_tests(tmp_path, requirement, capsys):
    code, results = run_for(requirement, tmp_path)
    assert code == 0 and verdict_of(results, requirement) == "pass"


def test_every_fault_is_in_the_matrix():
    assert {fault.name for fault in MATRIX} == {fault.name for fault in FAULTS} and len(MATRIX) >= 26


@pytest.mark.parametrize("fault", ["ignore-crl", "no-retry"])
def test_a_full_run_with_a_fault_fails_its_requirement(tmp_path, fault):
    """The same without a subset: `conformance run --reference-fault NAME` runs everything, exits 1,
    and results.json shows fail on the fault's requirement (one importing, one exporting fault)."""
    code, folder = run(RunOptions(reference_fault=fault, report_dir=tmp_path, live=False))
    results = json.loads((folder / "results.json").read_text())
    requirement = next(f.requirement for f in FAULTS if f.name == fault)
    assert code == 1 and results["verdict"] == "not-conformant"
    assert verdict_of(results, requirement) == "fail"
    assert not results["partial"] and len(results["tests"]) > 100
