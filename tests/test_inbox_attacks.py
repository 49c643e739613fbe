"""The harness inbox against an attacker: silent, trickling and surplus connections, a flood of
refused bodies, and a stop while a connection is held. Real sockets on loopback, real TLS with the
test PKI, and every wait bounded (socket timeouts), so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conformance.core.inbox_server import Limits
from conformance.family import vectors
from conformance.family.inbox import HarnessInbox, Retention
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests.loopback import poll_until

PARTY = "KH"  # the inbox plays KH; deliveries come from SG, the vectors' default sender
PROMPT_S = 4.0  # a delivery counts as prompt within this (judging a message takes well under it)
HOLD_S = 15.0  # the attackers' deadline in tests that must not wait for it: far above PROMPT_S


@contextlib.contextmanager
def running(pki: TestPki, tls: bool, **limits) -> Iterator[HarnessInbox]:
    inbox = HarnessInbox(PARTY, pki=pki, tls=tls, limits=Limits(**limits), dialect=EFDX).start()
    try:
        yield inbox
    finally:
        inbox.stop()


def address(inbox: HarnessInbox) -> tuple[str, int]:
    parts = urlsplit(inbox.url)
    return parts.hostname, parts.port


def attacker(inbox: HarnessInbox) -> socket.socket:
    """A TCP connection that is open and sends nothing (yet)."""
    return socket.create_connection(address(inbox), timeout=PROMPT_S)


def tls_client_context(pki: TestPki) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=pki.trust_store().ca_pem().decode("ascii"))
    context.check_hostname = False
    credential = pki.nsw("SG")
    context.load_cert_chain(str(credential.cert_path), str(credential.key_path))
    return context


def session(pki: TestPki, folder: Path) -> requests.Session:
    """SG's client: its NSW certificate, trusting the test CAs (ignored over plain HTTP)."""
    client = requests.Session()
    client.trust_env = False
    bundle = folder / "trust.pem"
    bundle.write_bytes(pki.trust_store().ca_pem())
    client.verify = str(bundle)
    credential = pki.nsw("SG")
    client.cert = (str(credential.cert_path), str(credential.key_path))
    return client


def valid_message(pki: TestPki) -> bytes:
    moment = datetime.now(timezone.utc)
    return vectors.Build(
        vector_id=f"attack-{uuid.uuid4().hex}", day=moment.date(), pki=pki, moment=moment, dialect=EFDX
    ).bytes()


def deliver(inbox: HarnessInbox, pki: TestPki, folder: Path) -> bytes:
    """POST a valid message; it must be answered 200 and be in the inbox, both within PROMPT_S."""
    body = valid_message(pki)
    started = time.monotonic()
    response = session(pki, folder).post(
        inbox.url, data=body, headers={"Content-Type": "application/xml"}, timeout=PROMPT_S
    )
    assert response.status_code == 200, response.text[:500]
    arrival = inbox.wait_for(lambda a: a.body == body, PROMPT_S - (time.monotonic() - started))
    assert arrival is not None and arrival.judgement.accepted
    assert time.monotonic() - started < PROMPT_S
    return body


def cut_off(sock: socket.socket, limit: float) -> bool:
    """Whether the server closes ``sock`` within ``limit`` s (EOF or reset; any answer is read past)."""
    deadline = time.monotonic() + limit
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(4096):
                return True
        except TimeoutError:
            continue
        except (ConnectionError, ssl.SSLError):
            return True
    return False


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_a_silent_connection_does_not_stop_a_delivery(pki, tmp_path, tls):
    """One connection that sends nothing (not even a TLS ClientHello) must not hold up anyone else:
    the handshake and the request are read in the connection's own thread."""
    with running(pki, tls, read_timeout_s=HOLD_S) as inbox, attacker(inbox):
        assert poll_until(lambda: inbox.open_connections == 1, 2.0)  # accepted before the delivery
        deliver(inbox, pki, tmp_path)
        assert poll_until(lambda: inbox.open_connections == 1, 1.0)  # the silent one, still held


