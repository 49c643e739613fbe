"""Verdicts (ISO/IEC 9646): worst-of, a test's verdict per requirement, the run's verdict; and the
requirement rows of results.json over hand-made test records (no network)."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from conformance.core.records import TestRecord as Record  # (not collected as a test class)
from conformance.core.verdicts import (
    CONFORMANT,
    ERROR,
    FAIL,
    INCOMPLETE,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    NOT_CONFORMANT,
    PASS,
    VERDICTS,
    run_verdict,
    worse,
    worst,
)
from conformance.harness import registry
from conformance.profiles.efdx.catalogue import requirement, requirements
from conformance.results.results import NOT_TESTED, RunResult

ORDER = (PASS, INCONCLUSIVE, FAIL, ERROR)  # from best to worst


# ------------------------------------------------------------------------------------------ worst-of


@pytest.mark.parametrize(("better", "bad"), list(itertools.combinations(ORDER, 2)))
def test_worse_picks_the_worse_either_way(better: str, bad: str) -> None:
    assert worse(better, bad) == bad
    assert worse(bad, better) == bad


@pytest.mark.parametrize("verdict", ORDER)
def test_not_applicable_never_wins_over_a_real_verdict(verdict: str) -> None:
    assert worse(NOT_APPLICABLE, verdict) == verdict
    assert worse(verdict, NOT_APPLICABLE) == verdict
    assert worst([NOT_APPLICABLE, verdict, NOT_APPLICABLE]) == verdict


def test_worst_of_many() -> None:
    assert worst([PASS, PASS]) == PASS
    assert worst([PASS, INCONCLUSIVE, PASS]) == INCONCLUSIVE
    assert worst([INCONCLUSIVE, FAIL, PASS]) == FAIL
    assert worst([FAIL, ERROR, PASS]) == ERROR
    assert worst([NOT_APPLICABLE, NOT_APPLICABLE]) == NOT_APPLICABLE
    assert worst([]) == NOT_APPLICABLE
    assert worst(iter([PASS, FAIL])) == FAIL  # any iterable, once


def test_worst_does_not_depend_on_order() -> None:
    for verdicts in itertools.permutations(ORDER + (NOT_APPLICABLE,)):
        assert worst(verdicts) == ERROR, verdicts
    for verdicts in itertools.permutations((PASS, INCONCLUSIVE, FAIL, NOT_APPLICABLE)):
        assert worst(verdicts) == FAIL, verdicts


def test_the_five_verdicts() -> None:
    assert set(VERDICTS) == {"pass", "fail", "inconclusive", "error", "not-applicable"}


# -------------------------------------------------------------------------------------- run verdict

MUST_A, MUST_B, SHOULD = "M-06", "T-01", "T-02"
LEVELS = {MUST_A: "MUST", MUST_B: "MUST", SHOULD: "SHOULD"}


def test_conformant_only_when_every_must_passed() -> None:
    assert run_verdict({MUST_A: PASS, MUST_B: PASS}, LEVELS, interrupted=False) == CONFORMANT


@pytest.mark.parametrize(
    ("other", "expected"),
    [(FAIL, NOT_CONFORMANT), (ERROR, INCOMPLETE), (INCONCLUSIVE, INCOMPLETE)],
)
def test_one_must_not_passing_decides(other: str, expected: str) -> None:
    assert run_verdict({MUST_A: PASS, MUST_B: other}, LEVELS, interrupted=False) == expected


def test_a_fail_wins_over_error_and_inconclusive() -> None:
    verdicts = {MUST_A: ERROR, MUST_B: FAIL, "M-07": INCONCLUSIVE}
    assert run_verdict(verdicts, LEVELS, interrupted=False) == NOT_CONFORMANT


@pytest.mark.parametrize("should", [FAIL, ERROR, INCONCLUSIVE])
def test_a_should_not_passing_does_not_spoil_the_run(should: str) -> None:
    verdicts = {MUST_A: PASS, MUST_B: PASS, SHOULD: should}
    assert run_verdict(verdicts, LEVELS, interrupted=False) == CONFORMANT


def test_interrupted_is_incomplete_unless_a_fail_exists() -> None:
    assert run_verdict({MUST_A: PASS, MUST_B: PASS}, LEVELS, interrupted=True) == INCOMPLETE
    assert run_verdict({MUST_A: PASS, MUST_B: FAIL}, LEVELS, interrupted=True) == NOT_CONFORMANT


def test_nothing_passed_is_incomplete() -> None:
    assert run_verdict({}, LEVELS, interrupted=False) == INCOMPLETE
    assert run_verdict({SHOULD: PASS}, LEVELS, interrupted=False) == INCOMPLETE


def test_a_requirement_of_unknown_level_counts_as_must() -> None:
    assert run_verdict({"X-1": FAIL}, {}, interrupted=False) == NOT_CONFORMANT


# ------------------------------------------------------------------------------- a test's verdicts


def record(nodeid: str, requirements: tuple[str, ...], verdict: str, failed: tuple[str, ...] = ()) -> Record:
    return Record(
        nodeid=nodeid,
        name=nodeid.rpartition("::")[2],
        requirements=requirements,
        verdict=verdict,
        failed_requirements=failed,
    )


def test_verdict_for_a_failing_test() -> None:
    failing = record("t.py::test_sig", ("M-06", "M-19"), FAIL, failed=("M-06",))
    assert failing.verdict_for("M-06") == FAIL
    assert failing.verdict_for("M-19") == INCONCLUSIVE  # declared, but not (all) judged
    assert failing.verdict_for("BR-03") is None  # unrelated


def test_verdict_for_a_requirement_the_failing_check_named_but_the_test_did_not_declare() -> None:
    failing = record("t.py::test_sig", ("M-19",), FAIL, failed=("M-06", "A-03"))
    assert failing.verdict_for("M-06") == FAIL
    assert failing.verdict_for("A-03") == FAIL
    assert failing.verdict_for("M-19") == INCONCLUSIVE


def test_verdict_for_a_fail_without_a_named_requirement_counts_for_every_declared_one() -> None:
    failing = record("t.py::test_assert", ("M-06", "M-19"), FAIL)
    assert failing.verdict_for("M-06") == FAIL and failing.verdict_for("M-19") == FAIL


@pytest.mark.parametrize("verdict", [PASS, INCONCLUSIVE, ERROR, NOT_APPLICABLE])
def test_verdict_for_other_outcomes_is_the_tests_verdict(verdict: str) -> None:
    test = record("t.py::test_x", ("M-06", "M-19"), verdict)
    assert test.verdict_for("M-06") == verdict and test.verdict_for("M-19") == verdict
    assert test.verdict_for("A-01") is None


# ------------------------------------------------------------------------------------- run results


def result(*records: Record, interrupted: bool = False, partial: bool = False) -> RunResult:
    moment = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    return RunResult(
        sut={"url": "http://127.0.0.1:9/x", "party": "KH", "reference": False},
        ics={"party": "KH", "roles": ["importing", "exporting"], "capabilities": []},
        started=moment,
        finished=moment,
        records=list(records),
        interrupted=interrupted,
        partial=partial,
        profile=registry.get("efdx"),
    )


def rows_by_id(run: RunResult) -> dict[str, dict]:
    """Requirement rows by bare ID (results.json's ``id`` is qualified: ``EFDX 1.0 M-06``)."""
    return {row["requirement"]: row for row in run.requirement_rows()}


def test_requirement_rows_cover_the_catalogue_in_order() -> None:
    rows = result().requirement_rows()
    assert [row["id"] for row in rows] == [f"EFDX 1.0 {req.id}" for req in requirements()]
    assert [row["requirement"] for row in rows] == [req.id for req in requirements()]
    assert all(row["tests"] == [] and row["profile"] == "EFDX 1.0" for row in rows)
    # Untested: not-applicable where the ICS does not claim the capability, not-tested otherwise.
    expected = {req.id: NOT_APPLICABLE if req.capability else NOT_TESTED for req in requirements()}
    assert {row["requirement"]: row["verdict"] for row in rows} == expected
    first = rows[0]
    req = requirement(first["requirement"])
    assert (first["title"], first["level"], first["layer"]) == (req.title, req.level, req.layer)


def test_requirement_rows_take_the_worst_of_their_tests() -> None:
    run = result(
        record("a.py::test_sig_ok", ("M-06",), PASS),
        record("a.py::test_sig_tampered", ("M-06", "M-19"), FAIL, failed=("M-06",)),
        record("a.py::test_ping", ("T-01", "M-19"), PASS),
        record("a.py::test_cancel", ("A-03",), NOT_APPLICABLE),
        record("a.py::test_status", ("A-01",), NOT_APPLICABLE),
        record("a.py::test_status_again", ("A-01",), PASS),
        record("a.py::test_boom", ("BR-03",), ERROR),
    )
    rows = rows_by_id(run)
    assert rows["M-06"]["verdict"] == FAIL
    assert rows["M-06"]["tests"] == ["efdx/a.py::test_sig_ok", "efdx/a.py::test_sig_tampered"]
    assert rows["M-19"]["verdict"] == INCONCLUSIVE  # pass + the failing test's "not judged"
    assert rows["M-19"]["tests"] == ["efdx/a.py::test_sig_tampered", "efdx/a.py::test_ping"]
    assert rows["T-01"]["verdict"] == PASS
    assert rows["A-03"]["verdict"] == NOT_APPLICABLE
    assert rows["A-01"]["verdict"] == PASS  # not-applicable never wins over a real verdict
    assert rows["BR-03"]["verdict"] == ERROR
    assert rows["BR-04"] == {**rows["BR-04"], "verdict": NOT_TESTED, "tests": []}
    assert run.verdict == NOT_CONFORMANT


def test_run_verdict_over_records() -> None:
    passing = record("a.py::test_sig_ok", ("M-06",), PASS)
    assert result(passing, record("a.py::test_boom", ("M-07",), ERROR)).verdict == INCOMPLETE
    assert result(passing, record("a.py::test_why", ("M-07",), INCONCLUSIVE)).verdict == INCOMPLETE
    assert result(passing, record("a.py::test_405", ("T-02",), FAIL, failed=("T-02",))).verdict != (
        NOT_CONFORMANT
    )  # T-02 is a SHOULD
    assert result(passing, record("a.py::test_bad", ("M-07",), FAIL)).verdict == NOT_CONFORMANT
    assert result(record("a.py::test_cancel", ("A-03",), NOT_APPLICABLE)).verdict == INCOMPLETE
    assert result().verdict == INCOMPLETE
    assert result(passing, interrupted=True).verdict == INCOMPLETE
    assert result(passing, record("a.py::test_bad", ("M-07",), FAIL), interrupted=True).verdict == (
        NOT_CONFORMANT
    )


def test_a_run_that_judged_every_requirement_and_passed_is_conformant() -> None:
    records = [record(f"a.py::test_{req.id}", (req.id,), PASS) for req in requirements()]
    run = result(*records)
    assert run.verdict == CONFORMANT
    assert run.all_applicable_passed


def test_a_subset_run_is_never_conformant() -> None:
    """A run of a subset (--requirement M-06) has not judged the other MUST requirements: incomplete.
    Requirements that no test of the suite version covers are listed as not_tested instead."""
    run = result(record("a.py::test_sig_ok", ("M-06",), PASS), partial=True)
    assert run.verdict == INCOMPLETE
    assert result(record("a.py::test_sig_fails", ("M-06",), FAIL), partial=True).verdict == "not-conformant"
    assert "EFDX 1.0 M-01" in run.not_tested() and "EFDX 1.0 M-06" not in run.not_tested()


def test_a_record_left_unfinished_by_an_interrupt_does_not_break_the_results() -> None:
    """Ctrl-C in the middle of a test leaves its record without a verdict (the plugin never sees its
    teardown); results.json must still be written, and the run is incomplete."""
    unfinished = record("a.py::test_slow", ("A-01",), "")
    run = result(record("a.py::test_sig_ok", ("M-06",), PASS), unfinished, interrupted=True)
    assert run.verdict == INCOMPLETE
    assert rows_by_id(run)["A-01"]["verdict"] in (INCONCLUSIVE, ERROR, NOT_TESTED)
    assert run.as_json()["verdict"] == INCOMPLETE


def test_all_applicable_passed_and_counts() -> None:
    run = result(
        record("a.py::test_ok", ("M-06",), PASS),
        record("a.py::test_na", ("A-03",), NOT_APPLICABLE),
    )
    assert run.all_applicable_passed
    assert run.counts() == {PASS: 1, NOT_APPLICABLE: 1}
    assert not result(record("a.py::test_na", ("A-03",), NOT_APPLICABLE)).all_applicable_passed
    assert not result(record("a.py::test_ok", ("M-06",), PASS), interrupted=True).all_applicable_passed


def test_results_json_carries_the_contracts_fields() -> None:
    failing = record("a.py::test_sig", ("M-06", "M-19"), FAIL, failed=("M-06",))
    failing.reason, failing.expected, failing.observed = "M-06: expected x; observed y", "x", "y"
    data = result(failing).as_json()
    assert {"profile", "harness_version", "sut", "ics", "started", "finished", "verdict", "tests"} <= set(
        data
    )
    assert data["verdict"] == NOT_CONFORMANT
    (test,) = data["tests"]
    assert (test["id"], test["profile"], test["nodeid"]) == (
        "efdx/a.py::test_sig",
        "EFDX 1.0",
        "a.py::test_sig",
    )
    assert test["requirements"] == ["EFDX 1.0 M-06", "EFDX 1.0 M-19"]
    assert (test["verdict"], test["expected"], test["observed"]) == (FAIL, "x", "y")
    assert test["failed_requirements"] == ["EFDX 1.0 M-06"]
    assert {"id", "verdict", "tests", "profile", "requirement"} <= set(data["requirements"][0])
    assert data["profile"] == "EFDX 1.0"
    (profile,) = data["profiles"]
    assert (profile["key"], profile["title"], profile["verdict"]) == ("efdx", "EFDX 1.0", NOT_CONFORMANT)
    assert profile["counts"] == {FAIL: 1} and profile["run"] is True
