"""A gateway between NSWs (EFDX 1.0 section 9; RCPX 1.0 keeps it with its names, errata 1): one inbox
per routed party, ``POST {gw}/{profile path}/{party}/messages``, each request forwarded byte for byte
to that party's own inbox and its synchronous answer returned byte for byte to the sender.

Where it lives. The gateway is the family's binding (section 9 belongs to the family's spec, which
RCPX takes over), and the one thing of a message it reads is the family's envelope Header's
``From``. So it is a module of the family's protocol core: it imports only the core (the bounded
server, safe XML, trust) and knows no pack and no profile by name. Its routes are given to it as
data: a pack's inbox path (``Profile.inbox_path`` / ``Dialect.codes.INBOX_PATH``, ``/efdx/1/messages``;
the gateway inbox puts the party before its last step: ``/efdx/1/SG/messages``), the receivers' inbox
URLs and, for mutual TLS, the profile's trust store. It drives no candidate and imports no harness,
so the app's pilot (issue 20) and the tests use it alike.

What it does, as section 9 says:

- Routing is by path alone: the body is never parsed to route it. A body that is not well-formed,
  carries a DOCTYPE or is over the profiles' 5 MiB still reaches its receiver, who judges it; the
  gateway buffers at most ``max_body`` (16 MiB) and answers a larger one 413 itself, reading no
  further. An unknown party or path is a 404; another method on a gateway inbox a 405.
- The request goes on with its ``Content-Type`` (none if it had none) and its bytes; the answer
  comes back with its status, ``Content-Type`` and bytes. No other header crosses.
- A receiver it cannot reach (refused, reset, TLS refused, a broken answer) gets the sender a 502,
  one that gives no whole answer within ``timeout_s`` (25 s) a 504, both with no body. The gateway
  never answers 200 itself: every status it makes is 403, 404, 405, 413, 502 or 504.
- Mutual TLS on each hop (``GatewayTls``): to senders it presents its own certificate (``OU=gateway``,
  the test PKI's ``gateway/gateway``) and admits only clients whose chain ends at a routed profile's
  party CA; to receivers it presents the same certificate as client.

Judging the first hop against ``From`` without parsing a body to route it (section 9 asks for
both). The route, and the bytes forwarded, are fixed before the body is looked at: the party comes
from the path, and the bytes forwarded are the ``bytes`` object read from the socket, which nothing
changes. Only over TLS, and only then, the gateway reads ``From`` from a separate, hardened parse
(``core.safexml``: size-capped, DOCTYPE refused, no entities) to judge the client certificate as
T-05 demands (errata 1: the current NSW certificate of the message's From party). A body whose
``From`` cannot be read that way (not well-formed, a DOCTYPE, over 5 MiB) is not the gateway's to
refuse: its client is judged as a current NSW certificate of the party its subject names, and the
body goes on to its receiver, who judges it. A client that is not the From party's current NSW
certificate is answered 403 with no body (``refuse_foreign_from``, the default: T-05's refusal), or,
with ``refuse_foreign_from=False``, forwarded with the finding in the record: section 9 says the
gateway "judges" the client and leaves open whether it refuses by itself (the sender's NSW cannot be
told apart from a stolen key by the receiver, who sees only the gateway's certificate).

Every request the gateway answers is a ``Relay`` handed to ``listener`` (and kept in ``relays``
unless ``keep=False``): when, the first hop's TLS identity, the party it was for, the request's and
the answer's bytes, digests and sizes, the duration, and what the gateway did itself (None when it
relayed the receiver's answer). Later slices judge those records and put them in evidence.

A duplicate delivery (``redeliver``): the one request the gateway ever originates itself, and only
when the pilot's script (``conformance pilot --script``) asks for it, once per ordered pair: the
exact bytes of a request it relayed before, with its ``Content-Type``, sent a second time to the
receiver they went to, as a real network sometimes delivers a message twice. Nothing in them is
changed (byte-identical: the same digest); the receiver's answer goes to no sender, it is only
recorded (``Relay.originated`` says why the gateway sent it), so that the pilot can judge that the
receiver took it as a duplicate (M-16: a Receipt with Duplicate=true, processed once).

Injected faults (``Faults``) answer a share of the requests that would be forwarded with 502 or 504
without forwarding them (the pilot's ``--faults 5xx=0.05,timeout=0.01``), drawn from the
``random.Random`` the caller gives, so that a test is deterministic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from conformance.core.egress import EgressPolicy
from conformance.core.egress_transport import egress_failure, guarded_pool_manager
from conformance.core.inbox_server import BoundedWSGIServer, Limits, listening
from conformance.core.profile import gateway_inbox_path
from conformance.core.safexml import parse_untrusted
from conformance.core.trust import Credential, TrustStore
from conformance.core.violations import Violation

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_BODY = 16 * 1024 * 1024  # section 9: the gateway buffers at most 16 MiB of a body
TIMEOUT_S = 25.0  # section 9: no answer within 25 s is a 504
MAX_ANSWER = MAX_BODY  # an answer is buffered within the same bound (a larger one: 502)
STOP_POLL_S = 0.05
# The gateway holds each sender's connection while its receiver answers (up to 25 s), so it serves
# more at once than an inbox, and reads a 16 MiB body within the request's deadline.
LIMITS = Limits(read_timeout_s=60.0, idle_timeout_s=30.0, write_timeout_s=30.0, max_connections=256)
_CHUNK = 64 * 1024
# what a forward may fail with before any answer: refused, reset, TLS refused, a broken answer
_UNREACHABLE = (urllib3.exceptions.HTTPError, OSError)


# ------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Route:
    """One profile's gateway inboxes: ``inbox_path`` is the pack's (``/efdx/1/messages``); each party
    of ``inboxes`` (party -> its own inbox URL) gets ``gateway_path(inbox_path, party)``. ``trust``:
    the profile's trust store, for the first hop over TLS (the CAs admitted, T-05 against From)."""

    inbox_path: str
    inboxes: Mapping[str, str]
    trust: TrustStore | None = None

    def path(self, party: str) -> str:
        return gateway_path(self.inbox_path, party)


