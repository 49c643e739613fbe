"""The outbox: every message the reference NSW sends goes out from here, until delivered.

A 2xx ends it. A 5xx, timeout or reset is transient: the same bytes go again after the next delay
of the retry schedule (M-21), until the schedule is used up. A 4xx is final: the sender must not
retry unchanged. State lives in SQLite, so after a restart pending messages are still sent.

Workers claim due rows in SQLite before delivering them (store.py), so no row is delivered by two
workers at once, nor by two live processes on one file: the outbox is the claims' owner (owners.py)
from its start until its workers have ended. One worker sends in queue order, one message at a
time; several (the reference NSW runs nsw.OUTBOX_WORKERS unless `reference serve --outbox-workers N`
says otherwise) send at once, and so may overtake one
another (the spec asks for no order between messages).
A row queued unsigned is signed by the worker that claims it, out of the receiving transaction.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from collections.abc import Mapping, Sequence

import urllib3
from lxml import etree

from conformance.core import signing
from conformance.core.trust import Credential
from conformance.family import messages
from conformance.family.reference import owners
from conformance.family.reference.store import OutboxItem, Store

log = logging.getLogger(__name__)
DEFAULT_SCHEDULE = (1.0, 2.0, 4.0, 8.0)
MAX_ANSWER = 1024 * 1024
IDLE_PAUSE = 1.0  # seconds a worker sleeps when nothing is due and nothing wakes it
_HEADERS = {"Content-Type": "application/xml"}
# what a delivery may fail with (refused, reset, timed out, TLS refused, a broken answer): transient
_TRANSIENT = (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException)


def _connections(workers: int, timeout: float, tls: ssl.SSLContext | None) -> urllib3.PoolManager:
    """Kept-alive connections to the peers, one per worker and peer, posted to with urllib3 directly
    (requests, on top of it, cost more CPU per status than judging its Receipt). Nothing comes from
    the environment (no proxy, no CA bundle); over HTTPS every connection uses ``tls`` (our client
    certificate and the trusted CAs, loaded once); no retry or redirect but the outbox's own."""
    return urllib3.PoolManager(
        maxsize=workers,
        ssl_context=tls,
        cert_reqs="CERT_REQUIRED",
        retries=False,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
    )


def _timed_out(exc: BaseException) -> bool:
    """A connect or read timeout (urllib3 makes a refused connection a kind of connect timeout)."""
    return isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError) and not isinstance(
        exc, urllib3.exceptions.NewConnectionError
    )


def _post(connections: urllib3.PoolManager, url: str, body: bytes) -> int:
    """POST ``body``; read at most MAX_ANSWER of the answer; return its status. The connection goes
    back to the pool only when the answer was read to its end, otherwise it is closed."""
    answer = connections.request(
        "POST", url, body=body, headers=_HEADERS, preload_content=False, redirect=False
    )
    try:
        answer.read(MAX_ANSWER, decode_content=True)
        if answer.read(1, decode_content=True):  # more than MAX_ANSWER: not worth reading
            answer.close()
        return answer.status
    finally:
        answer.release_conn()


