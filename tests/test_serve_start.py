"""`conformance serve` as an operator starts it: the first start prints the admin's password once, a
second start does not and keeps the data; what it cannot use is one line and exit 4. The migrations
make exactly the models' schema."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conformance.app.serve.db import engine_for, migrate
from conformance.app.serve.execute import STOPPED
from conformance.app.serve.models import Base, Run, System
from conformance.app.serve.server import open_testbed
from conformance.app.serve.settings import RunCaps, ServeSettings
from tests.serve_helpers import wait_for


def _start(data: Path, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    """The command, read up to the line with its URL (the lines before it returned too)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "conformance.app.cli", "serve", "--port", "0", "--data", str(data), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    assert child.stdout is not None
    for line in child.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("conformance serve: http://127.0.0.1:"):
            return child, lines
    raise AssertionError(f"no URL printed: {lines} {child.stderr.read() if child.stderr else ''}")


def _stop(child: subprocess.Popen) -> str:
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=30)
    return out


def test_first_start_prints_the_password_once_and_a_second_start_keeps_the_data(tmp_path):
    data = tmp_path / "testbed"
    child, lines = _start(data)
    try:
        first = next(line for line in lines if line.startswith("first start: user admin, password "))
        password = first.rsplit(" ", 1)[1]
        url = lines[-1].split()[2]
        answer = requests.post(url + "api/login", json={"name": "admin", "password": password}, timeout=10)
        assert answer.status_code == 200
        systems = requests.get(url + "api/systems", cookies=answer.cookies, timeout=10).json()
        assert [(s["name"], s["embedded"]) for s in systems] == [("Embedded reference NSW", True)]
    finally:
        rest = _stop(child)
    assert password not in rest
    assert os.stat(data / "secret.key").st_mode & 0o077 == 0  # the key that encrypts systems' secrets
    for path in data.rglob("*"):  # the password is kept nowhere in clear
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path

    child, lines = _start(data)
    try:
        assert not any("password" in line for line in lines)
        url = lines[-1].split()[2]
        again = requests.post(url + "api/login", json={"name": "admin", "password": password}, timeout=10)
        assert again.status_code == 200
    finally:
        rest = _stop(child)
    assert "password" not in rest


def _refused(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "conformance.app.cli", "serve", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_what_it_cannot_use_is_one_line_and_exit_4(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert "--data" in _refused("--port", "0", "--data", str(blocker / "testbed"))
    url_error = _refused("--port", "0", "--data", str(tmp_path / "d"), "--database-url", "nosuchdb://x")
    assert "--database-url" in url_error
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        assert f"--port {port}" in _refused("--port", port, "--data", str(tmp_path / "d"))
    assert "--allow-remote" in _refused("--host", "0.0.0.0", "--port", "0", "--data", str(tmp_path / "d"))


def test_the_migrations_make_the_models_schema(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'check.sqlite'}")
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_restart_ends_runs_left_running_and_runs_those_left_queued_under_the_time_cap(tmp_path):
    """A service that stopped (or crashed) left one run running and one queued: the next start marks
    the first incomplete and runs the second, which the wall-time cap then stops."""
    first = open_testbed(ServeSettings(data=tmp_path))
    with first.store.session() as db:
        second_system = System(organisation_id=1, name="Another reference", embedded=True)
        db.add(second_system)
        db.flush()
        db.add(Run(system_id=1, selection={}, state="running", child_pid=1))
        db.add(Run(system_id=second_system.id, selection={}, state="queued"))
    first.close()

    caps = RunCaps(wall_s=3, kill_grace_s=10)
    second = open_testbed(ServeSettings(data=tmp_path, caps=caps))
    try:
        with second.store.session() as db:
            left = db.get_one(Run, 1)
            assert (left.state, left.reason) == ("incomplete", STOPPED)

        def ended() -> Run | None:
            with second.store.session() as db:
                run = db.get_one(Run, 2)
                return run if run.state not in ("queued", "running") else None

        capped = wait_for(ended, timeout=60)
        assert (capped.state, capped.reason) == ("incomplete", "stopped after the run's time limit of 3 s")
        assert capped.verdict == "incomplete"  # the CLI wrote its report on SIGTERM, marked incomplete
    finally:
        second.close()