def gateway_path(inbox_path: str, party: str) -> str:
    """The gateway inbox of ``party`` for a profile whose inbox is ``inbox_path``: the party before
    the path's last step (``/efdx/1/messages`` -> ``/efdx/1/SG/messages``, section 9)."""
    return gateway_inbox_path(inbox_path, party)


@dataclass(frozen=True)
class GatewayTls:
    """Mutual TLS per hop: ``credential`` is the gateway's certificate (server to senders, client to
    receivers); ``receiver_cas`` the PEM bundle that receivers' server certificates must chain to
    (default: the routes' trust stores' CAs)."""

    credential: Credential
    receiver_cas: bytes | None = None


@dataclass
class Faults:
    """Injected faults: of the requests that would be forwarded, a ``server_error`` share is answered
    502 and a ``timeout`` share 504, without forwarding (drawn from ``rng``, the caller's)."""

    server_error: float = 0.0
    timeout: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def __post_init__(self) -> None:
        if not (
            0 <= self.server_error <= 1 and 0 <= self.timeout <= 1 and self.server_error + self.timeout <= 1
        ):
            raise ValueError("fault shares are between 0 and 1, and together at most 1")
        self._lock = threading.Lock()

    def draw(self) -> int | None:
        """502, 504 or None (forward), for one request."""
        if not (self.server_error or self.timeout):
            return None
        with self._lock:
            roll = self.rng.random()
        if roll < self.server_error:
            return 502
        if roll < self.server_error + self.timeout:
            return 504
        return None


# -------------------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Relay:
    """One request the gateway answered: what came, where it went, what came back, what it did itself."""

    received_at: datetime  # when the request was read whole (UTC)
    duration_s: float  # from then to the answer being ready
    method: str
    path: str
    inbox_path: str | None  # the route's profile inbox path (None: no route)
    to_party: str | None  # the party of the path (None: no route)
    from_tls: str | None  # the first hop's client certificate subject (None: plain HTTP)
    from_tls_party: str | None  # its subject's C
    sender: str | None  # the message's From as read for T-05 (None: not read, or not readable)
    t05: str | None  # the first hop judged against From: None (fine, or plain HTTP), else why not
    content_type: str | None  # the request's Content-Type, as received (None: none)
    request: bytes  # the body as received and forwarded (b"" when not read: too large)
    request_size: int  # its size (Content-Length for a body refused unread)
    request_digest: str  # SHA-256 of ``request``
    forwarded_to: str | None  # the receiver's inbox URL, when the request went there
    status: int  # the status the sender got
    answer_content_type: str | None
    answer: bytes
    answer_digest: str
    gateway: str | None = None  # what the gateway did itself (None: it relayed the receiver's answer)
    # why the gateway itself sent this request (a duplicate delivery, ``Gateway.redeliver``): its
    # answer went to no sender. None for every request a sender sent.
    originated: str | None = None

    @property
    def answer_size(self) -> int:
        return len(self.answer)

    @property
    def relayed(self) -> bool:
        """The answer is the receiver's own (it went back to the sender, or, for a request the gateway
        originated, it was only recorded)."""
        return self.gateway is None


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------------------- the server


