"""A real PostgreSQL and a real Redis for the tests, started by the test and stopped by it.

Both listen on a Unix socket only (no TCP port at all), in a temporary folder: nothing on the
machine can reach them but this test run, and two runs never clash on a port.

- PostgreSQL: a throwaway cluster (``initdb``, then ``postgres -k DIR -c listen_addresses=''``),
  trust authentication on the socket. ``initdb`` and ``postgres`` refuse to run as root, which CI
  is: there they run as the ``postgres`` user (``runuser``), in a folder that user owns.
- Redis: ``redis-server --port 0 --unixsocket DIR/redis.sock``, no persistence.

The binaries come from Debian's ``postgresql`` and ``redis-server`` packages (.ci/run installs them).
A missing binary skips the test that needs it, saying what to install, as the other Debian tools'
tests do (conftest.require_tool); under CI it fails it: there a test that cannot run is not a pass.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

START_S = 60.0
PG_ROOTS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _missing(message: str) -> NoReturn:
    """The Debian package a test needs is not installed: skipped, but a failure under CI (as
    conftest.require_tool)."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _pg_bin(name: str) -> str:
    for folder in PG_ROOTS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        _missing(f"{name} not found: install the Debian package postgresql (.ci/run does)")
    return found


def _as_postgres(command: list[str]) -> list[str]:
    """Root may not run initdb or postgres: run them as the postgres user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM (both shut down cleanly on it), then SIGKILL after 30 s."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _wait_for(path: Path, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit {process.poll()}):\n{tail}")
        time.sleep(0.05)


@contextlib.contextmanager
def postgres(database: str = "testbed") -> Iterator[str]:
    """A PostgreSQL cluster on a Unix socket; yields the SQLAlchemy URL of ``database`` in it."""
    with tempfile.TemporaryDirectory(prefix="pg-") as folder:
        root = Path(folder)
        data, sockets, log = root / "data", root / "run", root / "postgres.log"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(sockets, "postgres")
            root.chmod(0o700)
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        with open(log, "wb") as output:
            server = subprocess.Popen(
                _as_postgres(
                    [
                        _pg_bin("postgres"),
                        *("-D", str(data), "-k", str(sockets)),
                        *("-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=100"),
                    ]
                ),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for(sockets / ".s.PGSQL.5432", server, "postgres", log)
            _until_ready(sockets)
            subprocess.run(
                _as_postgres([_pg_bin("createdb"), "-h", str(sockets), "-U", "postgres", database]),
                check=True,
                capture_output=True,
            )
            yield f"postgresql+psycopg://postgres@/{database}?host={sockets}"
        finally:
            _stop(server)


def _until_ready(sockets: Path) -> None:
    deadline = time.monotonic() + START_S
    while True:
        ready = subprocess.run(
            [_pg_bin("pg_isready"), "-h", str(sockets), "-U", "postgres"], capture_output=True
        )
        if ready.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"postgres not ready: {ready.stdout!r}")
        time.sleep(0.1)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A Redis server on a Unix socket; yields its URL (``unix:///...``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server not found: install the Debian package redis-server (.ci/run does)")
    with tempfile.TemporaryDirectory(prefix="redis-") as folder:
        root = Path(folder)
        socket, log = root / "redis.sock", root / "redis.log"
        with open(log, "wb") as output:
            server = subprocess.Popen(
                [
                    binary,
                    *("--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700"),
                    *("--save", "", "--appendonly", "no", "--dir", str(root)),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for(socket, server, "redis-server", log)
            yield f"unix://{socket}"
        finally:
            _stop(server)
