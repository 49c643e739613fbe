"""ctrf.json (Common Test Report Format), as GitHub's and GitLab's report actions read it: the fields
the CTRF schema requires, its status values, a summary that adds up, and no green for a run that
failed or could not conclude."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from conformance.core.records import TestRecord as Record
from conformance.harness import registry
from conformance.results.results import RunResult, write_ctrf

STATUSES = {"passed", "failed", "skipped", "pending", "other"}
EXPECTED = {
    "pass": "passed",
    "fail": "failed",
    "error": "failed",
    "inconclusive": "failed",
    "not-applicable": "skipped",
}


def test_ctrf_has_what_the_schema_requires_and_adds_up(tmp_path):
    started = datetime(2026, 11, 30, 12, tzinfo=UTC)
    records = [
        Record(f"test_x.py::test_{v}", f"test_{v}", ("M-06",), verdict=v, reason=v, duration_s=0.25)
        for v in EXPECTED
    ]
    result = RunResult(
        sut={},
        ics={},
        started=started,
        finished=started + timedelta(seconds=3),
        records=records,
        profile=registry.get("efdx"),
    )
    write_ctrf(result, tmp_path / "ctrf.json")
    document = json.loads((tmp_path / "ctrf.json").read_text(encoding="utf-8"))

    assert document["reportFormat"] == "CTRF" and re.fullmatch(r"\d+\.\d+\.\d+", document["specVersion"])
    results = document["results"]
    assert results["tool"]["name"] == "conformance"
    summary, tests = results["summary"], results["tests"]
    assert set(summary) >= {"tests", "passed", "failed", "pending", "skipped", "other", "start", "stop"}
    assert summary["tests"] == len(tests) == len(EXPECTED)
    assert sum(summary[s] for s in STATUSES) == summary["tests"]
    assert summary["stop"] - summary["start"] == 3000
    for test in tests:
        assert {"name", "status", "duration"} <= set(test) and test["status"] in STATUSES
        assert isinstance(test["duration"], int) and test["tags"] == ["EFDX 1.0 M-06"]
        assert test["name"].startswith("efdx/test_x.py::") and test["extra"]["profile"] == "EFDX 1.0"
        assert test["status"] == EXPECTED[test["extra"]["verdict"]]
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (1, 3, 1)
    assert results["extra"]["verdict"] == result.verdict
