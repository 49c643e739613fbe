"""Several profiles of one `conformance run` side by side (a process each) against the embedded
reference NSW: the same tests, verdicts, pipe output and evidence as the same run with ``--serial``;
the delivery-order lock keeps one profile's M-21 group and the other profile's tests at the same
harness party apart (EFDX errata 2); a profile whose process is killed gets a note and an
incomplete part, and the report is still written. Real processes, real loopback HTTP."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from conformance.app import side_by_side
from conformance.app.delivery_order import DeliveryOrder
from conformance.app.run import RunOptions, run, shares
from conformance.harness.config import Config
from conformance.profiles.efdx.pack import PROFILE as EFDX


def _run(capsys, report_dir: Path, **options) -> tuple[int, dict, list[str], Path]:
    capsys.readouterr()
    code, folder = run(RunOptions(report_dir=report_dir, live=False, **options))
    out = capsys.readouterr().out
    lines = [_same_any_run(line) for line in out.splitlines() if not line.startswith("report: ")]
    return code, json.loads((folder / "results.json").read_text()), lines, folder


# What differs between any two runs, serial or not: message IDs (UUIDs) and the free ports.
_PER_RUN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|127\.0\.0\.1:\d+")


def _same_any_run(line: str) -> str:
    return _PER_RUN.sub("<per run>", line)


def _verdicts(results: dict) -> list[tuple[str, str]]:
    return [(test["id"], test["verdict"]) for test in results["tests"]]


def _but_urls(row: dict) -> dict:
    """A profile's row without its reference NSW's URL (a free port each run)."""
    return {**row, "sut": {**row["sut"], "url": None}}


def _times(test: dict) -> list[datetime]:
    """When what a test exchanged and received happened."""
    found = []
    for exchange in test["exchanges"]:
        found.append(datetime.fromisoformat(exchange["started"]))
    for arrival in test["received"]:
        found.append(datetime.fromisoformat(arrival["received_at"]))
    return found


def test_the_default_run_goes_side_by_side_and_the_single_or_bounded_ones_do_not():
    plan = shares(RunOptions())
    assert [share.profile.key for share in plan] == ["efdx", "rcpx"]
    assert side_by_side.chosen(RunOptions(), plan)
    assert not side_by_side.chosen(RunOptions(serial=True), plan)
    assert not side_by_side.chosen(RunOptions(maxfail=1), plan)
    assert not side_by_side.chosen(RunOptions(profile=EFDX), shares(RunOptions(profile=EFDX)))
    candidate = Config(
        party="KH",
        inbox_url="http://127.0.0.1:1/efdx/1/messages",
        profiles=("efdx", "rcpx"),
        capabilities=frozenset({"trigger"}),
        trigger_url="http://127.0.0.1:1/efdx/1/test/trigger",
    )
    assert side_by_side.chosen(RunOptions(config=candidate), plan)  # harness.listen on a free port
    fixed = dataclasses.replace(candidate, harness_listen="127.0.0.1:8443")
    assert not side_by_side.chosen(RunOptions(config=fixed), plan)  # one port for every profile's inbox
    own = dataclasses.replace(fixed, harness_listens={"rcpx": "127.0.0.1:8444"})
    assert side_by_side.chosen(RunOptions(config=own), plan)  # RCPX's inbox has a port of its own
    same = dataclasses.replace(fixed, harness_listens={"rcpx": "127.0.0.1:8443"})
    assert not side_by_side.chosen(RunOptions(config=same), plan)
    free = dataclasses.replace(candidate, harness_listens={"rcpx": "127.0.0.1:8444"})
    assert side_by_side.chosen(RunOptions(config=free), plan)  # EFDX's on a free port
    manual = dataclasses.replace(candidate, capabilities=frozenset(), trigger_url=None)
    assert not side_by_side.chosen(RunOptions(config=manual), plan)  # one operator
    assert side_by_side.chosen(RunOptions(config=manual, non_interactive=True), plan)


def test_side_by_side_gives_the_serial_runs_tests_verdicts_pipe_lines_and_evidence(tmp_path, capsys):
    """The default run (both profiles against the reference), side by side and with --serial."""
    side_code, side, side_lines, side_folder = _run(capsys, tmp_path / "side")
    serial_code, serial, serial_lines, serial_folder = _run(capsys, tmp_path / "serial", serial=True)
    assert (side_code, side["verdict"]) == (serial_code, serial["verdict"]) == (0, "conformant")
    assert _verdicts(side) == _verdicts(serial)
    assert len(side["tests"]) > 600
    assert side_lines == serial_lines  # the pipe's lines, in the serial run's order
    for key in ("requirements", "certification", "interrupted", "partial", "harness_inbox"):
        assert side.get(key) == serial.get(key), key
    assert [_but_urls(row) for row in side["profiles"]] == [_but_urls(row) for row in serial["profiles"]]
    assert [(len(t["exchanges"]), len(t["received"])) for t in side["tests"]] == [
        (len(t["exchanges"]), len(t["received"])) for t in serial["tests"]
    ]
    with (
        zipfile.ZipFile(side_folder / "evidence.zip") as one,
        zipfile.ZipFile(serial_folder / "evidence.zip") as other,
    ):
        assert sorted(one.namelist()) == sorted(other.namelist())
        received = [name for name in one.namelist() if name.startswith("received/")]
        assert received and all(one.read(name).startswith(b"<") for name in received)

    # the two profiles did run at the same time: their spans overlap
    spans = {}
    for title in ("EFDX 1.0", "RCPX 1.0"):
        times = [t for test in side["tests"] if test["profile"] == title for t in _times(test)]
        spans[title] = (min(times), max(times))
    (efdx_start, efdx_end), (rcpx_start, rcpx_end) = spans["EFDX 1.0"], spans["RCPX 1.0"]
    assert efdx_start < rcpx_end and rcpx_start < efdx_end
    # against the reference EFDX's harness plays SG and RCPX's JP: no delivery order binds them
    assert [row["ics"]["harness_party"] for row in side["profiles"]] == ["SG", "JP"]


def test_a_share_starts_by_fork_only_while_the_runs_process_has_one_thread():
    """A fork copies another thread's locks mid-step: with one running, a share is spawned."""
    script = textwrap.dedent(
        """
        import threading
        from conformance.app import cli, side_by_side
        print(side_by_side.start_method())
        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        print(side_by_side.start_method())
        stop.set()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["fork", "spawn"], done.stderr


def test_the_cli_forks_its_shares_and_prints_the_serial_runs_lines(tmp_path):
    """`conformance run` (its process has one thread when the shares start: they are forked) prints in
    a pipe what --serial prints, each line once: a forked share prints nothing of the run's buffers."""

    def lines(*extra: str) -> list[str]:
        argv = [sys.executable, "-m", "conformance.app.cli", "run", "--requirement", "M-10", *extra]
        done = subprocess.run(
            [*argv, "--report-dir", str(tmp_path / "reports")], capture_output=True, text=True, timeout=300
        )
        assert "Traceback" not in done.stderr, done.stderr
        return [_same_any_run(line) for line in done.stdout.splitlines() if not line.startswith("report: ")]

    side = lines()
    assert side == lines("--serial")
    assert sum(line.startswith("EFDX 1.0") for line in side) == 1  # each profile's header line once
    assert any(line.startswith("run: ") for line in side)


SLOW_TO_END = textwrap.dedent(
    """
    import multiprocessing, sys, time
    from pathlib import Path
    from conformance.app import run, side_by_side
    side_by_side.STOP_BOUND_S = 3.0
    share = side_by_side._child
    def share_then_hang(*args):  # hands its part back, then does not end (its reference's stop hung)
        share(*args)
        time.sleep(600)
    side_by_side._child = share_then_hang  # a forked share runs it
    code, folder = run.run(run.RunOptions(report_dir=Path(sys.argv[1]), live=False, requirements=("M-10",)))
    alive = [p.name for p in multiprocessing.active_children()]
    print("report", (folder / "report.html").is_file(), "alive", sorted(alive), flush=True)
    """
)


def test_the_report_does_not_wait_for_a_shares_process_to_end_which_is_killed_if_it_hangs(tmp_path):
    """A share that has handed its part back is still stopping its reference NSW: the report is
    written meanwhile, and the run's process waits for it at exit, killing it after STOP_BOUND_S."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SLOW_TO_END, str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "report True alive ['conformance-run-efdx', 'conformance-run-rcpx']" in done.stdout, done.stderr
    assert time.monotonic() - began < 120  # not the 600 s of the hang


@pytest.mark.parametrize(
    ("fault", "requirements"),
    [
        ("no-retry", ("M-21", "A-06", "M-06")),  # M-21's group, exporting tests that wait, signatures
        ("ignore-digests", ("M-06", "M-07")),
        ("ignore-crl", ("M-10",)),
        ("no-retry-after-timeout", ("M-21",)),
    ],
)
def test_a_seeded_fault_gets_the_same_verdicts_side_by_side_and_serially(
    tmp_path, capsys, fault, requirements
):
    """A fault both packs seed, with the tests of the requirements it breaks and others beside."""
    selection = {"reference_fault": fault, "requirements": requirements}
    side_code, side, side_lines, _ = _run(capsys, tmp_path / "side", **selection)
    serial_code, serial, serial_lines, _ = _run(capsys, tmp_path / "serial", serial=True, **selection)
    assert side_code == serial_code == 1
    assert _verdicts(side) == _verdicts(serial)
    assert {test["profile"] for test in side["tests"]} == {"EFDX 1.0", "RCPX 1.0"}
    assert any(verdict == "fail" for _, verdict in _verdicts(side))
    assert [row["verdict"] for row in side["requirements"]] == [
        row["verdict"] for row in serial["requirements"]
    ]
    assert side["verdict"] == serial["verdict"] == "not-conformant"
    assert side_lines == serial_lines
    assert [row["sut"]["fault"] for row in side["profiles"]] == [fault, fault]


def test_a_profile_whose_process_is_killed_gets_a_note_and_the_report_is_written(tmp_path, capsys):
    ended: dict = {}

    def go() -> None:
        ended["result"] = run(RunOptions(report_dir=tmp_path, live=False))

    runner = threading.Thread(target=go)
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        victim = next(
            (p for p in multiprocessing.active_children() if p.name == "conformance-run-rcpx"), None
        )
        time.sleep(0.2)
    assert victim is not None, "no RCPX process"
    time.sleep(8)  # its reference NSW up, some of its tests done
    os.kill(victim.pid, signal.SIGKILL)
    runner.join(timeout=300)
    assert not runner.is_alive()
    code, folder = ended["result"]
    data = json.loads((folder / "results.json").read_text())
    rows = {row["key"]: row for row in data["profiles"]}
    assert code == 1
    assert rows["efdx"]["verdict"] == "conformant"
    assert rows["rcpx"]["verdict"] == "incomplete"
    assert data["verdict"] == "incomplete"
    notes = json.dumps(data)
    assert "RCPX 1.0: its process ended unexpectedly (killed by signal 9)" in notes
    for name in ("junit.xml", "ctrf.json", "report.html", "evidence.zip"):
        assert (folder / name).is_file()
    assert "Traceback" not in capsys.readouterr().err


# --- the lock itself, across real processes --------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import fcntl, sys, time
    from conformance.app.delivery_order import DeliveryOrder
    order = DeliveryOrder(sys.argv[1])
    order.bind(sys.argv[2])
    mode = {"ex": fcntl.LOCK_EX, "sh": fcntl.LOCK_SH}[sys.argv[3]]
    seconds, rounds = float(sys.argv[4]), int(sys.argv[5])
    for _ in range(rounds):
        order._take(mode)
        print("held", flush=True)
        time.sleep(seconds)
        order._release()
    """
)


