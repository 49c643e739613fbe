"""junit.xml as CI reads it: valid against the common JUnit schema (properties on the suite, never on
a testcase), and no run that failed to conclude shows green: inconclusive is an error there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from conformance.core.records import TestRecord as Record
from conformance.harness import registry
from conformance.results.results import RunResult, write_junit

SCHEMA = Path(__file__).parent / "data" / "junit-common.xsd"
VERDICTS = {
    "pass": None,
    "fail": "failure",
    "error": "error",
    "inconclusive": "error",
    "not-applicable": "skipped",
}


@pytest.fixture
def junit(tmp_path) -> tuple[etree._ElementTree, RunResult]:
    moment = datetime(2026, 11, 30, 12, tzinfo=UTC)
    records = [
        Record(
            f"test_x.py::test_{verdict.replace('-', '_')}",
            f"test_{verdict}",
            ("M-06", "M-20"),
            verdict=verdict,
            reason=f"why {verdict} \x1b[2K",
            purposes=("M-06/digest",),
        )
        for verdict in VERDICTS
    ]
    result = RunResult(
        sut={}, ics={}, started=moment, finished=moment, records=records, profile=registry.get("efdx")
    )
    path = tmp_path / "junit.xml"
    write_junit(result, path)
    return etree.parse(str(path)), result


def test_junit_is_valid_against_the_common_schema(junit):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(junit[0]), schema.error_log


def test_each_verdict_is_what_ci_counts(junit):
    suite = junit[0].getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    for verdict, element in VERDICTS.items():
        case = cases[f"test_{verdict.replace('-', '_')}"]
        outcomes = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        assert outcomes == ([element] if element else []), verdict
        if element:
            assert case.find(element).get("type") == verdict and "why" in case.find(element).text
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "2", "1")


def test_the_run_verdict_and_requirements_are_suite_properties(junit):
    tree, result = junit
    suite = tree.getroot().find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["verdict"] == result.verdict and properties["profile"] == "EFDX 1.0"
    assert properties["run_verdict"] == result.verdict and properties["profile_key"] == "efdx"
    rows = {row["requirement"]: row["verdict"] for row in result.requirement_rows()}
    assert properties["requirement EFDX 1.0 M-06"] == rows["M-06"]
    assert properties["requirement EFDX 1.0 T-01"] == rows["T-01"]
    assert all(case.find("properties") is None for case in suite.iter("testcase"))
    out = suite.find("testcase").findtext("system-out")
    assert "requirements: EFDX 1.0 M-06, EFDX 1.0 M-20" in out and "purposes: EFDX 1.0 M-06/digest" in out
    assert suite.find("testcase").get("classname") == "efdx/test_x"
