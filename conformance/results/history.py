"""Runs of one reports folder over time: the change since the previous run, and an index of them all.

Each run writes its own folder (``reports/<UTC time>/``); the previous run is the latest sibling
folder before it that holds a results.json. ``index.html`` beside them lists every run with its
verdict, newest first, and is rewritten after each run (self-contained, no script, no fetch). A
pilot's folder (``<UTC time>-pilot``, `conformance pilot`) shows as a pilot: its parties, and how many
of its ordered pairs were interoperable, not-interoperable or incomplete, linking its report.html.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from importlib import resources
from pathlib import Path

import jinja2

from conformance.results import bidi, diff, safe_read, safe_write

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=bidi.finalize,  # candidate text never reorders the harness's own (results/bidi.py)
)


MAX_EARLIER_TRIED = 20  # earlier runs read to find one to compare with, newest first


def _is_run_folder(folder: Path) -> bool:
    """A real folder (not a link to one elsewhere) with a results.json that is not a link either."""
    return (
        not folder.is_symlink()
        and folder.is_dir()
        and (folder / "results.json").is_file()
        and not (folder / "results.json").is_symlink()
    )


def runs(report_dir: Path) -> list[Path]:
    """The run folders of ``report_dir`` that hold a results.json, oldest first."""
    try:
        return sorted(folder for folder in report_dir.iterdir() if _is_run_folder(folder))
    except OSError:
        return []


def previous_run(report_dir: Path, current: Path) -> Path | None:
    earlier = [folder for folder in runs(report_dir) if folder.name < current.name]
    return earlier[-1] if earlier else None


def since_previous(previous: Path, data: dict) -> dict | None:
    """What changed since ``previous`` (None when it cannot be read)."""
    try:
        return _since(previous, diff.load(previous), data)
    except diff.DiffInputError:
        return None


def _since(previous: Path, old: dict, data: dict) -> dict:
    changes = diff.compare(old, data)
    return {
        "run": previous.name,
        "of": diff.describe(old),
        "verdict": changes.old_verdict,
        "newly_failing": [item for item, _, _ in changes.requirements.newly_failing],
        "fixed": [item for item, _, _ in changes.requirements.fixed],
        "tests_newly_failing": len(changes.tests.newly_failing),
        "tests_fixed": len(changes.tests.fixed),
        "tests_changed": len(changes.tests.changed),
    }


def since_latest_readable(report_dir: Path, current: Path, data: dict) -> tuple[dict | None, list[str]]:
    """What changed since the latest earlier run of ``report_dir`` of the same candidate and profiles
    (another candidate's run, or the embedded reference's beside a real NSW's, says nothing about
    this one), and a note for each later one skipped because its results.json cannot be read
    (corrupt, huge, too deep, not UTF-8, of another shape: another run's folder never stops this one)."""
    notes: list[str] = []
    earlier = [f for f in runs(report_dir) if f.name < current.name]
    for folder in reversed(earlier[-MAX_EARLIER_TRIED:]):  # a bounded cost, whatever the folder holds
        try:
            data_read = _results(folder)
            if _load_run(folder, data_read) is not None or _pilot_run(folder, data_read) is not None:
                continue  # a `conformance load` run or a pilot: no tests to compare with
            old = diff.qualified(diff.checked_run(folder / "results.json", data_read))
            if diff.why_not_comparable(old, data):
                continue
            return _since(folder, old, data), notes
        except diff.DiffInputError as exc:
            notes.append(f"previous run {folder.name} skipped: {exc}")
        except Exception as exc:  # noqa: BLE001 - whatever another folder holds, this run's report is written
            notes.append(f"previous run {folder.name} skipped: {type(exc).__name__}")
    return None, notes


def _results(folder: Path) -> object:
    """The folder's results.json, read once under the caps of ``safe_read`` (untrusted input)."""
    try:
        return safe_read.load_json(folder / "results.json")
    except safe_read.UnsafeInput as exc:
        raise diff.DiffInputError(f"not a run's results.json: {exc}") from None


def _load_run(folder: Path, data: object) -> dict | None:
    """``data`` (the folder's results.json) when it is a `conformance load` run's (``kind`` load, a
    ``load`` block); None for any other."""
    if not isinstance(data, dict) or data.get("kind") != "load" or not isinstance(data.get("load"), dict):
        return None
    for key in ("verdict", "profile", "started"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise diff.DiffInputError(f"{folder / 'results.json'}: not a load run's results.json ({key})")
    if data.get("sut") is not None and not isinstance(data["sut"], dict):
        raise diff.DiffInputError(f"{folder / 'results.json'}: not a load run's results.json (sut)")
    return {**data, "tests": []}


MAX_PILOT_PARTIES = 64  # parties named in the index's row of a pilot (the rest: "...")
PILOT_VERDICTS = ("interoperable", "not-interoperable", "incomplete")


def _pilot_run(folder: Path, data: object) -> dict | None:
    """The index's facts of a `conformance pilot` folder (``kind`` pilot, a ``pilot`` block; ``data``
    its results.json): its parties, transport, seeded fault and how many ordered pairs got each
    verdict, checked for shape (another folder's results.json is untrusted input); None for any
    other kind. DiffInputError when it says pilot but is not one's."""
    if not isinstance(data, dict) or data.get("kind") != "pilot":
        return None

    def bad(what: str) -> diff.DiffInputError:
        return diff.DiffInputError(f"{folder / 'results.json'}: not a pilot's results.json ({what})")

    pilot = data.get("pilot")
    if not isinstance(pilot, dict):
        raise bad("pilot")
    for key in ("verdict", "profile", "started"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad(key)
    pairs, parties = pilot.get("pairs"), pilot.get("parties")
    if not isinstance(pairs, list) or not isinstance(parties, list):
        raise bad("pairs, parties")
    counts = dict.fromkeys(PILOT_VERDICTS, 0)
    for pair in pairs:
        verdict = pair.get("verdict") if isinstance(pair, dict) else None
        if verdict not in counts:
            raise bad("a pair's verdict")
        counts[verdict] += 1
    if not all(isinstance(party, str) for party in parties):
        raise bad("parties")
    gateway = pilot.get("gateway")
    tls = gateway.get("tls") if isinstance(gateway, dict) else None
    fault = pilot.get("reference_fault")
    named = [*parties[:MAX_PILOT_PARTIES], *(["..."] if len(parties) > MAX_PILOT_PARTIES else [])]
    return {
        "data": data,
        "parties": " ".join(named),
        "transport": "?" if not isinstance(tls, bool) else ("mutual TLS" if tls else "plain HTTP"),
        "fault": fault if isinstance(fault, str) else "",
        "counts": {verdict: count for verdict, count in counts.items() if count},
    }


def readable_time(stamp: object) -> str:
    """``2026-12-06T19:40:12.123456+00:00`` -> ``2026-12-06 19:40:12 UTC`` in this machine's zone; the
    text as it is when it is no time."""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _transport(data: dict) -> str:
    ics = data.get("ics")
    if not isinstance(ics, dict):
        return "?"
    if "tls" not in ics:
        return "?"
    return "mutual TLS" if ics.get("tls") else "plain HTTP"


def _can_certify(data: dict) -> bool | None:
    certification = data.get("certification")
    if isinstance(certification, dict) and isinstance(certification.get("can_certify"), bool):
        return certification["can_certify"]
    return None


def _own_file(folder: Path, name: str) -> str | None:
    """``name`` when the folder holds it as a file of its own (never a link to elsewhere)."""
    path = folder / name
    return name if path.is_file() and not path.is_symlink() else None


def _pilot_row(folder: Path, pilot: dict) -> dict:
    data = pilot["data"]
    profile = str(data.get("profile") or "?")
    verdict = str(data.get("verdict", "?"))
    return {
        "folder": folder.name,
        "kind": "pilot",
        "when": readable_time(data.get("started", "")),
        "transport": pilot["transport"],
        "can_certify": _can_certify(data),
        "report": _own_file(folder, "report.html"),
        "certificate": None,  # a pilot certifies nobody
        "profile": profile,
        "profiles": [{"title": profile, "verdict": verdict, "run": True}],
        "started": str(data.get("started", "")),
        "verdict": verdict,
        "candidate": f"pilot: {pilot['parties']}",
        "fault": pilot["fault"],
        "partial": False,
        "counts": pilot["counts"],
        "counted": "pairs",
    }


def _row(folder: Path) -> dict:
    read = _results(folder)
    pilot = _pilot_run(folder, read)
    if pilot is not None:
        return _pilot_row(folder, pilot)
    data = _load_run(folder, read) or diff.checked_run(folder / "results.json", read)
    counts: dict[str, int] = {}
    for test in data.get("tests", []):
        counts[test["verdict"]] = counts.get(test["verdict"], 0) + 1
    sut = data.get("sut") or {}
    profiles = diff.qualified(data).get("profiles") or []
    kind = "load" if data.get("kind") == "load" else "run"
    return {
        "folder": folder.name,
        "kind": kind,
        "when": readable_time(data.get("started", "")),
        "transport": _transport(data),
        "can_certify": _can_certify(data),
        "report": _own_file(folder, "report.html"),
        "certificate": _own_file(folder, "certificate.html"),
        "profile": str(data.get("profile") or "EFDX 1.0"),
        "profiles": [
            {
                "title": str(row.get("title", "?")),
                "verdict": str(row.get("verdict", "?")),
                "run": row.get("run", True),
            }
            for row in profiles
            if isinstance(row, dict)
        ],
        "started": str(data.get("started", "")),
        "verdict": str(data.get("verdict", "?")),
        "candidate": f"{sut.get('party', '?')} {sut.get('url', '')}",
        "fault": str(sut.get("fault") or ""),
        "partial": bool(data.get("partial")),
        "counts": counts,
        "counted": "tests",
    }


# --- the index's rows, kept between runs ---------------------------------------------------------
# Reading every run's results.json (megabytes each, with every exchange) again after each run made
# the index cost grow with the folder's history: a vendor running many times a day in one folder
# would wait seconds more per run. So the rows read are kept in ROW_CACHE, each with its results.json's
# size and modification time, and a folder whose results.json has not changed is not read again.
# The file is untrusted like any other this run did not write: read under caps, every entry checked
# for the shape of a row, anything else ignored (read again from its results.json). It tells no more
# than a results.json planted in the folder could. The links (report, certificate) are looked at anew.
ROW_CACHE = ".index-rows.json"
MAX_ROW_CACHE_BYTES = 32 * 1024 * 1024
_LIVE = ("report", "certificate")  # looked at each time, never kept
_TEXT = (
    "folder",
    "kind",
    "when",
    "transport",
    "profile",
    "started",
    "verdict",
    "candidate",
    "fault",
    "counted",
)


MAX_KEPT_ROW_BYTES = 64 * 1024  # a larger row (a results.json with a huge profiles list) is not kept


def _stamp(folder: Path) -> list[int]:
    """What changes when results.json does (ctime: even a copy that keeps size and mtime)."""
    info = (folder / "results.json").stat(follow_symlinks=False)
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def _row_shape_ok(name: str, row: object) -> bool:
    """``row`` has the shape ``_row`` gives a folder called ``name`` (its live links left out)."""
    if not isinstance(row, dict) or set(row) != set(_TEXT) | {"can_certify", "profiles", "partial", "counts"}:
        return False
    profiles, counts = row["profiles"], row["counts"]
    return (
        row["folder"] == name
        and all(isinstance(row[key], str) for key in _TEXT)
        and row["can_certify"] in (True, False, None)
        and isinstance(row["partial"], bool)
        and isinstance(counts, dict)
        and all(isinstance(count, int) and not isinstance(count, bool) for count in counts.values())
        and isinstance(profiles, list)
        and all(
            isinstance(profile, dict)
            and set(profile) == {"title", "verdict", "run"}
            and isinstance(profile["title"], str)
            and isinstance(profile["verdict"], str)
            and not isinstance(profile["run"], dict | list)
            for profile in profiles
        )
    )


def _kept_rows(report_dir: Path) -> dict[str, tuple[list[int], dict]]:
    """The rows ROW_CACHE holds, by folder name, each with its stamp: only entries of the right shape."""
    try:
        data = safe_read.load_json(report_dir / ROW_CACHE, cap=MAX_ROW_CACHE_BYTES, depth=8)
    except safe_read.UnsafeInput:
        return {}
    entries = data.get("rows") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(entries, dict):
        return {}
    kept: dict[str, tuple[list[int], dict]] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        stamp, row = entry.get("stamp"), entry.get("row")
        if not isinstance(stamp, list) or len(stamp) != 4 or not all(type(n) is int for n in stamp):
            continue
        if isinstance(row, dict) and _row_shape_ok(name, row):
            kept[name] = (stamp, row)
    return kept


def _index_row(folder: Path, kept: dict[str, tuple[list[int], dict]], keep: dict[str, dict]) -> dict:
    """The folder's row: the kept one while its results.json is unchanged, else read anew."""
    stamp = _stamp(folder)
    found = kept.get(folder.name)
    if found is not None and found[0] == stamp:
        row = dict(found[1])
    else:
        row = {key: value for key, value in _row(folder).items() if key not in _LIVE}
    if len(json.dumps(row)) <= MAX_KEPT_ROW_BYTES:
        keep[folder.name] = {"stamp": stamp, "row": dict(row)}
    row["report"] = _own_file(folder, "report.html")
    row["certificate"] = _own_file(folder, "certificate.html") if row["kind"] != "pilot" else None
    return row


def write_index(report_dir: Path) -> Path:
    """``report_dir/index.html``: every run, newest first; a folder whose results.json cannot be
    read is listed as skipped, with why. Written without following a link (a temporary file renamed
    over it); the rows read are kept for the next time (ROW_CACHE)."""
    rows, skipped = [], []
    kept = _kept_rows(report_dir)
    keep: dict[str, dict] = {}
    for folder in reversed(runs(report_dir)):
        try:
            rows.append(_index_row(folder, kept, keep))
        except diff.DiffInputError as exc:
            skipped.append({"folder": folder.name, "reason": str(exc)})
        except Exception as exc:  # noqa: BLE001 - one bad folder never stops the index
            skipped.append({"folder": folder.name, "reason": type(exc).__name__})
    path = report_dir / "index.html"
    safe_write.write_text(path, _environment.get_template("index.html.j2").render(rows=rows, skipped=skipped))
    with contextlib.suppress(OSError):  # a cache not written only makes the next index read all
        safe_write.write_text(report_dir / ROW_CACHE, json.dumps({"version": 1, "rows": keep}))
    return path
