"""The reference NSW's outbox: `reference serve --outbox-workers N` delivers N at once.

The other process is the real `conformance reference serve`, on a real SQLite file, delivering to a
loopback partner that holds what it is sent (tests/loopback.py's HoldingPeer), so that its claims are
taken and its tries in flight while the test looks. Fixed waits are only grace periods that show
something does not happen.
"""

from __future__ import annotations

import queue
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.profiles.efdx.reference.store import Store
from tests.loopback import HoldingPeer, reference_serve_command

ROWS = 4
WAIT = 30.0  # bound on every wait for something that must happen
GRACE = 1.5  # what has not happened by then is taken not to happen
TIMEOUT = "20"  # the outboxes' read timeout, longer than any hold here: no retry of a held try


def queue_rows(db: Path, count: int = ROWS) -> list[bytes]:
    """``count`` messages due now in the outbox of ``db`` (bodies: the partner only counts them)."""
    store = Store(db)
    bodies = [f"<message n='{index}'/>".encode() for index in range(count)]
    with store.transaction() as tx:
        for index, body in enumerate(bodies):
            tx.enqueue(message_id=f"m{index}", party="SG", action="Ping", body=body, send_at=0.0)
    store.close()
    return bodies


def until(condition, timeout: float = WAIT) -> bool:
    """A bounded poll (of the SQLite file, which tells nobody when it changes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def states(db: Path) -> Counter:
    with sqlite3.connect(db) as connection:
        return Counter(state for (state,) in connection.execute("SELECT state FROM outbox"))


@pytest.fixture
def peer() -> Iterator[HoldingPeer]:
    with HoldingPeer() as holding:
        yield holding


@pytest.fixture
def serve(tmp_path, peer):
    """Start `conformance reference serve` for KH on ``db``, peer SG the holding partner; killed at
    teardown."""
    processes: list[subprocess.Popen] = []

    def start(db: Path, *options: str) -> subprocess.Popen:
        command = reference_serve_command(db, peer.url, "--outbound-timeout", TIMEOUT, *options)
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        processes.append(process)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
        assert lines.get(timeout=WAIT).startswith("reference NSW KH at ")
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()


def test_reference_serve_outbox_workers_delivers_that_many_at_once(tmp_path, serve, peer):
    db = tmp_path / "kh.sqlite"
    queue_rows(db)
    serve(db, "--outbox-workers", "2")
    assert peer.wait_for(lambda: peer.held == 2, WAIT)
    assert not peer.wait_for(lambda: peer.held > 2, GRACE)
    peer.release()
    assert until(lambda: states(db) == Counter(sent=ROWS))


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_reference_serve_outbox_workers_below_one_is_a_usage_error(tmp_path, capsys, workers):
    command = ["reference", "serve", "--party", "KH", "--port", "0", "--db", str(tmp_path / "kh.sqlite")]
    assert cli.main([*command, "--outbox-workers", workers]) == cli.EXIT_USAGE
    assert f"--outbox-workers: at least 1, not {workers}" in capsys.readouterr().err
    assert not (tmp_path / "kh.sqlite").exists()  # nothing served
