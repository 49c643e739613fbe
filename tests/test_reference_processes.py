"""`conformance reference serve --processes N`: N processes on one port (SO_REUSEPORT) and one SQLite
file, to use more cores. Connections are spread over them by the kernel; every CO is answered and its
status sent exactly once (the outbox claims keep the processes apart); the others end with the first,
however it ends; fewer than one is a usage error."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from conformance.app import cli
from conformance.family.vectors import Build
from conformance.profiles.efdx import messages
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests.loopback import HoldingPeer, poll_until, reference_serve_command

COS = 32  # one connection each: the chance that the kernel gives all to one process is 2 in 2**32
WAIT = 30.0  # bound on every wait for something that must happen
GRACE = 1.5  # what has not happened by then is taken not to happen


@pytest.fixture
def peer() -> Iterator[HoldingPeer]:
    with HoldingPeer() as holding:
        holding.release()  # answers at once: SG's inbox, counting what arrives
        yield holding


@pytest.fixture
def served(tmp_path, peer) -> Iterator[tuple[subprocess.Popen, str]]:
    """`reference serve --processes 2` for KH on a fresh file, its SG peer the counting partner: the
    first process and its inbox URL; killed at teardown (the other ends with it)."""
    # a status is never retried here for want of time (a retry would be a second, legitimate, arrival)
    command = reference_serve_command(
        tmp_path / "kh.sqlite", peer.url, "--processes", "2", "--outbound-timeout", str(2 * WAIT)
    )
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
        line = lines.get(timeout=WAIT)
        assert line.startswith("reference NSW KH at "), line
        yield process, line.rpartition(" at ")[2].strip()
    finally:  # SIGTERM: the first stops the others (a SIGKILL would leave that to their PDEATHSIG)
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def established(pid: int, port: int) -> int:
    """Connections to ``port`` that process ``pid`` holds open (its sockets in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile (the outbox's connections come and go)
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        local_port = int(fields[1].rpartition(":")[2], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
            count += 1
    return count


def signed_cos(count: int) -> list[bytes]:
    pki, now = TestPki.load(), datetime.now(UTC)
    return [
        messages.serialize(
            Build(
                vector_id=f"processes-{index:03d}", day=now.date(), pki=pki, moment=now, dialect=EFDX
            ).envelope()
        )
        for index in range(count)
    ]


def test_processes_share_the_port_and_each_co_gets_one_answer_and_one_status(served, peer, tmp_path):
    process, url = served
    (other,) = children(process.pid)
    assert len(list(tmp_path.glob("kh.sqlite-owner-*"))) == 2  # two live outboxes on the one file
    port = int(url.split("/")[2].rpartition(":")[2])
    sessions = [requests.Session() for _ in range(COS)]  # each keeps its one connection open
    try:
        for session, body in zip(sessions, signed_cos(COS), strict=True):
            answer = session.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=WAIT)
            assert answer.status_code == 200, answer.text[:500]
        held = {pid: established(pid, port) for pid in (process.pid, other)}
        assert sum(held.values()) == COS and all(held.values()), held  # the kernel gave each some
    finally:
        for session in sessions:
            session.close()
    assert poll_until(lambda: len(peer.arrivals) >= COS, WAIT), len(peer.arrivals)
    time.sleep(GRACE)
    arrived = (len(peer.arrivals), len(set(peer.arrivals)))
    assert arrived == (COS, COS), arrived  # one status each, none twice
    assert all(b"StatusNotification" in body for body in peer.arrivals)


def test_the_others_end_with_the_first_however_it_ends(served):
    process, _ = served
    (other,) = children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert poll_until(lambda: not Path(f"/proc/{other}").exists() or _zombie(other), WAIT)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("count", ["0", "-2"])
def test_fewer_than_one_process_is_a_usage_error(tmp_path, capsys, count):
    code = cli.main(
        ["reference", "serve", "--party", "KH", "--port", "0", "--db", str(tmp_path / "kh.sqlite")]
        + ["--processes", count]
    )
    assert code == 4
    assert f"--processes: at least 1, not {count}" in capsys.readouterr().err


def test_the_first_stops_the_others_and_ends_cleanly_on_sigterm(served):
    process, _ = served
    (other,) = children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT) == 0
    assert not Path(f"/proc/{other}").exists() or _zombie(other)


def test_another_process_that_cannot_start_is_said_and_leaves_nothing(tmp_path):
    from conformance.app import reference_process

    failing = ["reference", "serve", "--party", "XX"]  # not a party: it exits at once
    with (
        pytest.raises(reference_process.ReferenceDidNotStart, match="did not start"),
        reference_process.siblings(failing, 1, 1, False),
    ):
        pass
    assert [pid for pid in children(os.getpid()) if b"--party\0XX\0" in _cmdline(pid)] == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--fault", "drop-status-per-mille"], "--processes: a seeded fault runs in one process"),
        (["--port", "{busy}"], "--port {busy}: Address already in use"),
    ],
    ids=["with-a-fault", "on-a-port-served-already"],
)
def test_processes_refuse_a_fault_and_a_port_another_serves(tmp_path, capsys, options, message):
    with socket.socket() as busy:  # as another instance of --processes listens: SO_REUSEPORT
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = ["reference", "serve", "--party", "KH", "--port", "0", "--db", str(tmp_path / "kh.sqlite")]
        code = cli.main(argv + ["--processes", "2"] + [option.format(busy=port) for option in options])
    assert code == 4
    assert f"conformance: error: {message.format(busy=port)}" in capsys.readouterr().err


def test_a_single_process_on_a_port_another_program_serves_is_one_line(tmp_path, capsys):
    """Not werkzeug's print and exit 1, nor a traceback: the usage error's one line, exit 4."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        code = cli.main(
            ["reference", "serve", "--party", "KH", "--port", port, "--db", str(tmp_path / "kh.db")]
        )
    assert code == 4
    assert capsys.readouterr().err.strip().splitlines() == [
        f"conformance: error: --port {port}: Address already in use"
    ]


def test_a_reader_gone_from_the_pipe_is_no_port_error(tmp_path):
    """`conformance reference serve | head -0`: the reader has gone before the first line. That is no
    error of ours (exit 0), and never "--port: Broken pipe" (only a port it cannot listen on is)."""
    argv = [sys.executable, "-m", "conformance.app.cli", "reference", "serve", "--party", "KH", "--port", "0"]
    process = subprocess.Popen(
        [*argv, "--db", str(tmp_path / "kh.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # the reader has gone
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert b"--port" not in err, err
    assert process.returncode == 0, err
