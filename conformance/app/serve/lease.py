"""Who runs a run: a lease on the Run row (the worker's id and its last heartbeat), so that a run
whose worker died (killed, its machine gone) ends ``incomplete`` with a reason instead of staying
``running`` for ever, and a redelivered message never starts a run twice.

Decisions:
- claiming is one conditional UPDATE (``state = 'queued'`` → ``running``, with the worker's id and
  a heartbeat): of two workers handed the same run (Dramatiq redelivers the messages of a worker it
  thinks dead) exactly one gets it, on SQLite and on PostgreSQL alike;
- the worker supervising a run renews the heartbeat every ``heartbeat_s``; a run whose heartbeat is
  older than ``lease_s`` is reaped (incomplete, STALE) by the reaper that every process runs, the web
  process and every worker: the first to see it marks it, the others' UPDATEs then match nothing;
- a worker records its outcome only while it still holds the lease (state running, its id): a run
  reaped meanwhile stays as the reaper left it, and the worker, finding its heartbeat refused, stops
  the run's process (``LeaseLost``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select, update

from conformance.app.serve.db import Store
from conformance.app.serve.models import AuditEvent, Run
from conformance.app.serve.periodic import Every

STALE = "the worker running it stopped"
LOST = "the run's worker lost its lease (it stopped answering for longer than the lease)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def claim(store: Store, run_id: int, worker_id: str) -> bool:
    """Take a queued run for ``worker_id``; False when it is not queued (any more)."""
    with store.session() as db:
        moment = _now()
        taken = db.execute(
            update(Run)
            .where(Run.id == run_id, Run.state == "queued")
            .values(state="running", started=moment, worker_id=worker_id, heartbeat=moment)
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount == 1  # type: ignore[attr-defined]


def renew(store: Store, run_id: int, worker_id: str) -> bool:
    """Renew the lease; False when the run is no longer this worker's (it was reaped)."""
    with store.session() as db:
        renewed = db.execute(
            update(Run)
            .where(Run.id == run_id, Run.state == "running", Run.worker_id == worker_id)
            .values(heartbeat=_now())
            .execution_options(synchronize_session=False)
        )
        return renewed.rowcount == 1  # type: ignore[attr-defined]


def reap(store: Store, lease_s: float) -> list[int]:
    """Mark incomplete every running run whose heartbeat is older than ``lease_s`` (or missing while
    it was started longer ago than that); returns their ids."""
    cutoff = _now() - timedelta(seconds=lease_s)
    stale = and_(
        Run.state == "running",
        or_(Run.heartbeat < cutoff, and_(Run.heartbeat.is_(None), Run.started < cutoff)),
    )
    reaped = []
    with store.session() as db:
        for run_id, worker in db.execute(select(Run.id, Run.worker_id).where(stale)).all():
            done = db.execute(
                update(Run)
                .where(Run.id == run_id, stale)
                .values(state="incomplete", verdict=None, reason=STALE, finished=_now())
                .execution_options(synchronize_session=False)
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                reaped.append(run_id)
                run = db.get_one(Run, run_id)
                db.add(
                    AuditEvent(
                        action="run-ended",
                        organisation_id=run.system.organisation_id,
                        target=f"run:{run_id}",
                        detail=f"incomplete: {STALE} ({worker or 'no worker id'})",
                    )
                )
    return reaped


def reaper(store: Store, lease_s: float, every_s: float) -> Every:
    """``reap`` every ``every_s`` seconds in a daemon thread until ``stop``."""
    return Every("reaping stale runs", every_s, lambda: reap(store, lease_s))