class Outbox:
    """``workers`` threads delivering due messages; woken when something is queued."""

    def __init__(
        self,
        store: Store,
        peers: Mapping[str, str],
        *,
        schedule: Sequence[float] = DEFAULT_SCHEDULE,
        timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
        fault: str | None = None,
        workers: int = 1,
        credentials: Mapping[str, Credential] | None = None,
        in_turn: bool = False,
        gateway: bool = False,
        direct_peers: Mapping[str, str] | None = None,
        pause_each: float = 0.0,
    ) -> None:
        if workers < 1 or (in_turn and workers != 1):
            raise ValueError("an outbox needs at least one worker, and exactly one to send in turn")
        self.in_turn = in_turn  # a message being retried holds up the rest (allowed: no order asked)
        # a slow outbox (allowed: no rate is asked without `capacity`): each delivery takes this long
        self.pause_each = pause_each
        self.store, self.peers, self.schedule, self.timeout = store, dict(peers), tuple(schedule), timeout
        self.connections = _connections(workers, timeout, tls)
        self.fault = fault
        # section 9: the peers may be gateway inboxes; only the gateway faults read these two
        self.gateway, self.direct_peers = gateway, dict(direct_peers or {})
        self.credentials = dict(credentials or {})
        self.batch = 16 if workers == 1 else 2  # rows claimed at once: few, so that workers share them
        self._owner: owners.Owner | None = None  # from start() until the workers have ended
        self._wake = threading.Condition()
        self._woken = 0  # wake() calls so far: a worker that saw a change does not sleep
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"outbox-{index}", daemon=True)
            for index in range(workers)
        ]

    def start(self) -> None:
        """Start the workers; claims left by a dead owner on this file (an earlier process, killed)
        are released first, a live one's (another process serving this file) are not."""
        self._owner = owners.Owner(self.store.path)
        released = self.store.release_claims()
        if released:
            log.info("outbox: %d row(s) claimed by owners that are gone go again", released)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake(every=True)
        deadline = time.monotonic() + self.timeout + 5
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._owner is not None and not any(thread.is_alive() for thread in self._threads):
            self._owner.close()  # no claims left; a worker still delivering keeps it (until the exit)

    def wake(self, every: bool = False) -> None:
        """Something was queued: one sleeping worker claims it (waking all of them would have each
        try a claim, a write, for one row); a busy one sees the change before it sleeps."""
        with self._wake:
            self._woken += 1
            if every:
                self._wake.notify_all()
            else:
                self._wake.notify()

    def _run(self) -> None:
        assert self._owner is not None
        owner = f"{self._owner.token}/{threading.current_thread().name}"
        while not self._stop.is_set():
            with self._wake:
                seen = self._woken
            items = self.store.claim(owner, time.time(), self.batch, in_turn=self.in_turn)
            for index, item in enumerate(items):
                if self._stop.is_set():  # the rest stay pending, unclaimed, for the next start
                    self.store.release(item.id for item in items[index:])
                    return
                self._deliver(item)
            if items:
                continue  # more may be due
            next_due = self.store.next_due_at(in_turn=self.in_turn)
            pause = IDLE_PAUSE if next_due is None else min(IDLE_PAUSE, max(0.0, next_due - time.time()))
            with self._wake:
                if self._woken == seen and not self._stop.is_set():
                    self._wake.wait(pause)

    def _deliver(self, item: OutboxItem) -> None:
        if self.pause_each:
            self._stop.wait(self.pause_each)
        url = self.peers.get(item.party)
        if self.gateway and self.fault == "gateway-bypassed":  # the seeded fault (G-01): around the gateway
            url = self.direct_peers.get(item.party, url)
        if url is None:
            self._finish(item, "failed", None, f"no inbox configured for party {item.party}")
            return
        if item.signer is not None and not (self.gateway and self.fault == "gateway-unsigned"):
            credential = self.credentials.get(item.signer)
            if credential is None:
                self._finish(item, "failed", None, f"no key {item.signer!r} to sign it with")
                return
            item = self._signed(item, credential)
        body = item.body + b"\n" * item.attempts if self.fault == "retry-with-other-bytes" else item.body
        try:
            status = _post(self.connections, url, body)
        except _TRANSIENT as exc:
            if self.fault == "no-retry-after-timeout" and _timed_out(exc):
                self._finish(item, "failed", None, f"{type(exc).__name__}: not retried (seeded fault)")
                return
            self._transient(item, None, f"{type(exc).__name__}: {exc}")
            return
        if 200 <= status < 300:
            self._finish(item, "sent", status, None)
        elif status in (502, 504) and self.gateway and self.fault == "gateway-errors-final":
            self._finish(item, "failed", status, f"HTTP {status}: not retried (seeded fault)")
        elif 400 <= status < 500 and self.gateway and self.fault == "gateway-4xx-retried":
            self._transient(item, status, f"HTTP {status}: retried (seeded fault)")
        elif 400 <= status < 500 and self.fault != "retry-after-4xx":
            self._finish(item, "failed", status, f"HTTP {status}: not retried (section 2)")
        else:
            self._transient(item, status, f"HTTP {status}")

    def _signed(self, item: OutboxItem, credential: Credential) -> OutboxItem:
        """Sign the queued Envelope and store the signed bytes before they are first sent."""
        envelope = etree.fromstring(item.body)  # our own bytes, queued by this NSW
        signing.sign_envelope(envelope, credential)
        body = messages.serialize(envelope)
        self.store.signed(item.id, body)
        return OutboxItem(item.id, item.message_id, item.party, item.action, body, item.attempts)

    def _transient(self, item: OutboxItem, status: int | None, error: str) -> None:
        tries_done = item.attempts + 1
        if self.fault in ("no-retry", "no-retry-under-load") or tries_done > len(self.schedule):
            self._finish(item, "failed", status, f"{error}; gave up after {tries_done} tries")
            return
        log.info("outbox: %s to %s: %s; retrying", item.message_id, item.party, error)
        retry_at = time.time() + self.schedule[tries_done - 1]
        self.store.outcome(item.id, state="pending", status=status, error=error, retry_at=retry_at)

    def _finish(self, item: OutboxItem, state: str, status: int | None, error: str | None) -> None:
        log.info("outbox: %s to %s: %s %s", item.message_id, item.party, state, error or status)
        self.store.outcome(item.id, state=state, status=status, error=error, retry_at=time.time())
