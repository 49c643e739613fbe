"""Where runs wait for a worker: the RunQueue protocol, and the embedded default, a pool of threads
in the service's process (each run still gets a process of its own: execute.py).

The distributed one, Dramatiq on Redis, is dramatiq_queue.DramatiqQueue (same two methods; its actor
calls execute.execute_run with a RunContext of its worker process: worker.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from conformance.app.serve.execute import RunContext, execute_run


class RunQueue(Protocol):
    def submit(self, run_id: int) -> None: ...

    def shutdown(self) -> None: ...


class ThreadQueue:
    """N worker threads; ``shutdown`` stops the runs under way (they end incomplete, with the reason
    that the service stopped) and leaves queued ones queued in the database for the next start."""

    def __init__(self, context: RunContext, workers: int) -> None:
        self.context = context
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="run-worker")

    def submit(self, run_id: int) -> None:
        self._pool.submit(execute_run, run_id, self.context)

    def shutdown(self) -> None:
        self.context.stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
