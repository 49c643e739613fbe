"""What the service reads back from a run's results.json (under the results layer's caps, no link
followed, of the shape every reader needs: conformance.results.diff.read_run): the diff between two
runs of one system, the tests a rerun selects, the test verdicts an override may name. No verdict is
judged here: diff's comparison is the CLI's `conformance diff`.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from conformance.app.serve.models import Run
from conformance.results.diff import DiffInputError, compare, qualified, read_run

RERUN_VERDICTS = ("fail", "error")


def results_of(settings, run: Run) -> dict[str, Any]:
    if run.state != "finished" or not run.report_folder:
        raise HTTPException(409, f"run {run.id} has no finished report")
    try:
        return qualified(read_run(settings.data.resolve() / run.report_folder / "results.json"))
    except DiffInputError:
        raise HTTPException(409, f"run {run.id}: its results.json cannot be read") from None


def test_verdicts(settings, run: Run) -> dict[str, str]:
    return {str(t["id"]): str(t["verdict"]) for t in results_of(settings, run)["tests"]}


def diff_json(settings, old: Run, new: Run) -> dict[str, Any]:
    if old.system_id != new.system_id:
        raise HTTPException(422, "a diff compares two runs of one system")
    found = compare(results_of(settings, old), results_of(settings, new))

    def rows(changes) -> dict[str, list[dict[str, str]]]:
        return {
            kind: [{"id": i, "before": b, "after": a} for i, b, a in getattr(changes, kind)]
            for kind in ("newly_failing", "fixed", "changed")
        }

    return {
        "old": old.id,
        "new": new.id,
        "summary": found.summary(),
        "regression": found.regression,
        "not_comparable": found.not_comparable,
        "profiles": rows(found.profiles),
        "requirements": rows(found.requirements),
        "tests": rows(found.tests),
        "lines": found.lines(),
    }


def rerun_selection(settings, run: Run) -> tuple[list[str], list[str]]:
    """(profiles, test names) of the run's failed and errored tests, for `-k` (each test's name
    after ``::``, in the profiles it failed in); 409 when none failed. `-k` matches names as
    substrings, so a rerun may run a few more tests than failed (never fewer): the service's runs
    select through `-k` only (execute.py), not the CLI's --rerun-failed (which needs a folder)."""
    failed = [tid for tid, verdict in test_verdicts(settings, run).items() if verdict in RERUN_VERDICTS]
    if not failed:
        raise HTTPException(409, f"run {run.id} has no failed or errored test to run again")
    profiles = sorted({tid.split("/", 1)[0] for tid in failed if "/" in tid})
    names = list(dict.fromkeys(tid.rsplit("::", 1)[-1] for tid in failed))
    return profiles, names
