"""`conformance diff OLD NEW`: what changed between two runs, for a vendor's CI and a certifier.

Each side is a report folder or its results.json. Requirements and tests are compared by their
profile-qualified IDs (``EFDX 1.0 M-06``, ``efdx/test_x.py::test_y``), each profile's verdict by its
title: *newly failing* (fail or error now, not before), *fixed* (fail or error before, pass now) and
*changed* (any other change of verdict, a test added or gone). A regression, anything newly
failing, makes the exit code 1, so a CI step can gate on it.

A results.json written before runs covered several profiles has bare IDs (``M-06``) and only
EFDX 1.0 then: ``load`` qualifies them, so that an old run compares with a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conformance.results import safe_read

FAILING = frozenset({"fail", "error", "not-conformant"})
ABSENT = "absent"
LEGACY_PROFILE = ("efdx", "EFDX 1.0")  # the only profile of a results.json without ``profiles``


class DiffInputError(Exception):
    """A side that cannot be read as a run's results."""


@dataclass
class Changes:
    newly_failing: list[tuple[str, str, str]] = field(default_factory=list)  # (id, before, after)
    fixed: list[tuple[str, str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, item_id: str, before: str, after: str) -> None:
        if before == after:
            return
        if after in FAILING and before not in FAILING:
            self.newly_failing.append((item_id, before, after))
        elif before in FAILING and after in ("pass", "conformant"):
            self.fixed.append((item_id, before, after))
        else:
            self.changed.append((item_id, before, after))


@dataclass
class RunDiff:
    old_verdict: str
    new_verdict: str
    requirements: Changes
    tests: Changes
    profiles: Changes = field(default_factory=Changes)

    @property
    def regression(self) -> bool:
        return bool(
            self.requirements.newly_failing or self.tests.newly_failing or self.profiles.newly_failing
        )

    def lines(self) -> list[str]:
        out = [f"run: {self.old_verdict} -> {self.new_verdict}"]
        for kind, changes in (
            ("profile", self.profiles),
            ("requirement", self.requirements),
            ("test", self.tests),
        ):
            for title, rows in (
                ("newly failing", changes.newly_failing),
                ("fixed", changes.fixed),
                ("changed", changes.changed),
            ):
                out += [f"{title} {kind}: {item} ({before} -> {after})" for item, before, after in rows]
        if len(out) == 1:
            out.append("no requirement or test changed its verdict")
        return out


def read_run(path: Path) -> dict:
    """A run's results.json as written (IDs not qualified), given it or its report folder; read as
    untrusted input (it may come from anywhere): under a size and nesting cap, never through a link,
    and of the shape every reader relies on, else DiffInputError (one line)."""
    file = path / "results.json" if path.is_dir() and not path.is_symlink() else path
    try:
        data = safe_read.load_json(file)
    except safe_read.UnsafeInput as exc:
        raise DiffInputError(f"not a run's results.json: {exc}") from None
    problem = shape_problem(data)
    if problem:
        raise DiffInputError(f"{file}: not a run's results.json ({problem})")
    assert isinstance(data, dict)
    return data


def _rows_problem(data: dict, kind: str, required: tuple[str, ...]) -> str | None:
    rows = data.get(kind, [])
    if not isinstance(rows, list):
        return f"{kind} is not a list"
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"{kind}[{n}] is not an object"
        for key in required:
            if not isinstance(row.get(key), str):
                return f"{kind}[{n}].{key} is not a string"
    return None


def shape_problem(data: object) -> str | None:
    """What makes ``data`` not a run's results.json as the readers of one need it (None: nothing)."""
    if not isinstance(data, dict):
        return "not an object"
    if not isinstance(data.get("tests"), list):
        return "no tests"
    for key in ("verdict", "profile", "started", "finished"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} is not a string"
    for key in ("sut", "ics"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    if "profiles" in data:
        problem = _rows_problem(data, "profiles", ("title",))
        if problem:
            return problem
        for n, row in enumerate(data["profiles"]):
            if row.get("verdict") is not None and not isinstance(row["verdict"], str):
                return f"profiles[{n}].verdict is not a string"
    return _rows_problem(data, "tests", ("id", "verdict")) or _rows_problem(
        data, "requirements", ("id", "verdict")
    )


def load(path: Path) -> dict:
    """A run's results.json, given it or its report folder, with qualified IDs."""
    return qualified(read_run(path))


def qualified(data: dict) -> dict:
    """``data`` with every requirement and test ID qualified by its profile: a results.json written
    before runs covered several profiles (no ``profiles``) is EFDX 1.0's with bare IDs."""
    if "profiles" in data:
        return data
    key, title = LEGACY_PROFILE
    title = str(data.get("profile") or title)

    def rows(kind: str, prefix: str) -> list:
        found = data.get(kind, [])
        if not isinstance(found, list):
            return []
        return [
            {**row, "id": f"{prefix}{row['id']}", "profile": title}
            if isinstance(row, dict) and "id" in row
            else row
            for row in found
        ]

    return {
        **data,
        "profiles": [{"key": key, "title": title, "run": True, "verdict": data.get("verdict")}],
        "requirements": rows("requirements", f"{title} "),
        "tests": rows("tests", f"{key}/"),
    }


def _verdicts(rows: list) -> dict[str, str]:
    return {str(row["id"]): str(row["verdict"]) for row in rows if isinstance(row, dict) and "id" in row}


def _profile_verdicts(data: dict) -> dict[str, str]:
    rows = data.get("profiles") or []
    return {
        str(row["title"]): str(row.get("verdict")) for row in rows if isinstance(row, dict) and "title" in row
    }


def compare(old: dict, new: dict) -> RunDiff:
    old, new = qualified(old), qualified(new)
    diff = RunDiff(str(old.get("verdict")), str(new.get("verdict")), Changes(), Changes())
    before, after = _profile_verdicts(old), _profile_verdicts(new)
    for title in [*before, *(t for t in after if t not in before)]:
        diff.profiles.add(title, before.get(title, ABSENT), after.get(title, ABSENT))
    for kind, changes in (("requirements", diff.requirements), ("tests", diff.tests)):
        before, after = _verdicts(old.get(kind, [])), _verdicts(new.get(kind, []))
        for item_id in [*before, *(i for i in after if i not in before)]:
            changes.add(item_id, before.get(item_id, ABSENT), after.get(item_id, ABSENT))
    return diff