class Gateway:
    """A gateway on loopback (or any host): ``start()``, its ``url(inbox_path, party)``s, ``stop()``."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        tls: GatewayTls | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_s: float = TIMEOUT_S,
        max_body: int = MAX_BODY,
        faults: Faults | None = None,
        listener: Callable[[Relay], None] | None = None,
        keep: bool = True,
        refuse_foreign_from: bool = True,
        limits: Limits = LIMITS,
        clock: Callable[[], datetime] | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.routes = tuple(routes)
        paths: dict[str, tuple[Route, str]] = {}
        for route in self.routes:
            for party in route.inboxes:
                path = route.path(party)
                if path in paths:
                    raise ValueError(f"two routes give the gateway inbox {path}")
                paths[path] = (route, party)
        self._paths = paths
        if tls is not None and any(route.trust is None for route in self.routes):
            raise ValueError("over TLS every route needs its profile's trust store (the first hop's CAs)")
        self.tls, self.host, self.port = tls, host, port
        self.timeout_s, self.max_body = timeout_s, max_body
        self.faults = faults or Faults()
        self.listener, self.keep = listener, keep
        self.refuse_foreign_from = refuse_foreign_from
        self.limits = limits
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.relays: list[Relay] = []
        self._changed = threading.Condition()
        self._server: BoundedWSGIServer | None = None
        self.egress = egress  # where relays may connect (None: anywhere); see core/egress_transport
        self._connections = guarded_pool_manager(
            egress,
            num_pools=max(len(self.routes) * 16, 16),
            maxsize=16,
            ssl_context=self._client_context() if tls else None,
            cert_reqs="CERT_REQUIRED",
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout_s, 10.0), read=timeout_s),
        )

    # ---------------------------------------------------------------------- lifecycle

    def start(self) -> Gateway:
        context = self._server_context() if self.tls else None
        self._server = listening(
            lambda: BoundedWSGIServer(
                self.host, self.port, self._app, tls=context, limits=self.limits, name="gateway"
            ),
            self.port,
        )
        serve = functools.partial(self._server.serve_forever, poll_interval=STOP_POLL_S)
        threading.Thread(target=serve, name="gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut the connections still open, close the connections to receivers."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._connections.clear()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        if self._server is None:
            raise AttributeError("the gateway has no address before it is started")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._server.port}"

    def url(self, inbox_path: str, party: str) -> str:
        """The gateway inbox of ``party`` for the profile whose inbox path is ``inbox_path``: what an
        NSW using the gateway lists as that party's peer inbox (G-01)."""
        return self.base + gateway_path(inbox_path, party)

    def peers(self, inbox_path: str, parties: Iterable[str]) -> dict[str, str]:
        """party -> its gateway inbox, for an NSW's peer configuration."""
        return {party: self.url(inbox_path, party) for party in parties}

    # ---------------------------------------------------------------------- the record

    def wait_for(self, predicate: Callable[[Relay], bool], timeout: float, count: int = 1) -> list[Relay]:
        """The relays that satisfy ``predicate`` once there are ``count`` of them, or those there are
        after ``timeout`` s (event-driven)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [relay for relay in self.relays if predicate(relay)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def _record(self, relay: Relay) -> None:
        with self._changed:
            if self.keep:
                self.relays.append(relay)
            self._changed.notify_all()
        if self.listener is not None:
            self.listener(relay)

    # ---------------------------------------------------------------------- TLS

    def _first_hop_cas(self) -> bytes:
        cas = {
            ca.public_bytes(_PEM) for route in self.routes if route.trust for ca in route.trust.cas.values()
        }
        return b"".join(sorted(cas))

    def _server_context(self) -> ssl.SSLContext:
        """To senders: the gateway's certificate; clients must chain to a routed profile's party CA."""
        assert self.tls is not None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        credential = self.tls.credential
        context.load_cert_chain(str(credential.cert_path), str(credential.key_path))
        context.load_verify_locations(cadata=self._first_hop_cas().decode("ascii"))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _client_context(self) -> ssl.SSLContext:
        """To receivers: the gateway's certificate as client; their server certificates must chain to
        a party CA (or ``receiver_cas``) and name the host."""
        assert self.tls is not None
        cas = self.tls.receiver_cas or self._first_hop_cas()
        context = ssl.create_default_context(cadata=cas.decode("ascii"))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        credential = self.tls.credential
        context.load_cert_chain(str(credential.cert_path), str(credential.key_path))
        return context

    # ---------------------------------------------------------------------- serving

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        client = _client_certificate(environ.get("SSL_CLIENT_CERT"))
        routed = self._paths.get(request.path)
        content_type = request.headers.get("Content-Type")
        relay = functools.partial(
            self._relay_record,
            method=request.method,
            path=request.path,
            inbox_path=routed[0].inbox_path if routed else None,
            to_party=routed[1] if routed else None,
            client=client,
            content_type=content_type,
            started=started,
        )
        if routed is None:
            return self._own(relay(b"", None, 404, "no gateway inbox at this path"), environ, start_response)
        if request.method != "POST":
            return self._own(relay(b"", None, 405, "only POST"), environ, start_response, allow="POST")
        length = request.content_length
        if length is not None and length > self.max_body:
            made = relay(
                b"", None, 413, f"a body of {length} bytes, over {self.max_body}: not read", size=length
            )
            return self._own(made, environ, start_response, close=True)
        try:
            body = request.stream.read(self.max_body + 1)
        except ClientDisconnected as exc:  # cut short or too slow: nothing to forward
            cause = exc.__context__
            raise cause if isinstance(cause, OSError) else ConnectionAbortedError("body cut short") from None
        if len(body) > self.max_body:
            made = relay(
                b"", None, 413, f"a body over {self.max_body} bytes: not read further", size=len(body)
            )
            return self._own(made, environ, start_response, close=True)
        route, party = routed
        sender, t05 = self._judge_first_hop(route, client, body) if client is not None else (None, None)
        relay = functools.partial(relay, sender=sender, t05=t05)
        if t05 is not None and self.refuse_foreign_from:
            return self._own(
                relay(body, None, 403, f"first hop refused (T-05): {t05}"), environ, start_response
            )
        injected = self.faults.draw()
        if injected is not None:
            made = relay(body, None, injected, f"injected {injected}: not forwarded")
            return self._own(made, environ, start_response)
        url = route.inboxes[party]
        # the 25 s run from the forward: a slow sender's upload takes none of the receiver's time
        status, answer_type, answer, own = self._forward(url, body, content_type, time.monotonic())
        made = relay(body, url, status, own, answer=answer, answer_type=answer_type)
        if own is not None:
            return self._own(made, environ, start_response)
        response = Response(answer, status)
        _set_content_type(response, answer_type)
        return response(environ, start_response)

    def redeliver(self, relay: Relay, why: str) -> Relay:
        """Deliver ``relay``'s request a second time, byte for byte with its ``Content-Type``, to the
        receiver it was forwarded to (a duplicate delivery, as a real network makes one); the answer
        is recorded, as a ``Relay`` whose ``originated`` is ``why``, and returned to nobody. The one
        request the gateway originates: only a pilot's script asks for it."""
        if relay.forwarded_to is None or relay.originated is not None:
            raise ValueError("only a request a sender sent and the gateway forwarded can be delivered again")
        started = time.monotonic()
        status, answer_type, answer, own = self._forward(
            relay.forwarded_to, relay.request, relay.content_type, started
        )
        made = dataclasses.replace(
            relay,
            received_at=self.clock(),
            duration_s=time.monotonic() - started,
            from_tls=None,
            from_tls_party=None,
            t05=None,
            status=status,
            answer_content_type=answer_type,
            answer=answer,
            answer_digest=_digest(answer),
            gateway=own,
            originated=why,
        )
        self._record(made)
        return made

    def _judge_first_hop(
        self, route: Route, client: x509.Certificate, body: bytes
    ) -> tuple[str | None, str | None]:
        """(From as read, or None; why the TLS client is not From's current NSW certificate, or None).
        The read is a separate hardened parse: the body forwarded is not touched."""
        sender = _read_from(body)
        claimed = sender or _country_of(client)
        assert route.trust is not None  # checked in __init__ for a gateway over TLS
        try:
            route.trust.check_signer([client], claimed, self.clock(), "nsw")
        except Violation as violation:
            return (
                sender,
                f"a TLS client certificate of {claimed}'s NSW ({violation.expected}): {violation.observed}",
            )
        return sender, None

    def _forward(
        self, url: str, body: bytes, content_type: str | None, started: float
    ) -> tuple[int, str | None, bytes, str | None]:
        """POST ``body`` to ``url``: (status, Content-Type, body, None) as the receiver answered, or
        (502 or 504, None, b"", why) when it could not be reached or gave no whole answer in time."""
        headers = {"Content-Type": content_type} if content_type is not None else {}
        deadline = started + self.timeout_s
        try:
            answer = self._connections.request(
                "POST", url, body=body, headers=headers, preload_content=False, redirect=False
            )
        except urllib3.exceptions.ReadTimeoutError:
            return 504, None, b"", f"no answer from {url} within {self.timeout_s:g} s"
        except _UNREACHABLE as exc:
            coarse = egress_failure(exc) if self.egress is not None else None
            if coarse is not None:  # no errno, no port's state: no port scanning through the gateway
                return 502, None, b"", f"{url} not reached: {coarse}"
            return 502, None, b"", f"{url} not reached: {type(exc).__name__}: {exc}"
        try:
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    answer.close()
                    return 504, None, b"", f"no whole answer from {url} within {self.timeout_s:g} s"
                chunk = answer.read(_CHUNK, decode_content=False)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ANSWER:
                    answer.close()
                    return 502, None, b"", f"an answer from {url} over {MAX_ANSWER} bytes"
        except urllib3.exceptions.ReadTimeoutError:
            answer.close()
            return 504, None, b"", f"no whole answer from {url} within {self.timeout_s:g} s"
        except _UNREACHABLE as exc:
            answer.close()
            return 502, None, b"", f"the answer from {url} broke off: {type(exc).__name__}: {exc}"
        finally:
            answer.release_conn()
        return answer.status, answer.headers.get("Content-Type"), b"".join(chunks), None

    def _relay_record(
        self,
        body: bytes,
        forwarded_to: str | None,
        status: int,
        own: str | None,
        *,
        method: str,
        path: str,
        inbox_path: str | None,
        to_party: str | None,
        client: x509.Certificate | None,
        content_type: str | None,
        started: float,
        sender: str | None = None,
        t05: str | None = None,
        size: int | None = None,
        answer: bytes = b"",
        answer_type: str | None = None,
    ) -> Relay:
        relay = Relay(
            received_at=self.clock(),
            duration_s=time.monotonic() - started,
            method=method,
            path=path,
            inbox_path=inbox_path,
            to_party=to_party,
            from_tls=client.subject.rfc4514_string() if client is not None else None,
            from_tls_party=(_country_of(client) or None) if client is not None else None,
            sender=sender,
            t05=t05,
            content_type=content_type,
            request=body,
            request_size=len(body) if size is None else size,
            request_digest=_digest(body),
            forwarded_to=forwarded_to,
            status=status,
            answer_content_type=answer_type,
            answer=answer,
            answer_digest=_digest(answer),
            gateway=own,
        )
        self._record(relay)
        return relay

    def _own(
        self,
        relay: Relay,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        *,
        close: bool = False,
        allow: str | None = None,
    ) -> Iterable[bytes]:
        """The gateway's own answer: the relay's status with no body (never a 200)."""
        assert relay.status != 200, "a gateway never answers 200 itself"
        response = Response(b"", relay.status)
        _set_content_type(response, None)
        if close:  # a body left unread: the connection ends after the answer (a lingering close)
            response.headers["Connection"] = "close"
        if allow is not None:
            response.headers["Allow"] = allow
        return response(environ, start_response)


# ------------------------------------------------------------------------------------------- helpers

_PEM = Encoding.PEM


def _set_content_type(response: Response, content_type: str | None) -> None:
    """The Content-Type exactly as given, or none at all (werkzeug would add text/plain)."""
    del response.headers["Content-Type"]
    if content_type is not None:
        response.headers["Content-Type"] = content_type


def _client_certificate(pem: str | None) -> x509.Certificate | None:
    """The first hop's TLS client certificate (its chain verified by the handshake)."""
    return x509.load_pem_x509_certificate(pem.encode("ascii")) if pem else None


def _country_of(cert: x509.Certificate) -> str:
    countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(countries[0].value) if countries else ""


def _read_from(body: bytes) -> str | None:
    """The envelope Header's From, read from a hardened parse of its own (for T-05 only), or None
    when the body cannot be read that way (not well-formed, a DOCTYPE, too large ...)."""
    with contextlib.suppress(Violation, ValueError):
        root = parse_untrusted(body)
        header = root.find("{*}Header")
        sender = header.findtext("{*}From") if header is not None else None
        return (sender.strip() or None) if sender is not None else None
    return None
