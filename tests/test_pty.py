"""`conformance run` on a real terminal (a pseudo-terminal) and in a pipe, as a person sees it.

pytest, which `conformance run` uses inside, points file descriptors 1 and 2 at temporary files
while a test runs; what the live display and the operator's instructions write then must still
reach the terminal. Each test runs the command as a child process with its output on a pty (or a
pipe) and reads the screen as it is written, with a time bound on every wait.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.loopback import free_port, serve_reference, stop_reference

COMMAND = [sys.executable, "-m", "conformance.app.cli"]
TOKEN = "pty-operator-token"
ISSUE = "test_issue_co_sent_by_the_candidate_conforms"
OPERATOR_S = 20  # the operator (this test) acts at once; the bound only matters when it cannot
START_BOUND_S = 120.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Screen:
    """What a child process wrote, as it arrives, with the time each piece came."""

    chunks: list[tuple[float, str]] = field(default_factory=list)
    closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, text: str | None) -> None:
        with self._changed:
            if text is None:
                self.closed = True
            else:
                self.chunks.append((time.monotonic(), text))
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(text for _, text in self.chunks)

    def wait_for(self, pattern: str, bound_s: float) -> tuple[re.Match, float]:
        """The first match of ``pattern`` in the text with the ANSI sequences taken out, and when the
        chunk that completed it arrived."""
        deadline = time.monotonic() + bound_s
        with self._changed:
            while True:
                seen = ""
                for arrived, text in self.chunks:
                    seen += text
                    match = re.search(pattern, ANSI.sub("", seen))
                    if match:
                        return match, arrived
                if self.closed or time.monotonic() >= deadline:
                    pytest.fail(f"{pattern!r} not seen within {bound_s:g} s; screen:\n{ANSI.sub('', seen)}")
                self._changed.wait(timeout=max(0.0, deadline - time.monotonic()))


@dataclass
class Child:
    process: subprocess.Popen
    screen: Screen
    errors: Screen | None = None  # stderr, when it is a pipe of its own

    def wait(self, bound_s: float = 60.0) -> int:
        return self.process.wait(timeout=bound_s)


def _pump(read: Callable[[], bytes], screen: Screen) -> None:
    while True:
        try:
            data = read()
        except OSError:  # EIO: the pty's last writer closed
            data = b""
        if not data:
            screen.add(None)
            return
        screen.add(data.decode("utf-8", errors="replace"))


@pytest.fixture
def spawn(tmp_path) -> Iterator[Callable[..., Child]]:
    """Start ``conformance ARGS`` with stdout and stderr on one pty (``pty=True``) or on two pipes."""
    children: list[subprocess.Popen] = []

    def start(*argv: str, on_pty: bool = True, columns: int = 200) -> Child:
        # a user at a terminal: not CI (where manual-mode tests would not wait for an operator)
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": "", "CI": ""}
        env = {key: value for key, value in env.items() if value}
        if on_pty:
            master, slave = pty.openpty()
            # a sized terminal, wide enough that nothing wraps
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            process = subprocess.Popen(
                [*COMMAND, *argv], cwd=tmp_path, env=env, stdin=slave, stdout=slave, stderr=slave
            )
            os.close(slave)
            children.append(process)
            screen = Screen()
            threading.Thread(target=_pump, args=(lambda: os.read(master, 65536), screen), daemon=True).start()
            return Child(process, screen)
        process = subprocess.Popen(
            [*COMMAND, *argv],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        children.append(process)
        out, err = Screen(), Screen()
        threading.Thread(target=_pump, args=(lambda: process.stdout.read1(65536), out), daemon=True).start()
        threading.Thread(target=_pump, args=(lambda: process.stderr.read1(65536), err), daemon=True).start()
        return Child(process, out, err)

    yield start
    for process in children:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def results(reports: Path) -> dict:
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def test_the_live_count_moves_during_the_run(spawn, tmp_path):
    """Before: `0/0 tests` the whole run, then the total at the end."""
    reports = str(tmp_path / "reports")
    child = spawn("run", "--profile", "efdx", "--requirement", "M-06", "--report-dir", reports)
    moving, moving_at = child.screen.wait_for(r"\b([1-9]\d*)/([1-9]\d*) tests", START_BOUND_S)
    _, summary_at = child.screen.wait_for(r"EFDX 1\.0 conformance: ", 60)
    assert child.wait() == 0
    done, total = int(moving.group(1)), int(moving.group(2))
    assert done < total, f"the first count seen was already the last ({done}/{total})"
    assert moving_at < summary_at
    shown = {int(m.group(1)) for m in re.finditer(r"\b(\d+)/4 tests", ANSI.sub("", child.screen.text))}
    assert shown >= {1, 2, 3, 4}, shown  # each finished test moved the count
    assert total == len(results(tmp_path / "reports")["tests"])


# --- manual mode: the operator reads the screen and acts ------------------------------------------


def test_a_failing_test_prints_its_line_with_its_reason_before_the_summary(spawn, tmp_path):
    """On a terminal the live display used to show only counts and the current test: which test
    failed, and why, came only as a list of requirements at the end."""
    reports = str(tmp_path / "reports")
    child = spawn(
        "run", "--profile", "efdx", "--requirement", "M-10", "--reference-fault", "ignore-crl",
        "--report-dir", reports,
    )  # fmt: skip
    failed, failed_at = child.screen.wait_for(r"\] fail +efdx/(\S+revoked\S+)", START_BOUND_S)
    reason, _ = child.screen.wait_for(r"M-10: expected HTTP 403", 10)
    _, summary_at = child.screen.wait_for(r"EFDX 1\.0 conformance: ", 60)
    assert child.wait() == 1
    assert failed_at < summary_at
    test = next(t for t in results(tmp_path / "reports")["tests"] if t["verdict"] == "fail")
    assert test["nodeid"] == failed.group(1)


def test_in_a_pipe_each_profile_starts_with_its_header_line(spawn, tmp_path):
    """In a pipe the header was said at the first test's start, under pytest's capture: it never
    reached the output, and the [n/N] count started again for RCPX unannounced."""
    reports = str(tmp_path / "reports")
    child = spawn("run", "--requirement", "M-10", "--report-dir", reports, on_pty=False)
    assert child.wait() == 0
    lines = child.screen.text.splitlines()
    efdx, rcpx = lines.index("EFDX 1.0: running its suite"), lines.index("RCPX 1.0: running its suite")
    assert lines[efdx + 1].startswith("[1/") and lines[rcpx + 1].startswith("[1/") and efdx < rcpx


def test_at_80_columns_the_summary_is_not_cut(spawn, tmp_path):
    reports = str(tmp_path / "reports")
    child = spawn("run", "--profile", "efdx", "--requirement", "M-10", "--report-dir", reports, columns=80)
    child.screen.wait_for(r"report: ", 90)
    assert child.wait() == 0
    shown = ANSI.sub("", child.screen.text)
    assert "EFDX 1.0: running its suite" in shown
    table = shown[shown.index("EFDX 1.0 conformance: ") :]
    for header in ("requirements", "not-applicable", "inconclusive", "by-load-run"):
        assert header in table
    assert "…" not in table


ONE_ISSUE_CO = "valid-issue-co and not ecdsa and not sha"  # test_single_message[valid-issue-co] alone
WAIT_LINE = r"waiting for a StatusNotification from KH: (\d+) s left"


@pytest.mark.parametrize("on_pty", [True, False], ids=["pty", "pipe"])
def test_a_long_wait_says_what_it_waits_for_and_counts_the_seconds_left(spawn, tmp_path, on_pty):
    """A candidate that never sends its status: the test waits out the status window (5 s against the
    reference; 60 s by default, minutes for an operator), which the display used to sit through
    silent. In a pipe nothing is printed per wait: its lines stay as they were."""
    reports = str(tmp_path / "reports")
    argv = ("run", "--profile", "efdx", "--reference-fault", "never-send-status", "-k", ONE_ISSUE_CO)
    child = spawn(*argv, "--report-dir", reports, on_pty=on_pty)
    if on_pty:
        _, waiting_at = child.screen.wait_for(WAIT_LINE, START_BOUND_S)
        _, summary_at = child.screen.wait_for(r"EFDX 1\.0 conformance: ", 60)
        assert waiting_at < summary_at
    assert child.wait() == 1
    (test,) = results(tmp_path / "reports")["tests"]
    assert test["verdict"] == "fail" and test["reason"].startswith("A-01: expected a StatusNotification")
    shown = [int(left) for left in re.findall(WAIT_LINE, ANSI.sub("", child.screen.text))]
    if on_pty:  # counted down while it waited: 5, 4, ... (each refresh draws the line again); the
        # overlapped wait, then the test run again alone as the probe (status_group): 5 .. 1, 5 .. 1
        waits = [[shown[0]]]
        for left in shown[1:]:
            if left > waits[-1][-1]:
                waits.append([left])  # a new wait begins
            else:
                waits[-1].append(left)
        assert shown[0] == 5 and 1 <= len(waits) <= 2, shown
        assert all(wait == sorted(wait, reverse=True) and len(set(wait)) >= 3 for wait in waits), shown
    else:
        assert shown == [] and "waiting" not in child.screen.text + child.errors.text


@pytest.fixture
def reference_without_trigger(tmp_path) -> Iterator[tuple[str, Path]]:
    """`conformance reference serve` (KH) and a config that does not claim the capability "trigger"
    (manual mode). The reference's trigger is the operator's "user interface"; the harness is not
    told about it. Yields the trigger URL and the config file."""
    harness_port = free_port()
    process, inbox_url, trigger_url = serve_reference(tmp_path / "kh.sqlite", harness_port, TOKEN)
    try:
        config = tmp_path / "kh.toml"
        config.write_text(
            f"""
