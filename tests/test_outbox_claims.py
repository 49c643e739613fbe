"""The reference NSW's outbox on one SQLite file with others (store.py, owners.py, outbox.py): a row
is delivered by one live owner at a time, so an outbox starting on a file that a live `reference
serve` process is delivering from leaves that process's claims alone; a killed process's claims go
again (at-least-once); `reference serve --outbox-workers N` delivers N at once.

The other process is the real `conformance reference serve`, on a real SQLite file, delivering to a
loopback partner that holds what it is sent (tests/loopback.py's HoldingPeer), so that its claims are
taken and its tries in flight while the test looks. Fixed waits are only grace periods that show
something does not happen.
"""

from __future__ import annotations

import fcntl
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.family.reference import owners
from conformance.family.reference.outbox import Outbox
from conformance.family.reference.store import Store
from tests.loopback import HoldingPeer, poll_until, reference_serve_command

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
    """A bounded poll of the SQLite file, which tells nobody when it changes."""
    return poll_until(condition, timeout)


def claims(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT message_id, claimed_by FROM outbox"))


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


@pytest.fixture
def outbox(tmp_path, peer):
    """An outbox in this process on ``db`` (a second owner of its claims), stopped at teardown."""
    started: list[tuple[Store, Outbox]] = []

    def start(db: Path) -> Outbox:
        store = Store(db)
        running = Outbox(store, {"SG": peer.url}, timeout=float(TIMEOUT), schedule=(0.1, 0.2), workers=2)
        started.append((store, running))
        running.start()
        return running

    yield start
    for store, running in started:
        running.stop()
        store.close()


def serving_one_held(serve, peer: HoldingPeer, db: Path) -> subprocess.Popen:
    """`reference serve` with one worker, every queued row claimed (one batch) and its first try held."""
    process = serve(db, "--outbox-workers", "1")
    assert peer.wait_for(lambda: peer.held == 1, WAIT)
    assert all(claims(db).values()), claims(db)
    return process


def test_a_live_processs_claims_survive_another_outboxs_start(tmp_path, serve, outbox, peer):
    db = tmp_path / "kh.sqlite"
    bodies = queue_rows(db)
    serving_one_held(serve, peer, db)
    before = claims(db)
    outbox(db)
    assert not peer.wait_for(lambda: len(peer.arrivals) > 1, GRACE), "the second outbox delivered"
    assert claims(db) == before  # still the live process's
    peer.release()
    assert peer.wait_for(lambda: len(peer.arrivals) == ROWS, WAIT)
    assert not peer.wait_for(lambda: len(peer.arrivals) > ROWS, GRACE)
    assert sorted(peer.arrivals) == sorted(bodies)  # each once
    assert until(lambda: states(db) == Counter(sent=ROWS))


def test_a_killed_processs_claims_go_again(tmp_path, serve, outbox, peer):
    db = tmp_path / "kh.sqlite"
    bodies = queue_rows(db)
    process = serving_one_held(serve, peer, db)
    (token,) = {owners.token_of(owner) for owner in claims(db).values()}
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    (lock_file,) = tmp_path.glob(f"kh.sqlite-owner-{token}")  # left behind, unlocked
    assert all(claims(db).values())  # the dead process's claims are still on the file
    peer.release()
    outbox(db)  # its start finds the lock file unlocked: releases the claims, removes the file
    assert not lock_file.exists()
    assert peer.wait_for(lambda: len(peer.arrivals) == ROWS + 1, WAIT)
    assert Counter(peer.arrivals) == Counter(bodies) + Counter(peer.arrivals[:1])  # the held one twice
    assert until(lambda: states(db) == Counter(sent=ROWS))


def test_a_probe_takes_no_live_owners_lock_and_shuts_out_no_other_probe(tmp_path):
    db = tmp_path / "kh.sqlite"
    owner = owners.Owner(db)
    assert owners.alive(db, owner.token) and owners.alive(db, owner.token) and owner.path.exists()
    owner.close()
    dead = owners.Owner(db)  # an owner that died: its lock file is there, unlocked
    os.close(dead._fd)
    with open(dead.path, "rb") as probing:  # another probe of it, holding its lock meanwhile
        fcntl.flock(probing, fcntl.LOCK_SH | fcntl.LOCK_NB)
        assert not owners.alive(db, dead.token)  # still seen dead (and its file removed)
    assert not dead.path.exists()


def test_a_dead_owners_lock_file_is_swept_at_a_start_and_a_stopped_ones_at_its_stop(tmp_path, outbox):
    db = tmp_path / "kh.sqlite"
    queue_rows(db, 0)
    script = (
        "import os, signal, sys; from pathlib import Path;"
        "from conformance.family.reference.owners import Owner;"
        "Owner(Path(sys.argv[1])); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], timeout=30, check=False)
    (left,) = tmp_path.glob("kh.sqlite-owner-*")  # a dead owner with no claims
    running = outbox(db)
    (mine,) = tmp_path.glob("kh.sqlite-owner-*")
    assert mine != left and not left.exists()
    running.stop()
    assert not mine.exists()


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