def _holder(folder: Path, party: str, mode: str, seconds: float, rounds: int = 1) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), party, mode, str(seconds), str(rounds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_test_waits_while_another_process_holds_its_partys_group_lock(tmp_path):
    holder = _holder(tmp_path, "SG", "ex", 1.5)
    order = DeliveryOrder(tmp_path)
    order.bind("SG")
    started = time.monotonic()
    with order.shared():
        waited = time.monotonic() - started
    order.close()
    holder.wait(timeout=10)
    assert waited > 1.0


def test_another_party_does_not_wait(tmp_path):
    holder = _holder(tmp_path, "SG", "ex", 3.0)
    order = DeliveryOrder(tmp_path)
    order.bind("KH")
    started = time.monotonic()
    with order.shared():
        waited = time.monotonic() - started
    order.close()
    holder.kill()
    holder.wait(timeout=10)
    assert waited < 1.0


def test_a_group_is_not_starved_by_a_stream_of_tests(tmp_path):
    """Another process's tests follow each other at once (shared, 0.3 s each, back to back): the
    group's exclusive lock is had after the test under way, not after the stream."""
    stream = _holder(tmp_path, "SG", "sh", 0.3, rounds=30)
    order = DeliveryOrder(tmp_path)
    order.bind("SG")
    import fcntl

    started = time.monotonic()
    order._take(fcntl.LOCK_EX)
    waited = time.monotonic() - started
    order._release()
    order.close()
    stream.kill()
    stream.wait(timeout=10)
    assert waited < 2.0


# --- the lock in two real pytest sessions: a starts_early group and a stream of tests at one party ---

GROUP_MODULE = """
import time, pytest
LOG = {log!r}

def _log(name, start):
    with open(LOG, "a") as out:
        out.write(f"{{name}} {{start}} {{time.time()}}\\n")

def test_a_before():
    start = time.time(); time.sleep(0.2); _log("group-side-before", start)

@pytest.mark.starts_early(start=None)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_group(n):
    start = time.time(); time.sleep(0.4); _log(f"group-{{n}}", start)

def test_z_after():
    start = time.time(); time.sleep(0.2); _log("group-side-after", start)
"""

STREAM_MODULE = """
import time, pytest
LOG = {log!r}

@pytest.mark.parametrize("n", range(12))
def test_waits_for_the_candidate(n):
    start = time.time(); time.sleep(0.25)
    with open(LOG, "a") as out:
        out.write(f"stream-{{n}} {{start}} {{time.time()}}\\n")
"""

SESSION = textwrap.dedent(
    """
    import sys, pytest
    from conformance.app.delivery_order import DeliveryOrder
    order = DeliveryOrder(sys.argv[1])
    order.bind(sys.argv[2])
    args = [sys.argv[3], "-q", "-c", "/dev/null", "-p", "no:cacheprovider", "-p", "no:randomly"]
    args += ["-p", "no:xdist"]
    sys.exit(pytest.main(args, plugins=[order]))
    """
)


def _session(folder: Path, party: str, module: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SESSION, str(folder), party, str(module)],
        stdout=subprocess.DEVNULL,
        cwd=module.parent,
    )


