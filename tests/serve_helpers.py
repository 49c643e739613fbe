"""The shared test bed (`conformance serve`) for its tests: served from a thread of the test's process
on 127.0.0.1 port 0 with its data in a temporary folder, stopped by the test that started it, and
logged-in clients (a requests.Session that sends the session's CSRF token, or a bearer token).

Two back ends (``BACKENDS``, the ``backend`` argument of ``serving``): "embedded" (SQLite, the runs
in a pool of threads of the web process) and "postgres" (a real PostgreSQL and a real Redis started
by tests/services.py, the runs in a `conformance serve worker` process started here: the web
process runs none itself). Leases are short in the second so that a killed worker's run is reaped
within seconds."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from conformance.app.serve.server import BackgroundServer, open_testbed
from conformance.app.serve.settings import RunCaps, ServeSettings
from tests import services

BACKENDS = ("embedded", "postgres")
LEASE_S = 15.0  # a worker 15 s silent is dead: short for the kill test, long for a loaded CI machine


@contextlib.contextmanager
def serving(
    data: Path, workers: int = 2, caps: RunCaps | None = None, backend: str = "embedded", **more
) -> Iterator[BackgroundServer]:
    if backend == "embedded":
        settings = ServeSettings(data=data, workers=workers, caps=caps or RunCaps(), **more)
        server = BackgroundServer(open_testbed(settings))
        server.start()
        try:
            yield server
        finally:
            server.stop()
        return
    with services.postgres() as database_url, services.redis() as redis_url:
        settings = ServeSettings(
            data=data,
            workers=workers,
            caps=caps or RunCaps(),
            database_url=database_url,
            redis_url=redis_url,
            lease_s=LEASE_S,
            heartbeat_s=1.0,
            broker_heartbeat_s=10.0,
            **more,
        )
        server = BackgroundServer(open_testbed(settings))
        server.start()
        server.workers = []  # type: ignore[attr-defined]
        try:
            server.workers.append(start_worker(settings, threads=workers))  # type: ignore[attr-defined]
            yield server
        finally:
            for worker in server.workers:  # type: ignore[attr-defined]
                stop_worker(worker)
            server.stop()


def start_worker(settings: ServeSettings, threads: int = 2) -> subprocess.Popen:
    """`conformance serve worker` for the test bed of ``settings``, once it says it consumes."""
    command = [sys.executable, "-m", "conformance.app.cli", "serve", "worker", "--data", str(settings.data)]
    command += ["--database-url", str(settings.database_url), "--redis", str(settings.redis_url)]
    command += ["--threads", str(threads), "--lease", f"{settings.lease_s:g}"]
    for option, value in (("--site-cert", settings.site_cert), ("--site-key", settings.site_key)):
        if value is not None:
            command += [option, str(value)]
    if settings.site_passphrase_env:
        command += ["--site-passphrase-env", settings.site_passphrase_env]
    with open(settings.data / "worker.log", "ab") as log:  # its warnings, kept for a failing test
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if not line.startswith("conformance serve worker: "):
        worker.kill()
        worker.communicate(timeout=10)
        tail = (settings.data / "worker.log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"the worker did not start: {line!r}\n{tail}")
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.communicate()


class Client(requests.Session):
    """A session against one test bed: relative URLs, and the CSRF token once logged in."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, self.base + url if url.startswith("/") else url, *args, **kwargs)


def login(base: str, name: str, password: str) -> Client:
    client = Client(base)
    answer = client.post("/api/login", json={"name": name, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def bearer(base: str, token: str) -> Client:
    client = Client(base)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def add_member(admin: Client, organisation: str, name: str, role: str = "tester") -> tuple[int, Client]:
    """A new organisation (or the existing one of that name) with a user of ``role``, logged in."""
    made = admin.post("/api/organisations", json={"name": organisation})
    if made.status_code == 201:
        organisation_id = made.json()["id"]
    else:
        organisation_id = next(
            o["id"] for o in admin.get("/api/organisations").json() if o["name"] == organisation
        )
    user = admin.post("/api/users", json={"name": name, "organisation": organisation_id, "role": role})
    assert user.status_code == 201, user.text
    return organisation_id, login(admin.base, name, user.json()["password"])


def wait_for(check, timeout: float = 60.0, step: float = 0.2):
    """``check()``'s first truthy value within ``timeout`` seconds (AssertionError after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")
