"""One run, from queued to its verdict: `conformance run` in a child process of its own, with caps.

``execute_run(run_id, context)`` is all a queue calls (the in-process ThreadQueue now, a Dramatiq
actor later): it takes the run from the database, runs it, and writes the outcome back. It is safe
to call twice for one run (only a queued run is started).

Decisions:
- the child is `python -m conformance.app.cli run --non-interactive --report-dir RUN/report` (an
  attended run of a system in manual mode: ``--operator-dir RUN/operator`` instead of
  --non-interactive, its prompts answered on the run page: operator_prompts.py) (plus
  the selection and, for a registered system, ``--config`` with the TOML written 0600 into a private
  folder), started through ``limits`` (RLIMIT_AS, RLIMIT_FSIZE) in a session of its own so the whole
  process group can be stopped; its environment is the service's minus the service's own secrets
  (the key and database URL), plus the decrypted trigger token (EFDX_TEST_TOKEN and the TOML's
  token_env);
- each stdout line (cut at a length, counted past a number of lines) is appended to
  RUN/progress.log, which the events endpoint streams: a file, so that a web process other than the
  worker's can stream it later;
- past the wall-time cap (or when the service stops) the group gets SIGTERM (the CLI then writes
  its report, marked incomplete) and, after a grace, SIGKILL;
- a run is claimed, and its lease renewed every ``heartbeat_s`` while it runs, through lease.py:
  only a queued run is started (a message delivered twice runs once), and an outcome is recorded
  only while this worker still holds the run (one reaped meanwhile stays reaped);
- a registered system's run gets the egress policy run_egress.py writes into its folder
  (CONFORMANCE_EGRESS_POLICY, never inherited from the service's own environment) and its TOML
  with the service's site key in ``[site]`` (site_key.py); the embedded reference gets neither;
- the verdict, can_certify and counts come from the report folder's results.json, read under caps
  (results.safe_read); a child that ended without one, with exit code 4, or by a signal leaves the
  run ``incomplete`` with a reason. Nothing here judges a test: the CLI's verdict is the verdict.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conformance.app.egress_setting import ENVIRONMENT_VARIABLE
from conformance.app.serve import lease
from conformance.app.serve.db import Store
from conformance.app.serve.models import AuditEvent, Run
from conformance.app.serve.run_egress import policy_for, write_policy
from conformance.app.serve.secret_box import SecretBox
from conformance.app.serve.settings import DATABASE_URL_ENV, SECRET_KEYS_ENV, ServeSettings
from conformance.app.serve.site_key import with_site_key
from conformance.app.serve.systems import CONFIG_NAME, open_tls, private_folder
from conformance.results.safe_read import UnsafeInput, load_json

PROGRESS_FILE = "progress.log"
REPORT_FOLDER = "report"
OPERATOR_FOLDER = "operator"  # an attended run's prompts and answers (operator_prompts.py)
ATTESTATION = "evidence.zip.intoto.jsonl"  # a certifying run's, signed with the site key (site_key.py)
REPORT_FILES = ("report.html", "results.json", "junit.xml", "ctrf.json", "evidence.zip", ATTESTATION)
STOPPED = "the service stopped during the run"
_WITHHELD_ENV = (SECRET_KEYS_ENV, DATABASE_URL_ENV, ENVIRONMENT_VARIABLE)  # the service sets the last


@dataclass
class RunContext:
    """What executing a run needs from the service; one per service (or per worker process)."""

    settings: ServeSettings
    store: Store
    box: SecretBox
    stopping: threading.Event = field(default_factory=threading.Event)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


@dataclass
class _Plan:
    argv: list[str]
    toml: str | None
    tls: dict[str, bytes]
    env: dict[str, str]


@dataclass
class Outcome:
    state: str
    verdict: str | None = None
    can_certify: bool | None = None
    counts: dict[str, int] | None = None
    profile_verdicts: dict[str, str] | None = None
    reason: str | None = None
    report_folder: str | None = None
    exit_code: int | None = None


def run_folder(settings: ServeSettings, run_id: int) -> Path:
    return settings.runs / str(run_id)


def execute_run(run_id: int, context: RunContext) -> None:
    """Run ``run_id`` if it is still queued; whatever happens, it ends finished or incomplete."""
    try:
        plan = _take(run_id, context)
        if plan is None:
            return
        outcome = _supervise(run_id, plan, context)
    except Exception as exc:  # noqa: BLE001 - a run is never lost: it ends incomplete with the cause
        outcome = Outcome("incomplete", reason=f"the service failed running it: {type(exc).__name__}: {exc}")
    _record(run_id, outcome, context)


def _take(run_id: int, context: RunContext) -> _Plan | None:
    if not lease.claim(context.store, run_id, context.worker_id):
        return None  # not queued (any more): another worker has it, or it ended
    with context.store.session() as db:
        run = db.get_one(Run, run_id)
        system = run.system
        token = context.box.open(system.trigger_token_enc).decode() if system.trigger_token_enc else None
        env = _environment(system.ics_toml, token)
        if not system.embedded:  # a registered system's run connects only where the policy allows
            env.update(write_policy(run_folder(context.settings, run_id), policy_for(context.settings, db)))
        attended = bool(run.selection.get("attended")) and not system.embedded
        if attended:  # made here, by the service: the web process writes the answers into it
            (run_folder(context.settings, run_id) / OPERATOR_FOLDER).mkdir(
                mode=0o700, parents=True, exist_ok=True
            )
        return _Plan(
            argv=_arguments(run.selection, context.settings, run_id, attended=attended),
            toml=None if system.embedded else with_site_key(system.ics_toml or "", context.settings),
            tls=open_tls(context.box, system.tls_material_enc),
            env=env,
        )


def _arguments(
    selection: dict[str, Any], settings: ServeSettings, run_id: int, attended: bool = False
) -> list[str]:
    report = (run_folder(settings, run_id) / REPORT_FOLDER).resolve()
    operator = (run_folder(settings, run_id) / OPERATOR_FOLDER).resolve()
    interaction = ["--operator-dir", str(operator)] if attended else ["--non-interactive"]
    argv = ["run", *interaction, "--report-dir", str(report)]
    for profile in selection.get("profiles", []):
        argv += ["--profile", profile]
    for requirement in selection.get("requirements", []):
        argv += ["--requirement", requirement]
    if selection.get("tests"):
        argv += ["-k", " or ".join(selection["tests"])]
    return argv


def _environment(toml: str | None, token: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _WITHHELD_ENV}
    env.update(PYTHONUNBUFFERED="1", CI="1", NO_COLOR="1", COLUMNS="110")
    env["CONFORMANCE_WORKER_PID"] = str(os.getpid())  # limits.py ties the run to this process's life
    if token is not None:
        env["EFDX_TEST_TOKEN"] = token
        named = _token_env(toml)
        if named:
            env[named] = token
    return env


def _token_env(toml: str | None) -> str | None:
    try:
        trigger = tomllib.loads(toml or "").get("candidate", {}).get("trigger", {})
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    name = trigger.get("token_env") if isinstance(trigger, dict) else None
    return name if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", name) else None


def _supervise(run_id: int, plan: _Plan, context: RunContext) -> Outcome:
    folder = run_folder(context.settings, run_id)
    (folder / REPORT_FOLDER).mkdir(parents=True, exist_ok=True)
    caps = context.settings.caps
    with private_folder(plan.toml or "", plan.tls) as private:
        argv = [*plan.argv, "--config", str(private / CONFIG_NAME)] if plan.toml is not None else plan.argv
        limits = [sys.executable, "-m", "conformance.app.serve.limits", str(caps.memory_bytes)]
        command = [*limits, str(caps.file_bytes), "--", sys.executable, "-m", "conformance.app.cli", *argv]
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=folder,
            env=plan.env,
            start_new_session=True,
        )
        with context.store.session() as db:
            db.get_one(Run, run_id).child_pid = child.pid
        stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        readers = [
            threading.Thread(target=_copy_progress, args=(child.stdout, folder, caps), daemon=True),
            threading.Thread(
                target=_keep_tail, args=(child.stderr, stderr_tail, caps.line_chars), daemon=True
            ),
        ]
        for reader in readers:
            reader.start()
        stopped_why = _wait(child, context, run_id)
        for reader in readers:
            reader.join(timeout=5)
    return _outcome(folder, child.returncode, stopped_why, list(stderr_tail), context)


def _renew(run_id: int, context: RunContext) -> bool:
    try:
        return lease.renew(context.store, run_id, context.worker_id)
    except Exception:  # noqa: BLE001 - a database hiccup is not a lost lease: the next beat retries
        return True


def _wait(child: subprocess.Popen, context: RunContext, run_id: int) -> str | None:
    """Wait for the child; past the time cap or when the service stops, stop its process group.
    Returns why it was stopped, or None when it ended by itself."""
    caps = context.settings.caps
    deadline = time.monotonic() + caps.wall_s
    next_beat = time.monotonic() + context.settings.heartbeat_s
    why = None
    while child.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)
        if child.returncode is not None:
            break
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + context.settings.heartbeat_s
            if not _renew(run_id, context):
                why = lease.LOST
        if context.stopping.is_set():
            why = STOPPED
        elif time.monotonic() >= deadline:
            why = f"stopped after the run's time limit of {caps.wall_s:g} s"
        if why:
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=caps.kill_grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
    _signal_group(child.pid, signal.SIGKILL)  # whatever the run left behind (its side-by-side processes)
    return why


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _copy_progress(stream, folder: Path, caps) -> None:
    """The child's stdout into RUN/progress.log, with the run folder's absolute path (the service's
    data folder, no business of the run's readers) shown as ``RUN``. The stream is read to its end
    whatever happens to the file, so that the child never blocks on a full pipe."""
    kept = dropped = 0
    where = str(folder.resolve())
    with stream, contextlib.ExitStack() as closing:
        try:
            out = closing.enter_context(open(folder / PROGRESS_FILE, "a", encoding="utf-8"))
        except OSError:
            out = None
        for raw in stream:
            if out is None or kept >= caps.progress_lines:
                dropped += 1
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "").replace(where, "RUN")
            out.write(line[: caps.line_chars] + "\n")
            out.flush()
            kept += 1
        if dropped and out is not None:
            out.write(f"({dropped} more lines not kept)\n")


def _keep_tail(stream, tail: collections.deque[str], limit: int) -> None:
    with stream:
        for raw in stream:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                tail.append(text[:limit])


def _outcome(
    folder: Path, code: int, stopped_why: str | None, stderr: list[str], context: RunContext
) -> Outcome:
    report = _report_folder(folder / REPORT_FOLDER)
    relative = str(report.relative_to(context.settings.data.resolve())) if report else None
    results: dict[str, Any] | None = None
    problem = None
    if report is not None:
        try:
            value = load_json(report / "results.json", cap=context.settings.caps.results_bytes)
            results = value if isinstance(value, dict) else None
            problem = None if results is not None else "results.json is not an object"
        except UnsafeInput as exc:
            problem = str(exc).replace(str(folder), "RUN")
    outcome = Outcome("incomplete", report_folder=relative, exit_code=code, **_read(results))
    if stopped_why:
        outcome.reason = stopped_why
    elif code < 0:
        outcome.reason = f"the run's process was killed (signal {-code})"
    elif code not in (0, 1):
        last = next((line for line in reversed(stderr) if line.startswith("conformance: error:")), None)
        outcome.reason = last or (stderr[-1] if stderr else f"the run's process ended with exit code {code}")
    elif results is None or outcome.verdict is None:
        outcome.reason = f"the run left no readable results.json ({problem or 'no report folder'})"
    else:
        outcome.state = "finished"
    return outcome


def _report_folder(report_dir: Path) -> Path | None:
    """The folder the CLI wrote (the one directory in report/; not a link)."""
    try:
        entries = sorted(report_dir.resolve().iterdir())
    except OSError:
        return None
    folders = [entry for entry in entries if not entry.is_symlink() and entry.is_dir()]
    return folders[-1] if folders else None


def _read(results: dict[str, Any] | None) -> dict[str, Any]:
    """What results.json says, each value checked for its type (it is read back from disk)."""
    if results is None:
        return {}
    verdict = results.get("verdict")
    certification = results.get("certification")
    can_certify = certification.get("can_certify") if isinstance(certification, dict) else None
    tests = results.get("tests")
    tests = tests if isinstance(tests, list) else []
    counts = Counter(
        str(test["verdict"])[:40]
        for test in tests
        if isinstance(test, dict) and isinstance(test.get("verdict"), str)
    )
    profiles = results.get("profiles")
    profiles = profiles if isinstance(profiles, list) else []
    per_profile = {
        str(p["key"])[:40]: str(p["verdict"])[:40]
        for p in profiles
        if isinstance(p, dict) and isinstance(p.get("key"), str) and isinstance(p.get("verdict"), str)
    }
    return {
        "verdict": verdict[:40] if isinstance(verdict, str) else None,
        "can_certify": can_certify if isinstance(can_certify, bool) else None,
        "counts": dict(counts),
        "profile_verdicts": per_profile,
    }


def _record(run_id: int, outcome: Outcome, context: RunContext) -> None:
    with context.store.session() as db:
        run = db.get(Run, run_id)
        if run is None or run.state != "running" or run.worker_id != context.worker_id:
            return  # not (or no longer) this worker's: reaped meanwhile, or never taken
        run.state = outcome.state
        run.verdict, run.can_certify = outcome.verdict, outcome.can_certify
        run.counts, run.profile_verdicts = outcome.counts, outcome.profile_verdicts
        run.reason, run.report_folder, run.exit_code = (
            outcome.reason,
            outcome.report_folder,
            outcome.exit_code,
        )
        run.finished = datetime.now(timezone.utc)
        system = run.system
        db.add(
            AuditEvent(
                action="run-ended",
                organisation_id=system.organisation_id,
                target=f"run:{run_id}",
                detail=f"{outcome.state}: {outcome.verdict or outcome.reason}",
            )
        )


def recover(context: RunContext, embedded: bool = True) -> list[int]:
    """At start: runs left running by a previous embedded service are incomplete (their process is
    gone; with Redis workers, a running run may be a live worker's: the reaper judges it by its
    lease); runs still queued are returned, oldest first, to be queued again (claiming makes a run
    sent twice run once)."""
    from sqlalchemy import select

    with context.store.session() as db:
        if embedded:
            for run in db.scalars(select(Run).where(Run.state == "running")):
                run.state, run.reason = "incomplete", STOPPED
                run.finished = datetime.now(timezone.utc)
        return list(db.scalars(select(Run.id).where(Run.state == "queued").order_by(Run.id)))