@pytest.mark.parametrize("party", ["SG", "JP"])
def test_a_starts_early_group_and_another_sessions_tests_at_one_party_never_overlap(tmp_path, party):
    locks, log = tmp_path / "locks", tmp_path / "log"
    locks.mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    group = tmp_path / "a" / "test_group_side.py"
    stream = tmp_path / "b" / "test_stream_side.py"
    group.write_text(GROUP_MODULE.format(log=str(log)))
    stream.write_text(STREAM_MODULE.format(log=str(log)))
    stream_session = _session(locks, "SG", stream)
    time.sleep(0.5)
    group_session = _session(locks, party, group)
    assert group_session.wait(timeout=60) == 0
    assert stream_session.wait(timeout=60) == 0
    spans = {}
    for line in log.read_text().splitlines():
        name, start, end = line.split()
        spans[name] = (float(start), float(end))
    group_start = min(spans[f"group-{n}"][0] for n in (1, 2, 3))
    group_end = max(spans[f"group-{n}"][1] for n in (1, 2, 3))
    overlapping = [
        name
        for name, (start, end) in spans.items()
        if name.startswith("stream-") and start < group_end and end > group_start
    ]
    if party == "SG":  # the same party: kept apart
        assert overlapping == [], (overlapping, spans)
    else:  # another party: free to overlap (and the stream is still under way when the group runs)
        assert overlapping != [], spans


