"""The outbox: every message the reference NSW sends goes out from here, until delivered.

A 2xx ends it. A 5xx, timeout or reset is transient: the same bytes go again after the next delay
of the retry schedule (M-21), until the schedule is used up. A 4xx is final: the sender must not
retry unchanged. State lives in SQLite, so after a restart pending messages are still sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

import requests

from conformance.profiles.efdx.reference.store import OutboxItem, Store

log = logging.getLogger(__name__)
DEFAULT_SCHEDULE = (1.0, 2.0, 4.0, 8.0)
MAX_ANSWER = 1024 * 1024


class Outbox:
    """One worker thread delivering due messages in order; woken when something is queued."""

    def __init__(
        self,
        store: Store,
        peers: Mapping[str, str],
        *,
        schedule: Sequence[float] = DEFAULT_SCHEDULE,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        fault: str | None = None,
    ) -> None:
        self.store, self.peers, self.schedule, self.timeout = store, dict(peers), tuple(schedule), timeout
        self.session = session or requests.Session()
        self.fault = fault
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.timeout + 5)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            for item in self.store.due(time.time()):
                if self._stop.is_set():
                    return
                self._deliver(item)
            next_due = self.store.next_due_at()
            pause = 1.0 if next_due is None else min(1.0, max(0.0, next_due - time.time()))
            self._wake.wait(pause)
            self._wake.clear()

    def _deliver(self, item: OutboxItem) -> None:
        url = self.peers.get(item.party)
        if url is None:
            self._finish(item, "failed", None, f"no inbox configured for party {item.party}")
            return
        body = item.body + b"\n" * item.attempts if self.fault == "retry-with-other-bytes" else item.body
        try:
            with self.session.post(
                url,
                data=body,
                headers={"Content-Type": "application/xml"},
                timeout=self.timeout,
                stream=True,
            ) as answer:
                answer.raw.read(MAX_ANSWER, decode_content=True)
                status = answer.status_code
        except requests.RequestException as exc:
            if self.fault == "no-retry-after-timeout" and isinstance(exc, requests.Timeout):
                self._finish(item, "failed", None, f"{type(exc).__name__}: not retried (seeded fault)")
                return
            self._transient(item, None, f"{type(exc).__name__}: {exc}")
            return
        if 200 <= status < 300:
            self._finish(item, "sent", status, None)
        elif 400 <= status < 500 and self.fault != "retry-after-4xx":
            self._finish(item, "failed", status, f"HTTP {status}: not retried (section 2)")
        else:
            self._transient(item, status, f"HTTP {status}")

    def _transient(self, item: OutboxItem, status: int | None, error: str) -> None:
        tries_done = item.attempts + 1
        if self.fault == "no-retry" or tries_done > len(self.schedule):
            self._finish(item, "failed", status, f"{error}; gave up after {tries_done} tries")
            return
        log.info("outbox: %s to %s: %s; retrying", item.message_id, item.party, error)
        retry_at = time.time() + self.schedule[tries_done - 1]
        self.store.outcome(item.id, state="pending", status=status, error=error, retry_at=retry_at)

    def _finish(self, item: OutboxItem, state: str, status: int | None, error: str | None) -> None:
        log.info("outbox: %s to %s: %s %s", item.message_id, item.party, state, error or status)
        self.store.outcome(item.id, state=state, status=status, error=error, retry_at=time.time())