def _client_hello(pki: TestPki) -> bytes:
    """The first flight of a real TLS client, to trickle byte by byte."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = tls_client_context(pki).wrap_bio(incoming, outgoing)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize(
    ("tls", "part"),
    [(True, "handshake"), (True, "headers"), (True, "body"), (False, "headers"), (False, "body")],
)
def test_a_trickling_client_is_cut_off_within_the_bound(pki, tls, part):
    """A slowloris sends a byte every 0.1 s, well inside any per-recv timeout; the deadline on the whole
    handshake + request still cuts it off once ``read_timeout_s`` is over."""
    bound = 0.8
    with running(pki, tls, read_timeout_s=bound) as inbox, attacker(inbox) as raw:
        started = time.monotonic()
        if part == "handshake":
            sock, trickle = raw, _client_hello(pki)
        else:
            sock = tls_client_context(pki).wrap_socket(raw) if tls else raw
            head = b"POST /efdx/1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            if part == "body":
                sock.sendall(head + b"Content-Length: 100000\r\n\r\n<")
                trickle = b"x" * 1000
            else:
                sock.sendall(head)
                trickle = b"X-Slow: " + b"x" * 1000
        sock.settimeout(0.1)
        closed = False
        for byte in trickle:
            try:
                sock.sendall(bytes([byte]))
            except (ConnectionError, ssl.SSLError):
                closed = True
                break
            if cut_off(sock, 0.1):
                closed = True
                break
            if time.monotonic() - started > bound + 3.0:
                break
        elapsed = time.monotonic() - started
        assert closed, f"still connected after {elapsed:.1f} s"
        assert bound - 0.1 <= elapsed <= bound + 1.5
        assert poll_until(lambda: inbox.connections.timed_out == 1, 1.0), inbox.connections
        assert inbox.arrivals == []


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_connections_over_the_cap_are_turned_away_at_once(pki, tmp_path, tls):
    """With every slot held, further connections are closed at once (over plain HTTP after a 503),
    never queued behind the holders; once the holders go, a delivery gets through promptly."""
    cap = 3
    with running(pki, tls, read_timeout_s=HOLD_S, max_connections=cap) as inbox:
        holders = [attacker(inbox) for _ in range(cap)]
        assert poll_until(lambda: inbox.open_connections == cap, 2.0)
        surplus = [attacker(inbox) for _ in range(cap)]
        started = time.monotonic()
        for sock in surplus:
            if not tls:
                sock.sendall(b"POST /efdx/1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            assert cut_off(sock, 2.0)
        assert time.monotonic() - started < 2.0
        assert inbox.connections.refused == cap
        for sock in holders + surplus:
            sock.close()
        assert poll_until(lambda: inbox.open_connections == 0, 2.0)
        deliver(inbox, pki, tmp_path)


def test_plain_surplus_connection_is_answered_503(pki):
    """Over plain HTTP the surplus connection learns why: a 503 with Retry-After, not a bare reset."""
    with running(pki, False, read_timeout_s=HOLD_S, max_connections=1) as inbox, attacker(inbox) as holder:
        assert poll_until(lambda: inbox.open_connections == 1, 2.0)
        with attacker(inbox) as surplus:
            surplus.settimeout(2.0)
            assert surplus.recv(4096).startswith(b"HTTP/1.1 503 ")
        holder.close()


def test_a_flood_of_refused_bodies_keeps_retained_memory_bounded(pki, tmp_path):
    """200 refused 128 KiB POSTs (25 MiB sent) leave at most Retention.refused_bytes (8 MiB) plus
    Retention.floor (1 KiB) per arrival in the inbox's store, with the size and digest of each;
    a valid message sent afterwards is kept whole and found by a waiting test."""
    count, size = 200, 128 * 1024
    rules = Retention()
    with running(pki, False) as inbox:
        client = requests.Session()
        client.trust_env = False
        sent = []
        for index in range(count):
            body = f"{index:06d}".encode() + b"x" * (size - 6)  # not XML: refused (M-03 or alike)
            sent.append(body)
            response = client.post(
                inbox.url, data=body, headers={"Content-Type": "application/xml"}, timeout=PROMPT_S
            )
            assert response.status_code >= 400
        assert poll_until(lambda: len(inbox.arrivals) == count, 2.0)
        retained = inbox.retained_bytes
        assert retained <= rules.refused_bytes + count * rules.floor
        assert retained < count * size / 3
        assert inbox.bodies_cut == count  # each 128 KiB body is over the 64 KiB prefix
        assert inbox.bytes_dropped == count * size - retained
        for arrival, body in zip(inbox.arrivals, sent, strict=True):
            assert arrival.truncated and arrival.size == size
            assert arrival.digest == hashlib.sha256(body).hexdigest()
            assert body.startswith(arrival.body) and arrival.body == body  # equal only by digest
            assert arrival.judgement.envelope is None and arrival.judgement.payload is None
        assert inbox.arrivals[0].body != inbox.arrivals[1].body  # shared prefixes are not "the same"
        body = deliver(inbox, pki, tmp_path)
        kept = inbox.wait_for(lambda a: a.body == body, 0.1)
        assert kept is not None and not kept.truncated and bytes(kept.body) == body


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_stop_is_prompt_while_an_attacker_holds_connections(pki, tls):
    """Harness shutdown (HarnessInbox.stop) must not wait for an attacker: it cuts the connections
    still open, silent (in the handshake) or mid-request."""
    inbox = HarnessInbox(PARTY, pki=pki, tls=tls, limits=Limits(read_timeout_s=HOLD_S), dialect=EFDX).start()
    silent = attacker(inbox)
    raw = attacker(inbox)
    partial = tls_client_context(pki).wrap_socket(raw) if tls else raw
    try:
        partial.sendall(b"POST /efdx/1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<")
        assert poll_until(lambda: inbox.open_connections == 2, 2.0)
        stopper = threading.Thread(target=inbox.stop, daemon=True)
        started = time.monotonic()
        stopper.start()
        stopper.join(timeout=PROMPT_S)
        assert not stopper.is_alive(), "stop() is still waiting for the attacker"
        assert time.monotonic() - started < 2.0
        assert cut_off(silent, 1.0) and cut_off(partial, 1.0)
        assert poll_until(lambda: inbox.open_connections == 0, 2.0)
        with pytest.raises(OSError):
            attacker(inbox).close()  # no longer listening
    finally:
        silent.close()
        partial.close()
