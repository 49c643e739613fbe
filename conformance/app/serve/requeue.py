"""Queued runs a broker lost are sent again, so that a run is never lost while it waits.

Redis holds the Dramatiq messages; one restarted without persistence, flushed or failed over loses
the runs waiting in it, and they would stay ``queued`` for ever (the web process sends a queued run
again only when it starts: execute.recover). So the web process, every ``every_s`` seconds, sends
again each run that has been queued longer than that, at most once per round. Decisions:
- a duplicate is harmless: claiming (lease.claim) starts only a queued run, so a run sent twice runs
  once, and the message of a run already taken is dropped by the worker at once;
- the cost is bounded: one small message per waiting run per round (default 300 s), while the
  workers are busy with others; the order of waiting runs is kept (oldest first);
- only with a broker (``--redis``): the embedded queue lives in the web process and loses nothing
  while it runs, and its start sends every queued run again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from conformance.app.serve.db import Store
from conformance.app.serve.models import Run
from conformance.app.serve.periodic import Every
from conformance.app.serve.queue import RunQueue


def waiting_longer_than(store: Store, seconds: float) -> list[int]:
    """The runs queued more than ``seconds`` ago, oldest first."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    with store.session() as db:
        query = select(Run.id).where(Run.state == "queued", Run.created < cutoff).order_by(Run.id)
        return list(db.scalars(query))


def send_again(store: Store, queue: RunQueue, seconds: float) -> list[int]:
    """Send every run queued longer than ``seconds`` to the queue again; returns their ids."""
    waiting = waiting_longer_than(store, seconds)
    for run_id in waiting:
        queue.submit(run_id)
    return waiting


def requeuer(store: Store, queue: RunQueue, every_s: float) -> Every:
    return Every("sending long-queued runs again", every_s, lambda: send_again(store, queue, every_s))
