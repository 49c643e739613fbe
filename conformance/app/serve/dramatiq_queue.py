"""The distributed RunQueue: Dramatiq on Redis. The web process sends a run's id; any number of
worker processes (``worker.py``, on any number of machines sharing the database and the data
folder) receive it and call execute.execute_run with their own RunContext.

Decisions:
- one actor, ``conformance_run(run_id)``, on one queue; the message carries the id only (the
  database holds the rest, so a message is never stale and never holds a secret);
- no retries and no time limit middleware: a run that fails is recorded as such by execute_run (a
  retry would be a second run nobody asked for), and the run's wall-time cap is execute.py's, not
  Dramatiq's default of ten minutes;
- a worker prefetches only as many messages as it has threads, so a worker killed holds no run
  other than those it was running; Dramatiq redelivers a dead worker's unacknowledged messages
  after ``broker_heartbeat_s``, and the lease (lease.py) makes sure a redelivered run that had
  started is not started again (it is reaped incomplete instead);
- the actor reaches its worker's RunContext through ``WORKER_CONTEXT``, set by the worker command
  before it consumes: a Dramatiq actor is a module-level function by design.
"""

from __future__ import annotations

from conformance.app.serve.execute import RunContext, execute_run

ACTOR = "conformance_run"
QUEUE = "conformance-runs"
WORKER_CONTEXT: RunContext | None = None


def broker(redis_url: str, heartbeat_s: float = 60.0):
    """The Redis broker with the run actor declared on it (the web's and the workers' alike)."""
    from dramatiq.brokers.redis import RedisBroker

    redis_broker = RedisBroker(
        url=redis_url,
        middleware=[],
        namespace="conformance",
        heartbeat_timeout=int(heartbeat_s * 1000),
        maintenance_chance=1_000_000,  # every fetch looks for dead workers: runs are few, cheap to check
    )
    _declare(redis_broker)
    return redis_broker


def _run(run_id: int) -> None:
    if WORKER_CONTEXT is None:
        raise RuntimeError("a run message reached a process that is not a worker")
    execute_run(int(run_id), WORKER_CONTEXT)


def _declare(redis_broker) -> None:
    import dramatiq

    dramatiq.Actor(_run, broker=redis_broker, actor_name=ACTOR, queue_name=QUEUE, priority=0, options={})


class DramatiqQueue:
    """RunQueue for the web process: ``submit`` sends the run's id to the workers."""

    def __init__(self, redis_url: str, heartbeat_s: float = 60.0) -> None:
        self._broker = broker(redis_url, heartbeat_s)
        self._actor = self._broker.get_actor(ACTOR)

    def submit(self, run_id: int) -> None:
        self._actor.send(run_id)

    def shutdown(self) -> None:
        self._broker.close()