[candidate]
party = "KH"
inbox_url = "{inbox_url}"
roles = ["exporting"]
capabilities = ["replace", "cancel", "verification", "utilisation", "ecdsa"]

[candidate.windows]
status_s = 5
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 5
grace_s = 0.3
peer_timeout_s = 1
operator_s = {OPERATOR_S}

[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
""",
            encoding="utf-8",
        )
        yield trigger_url, config
    finally:
        stop_reference(process)


def act_as_operator(screen: Screen, trigger_url: str) -> float:
    """Read the instruction on the screen, do it in the candidate's "interface"; when it was seen."""
    instruction, seen_at = screen.wait_for(
        r"OPERATOR: in the candidate NSW \(KH\), issue the e-Form D \S+ to SG\.\s*\n"
        r"\s+action: (?P<action>\w+)\s*\n\s+to: (?P<to>\w+)\s*\n\s+document: (?P<document>\S+\.xml)\s*\n"
        rf"\s+The harness waits up to {OPERATOR_S} s",
        START_BOUND_S,
    )
    document = Path(instruction["document"]).read_text(encoding="utf-8")
    with requests.Session() as session:
        session.trust_env = False
        answer = session.post(
            trigger_url,
            json={"action": instruction["action"], "to": instruction["to"], "document": document},
            headers={"X-EFDX-Test-Token": TOKEN},
            timeout=10,
        )
    assert answer.status_code == 202, answer.text
    return seen_at


@pytest.mark.parametrize("on_pty", [True, False], ids=["pty", "pipe"])
def test_the_operator_instruction_reaches_the_terminal_before_the_wait(
    spawn, reference_without_trigger, tmp_path, on_pty
):
    """Before: the instruction went to pytest's captured stderr, and the operator waited for nothing."""
    trigger_url, config = reference_without_trigger
    reports = tmp_path / "reports"
    # in a pipe, an operator watching stderr says so (without a terminal the default is not to wait)
    interactive = () if on_pty else ("--interactive",)
    argv = ("run", "--config", str(config), "-k", ISSUE, "--report-dir", str(reports), *interactive)
    child = spawn(*argv, on_pty=on_pty)
    seen_at = act_as_operator(child.screen if on_pty else child.errors, trigger_url)
    assert child.wait() == 0, child.screen.text
    ended_at = time.monotonic()
    # the harness was still waiting when the instruction could be read: it went on as the CO arrived
    assert ended_at - seen_at < OPERATOR_S - 5
    (test,) = results(reports)["tests"]
    assert test["verdict"] == "pass", test["reason"]
    assert test["notes"] and test["notes"][0].startswith("OPERATOR: ")
    if on_pty:  # printed above the live display, which then says what it waits for
        assert "waiting for the operator" in ANSI.sub("", child.screen.text)
    else:
        assert "OPERATOR:" not in child.screen.text  # stdout keeps to the progress lines


# --- a run ended from outside: its reference NSW does not outlive it ----------------------------------


def reference_child(run_pid: int, bound_s: float = START_BOUND_S) -> int:
    """The pid of the `reference serve` process the run started."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == run_pid and b"reference\0serve" in command:
                return int(entry.name)
        time.sleep(0.1)
    pytest.fail(f"no reference NSW process of run {run_pid} within {bound_s:g} s")


def ended(pid: int, bound_s: float = 30.0) -> bool:
    """Whether ``pid`` is gone (or a zombie nobody reaps yet) within ``bound_s``."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "end",
    [signal.SIGTERM, signal.SIGKILL],
    ids=["terminated", "killed"],
)
def test_a_run_ended_from_outside_takes_its_reference_with_it(spawn, tmp_path, end):
    """SIGTERM (a CI job's timeout) ends a run as Ctrl-C does, its report written; SIGKILL (the OOM
    killer) leaves no reference NSW holding a port either: it is signalled as its parent dies."""
    child = spawn("run", "--profile", "efdx", "--report-dir", "reports", on_pty=False)
    child.screen.wait_for(r"\[1/\d+\]", START_BOUND_S)
    reference = reference_child(child.process.pid)
    child.process.send_signal(end)
    child.wait()
    assert ended(reference)
    if end == signal.SIGTERM:
        assert results(tmp_path / "reports")["interrupted"] is True


