"""Runs of one reports folder over time: the change since the previous run, and an index of them all.

Each run writes its own folder (``reports/<UTC time>/``); the previous run is the latest sibling
folder before it that holds a results.json. ``index.html`` beside them lists every run with its
verdict, newest first, and is rewritten after each run (self-contained, no script, no fetch).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jinja2

from conformance.results import diff

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def runs(report_dir: Path) -> list[Path]:
    """The run folders of ``report_dir`` that hold a results.json, oldest first."""
    return sorted(folder for folder in report_dir.iterdir() if (folder / "results.json").is_file())


def previous_run(report_dir: Path, current: Path) -> Path | None:
    earlier = [folder for folder in runs(report_dir) if folder.name < current.name]
    return earlier[-1] if earlier else None


def since_previous(previous: Path, data: dict) -> dict | None:
    """What changed since ``previous`` (None when it cannot be read)."""
    try:
        changes = diff.compare(diff.load(previous), data)
    except diff.DiffInputError:
        return None
    return {
        "run": previous.name,
        "verdict": changes.old_verdict,
        "newly_failing": [item for item, _, _ in changes.requirements.newly_failing],
        "fixed": [item for item, _, _ in changes.requirements.fixed],
        "tests_newly_failing": len(changes.tests.newly_failing),
        "tests_fixed": len(changes.tests.fixed),
        "tests_changed": len(changes.tests.changed),
    }


def write_index(report_dir: Path) -> Path:
    rows = []
    for folder in reversed(runs(report_dir)):
        try:
            data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        counts: dict[str, int] = {}
        for test in data.get("tests", []):
            counts[test.get("verdict", "?")] = counts.get(test.get("verdict", "?"), 0) + 1
        sut = data.get("sut") or {}
        profiles = diff.qualified(data).get("profiles") or []
        rows.append(
            {
                "folder": folder.name,
                "profile": str(data.get("profile") or "EFDX 1.0"),
                "profiles": [
                    {
                        "title": row.get("title", "?"),
                        "verdict": row.get("verdict", "?"),
                        "run": row.get("run", True),
                    }
                    for row in profiles
                    if isinstance(row, dict)
                ],
                "started": data.get("started", ""),
                "verdict": data.get("verdict", "?"),
                "candidate": f"{sut.get('party', '?')} {sut.get('url', '')}",
                "fault": sut.get("fault") or "",
                "partial": bool(data.get("partial")),
                "counts": counts,
            }
        )
    path = report_dir / "index.html"
    path.write_text(_environment.get_template("index.html.j2").render(rows=rows), encoding="utf-8")
    return path