class _Item:
    """What DeliveryOrder reads of a pytest item: its nodeid, module and starts_early mark."""

    def __init__(self, nodeid: str, module: str, group: str | None = None, early: bool = True) -> None:
        self.nodeid, self.module = nodeid, module
        self._mark = pytest.mark.starts_early(start=None, group=group).mark if early else None

    def get_closest_marker(self, name: str):
        return self._mark if name == "starts_early" else None


def test_a_named_group_holds_the_lock_exclusive_across_its_modules(tmp_path):
    """A named group (the status group: tests of several modules, run one after another) holds its
    party's lock exclusive from its first test to its last, not to the end of its first module."""
    import fcntl
    from types import SimpleNamespace

    items = [
        _Item("a.py::first", "a", group="status"),
        _Item("b.py::second", "b", group="status"),
        _Item("b.py::third", "b", group="status"),
        _Item("b.py::plain", "b", early=False),
    ]
    order = DeliveryOrder(tmp_path)
    order.bind("SG")
    order.pytest_collection_finish(SimpleNamespace(items=items))
    held = []
    for item in items:
        order._before(item)
        held.append((order._held, order._group_ends))
        order._after(item)
    order.close()
    group = (fcntl.LOCK_EX, "b.py::third")  # never let go between its modules
    assert held == [group, group, group, (fcntl.LOCK_SH, None)]
