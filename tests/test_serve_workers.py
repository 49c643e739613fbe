"""The test bed on PostgreSQL with its runs in `conformance serve worker` processes fed through
Redis (all three real, started by the test): a worker killed mid-run (SIGKILL) leaves its run
``incomplete`` with the reason, never lost; the run's own process dies with it; a new worker takes
the run queued behind it and the next run of the same system. The migrations make the models'
schema on PostgreSQL too."""

from __future__ import annotations

import os
import signal
import time

import redis
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conformance.app.serve.db import engine_for, migrate
from conformance.app.serve.lease import STALE
from conformance.app.serve.models import Base, Run, System
from tests import services
from tests.serve_helpers import login, serving, start_worker, stop_worker, wait_for

SMALL = {"profile": "efdx", "requirements": ["M-06"]}  # four tests, a few seconds


def test_the_migrations_make_the_models_schema_on_postgresql():
    with services.postgres() as url:
        engine = engine_for(url)
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        engine.dispose()
    assert differences == []


def _run(bed, run_id: int) -> Run:
    with bed.testbed.store.session() as db:
        return db.get_one(Run, run_id)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _group(pgid: int) -> list[str]:
    """The live processes of the run's process group (its session: the CLI and what it started)."""
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(") ", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                left.append(entry)
    return left


def test_a_worker_killed_mid_run_leaves_it_incomplete_and_the_queue_carries_on(tmp_path):
    with serving(tmp_path / "testbed", workers=1, backend="postgres") as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        with bed.testbed.store.session() as db:
            other = System(organisation_id=1, name="A second reference", embedded=True)
            db.add(other)
            db.flush()
            other_id = other.id
        first = admin.post("/api/runs", json={"system": 1}).json()["id"]
        behind = admin.post("/api/runs", json={"system": other_id, **SMALL}).json()["id"]
        progress = bed.testbed.settings.runs / str(first) / "progress.log"
        wait_for(lambda: progress.exists() and progress.read_text().count("\n") > 3, timeout=60)
        running = _run(bed, first)
        (worker,) = bed.workers
        assert running.state == "running" and running.worker_id.endswith(f":{worker.pid}")
        assert _run(bed, behind).state == "queued"  # one thread: the worker holds no second run

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        wait_for(lambda: not _alive(running.child_pid), timeout=10)  # the run's process died with it
        wait_for(lambda: not _group(running.child_pid), timeout=10)  # and so did everything it started
        bed.workers.append(start_worker(bed.testbed.settings, threads=1))

        ended = wait_for(lambda: (r := _run(bed, first)).state == "incomplete" and r, timeout=60)
        assert ended.reason == STALE and ended.finished is not None
        shown = admin.get(f"/api/runs/{first}").json()
        assert (shown["state"], shown["reason"]) == ("incomplete", STALE)
        done = wait_for(
            lambda: (r := _run(bed, behind)).state not in ("queued", "running") and r, timeout=120
        )
        assert (done.state, done.counts) == ("finished", {"pass": 4}), done.reason
        after = admin.post("/api/runs", json={"system": 1, **SMALL, "wait": 120})
        assert after.status_code == 200 and after.json()["state"] == "finished", after.text
        assert _run(bed, first).state == "incomplete"  # Dramatiq's redelivery did not start it again


def test_a_run_whose_message_redis_lost_is_sent_again_and_runs_once(tmp_path):
    """Redis flushed (or restarted without persistence) while a run waits: the web process sends
    the run again once it has waited ``requeue_s`` (requeue.py), and it runs, once."""
    with serving(tmp_path / "testbed", workers=1, backend="postgres", requeue_s=2.0) as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        (worker,) = bed.workers
        stop_worker(worker)  # nobody takes the message: it waits in Redis
        bed.workers.remove(worker)
        run_id = admin.post("/api/runs", json={"system": 1, **SMALL}).json()["id"]
        broker = redis.Redis.from_url(str(bed.testbed.settings.redis_url))
        broker.flushall()  # the message is gone; the run is still queued in the database
        broker.close()
        assert _run(bed, run_id).state == "queued"
        bed.workers.append(start_worker(bed.testbed.settings, threads=1))
        done = wait_for(
            lambda: (r := _run(bed, run_id)).state not in ("queued", "running") and r, timeout=120
        )
        assert (done.state, done.counts) == ("finished", {"pass": 4}), done.reason
        time.sleep(3)  # a second message of it, sent meanwhile, finds it no longer queued
        assert _run(bed, run_id).finished == done.finished
