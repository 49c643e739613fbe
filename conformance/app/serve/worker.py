"""`conformance serve worker`: a worker process of the test bed, running the runs the web process
(`conformance serve --redis URL`) queues on Redis, with ``--threads`` runs at once; ``--processes N``
starts N such processes (each a copy of this command with --processes 1) and stops them together.

Decisions: a worker needs the web process's database URL and the same data folder (the runs'
report folders are written there and served from there, and the secret key that opens systems'
secrets lives there unless CONFORMANCE_SECRET_KEYS gives it); on several machines, that folder is a
shared file system (NFS or the like). SIGTERM or SIGINT stops a worker: it takes no new run, stops
the runs under way (they end incomplete, "the service stopped during the run") and exits. A worker
killed outright (SIGKILL, its machine lost) leaves its runs to the reaper (lease.py) of the web
process and of every other worker.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from conformance.app.serve import dramatiq_queue
from conformance.app.serve.execute import RunContext
from conformance.app.serve.lease import reaper as make_reaper
from conformance.app.serve.server import ServeError, open_store
from conformance.app.serve.settings import ServeSettings


def run_worker(settings: ServeSettings, processes: int, threads: int, argv: list[str]) -> None:
    if processes > 1:
        _run_copies(processes, argv)
        return
    if not settings.redis_url:
        raise ServeError("serve worker: --redis URL is required")
    store, box = open_store(settings)
    context = RunContext(settings=settings, store=store, box=box)
    dramatiq_queue.WORKER_CONTEXT = context
    reaper = make_reaper(store, settings.lease_s, settings.lease_s / 3).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    import dramatiq

    try:
        redis_broker = dramatiq_queue.broker(settings.redis_url, settings.broker_heartbeat_s)
    except Exception as exc:  # noqa: BLE001 - an unusable URL: one line for the operator
        raise ServeError(f"--redis: {exc}") from None
    worker = dramatiq.Worker(redis_broker, worker_threads=threads)
    worker.queue_prefetch = threads  # hold no message beyond those being run (see dramatiq_queue)
    worker.start()
    print(f"conformance serve worker: {context.worker_id}, {threads} run(s) at once", flush=True)
    try:
        stop.wait()
    finally:
        context.stopping.set()
        worker.stop(timeout=int((settings.caps.kill_grace_s + 20) * 1000))
        reaper.stop()
        redis_broker.close()
        store.engine.dispose()


def _run_copies(processes: int, argv: list[str]) -> None:
    """N copies of this command, one process each; a signal to this one stops them all."""
    one = [sys.executable, "-m", "conformance.app.cli", *_with_one_process(argv)]
    children = [subprocess.Popen(one) for _ in range(processes)]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set() and all(child.poll() is None for child in children):
        stop.wait(1.0)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait()


def _with_one_process(argv: list[str]) -> list[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
            continue
        if item == "--processes":
            skip = True
            continue
        if item.startswith("--processes="):
            continue
        out.append(item)
    return [*out, "--processes", "1"]
