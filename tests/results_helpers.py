"""Reading results.json by bare ID in the harness's own tests.

results.json qualifies every ID by its profile (``EFDX 1.0 M-06``, ``efdx/test_x.py::test_y``) and
keeps the bare parts beside (``profile``, ``requirement``, ``nodeid``); most tests ask about one
profile's requirements and tests, by their bare IDs, through these.
"""

from __future__ import annotations

EFDX = "EFDX 1.0"


def requirement_rows(results: dict, profile: str = EFDX) -> dict[str, dict]:
    """``{"M-06": row, ...}``: one profile's requirement rows by bare ID."""
    return {row["requirement"]: row for row in results["requirements"] if row["profile"] == profile}


def requirement_verdicts(results: dict, profile: str = EFDX) -> dict[str, str]:
    """``{"M-06": "pass", ...}``: one profile's requirement verdicts by bare ID."""
    return {rid: row["verdict"] for rid, row in requirement_rows(results, profile).items()}


def verdict_of(results: dict, requirement: str, profile: str = EFDX) -> str:
    return requirement_verdicts(results, profile)[requirement]


def tests_of(results: dict, profile: str = EFDX) -> list[dict]:
    """One profile's test rows, in run order."""
    return [test for test in results["tests"] if test["profile"] == profile]


def verdicts_by_test(results: dict, profile: str = EFDX) -> dict[str, str]:
    """``{"test_x.py::test_y": "pass", ...}``: one profile's test verdicts by bare node ID."""
    return {test["nodeid"]: test["verdict"] for test in tests_of(results, profile)}


def profile_row(results: dict, title: str = EFDX) -> dict:
    """The ``profiles`` entry of one profile: its verdict, counts and certification."""
    return next(row for row in results["profiles"] if row["title"] == title)
