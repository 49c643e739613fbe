"""Manual-mode operator prompts in the browser: the web process's side of app/operator_files.py.

An attended run of a system in manual mode (its ICS claims no test trigger) is run with
``--operator-dir RUN/operator`` (execute.py); its process writes each prompt there and waits for
the answer that a tester of the run's organisation gives on the run page.

Decisions:
- whether a run is attended is kept in its ``selection`` (``"attended": true``), not in a column
  of its own: it is how the run is run, like its tests, and needs no migration (two branches each
  adding migration 0004 would leave Alembic two heads); it is stored only for a system in manual
  mode, where it changes anything;
- the prompt files were written by the run's process: read under caps, without following a link
  (results.safe_read), each field checked for its type; the folder itself must be a real folder;
  the window must be a finite number (JSON's Infinity, NaN or a 400-digit integer would otherwise
  make a 500 of the prompts' route, or an event the browser cannot parse, for the whole run) and
  the download's file name is ASCII (it goes into a latin-1 header);
- the answer is written once, with O_EXCL and O_NOFOLLOW, relative to a descriptor of the folder
  opened without following a link: a second answer, or a link planted in its place, fails rather
  than writes elsewhere; who answered and when is in the file and in the audit log (api.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conformance.app.operator_files import (
    ANSWER_CAP,
    PROMPT_CAP,
    PROMPT_NAME,
    answer_name,
    prompt_name,
)
from conformance.app.serve.execute import OPERATOR_FOLDER, run_folder
from conformance.app.serve.systems import SystemRefused, check_config, open_tls
from conformance.harness.operator import ANSWERS
from conformance.results.safe_read import UnsafeInput, load_json, read_capped

FOLDER = OPERATOR_FOLDER
MAX_PROMPTS = 500  # a whole suite's manual tests ask far fewer
TEXT_CAP = 20_000  # the instruction, the action, the party: short texts


class AnswerRefused(Exception):
    """The answer cannot be taken: ``status`` (404, 409) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def folder_of(settings, run_id: int) -> Path:
    return run_folder(settings, run_id) / FOLDER


def manual_mode(system, box) -> bool:
    """Whether a run of ``system`` needs an operator: a registered system one of whose claimed
    profiles has no claimed trigger with a URL (the harness's own test: Harness.manual_mode).
    Loading the TOML means opening its TLS files into a private folder: done once per system and
    TOML (the system page asks at every view), not at every request."""
    if system.embedded or not system.ics_toml:
        return False
    key = (system.id, hashlib.sha256(system.ics_toml.encode("utf-8")).hexdigest())
    if key not in _MANUAL:
        if len(_MANUAL) >= MAX_REMEMBERED:
            _MANUAL.clear()
        _MANUAL[key] = _claims_no_trigger(system, box)
    return _MANUAL[key]


_MANUAL: dict[tuple[int, str], bool] = {}
MAX_REMEMBERED = 10_000  # systems whose mode is remembered (then forgotten all at once)


def _claims_no_trigger(system, box) -> bool:
    try:
        config = check_config(system.ics_toml, open_tls(box, system.tls_material_enc))
    except (SystemRefused, ValueError):
        return False
    return any(
        not (config.claims("trigger") and config.for_profile(key).trigger_url) for key in config.profiles
    )


def _real_folder(folder: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode)
    except OSError:
        return False


def prompts(folder: Path, now: datetime | None = None) -> list[dict[str, Any]]:
    """The run's prompts, oldest first, each with its answer (or None) and its state: ``pending``
    (the run waits for it), ``answered`` or ``expired`` (its window passed without an answer)."""
    if not _real_folder(folder):
        return []
    now = now or datetime.now(timezone.utc)
    numbers = sorted(int(match.group(1)) for name in os.listdir(folder) if (match := PROMPT_NAME.match(name)))
    found = []
    for n in numbers[:MAX_PROMPTS]:
        prompt = _prompt(folder, n)
        if prompt is None:
            continue
        answer = _answer(folder, n)
        left = prompt["window_s"] - (now - prompt["asked_at"]).total_seconds()
        state = "answered" if answer else ("pending" if left > 0 else "expired")
        found.append(
            {
                "n": n,
                "instruction": prompt["instruction"],
                "action": prompt["action"],
                "to": prompt["to"],
                "document": prompt["document"],
                "window_s": prompt["window_s"],
                "asked": prompt["asked_at"].isoformat(),
                "left_s": round(max(left, 0.0), 1) if state == "pending" else 0.0,
                "state": state,
                "answer": answer,
            }
        )
    return found


def _prompt(folder: Path, n: int) -> dict[str, Any] | None:
    try:
        value = load_json(folder / prompt_name(n), cap=PROMPT_CAP, depth=4)
    except UnsafeInput:
        return None
    if not isinstance(value, dict) or value.get("n") != n:
        return None
    texts = {key: value.get(key) for key in ("instruction", "action", "to")}
    document, window, asked = value.get("document"), value.get("window_s"), value.get("asked")
    if not all(isinstance(text, str) and len(text) <= TEXT_CAP for text in texts.values()):
        return None
    if not isinstance(document, str) or not isinstance(window, int | float) or not isinstance(asked, str):
        return None
    window_s = _finite(window)
    if window_s is None:
        return None
    try:
        asked_at = datetime.fromisoformat(asked)
    except ValueError:
        return None
    if asked_at.tzinfo is None:
        return None
    return {**texts, "document": document, "window_s": window_s, "asked_at": asked_at}


def _finite(window: float) -> float | None:
    """The window in seconds when it is a finite number of them, not negative; else None."""
    try:
        seconds = float(window)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _answer(folder: Path, n: int) -> dict[str, Any] | None:
    try:
        value = json.loads(read_capped(folder / answer_name(n), ANSWER_CAP))
    except (UnsafeInput, ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or value.get("answer") not in ANSWERS:
        return None
    by, at = value.get("by"), value.get("at")
    return {
        "answer": value["answer"],
        "by": by if isinstance(by, str) else None,
        "at": at if isinstance(at, str) else None,
    }


def document(folder: Path, n: int) -> tuple[str, str]:
    """Prompt ``n``'s document: (a file name for it, its XML text); AnswerRefused(404) if none."""
    prompt = _prompt(folder, n) if _real_folder(folder) else None
    if prompt is None:
        raise AnswerRefused(404, "no such prompt")
    action = "".join(c for c in prompt["action"] if c.isascii() and c.isalnum())[:40] or "document"
    return f"{action}-{n}.xml", prompt["document"]


def answer(folder: Path, n: int, given: str, by: str) -> dict[str, Any]:
    """Write the answer to prompt ``n``; AnswerRefused when there is no such prompt (404), or it was
    answered already or its window is over (409). Returns the prompt as ``prompts`` lists it."""
    listed = {prompt["n"]: prompt for prompt in prompts(folder)}
    prompt = listed.get(n)
    if prompt is None:
        raise AnswerRefused(404, "no such prompt")
    if prompt["state"] == "answered":
        raise AnswerRefused(409, "the prompt was answered already")
    if prompt["state"] == "expired":
        raise AnswerRefused(409, "the prompt's window is over: the run no longer waits for it")
    record = {"answer": given, "by": by[:100], "at": datetime.now(timezone.utc).isoformat()}
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        descriptor = os.open(
            answer_name(n),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
            0o640,
            dir_fd=directory,
        )
    except FileExistsError:
        raise AnswerRefused(409, "the prompt was answered already") from None
    finally:
        os.close(directory)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(record, out)
    return {**prompt, "state": "answered", "answer": {k: record[k] for k in ("answer", "by", "at")}}
