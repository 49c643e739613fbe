"""The harness's own inbox: a real HTTP(S) server playing the partner NSW's gateway.

It receives what the candidate sends, judges every message as a conforming partner would (M-22),
answers with a signed Receipt or Error, and hands each arrival to whoever waits for it. Waits are
event-driven (a Condition), bounded by a timeout, never fixed sleeps. A test can script the answer
to an arrival (another status, a delay, a dropped connection) to play a flaky gateway (M-21).

A hostile peer must not stop it or grow it without bound: the server (inbox_server.py) bounds each
connection in time and their number, and what is kept of each body is bounded by a Retention.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from conformance.core.inbox_server import BoundedWSGIServer, ConnectionCounts, Limits, listening
from conformance.core.pins import pin_of_pem_text
from conformance.core.policy import MAX_BODY_BYTES
from conformance.core.profile import gateway_inbox_path
from conformance.core.testpki import PkiFolder as TestPki  # a pack's TEST ONLY PKI
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.dialect import Dialect
from conformance.family.judge import Header, Judgement, Receiver

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

STOP_POLL_S = 0.05  # how often the server looks whether it is asked to stop (the default 0.5 s is a run's)


@dataclass(frozen=True)
class Retention:
    """What the inbox keeps of the bodies it received, so that a flood cannot grow the run unboundedly.

    Accepted messages (what tests wait for and compare) are kept whole up to ``accepted_bytes`` in
    all; a refused one keeps the first ``refused_prefix`` bytes (what the report shows) up to
    ``refused_bytes`` in all. Past a budget a body keeps ``floor`` bytes, and a refused one that was
    cut loses its parsed trees too. Retained body bytes stay under the two budgets plus ``floor`` per
    arrival; the size and SHA-256 of every body are kept."""

    accepted_bytes: int = 64 * 1024 * 1024
    refused_prefix: int = 64 * 1024
    refused_bytes: int = 8 * 1024 * 1024
    floor: int = 1024


class Prefix(bytes):
    """The first bytes of a body that was not kept whole. It equals only a body with the same digest,
    so a comparison of bodies ("the same bytes again", M-21) is never fooled by a shared prefix."""

    size: int
    digest: str

    def __new__(cls, body: bytes, keep: int, digest: str) -> Prefix:
        prefix = super().__new__(cls, body[:keep])
        prefix.size, prefix.digest = len(body), digest
        return prefix

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Prefix):
            return self.digest == other.digest
        if isinstance(other, bytes):
            return len(other) == self.size and hashlib.sha256(other).hexdigest() == self.digest
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.digest)


@dataclass
class Arrival:
    """One POST that reached the inbox, what the harness made of it, and what it answered."""

    body: bytes  # whole, or a Prefix when the Retention cut it (see size and digest)
    content_type: str
    received_at: datetime
    judgement: Judgement
    answered: int = 0  # the HTTP status answered; 0 while being answered, -1 for a dropped connection
    tls_party: str | None = None
    # the path it was posted to: the profile's inbox path, or the gateway inbox of the party the
    # harness plays (``gateway_path``: the harness as the candidate's gateway, EFDX section 9, G-01)
    path: str = ""

    @property
    def header(self) -> Header | None:
        """None for a message the judge could not read to its Header."""
        return self.judgement.header

    @property
    def message_id(self) -> str | None:
        return self.judgement.message_id

    @property
    def size(self) -> int:
        """The size of the body received (``body`` may hold less of it)."""
        return self.body.size if isinstance(self.body, Prefix) else len(self.body)

    @property
    def digest(self) -> str:
        """The SHA-256 of the whole body received."""
        return self.judgement.body_digest

    @property
    def truncated(self) -> bool:
        return isinstance(self.body, Prefix)


@dataclass(frozen=True)
class Reaction:
    """How to answer one arrival: normally, with another status, after a delay, or not at all."""

    status: int | None = None  # None: the normal answer (Receipt or Error)
    delay: float = 0.0
    drop: bool = False
    error_code: str | None = None  # with status: answer a signed Error with this code (else no body)


Script = Callable[[Arrival], Reaction | None]


@dataclass
class HarnessInbox:
    party: str
    pki: TestPki | None = None  # None: the dialect's test PKI
    tls: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    script: Script | None = None
    server_cert: tuple[str, str] | None = None  # (certificate, key) for TLS; default: the party's NSW
    # pins (core.pins) of the only client certificates admitted over TLS; empty: any the trust accepts
    client_pins: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits)  # per-connection time, connections at once
    retention: Retention = field(default_factory=Retention)  # what is kept of bodies
    # For a load run: each arrival once answered goes to ``listener``, and none is kept in
    # ``arrivals`` (so a soak of hours does not grow the inbox).
    listener: Callable[[Arrival], None] | None = None
    keep_arrivals: bool = True
    # The MessageLog (M-16): (sender, MessageId) -> body digest of each message taken; a load run
    # gives a bounded table (it is written with setdefault).
    message_log: MutableMapping[tuple[str, str], str] = field(default_factory=dict)
    dialect: Dialect = field(
        kw_only=True
    )  # the profile whose messages it takes (its path, namespaces, codes)

    def __post_init__(self) -> None:
        if self.pki is None:
            self.pki = self.dialect.load_pki()
        self.credential = self.pki.nsw(self.party)
        self.trust = self.pki.trust_store()
        self.receiver = Receiver(self.party, self.trust, log=self, dialect=self.dialect)
        self.arrivals: list[Arrival] = []
        self._plans: list[tuple[Callable[[Arrival], bool], list[Reaction]]] = []
        self.waited_s = 0.0  # time callers spent blocked in wait_for (for the benchmark's waiting share)
        self._changed = threading.Condition()
        self._server: BoundedWSGIServer | None = None
        self._kept = {True: 0, False: 0}  # body bytes kept, of accepted and of refused arrivals
        self.bodies_cut = 0  # bodies not kept whole (see Retention), for the run to report
        self.bytes_dropped = 0  # the bytes of those bodies not kept
        self.unregistered = 0  # requests from a client certificate not in client_pins, answered 403

    # MessageLog: what this inbox received before
    def digest_of(self, sender: str, message_id: str) -> str | None:
        return self.message_log.get((sender, message_id))

    @property
    def gateway_path(self) -> str:
        """The gateway inbox of the party this inbox plays (section 9: ``/efdx/1/SG/messages``). The
        inbox serves it beside the profile's inbox path, so that a candidate claiming ``gateway`` can
        list the harness as its gateway (G-01), and a message sent around it is seen on the other path."""
        return gateway_inbox_path(self.dialect.codes.INBOX_PATH, self.party)

    @property
    def url(self) -> str:
        if self._server is None:  # as reading a missing attribute would: hasattr() says no
            raise AttributeError("the inbox has no url before it is started")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._server.port}{self.dialect.codes.INBOX_PATH}"

    @property
    def connections(self) -> ConnectionCounts:
        """Connections refused (too many at once), timed out or failed: what an attacker cost."""
        return self._server.counts if self._server is not None else ConnectionCounts()

    @property
    def open_connections(self) -> int:
        """Connections being served now (each holds one of ``limits.max_connections``)."""
        return self._server.open_connections if self._server is not None else 0

    @property
    def retained_bytes(self) -> int:
        """The body bytes the inbox holds now (the store a flood would grow)."""
        with self._changed:
            return sum(len(arrival.body) for arrival in self.arrivals)

    def start(self) -> HarnessInbox:
        context = self._tls_context() if self.tls else None
        self._server = listening(
            lambda: BoundedWSGIServer(self.host, self.port, self._app, tls=context, limits=self.limits),
            self.port,
        )
        serve = functools.partial(self._server.serve_forever, poll_interval=STOP_POLL_S)
        threading.Thread(target=serve, name="harness-inbox", daemon=True).start()
        return self

    def reserve_for(self, addresses: frozenset[str]) -> None:
        """The candidate's peer addresses: they get the connections the server holds back (Limits.
        reserved), every other address is a stranger limited to Limits.max_per_peer."""
        if self._server is not None:
            self._server.reserved_peers = frozenset(addresses)

    def stop(self) -> None:
        """Stop accepting and cut the connections still open: prompt even with a peer holding one."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> HarnessInbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(
        self, predicate: Callable[[Arrival], bool], timeout: float, *, pending: bool = False
    ) -> Arrival | None:
        """The first arrival (old or new) that satisfies ``predicate``, or None after ``timeout`` s.

        Only answered arrivals count, unless ``pending``: one still being answered (a scripted delay)
        is then seen from the moment it came in."""
        start = time.monotonic()
        deadline = start + timeout
        with self._changed:
            try:
                while True:
                    found = self._first(predicate, pending)
                    remaining = deadline - time.monotonic()
                    if found is not None or remaining <= 0:
                        return found
                    self._changed.wait(remaining)
            finally:
                self.waited_s += time.monotonic() - start

    def _first(self, predicate: Callable[[Arrival], bool], pending: bool) -> Arrival | None:
        return next((a for a in self.arrivals if (pending or a.answered) and predicate(a)), None)

    def wait_for_count(
        self, predicate: Callable[[Arrival], bool], count: int, timeout: float
    ) -> list[Arrival]:
        """Wait until ``count`` arrivals (answered or not) satisfy ``predicate``; return those there are."""
        self.wait_for(lambda _: len(self.matching(predicate, pending=True)) >= count, timeout, pending=True)
        return self.matching(predicate, pending=True)

    def settle(self, seconds: float) -> None:
        """Wait a grace period in which something must NOT arrive (a second status): a bounded pause."""
        self.wait_for(lambda arrival: False, seconds)

    def matching(self, predicate: Callable[[Arrival], bool], *, pending: bool = False) -> list[Arrival]:
        with self._changed:
            return [
                arrival for arrival in self.arrivals if (pending or arrival.answered) and predicate(arrival)
            ]

    def forget(self, arrival: Arrival) -> None:
        """Keep ``arrival`` no longer (a pre-flight Ping: no test is to see it)."""
        with self._changed:
            self.arrivals = [kept for kept in self.arrivals if kept is not arrival]

    def plan(self, predicate: Callable[[Arrival], bool], reactions: list[Reaction]) -> None:
        """Answer the next arrivals that satisfy ``predicate`` with ``reactions``, in order (then normally).

        This is how a test plays a flaky gateway towards one message of the candidate (M-21)."""
        with self._changed:
            self._plans.append((predicate, list(reactions)))

    def _planned(self, arrival: Arrival) -> Reaction | None:
        with self._changed:
            for predicate, reactions in self._plans:
                if reactions and predicate(arrival):
                    return reactions.pop(0)
        return None

    # ------------------------------------------------------------------------------ serving

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        cert, key = self.server_cert or (str(self.credential.cert_path), str(self.credential.key_path))
        context.load_cert_chain(cert, key)
        context.load_verify_locations(cadata=self.trust.ca_pem().decode("ascii"))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path not in (self.dialect.codes.INBOX_PATH, self.gateway_path) or request.method != "POST":
            return Response("not found\n", 404)(environ, start_response)
        if self.tls and self.client_pins and not self._registered(environ):
            # the body is not read here (inbox_server drains up to DRAIN_LIMIT of it, else closes)
            refused = Response("client certificate not registered for this candidate\n", 403)
            return refused(environ, start_response)
        try:
            body = request.stream.read(MAX_BODY_BYTES + 1)
        except ClientDisconnected as exc:  # too slow (the connection's deadline) or gone: nothing arrived
            cause = exc.__context__
            raise cause if isinstance(cause, OSError) else ConnectionAbortedError("body cut short") from None
        now = datetime.now(timezone.utc)
        judgement = self.receiver.judge(body, request.content_type or "", at=now)
        arrival = Arrival(body, request.content_type or "", now, judgement, path=request.path)
        reaction = self._planned(arrival) or (self.script(arrival) if self.script else None) or Reaction()
        self._update(arrival, new=True)  # seen now, whatever the answer will be
        if reaction.delay:
            time.sleep(reaction.delay)  # scripted slowness: the point is to exceed the sender's timeout
        if reaction.drop:
            self._update(arrival, answered=-1)
            _drop(environ)
            return []
        status, answer = (
            self._answer(judgement, now)
            if reaction.status is None
            else self._scripted(reaction.status, reaction.error_code, arrival)
        )
        self._update(arrival, answered=status)
        return Response(answer, status, content_type="application/xml")(environ, start_response)

    def _registered(self, environ: WSGIEnvironment) -> bool:
        """Whether the peer presented a pinned client certificate; counts those that did not."""
        if pin_of_pem_text(environ.get("SSL_CLIENT_CERT")) in self.client_pins:
            return True
        with self._changed:
            self.unregistered += 1
        return False

    def _answer(self, judgement: Judgement, now: datetime) -> tuple[int, bytes]:
        header = judgement.header
        if judgement.violation is not None:  # not accepted
            body = signals.error(
                judgement.violation,
                ref_to_message_id=judgement.message_id,
                sender=self.party,
                receiver=header.sender if header else None,
                at=now,
                credential=self.credential,
                dialect=self.dialect,
            )
            return judgement.http_status, body
        assert header is not None  # accepted: the judge read the Header
        self.message_log.setdefault((header.sender, header.message_id), judgement.body_digest)
        body = signals.receipt(
            ref_to_message_id=header.message_id,
            sender=self.party,
            receiver=header.sender,
            at=now,
            duplicate=judgement.duplicate,
            received_digests=judgement.received_digests,
            credential=self.credential,
            dialect=self.dialect,
        )
        return 200, body

    def _scripted(self, status: int, error_code: str | None, arrival: Arrival) -> tuple[int, bytes]:
        if error_code is None:
            return status, b""
        body = signals.error(
            Violation("scripted", "the scripted answer of a test", f"a test asked for {error_code}"),
            ref_to_message_id=arrival.message_id,
            sender=self.party,
            receiver=arrival.header.sender if arrival.header else None,
            at=arrival.received_at,
            credential=self.credential,
            code=self.dialect.own_code(error_code),
            dialect=self.dialect,
        )
        return status, body

    def _update(self, arrival: Arrival, *, new: bool = False, answered: int | None = None) -> None:
        with self._changed:
            if new and self.keep_arrivals:
                self._retain(arrival)
                self.arrivals.append(arrival)
            if answered is not None:
                arrival.answered = answered
            self._changed.notify_all()
        if answered is not None and self.listener is not None:
            self.listener(arrival)

    def _retain(self, arrival: Arrival) -> None:
        """Cut the body to what the Retention allows (under the lock, before anyone else sees it)."""
        accepted = arrival.judgement.accepted
        size, rules = len(arrival.body), self.retention
        if accepted:
            budget, wanted = rules.accepted_bytes, size
        else:
            budget, wanted = rules.refused_bytes, min(size, rules.refused_prefix)
        keep = wanted if self._kept[accepted] + wanted <= budget else min(size, rules.floor)
        self._kept[accepted] += keep
        if keep >= size:
            return
        arrival.body = Prefix(arrival.body, keep, arrival.judgement.body_digest)
        self.bodies_cut += 1
        self.bytes_dropped += size - keep
        if not accepted:  # its parsed trees would keep the whole body alive; no test reads them
            arrival.judgement.envelope = arrival.judgement.payload = None


def _drop(environ: WSGIEnvironment) -> None:
    """Close the connection without an answer (a reset, as a broken gateway would)."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