def test_two_profiles_side_by_side_on_a_terminal_show_both_counts_their_waits_and_fails(spawn, tmp_path):
    """Both profiles at once (a process each): the live display has a count for each, each one's wait
    is counted down and each failing test gets its line with its reason, as they come."""
    reports = str(tmp_path / "reports")
    argv = ("run", "--reference-fault", "never-send-status", "-k", ONE_ISSUE_CO, "--report-dir", reports)
    child = spawn(*argv)
    child.screen.wait_for(r"EFDX 1\.0: \d+/1 tests", START_BOUND_S)
    child.screen.wait_for(r"RCPX 1\.0: \d+/1 tests", START_BOUND_S)
    _, efdx_waits = child.screen.wait_for(WAIT_LINE, START_BOUND_S)
    _, rcpx_waits = child.screen.wait_for(r"waiting for a StatusNotification from AU: (\d+) s left", 60)
    _, efdx_fails = child.screen.wait_for(r"\] fail +efdx/\S+\s+A-01: expected a StatusNotification", 60)
    _, rcpx_fails = child.screen.wait_for(r"\] fail +rcpx/\S+\s+A-01: expected a StatusNotification", 60)
    _, summary_at = child.screen.wait_for(r"run: not-conformant", 60)
    assert child.wait() == 1
    assert max(efdx_waits, rcpx_waits) < min(efdx_fails, rcpx_fails)  # both waited at once
    assert max(efdx_fails, rcpx_fails) < summary_at
    tests = results(tmp_path / "reports")["tests"]
    assert [(t["id"].split("/")[0], t["verdict"]) for t in tests] == [("efdx", "fail"), ("rcpx", "fail")]
