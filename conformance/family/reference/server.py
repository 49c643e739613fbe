"""The reference NSW over HTTP(S): a werkzeug WSGI app and a threaded server on loopback.

Routes (section 2): each NSW's dialect's inbox (EFDX: ``POST /efdx/1/messages``) and trigger
(``POST /efdx/1/test/trigger``).
Bodies over 5 MiB are refused from Content-Length, or after reading one byte past the cap, never
read whole. With TLS the server demands a client certificate chaining to a trusted party's CA
(the handshake fails otherwise) and answers 403 EFDX-T05 when its country is not the sender's.

The server is the core's ``BoundedWSGIServer``, as the harness inbox's: connections kept alive
(HTTP/1.1: a partner sending many messages pays the mutual TLS handshake once), each served in its
own thread, its TLS handshake and each request read within a deadline, and cut by ``server_close``
(a stop does not leave threads serving a stopped NSW).
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Request, Response

from conformance.core.inbox_server import BoundedWSGIServer, Limits
from conformance.core.policy import MAX_BODY_BYTES
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.reference.nsw import Answer, ReferenceNsw

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)
_NO_CHECK_TIME = 0x200000  # OpenSSL X509_V_FLAG_NO_CHECK_TIME, which Python's ssl does not name
# A partner's client keeps its connections open between messages (idle up to 30 s, as before the
# core's server); a load run keeps one per Locust user, and `conformance load` runs up to 2000 users
# (app/load/session.py): the cap is above that, so that a load run never meets the reference's own.
LIMITS = Limits(read_timeout_s=30.0, idle_timeout_s=30.0, write_timeout_s=10.0, max_connections=2048)


class ReferenceApp:
    """The WSGI application in front of one ReferenceNsw, or of one per profile (their paths differ:
    one process serves both EFDX 1.0 and RCPX 1.0, as RCPX section 4 allows a candidate to)."""

    def __init__(self, nsw: ReferenceNsw, *others: ReferenceNsw) -> None:
        self.nsw = nsw
        self.inboxes = {each.dialect.codes.INBOX_PATH: each for each in (nsw, *others)}
        self.triggers = {each.dialect.codes.TRIGGER_PATH: each for each in (nsw, *others)}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path in self.inboxes:
            response = self.inbox(request, self.inboxes[request.path])
        elif request.path in self.triggers and request.method == "POST":
            nsw = self.triggers[request.path]
            response = _response(
                nsw.trigger(request.headers.get(nsw.dialect.codes.TRIGGER_HEADER), _read(request)[0])
            )
        else:
            response = Response("not found\n", 404, content_type="text/plain")
        return response(environ, start_response)

    def inbox(self, request: Request, nsw: ReferenceNsw | None = None) -> Response:
        nsw = nsw or self.nsw
        if request.method != "POST":
            if nsw.fault_name == "non-post-gets-404":
                return Response("not found\n", 404, content_type="text/plain")
            return Response("only POST\n", 405, headers={"Allow": "POST"}, content_type="text/plain")
        body, too_large = _read(request, nsw.receiver.policy.max_body_bytes)
        if too_large:
            answer = self._too_large(request, nsw)
            response = _response(answer)
            response.headers["Connection"] = "close"
            return response
        tls_client = _client_certificate(request.environ.get("SSL_CLIENT_CERT"))
        return _response(nsw.receive(body, request.content_type or "", tls_client))

    def _too_large(self, request: Request, nsw: ReferenceNsw) -> Answer:
        observed = f"{request.content_length} bytes" if request.content_length else "more than that"
        violation = Violation("T-04", f"a body of at most {MAX_BODY_BYTES} bytes", observed)
        body = signals.error(
            violation,
            ref_to_message_id=None,
            sender=nsw.party,
            receiver=None,
            at=datetime.now(timezone.utc),
            credential=nsw.nsw_credential,
            dialect=nsw.dialect,
        )
        return Answer(413, body)


def _read(request: Request, limit: int | None = MAX_BODY_BYTES) -> tuple[bytes, bool]:
    """Read the body up to one byte past ``limit`` (T-04's 5 MiB, or a seeded fault's other
    limit; None, no-size-limit: everything is read and judged); say whether it was too large."""
    if limit is None:
        return request.stream.read(), False
    if request.content_length is not None and request.content_length > limit:
        return b"", True
    body = request.stream.read(limit + 1)
    return body, len(body) > limit


def _response(answer: Answer) -> Response:
    return Response(answer.body, answer.status, content_type=answer.content_type)


def _client_certificate(pem: str | None) -> x509.Certificate | None:
    """The TLS client certificate (its chain already verified by the handshake)."""
    return x509.load_pem_x509_certificate(pem.encode("ascii")) if pem else None


def server_tls_context(nsw: ReferenceNsw, also: Sequence[ReferenceNsw] = ()) -> ssl.SSLContext:
    """TLS 1.2+, the NSW certificate as server certificate, client certificates required.

    ``also``: the NSWs of other profiles served on the same port. The handshake comes before the
    path, so one TLS identity serves them all (RCPX section 5, errata 1): they must have the same
    NSW certificate (the family's one test PKI), else ValueError. The handshake admits a client of
    a party any of them trusts; each NSW then judges T-05 by its own trust list."""
    for other in also:
        if other.nsw_credential.cert != nsw.nsw_credential.cert:
            raise ValueError(
                f"one TLS endpoint has one TLS identity, and {nsw.dialect.codes.TITLE} and "
                f"{other.dialect.codes.TITLE} have different NSW certificates for {nsw.party}: "
                "serve each with --tls from a process of its own"
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    credential = nsw.nsw_credential
    context.load_cert_chain(str(credential.cert_path), str(credential.key_path))
    if nsw.fault_name == "accept-any-tls-client":
        return context  # the seeded fault: no client certificate asked for, so none is checked
    trusted = {
        ca.public_bytes(serialization.Encoding.PEM) for each in (nsw, *also) for ca in each.trust.cas.values()
    }
    # claiming gateway (section 9): the gateway CA too, for TLS clients only (G-02; nsw._tls_violation)
    trusted |= {
        gateway.public_bytes(serialization.Encoding.PEM)
        for each in (nsw, *also)
        if (gateway := each.gateway_ca()) is not None
    }
    context.load_verify_locations(cadata=b"".join(sorted(trusted)).decode("ascii"))
    if nsw.fault_name == "tls-ignore-expiry":  # the seeded fault: OpenSSL's X509_V_FLAG_NO_CHECK_TIME
        context.verify_flags = ssl.VerifyFlags(context.verify_flags | _NO_CHECK_TIME)
    if nsw.fault_name == "tls-trust-any-ca":  # the seeded fault: the rogue CA is trusted too
        context.load_verify_locations(cadata=nsw.rogue_ca_pem().decode("ascii"))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def serve(
    nsw: ReferenceNsw,
    host: str,
    port: int,
    *,
    tls: bool = False,
    also: Sequence[ReferenceNsw] = (),
    reuse_port: bool = False,
) -> BoundedWSGIServer:
    """Create the server (not yet serving); the caller runs ``serve_forever``, then ``shutdown`` and
    ``server_close`` (which cuts the connections still open). ``also``: the reference NSWs of other
    profiles, served in the same process on their own paths. ``reuse_port``: other processes listen
    on the same port (`reference serve --processes N`)."""
    context = server_tls_context(nsw, also) if tls else None
    return BoundedWSGIServer(
        host,
        port,
        ReferenceApp(nsw, *also),
        tls=context,
        limits=LIMITS,
        name="reference NSW",
        reuse_port=reuse_port,
    )


def run_until_signalled(
    nsw: ReferenceNsw | Sequence[ReferenceNsw],
    server: BoundedWSGIServer,
    announce: Callable[[BoundedWSGIServer], object],
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly: server, outboxes, stores."""
    nsws = list(nsw) if isinstance(nsw, Sequence) else [nsw]

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for each in nsws:
        each.start()
    try:
        announce(server)  # which may fail (another process of --processes did not start)
        server.serve_forever()
    finally:
        server.server_close()  # and the connections still open
        for each in nsws:
            each.stop()
            each.store.close()
