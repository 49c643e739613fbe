"""`conformance serve`: open the test bed (data folder, database and migrations, secret key, first
start), then serve it with uvicorn until Ctrl-C or SIGTERM; runs under way are then stopped and end
``incomplete`` ("the service stopped during the run").

Decisions: the socket is bound before anything is printed, so the printed URL is true (port 0
picks a free port) and a port in use is a one-line error (exit 4, as every command's configuration
error). Only a loopback address is bound unless ``--allow-remote`` is given: the embedded default
speaks plain HTTP, and a test bed on a network belongs behind a TLS-terminating proxy. The admin's
first password goes to stdout once and nowhere else (uvicorn's access log is off as well, so nothing
a request carries is logged).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from conformance.app.serve import site_key
from conformance.app.serve.auth import LoginLimiter
from conformance.app.serve.bootstrap import ADMIN, first_start
from conformance.app.serve.db import DatabaseError, Store, engine_for, migrate
from conformance.app.serve.execute import RunContext, recover
from conformance.app.serve.lease import reaper as make_reaper
from conformance.app.serve.periodic import Every
from conformance.app.serve.queue import RunQueue, ThreadQueue
from conformance.app.serve.requeue import requeuer
from conformance.app.serve.retention import pruner as make_pruner
from conformance.app.serve.secret_box import SecretBox, SecretKeyError, load_box
from conformance.app.serve.settings import ServeSettings
from conformance.core.egress import is_loopback_host


class ServeError(Exception):
    """The test bed cannot start: one line for the operator (exit 4)."""


@dataclass
class Testbed:
    settings: ServeSettings
    store: Store
    box: SecretBox
    queue: RunQueue
    context: RunContext
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    first_password: str | None = None
    chores: list[Every] = field(default_factory=list)  # the reaper, the pruner, the requeuer

    def close(self) -> None:
        for chore in self.chores:
            chore.stop()
        self.queue.shutdown()
        self.store.engine.dispose()


def _check_data(data: Path) -> None:
    try:
        data.mkdir(parents=True, exist_ok=True)
        (data / "runs").mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ServeError(
            f"--data {data}: {exc.strerror or exc} (the test bed keeps its database and runs there)"
        ) from None


def open_store(settings: ServeSettings) -> tuple[Store, SecretBox]:
    """The data folder checked, the database migrated, the secret key loaded, the site key checked
    (web and workers)."""
    _check_data(settings.data)
    try:
        site_key.check(settings)
    except site_key.SiteKeyRefused as exc:
        raise ServeError(str(exc)) from None
    try:
        engine = engine_for(settings.url)
        migrate(engine)
        box = load_box(settings.data)
    except (DatabaseError, SecretKeyError) as exc:
        raise ServeError(str(exc)) from None
    except OSError as exc:
        raise ServeError(f"--data {settings.data}: {exc.strerror or exc}") from None
    return Store(engine), box


def _queue(settings: ServeSettings, context: RunContext) -> RunQueue:
    if not settings.redis_url:
        return ThreadQueue(context, settings.workers)
    from conformance.app.serve.dramatiq_queue import DramatiqQueue

    try:
        return DramatiqQueue(settings.redis_url, settings.broker_heartbeat_s)
    except Exception as exc:  # noqa: BLE001 - an unusable URL: one line for the operator
        raise ServeError(f"--redis: {exc}") from None


def open_testbed(settings: ServeSettings) -> Testbed:
    """Everything but the web server: usable by the command and by tests alike. Without a Redis URL
    the runs go to a pool of threads here; with one, to the Dramatiq workers (worker.py)."""
    store, box = open_store(settings)
    password = first_start(store)
    context = RunContext(settings=settings, store=store, box=box)
    queued = recover(context, embedded=not settings.redis_url)
    queue = _queue(settings, context)
    for run_id in queued:
        queue.submit(run_id)
    chores = [make_reaper(store, settings.lease_s, settings.lease_s / 3), make_pruner(settings, store)]
    if settings.redis_url:  # a broker that can lose messages (the embedded queue loses none while up)
        chores.append(requeuer(store, queue, settings.requeue_s))
    for chore in chores:
        chore.start()
    return Testbed(
        settings=settings,
        store=store,
        box=box,
        queue=queue,
        context=context,
        first_password=password,
        chores=chores,
    )


def bind(host: str, port: int, allow_remote: bool) -> socket.socket:
    if not allow_remote and not is_loopback_host(host):
        raise ServeError(f"--host {host}: not a loopback address; give --allow-remote to serve on a network")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        raise ServeError(f"--host {host} --port {port}: {exc.strerror or exc}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _uvicorn(testbed: Testbed):
    import uvicorn

    from conformance.app.serve.app import create_app

    config = uvicorn.Config(
        create_app(testbed),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def serve(settings: ServeSettings, host: str, port: int, allow_remote: bool = False) -> None:
    """The command: open, print the first password (once) and the URL, serve until stopped."""
    sock = bind(host, port, allow_remote)
    with contextlib.closing(sock):
        testbed = open_testbed(settings)
        try:
            if testbed.first_password:
                print(f"first start: user {ADMIN}, password {testbed.first_password}", flush=True)
                print("  (shown this once and kept nowhere: write it down)", flush=True)
            print(f"conformance serve: {url_of(sock)} (data in {settings.data}; Ctrl-C stops)", flush=True)
            _uvicorn(testbed).run(sockets=[sock])
        finally:
            testbed.close()


class BackgroundServer:
    """The test bed served from a thread of this process (for tests and embedders): ``start`` returns
    its URL once it listens, ``stop`` stops the server, then the runs under way."""

    def __init__(self, testbed: Testbed, host: str = "127.0.0.1", port: int = 0) -> None:
        self.testbed = testbed
        self._sock = bind(host, port, allow_remote=False)
        self.url = url_of(self._sock).rstrip("/")
        self._server = _uvicorn(testbed)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> str:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self.url
            self._thread.join(0.05)
        raise ServeError("the test bed did not start within 10 s")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)
        self._sock.close()
        self.testbed.close()
