"""No false fails: on the fault-free reference, a run of every single requirement on its own
(`conformance run --requirement ID`, each ID in turn) has no test that fails, errors or is
inconclusive. Judgements made after a test (A-01's "exactly one") blame only what that test names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from conformance.app.run import RunOptions, run
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.profiles.rcpx.pack import PROFILE as RCPX
from tests.results_helpers import requirement_rows

BAD = ("fail", "error", "inconclusive")
EVERY_REQUIREMENT = [
    pytest.param(profile, req.id, id=f"{profile.key}:{req.id}")
    for profile in (EFDX, RCPX)
    for req in profile.catalogue().requirements()
    if req.judged_by == "suite"  # the P rows are a load run's (tests/test_load_faults.py)
]


@pytest.mark.parametrize(("profile", "requirement"), EVERY_REQUIREMENT)
def test_the_fault_free_reference_passes_each_requirement_alone(tmp_path, profile, requirement, capsys):
    options = RunOptions(
        requirements=(requirement,),
        report_dir=tmp_path,
        live=False,
        tls=requirement in ("T-05", "G-02"),  # G-02: the gateway's TLS client
        profile=profile,
    )
    code, folder = run(options)
    results = json.loads((folder / "results.json").read_text())
    bad = [(t["id"], t["verdict"], t["reason"]) for t in results["tests"] if t["verdict"] in BAD]
    assert not bad
    row = requirement_rows(results, profile.title)[requirement]
    assert (code, row["verdict"]) == (0, "pass"), row  # judged, not merely unbroken


@pytest.mark.parametrize("keyword", ["utilisation"])
def test_a_keyword_subset_of_the_utilisation_tests_passes(tmp_path, keyword, capsys):
    """`conformance run -k utilisation --maxfail 1` on the fault-free reference: both pass (A-07's
    notices are not a second A-01 status, section 7)."""
    code, folder = run(RunOptions(keyword=keyword, maxfail=1, report_dir=tmp_path, live=False, profile=EFDX))
    results = json.loads((folder / "results.json").read_text())
    assert [t["verdict"] for t in results["tests"]] == ["pass", "pass"]
    assert code == 0
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit-common.xsd")))
    assert schema.validate(etree.parse(str(folder / "junit.xml"))), schema.error_log


@pytest.mark.parametrize("asked", [["--requirement", "P-01"], ["--layer", "P"]], ids=["P-01", "layer-P"])
def test_the_capacity_rows_are_a_load_runs_to_judge(tmp_path, capsys, asked):
    """Errata 2: a functional run never judges P-01..P-03; asked for them it says where they are
    judged, exit 4, before anything starts."""
    from conformance.app import cli

    assert cli.main(["run", *asked, "--report-dir", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert "judged and certified by a load run (`conformance load`)" in err
    assert not any(tmp_path.iterdir())
