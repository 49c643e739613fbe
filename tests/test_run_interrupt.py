"""Ctrl-C during `conformance run` still writes the report folder, marked incomplete (DESIGN.md).

The command runs as a child process against the embedded reference NSW; once a few tests have
finished (its plain progress lines, stdout being a pipe), it gets SIGINT. Every wait is bounded and
the child is killed in teardown whatever happened.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from conformance.app import cli, side_by_side
from conformance.app import run as run_module
from conformance.results.results import RunSet

PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (\S+)")
FINISHED_BEFORE_INTERRUPT = 3
START_BOUND_S = 120.0  # until the first tests have finished (imports, PKI, reference NSW start)
EXIT_BOUND_S = 60.0  # from SIGINT to exit


def _sigint_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def child(tmp_path):
    """Start `python -m conformance.app.cli ARGS...`; its stdout lines arrive on a queue, stderr in a file."""
    started: list[subprocess.Popen] = []

    def start(*argv: str) -> tuple[subprocess.Popen, queue.Queue, Path]:
        # stderr to a file, so that a chatty child can never block on a full pipe
        stderr_path = tmp_path / f"stderr-{len(started)}.txt"
        stderr = stderr_path.open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "conformance.app.cli", *argv],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each progress line as it is written
            # Ctrl-C as at a terminal: a job started in the background by a shell (`pytest &`, a CI
            # runner's) has SIGINT ignored, and an ignored signal is inherited across exec
            preexec_fn=_sigint_as_at_a_terminal,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        stderr.close()  # the child has its own copy
        started.append(process)
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            with process.stdout:
                for line in process.stdout:
                    lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        return process, lines, stderr_path

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_for_finished_tests(lines: queue.Queue, count: int, bound_s: float) -> tuple[int, int, list[str]]:
    """Read progress lines until ``count`` tests are done; (done, total, lines seen)."""
    seen: list[str] = []
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = PROGRESS.match(line)
        if match and int(match.group(1)) >= count:
            return int(match.group(1)), int(match.group(2)), seen
    pytest.fail(f"fewer than {count} tests finished within {bound_s:g} s; output so far:\n" + "\n".join(seen))


def test_ctrl_c_writes_an_incomplete_report(child, tmp_path):
    reports = tmp_path / "reports"
    process, lines, stderr_path = child("run", "--report-dir", str(reports))
    done, total, _ = wait_for_finished_tests(lines, FINISHED_BEFORE_INTERRUPT, START_BOUND_S)
    assert done < total, "the run ended before it could be interrupted"
    # On a loaded machine the lines read may lag behind the child: it must still be running
    assert process.poll() is None, "the run ended before it could be interrupted (a loaded machine?)"
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=EXIT_BOUND_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`conformance run` did not exit within {EXIT_BOUND_S:g} s of SIGINT")
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    assert code == 1, f"exit code {code}; stderr:\n{stderr}"
    folders = [path for path in reports.iterdir() if path.is_dir()] if reports.is_dir() else []
    assert len(folders) == 1, f"report folders {folders}; stderr:\n{stderr}"
    folder = folders[0]
    for name in ("results.json", "junit.xml", "ctrf.json", "report.html", "evidence.zip"):
        assert (folder / name).is_file(), f"{name} missing; stderr:\n{stderr}"
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "incomplete"
    assert data["interrupted"] is True
    # What ran before the interrupt is kept, and the run was indeed cut short.
    assert FINISHED_BEFORE_INTERRUPT <= len(data["tests"]) < total
    assert all(test["verdict"] for test in data["tests"])
    etree.parse(str(folder / "junit.xml"))
    with zipfile.ZipFile(folder / "evidence.zip") as bundle:
        assert bundle.testzip() is None


def test_ctrl_c_before_the_first_test_still_writes_the_report(tmp_path, monkeypatch, capsys):
    """Interrupted while the first profile starts (its reference NSW, its harness): no profile has a
    record, and the report still says who was run and that it was interrupted (it once failed to
    render: a run with no part has no candidate's party)."""

    def interrupted_while_starting(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "_run_profile", interrupted_while_starting)
    code, folder = run_module.run(run_module.RunOptions(report_dir=tmp_path, live=False, serial=True))
    assert code == 1
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "incomplete" and data["interrupted"] is True and data["tests"] == []
    assert data["sut"]["party"] and data["sut"]["reference"] is True
    assert "interrupted before its first test" in json.dumps(data)
    assert "not reached (the run stopped before it began)" in (folder / "report.html").read_text(
        encoding="utf-8"
    )
    for name in ("junit.xml", "ctrf.json", "report.html", "evidence.zip"):
        assert (folder / name).is_file(), name
    assert "Traceback" not in capsys.readouterr().err


def test_a_profile_process_lost_before_it_named_its_candidate_still_gets_a_report(tmp_path):
    """A share's process killed before it said its candidate: its part names the candidate as
    configured (the reference NSW's party), so that the report renders."""
    plan = run_module.shares(run_module.RunOptions())
    lost = side_by_side._Share(plan[1], SimpleNamespace(exitcode=-9))
    part = side_by_side._lost(run_module.RunOptions(), lost)
    assert part.sut["party"] == plan[1].profile.reference_party and part.interrupted
    assert "its process ended unexpectedly (killed by signal 9) after 0 tests" in part.extra["note"]
    folder = tmp_path / "run"
    folder.mkdir()
    signer = plan[1].profile.load_pki().nsw(plan[1].profile.partner_party)
    run_module.write_reports(RunSet([part], (plan[1].profile,)), folder, signer)
    assert "killed by signal 9" in (folder / "report.html").read_text(encoding="utf-8")


def test_ctrl_c_before_the_run_begins_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    """Pressed while the run still reads its selection: nothing to report, no traceback."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "shares", interrupted)
    assert cli.main(["run", "--report-dir", str(tmp_path / "reports")]) == 1
    assert capsys.readouterr().err == "conformance: interrupted\n"
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
