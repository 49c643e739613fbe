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
    not_comparable: str = ""  # why the two runs are not of one candidate and one set of profiles

    @property
    def regression(self) -> bool:
        return bool(
            self.requirements.newly_failing or self.tests.newly_failing or self.profiles.newly_failing
        )

    def summary(self) -> str:
        """One line: the verdicts, and how many requirements and tests fail newly, were fixed, changed."""
        counts = []
        for title in ("newly failing", "fixed", "changed"):
            attribute = title.replace(" ", "_")
            requirements = len(getattr(self.requirements, attribute))
            tests = len(getattr(self.tests, attribute))
            counts.append(f"{title} {requirements} requirements, {tests} tests")
        return f"run: {self.old_verdict} -> {self.new_verdict}; " + "; ".join(counts)

    def lines(self, regressions_only: bool = False) -> list[str]:
        out = [self.summary()]
        if self.not_comparable:
            out.append(f"not comparable: {self.not_comparable}")
        kinds = (("profile", self.profiles), ("requirement", self.requirements), ("test", self.tests))
        for kind, changes in kinds:
            groups = [("newly failing", changes.newly_failing)]
            if not regressions_only:
                groups += [("fixed", changes.fixed), ("changed", changes.changed)]
            for title, rows in groups:
                out += [f"{title} {kind}: {item} ({before} -> {after})" for item, before, after in rows]
        if not (self.regression if regressions_only else self._any_change()):
            out.append("no regression" if regressions_only else "no requirement or test changed its verdict")
        return out

    def _any_change(self) -> bool:
        return any(
            rows
            for changes in (self.profiles, self.requirements, self.tests)
            for rows in (changes.newly_failing, changes.fixed, changes.changed)
        )


def read_run(path: Path) -> dict:
    """A run's results.json as written (IDs not qualified), given it or its report folder; read as
    untrusted input (it may come from anywhere): under a size and nesting cap, never through a link,
    and of the shape every reader relies on, else DiffInputError (one line)."""
    file = path / "results.json" if path.is_dir() and not path.is_symlink() else path
    try:
        data = safe_read.load_json(file)
    except safe_read.UnsafeInput as exc:
        raise DiffInputError(f"not a run's results.json: {exc}") from None
    return checked_run(file, data)


def checked_run(file: Path, data: object) -> dict:
    """``data``, read from ``file``, when it has the shape every reader relies on; else DiffInputError."""
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


def _sut_and_record(data: dict) -> tuple[dict, dict]:
    sut, record = data.get("sut"), data.get("record")
    return (sut if isinstance(sut, dict) else {}), (record if isinstance(record, dict) else {})


def candidate(data: dict) -> dict[str, str]:
    """What a run was of, as two runs must share it to be compared: the candidate NSW (its party and
    inbox URL, or the embedded reference NSW, whose URL changes every run) and the profiles run. Its
    build, or the reference's seeded fault, may differ: what changed from one build to the next is
    what a vendor compares."""
    sut, _ = _sut_and_record(data)
    profiles = [
        str(row.get("title"))
        for row in data.get("profiles") or []
        if isinstance(row, dict) and row.get("run", True)
    ]
    urls = sut.get("urls") if isinstance(sut.get("urls"), dict) else None
    return {
        "party": str(sut.get("party") or "?"),
        "nsw": "the embedded reference NSW" if sut.get("reference") else str(urls or sut.get("url") or "?"),
        "profiles": " + ".join(profiles) or str(data.get("profile") or LEGACY_PROFILE[1]),
    }


def describe(data: dict) -> str:
    """``KH https://nsw.kh.example/efdx/1/messages (build 4.2), EFDX 1.0``: what a run was of."""
    of = candidate(qualified(data))
    sut, record = _sut_and_record(data)
    fault = f" with seeded fault {sut['fault']}" if sut.get("reference") and sut.get("fault") else ""
    build = f" (build {record['candidate_build']})" if record.get("candidate_build") else ""
    return f"{of['party']} {of['nsw']}{fault}{build}, {of['profiles']}"


def why_not_comparable(old: dict, new: dict) -> str:
    """Why two runs are not of one candidate and one set of profiles ("": they are)."""
    if candidate(qualified(old)) == candidate(qualified(new)):
        return ""
    return f"the first run is of {describe(old)}, the second of {describe(new)}"


def compare(old: dict, new: dict) -> RunDiff:
    old, new = qualified(old), qualified(new)
    diff = RunDiff(str(old.get("verdict")), str(new.get("verdict")), Changes(), Changes())
    diff.not_comparable = why_not_comparable(old, new)
    before, after = _profile_verdicts(old), _profile_verdicts(new)
    for title in [*before, *(t for t in after if t not in before)]:
        diff.profiles.add(title, before.get(title, ABSENT), after.get(title, ABSENT))
    for kind, changes in (("requirements", diff.requirements), ("tests", diff.tests)):
        before, after = _verdicts(old.get(kind, [])), _verdicts(new.get(kind, []))
        for item_id in [*before, *(i for i in after if i not in before)]:
            changes.add(item_id, before.get(item_id, ABSENT), after.get(item_id, ABSENT))
    return diff
