"""The reference NSW (KH) over real HTTP(S) on loopback, with the harness playing SG on both ends.

SG posts to KH's inbox and judges the synchronous answer (M-19 Receipt, M-20 Error); KH's later
answers (StatusNotification, VerificationResponse) arrive at SG's harness inbox, which judges them.
"Exactly one answer" and "no answer" are checked once KH's outbox holds nothing due (``settle``):
KH queues an answer before it returns the Receipt, and SG's inbox records an arrival before it
answers it, so every answer due to an earlier POST has arrived once its outbox row is sent or given
up. No order between KH's deliveries is assumed: the spec asks for none, and several outbox workers
send at once.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from conformance.core import verify
from conformance.core.trust import Credential
from conformance.family import signals, vectors
from conformance.family.inbox import Arrival, HarnessInbox
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx import catalogue, messages
from conformance.profiles.efdx.codes import DS_NS, EFORMD_NS, ENVELOPE_NS, MAX_BODY_BYTES
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

SENDER, RECEIVER = "SG", "KH"
XML = "application/xml"
WAIT = 5.0  # seconds: bound on every wait for an answer
SOON = 1.0  # seconds: a retry due within this (the schedule below) is waited for by ``settle``
NS = {"e": ENVELOPE_NS, "f": EFORMD_NS, "ds": DS_NS}
CO_ACTIONS = ("IssueCO", "ReplaceCO", "CancelCO")
VECTORS = vectors.load_manifest(dialect=EFDX)
# codes whose bodies the receiver cannot read a MessageId from (not read, not well-formed, DOCTYPE)
UNREADABLE = frozenset({"EFDX-T04", "EFDX-M01", "EFDX-M02"})
# valid vectors naming an earlier CO (the element that names it); that CO is sent and accepted first
NAMES_A_CO = {"valid-replace-co": "Replaces", "valid-cancel-co": "ReferenceNumber"}
# the manifest judges without history; with the named CO accepted first, this status is due
STATUS_WITH_HISTORY = {"valid-cancel-co": "CANCELLATION_ACKNOWLEDGED"}
TOKEN = "secret"
MIB = 1024 * 1024


def now() -> datetime:
    return datetime.now(timezone.utc)


def http_status(code: str) -> int:
    """The catalogue's HTTP status for an EFDX code: EFDX-M06 -> M-06 -> 403."""
    short = code.removeprefix("EFDX-")
    return catalogue.requirement(f"{short[0]}-{short[1:]}").http_status


@dataclass(frozen=True)
class Sent:
    """What SG knows of an envelope it sent: its ids and its signature's DigestValues, in order."""

    message_id: str | None  # None: the vector leaves the MessageId out (m03-message-id-absent)
    conversation_id: str | None
    digests: list[str]

    @classmethod
    def of(cls, body: bytes) -> Sent:
        root = etree.fromstring(body)  # our own bytes, with no DOCTYPE: the plain parser is fine
        digests = "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue/text()"
        return cls(
            (root.findtext("e:Header/e:MessageId", namespaces=NS) or "").strip() or None,
            root.findtext("e:Header/e:ConversationId", namespaces=NS),
            [digest.strip() for digest in root.xpath(digests, namespaces=NS)],
        )


def built(vector_id: str, pki: TestPki) -> bytes:
    """The manifest vector built for now: timestamps now, its own MessageId and CO reference."""
    moment = now()
    return vectors.build_vector(vector_id, moment.date(), pki, moment=moment, dialect=EFDX)


def fresh(pki: TestPki, action: str = "IssueCO", **changes) -> vectors.Build:
    """A valid message from SG to KH with a unique MessageId (and CO reference) for now.

    ``changes`` override the payload data: ``reference_number`` names the CO, ``replaces`` the CO a
    ReplaceCO replaces, ``issuing_country="KH"`` makes a message about a CO that KH issued.
    """
    moment = now()
    made = vectors.Build(
        vector_id=f"http-{uuid.uuid4().hex}",
        day=moment.date(),
        pki=pki,
        action=action,
        moment=moment,
        dialect=EFDX,
    )
    made.data = vectors.default_payload_data(action, made.co()) | changes
    return made


def outcome(arrival: Arrival) -> tuple[str | None, list[str]]:
    """A StatusNotification's Status and Reason codes, or a VerificationResponse's Outcome."""
    payload = arrival.judgement.payload
    value = payload.findtext("f:Status", namespaces=NS) or payload.findtext("f:Outcome", namespaces=NS)
    return value, [code.strip() for code in payload.xpath("f:Reason/f:Code/text()", namespaces=NS)]


def assert_answer(arrival: Arrival, sent: Sent, action: str, value: str, reasons=()) -> None:
    """KH's answer to ``sent``: judged valid by SG's inbox, in its conversation, with this outcome."""
    assert arrival.judgement.codes == [], arrival.judgement.violation
    header = arrival.header
    assert (header.action, header.sender, header.receiver) == (action, RECEIVER, SENDER)
    assert header.ref_to_message_id == sent.message_id
    assert header.conversation_id == sent.conversation_id
    assert outcome(arrival) == (value, list(reasons))


def only(arrivals: list[Arrival]) -> Arrival:
    """The one answer that arrived (exactly one is due)."""
    assert len(arrivals) == 1, [(a.header and a.header.action, a.judgement.codes) for a in arrivals]
    return arrivals[0]


def client(pki: TestPki, folder: Path, credential: Credential | None = None, tls: bool = True):
    """SG's HTTP client; over TLS it trusts every party's CA and presents ``credential``."""
    session = requests.Session()
    session.trust_env = False  # no proxy, and no REQUESTS_CA_BUNDLE overriding `verify`
    if tls:
        bundle = folder / "trust.pem"
        bundle.write_bytes(pki.trust_store().ca_pem())
        session.verify = str(bundle)
        session.cert = (str(credential.cert_path), str(credential.key_path)) if credential else None
    return session


@dataclass
class Peer:
    """SG facing one running reference NSW: its client, and its inbox for what KH sends."""

    reference: RunningReference
    inbox: HarnessInbox
    pki: TestPki
    session: requests.Session

    def post(self, body, content_type: str | None = XML, session: requests.Session | None = None):
        """POST to KH's inbox, as SG's client or through another ``session`` (another certificate)."""
        headers = {"Content-Type": content_type} if content_type else {}
        return (session or self.session).post(
            self.reference.url, data=body, headers=headers, timeout=2 * WAIT
        )

    def receipt(self, response: requests.Response, sent: Sent) -> signals.Signal:
        assert response.status_code == 200, response.text[:2000]
        return signals.check_receipt(
            response.content,
            message_id=sent.message_id,
            sender=SENDER,
            receiver=RECEIVER,
            sent_digests=sent.digests,
            trust=self.pki.trust_store(),
            at=now(),
            dialect=EFDX,
        )

    def error(self, response: requests.Response, code: str, message_id: str | None = None) -> None:
        self.raw_error(response.status_code, response.content, code, message_id)

    def raw_error(self, status: int, body: bytes, code: str, message_id: str | None = None) -> None:
        assert status == http_status(code), body[:2000]
        signals.check_error(
            body,
            message_id=message_id,
            sender=SENDER,
            receiver=RECEIVER,
            expected_code=code,
            trust=self.pki.trust_store(),
            at=now(),
            dialect=EFDX,
        )

    def mark(self) -> int:
        return len(self.inbox.matching(lambda arrival: True))

    def answer_to(self, message_id: str) -> Arrival:
        arrival = self.inbox.wait_for(
            lambda a: a.header is not None and a.header.ref_to_message_id == message_id, WAIT
        )
        assert arrival is not None, f"no answer to {message_id} within {WAIT} s"
        return arrival

    def deliver(self, body: bytes) -> tuple[Sent, Arrival]:
        """Send a valid message, check its Receipt, and wait for KH's answer to it."""
        sent = Sent.of(body)
        self.receipt(self.post(body), sent)
        return sent, self.answer_to(sent.message_id)

    def expect_status(self, body: bytes, status: str, reasons=()) -> Sent:
        sent, arrival = self.deliver(body)
        assert_answer(arrival, sent, "StatusNotification", status, reasons)
        return sent

    def settle(self, mark: int) -> list[Arrival]:
        """What arrived since ``mark``, once KH's outbox has no row due (now or after a retry's short
        delay) that is not yet sent or given up: a bounded poll of its SQLite store."""
        store = self.reference.nsw.store
        horizon, deadline = time.time() + SOON, time.monotonic() + WAIT
        while store.count("outbox", "state = 'pending' AND next_attempt_at <= ?", horizon):
            assert time.monotonic() < deadline, f"KH's outbox still had messages due after {WAIT} s"
            time.sleep(0.01)
        return self.inbox.matching(lambda a: True)[mark:]

    def exchange(self, body, content_type: str | None = XML, session: requests.Session | None = None):
        """POST, then settle: (the answer, what KH sent since). Settling comes before any assertion,
        so that nothing due to one test arrives during another."""
        mark = self.mark()
        response = self.post(body, content_type, session)
        return response, self.settle(mark)

    def count(self, table: str, message_id: str) -> int:
        return self.reference.nsw.store.count(table, "message_id = ?", message_id)


@contextmanager
def running(folder: Path, pki: TestPki, *, tls: bool = False, **options) -> Iterator[Peer]:
    """KH's reference NSW with a harness inbox for SG as its peer, both on loopback."""
    with HarnessInbox(SENDER, pki=pki, tls=tls, dialect=EFDX) as inbox:
        settings = Settings(
            party=RECEIVER,
            db=folder / "kh.sqlite",
            peers={SENDER: inbox.url},
            retry_schedule=(0.05, 0.1, 0.2),
            outbound_timeout=2.0,
            tls=tls,
            dialect=EFDX,
            **options,
        )
        with RunningReference(settings) as reference:
            yield Peer(reference, inbox, pki, client(pki, folder, pki.nsw(SENDER), tls=tls))


@pytest.fixture(scope="module")
def peer(pki, tmp_path_factory) -> Iterator[Peer]:
    """One plain-HTTP reference for the module: every test uses its own MessageIds and COs."""
    with running(tmp_path_factory.mktemp("plain"), pki) as started:
        yield started


@pytest.fixture(scope="module")
def tls_peer(pki, tmp_path_factory) -> Iterator[Peer]:
    with running(tmp_path_factory.mktemp("tls"), pki, tls=True) as started:
        yield started


@pytest.fixture
def efdx_trust_only(monkeypatch):
    """Ignore a CA bundle named by the environment (a test below is about that), so TLS alone is judged."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def raw_post(url: str, head: dict[str, str], body: bytes = b"", *, half_close: bool = False):
    """POST over a bare socket (what requests cannot send); return (status, body) or time out."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in head.items())]
    with socket.create_connection((parts.hostname, parts.port), timeout=WAIT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


# ------------------------------------------------------------------------------ every vector


def check_vector(peer: Peer, vector: vectors.Vector) -> None:
    """Send the vector built for now; judge the synchronous answer, then what KH sends later."""
    body = built(vector.id, peer.pki)
    # the CO a ReplaceCO (or valid-cancel-co) names is accepted first
    if vector.id in NAMES_A_CO or (vector.action == "ReplaceCO" and vector.expect_code == "valid"):
        element = NAMES_A_CO.get(vector.id, "Replaces")
        named = etree.fromstring(body).findtext(f".//f:{element}", namespaces=NS)
        if named is not None:  # (br16-replace-without-replaces names none)
            peer.expect_status(fresh(peer.pki, reference_number=named.strip()).bytes(), "ACCEPTED")
    response, later = peer.exchange(body)
    if vector.expect_code == "valid":
        sent = Sent.of(body)
        peer.receipt(response, sent)
    else:
        readable = None if vector.expect_code in UNREADABLE else Sent.of(body).message_id
        peer.error(response, vector.expect_code, readable)
    if vector.expect_code != "valid" or vector.action not in (*CO_ACTIONS, "VerificationRequest"):
        assert later == [], [(a.header and a.header.action, a.judgement.codes) for a in later]
        return
    if vector.action == "VerificationRequest":  # KH never issued that CO
        assert_answer(only(later), sent, "VerificationResponse", "NOT_CONFIRMED")
    else:
        status = vector.expect_status or STATUS_WITH_HISTORY[vector.id]
        assert_answer(only(later), sent, "StatusNotification", status, vector.expect_reasons)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector.id)
def test_vector_over_http(peer, vector):
    check_vector(peer, vector)


# ------------------------------------------------------------------------------ history (A-03, A-04, BR-11)


def test_cancel_of_an_unknown_co_is_rejected_br14(peer):
    peer.expect_status(fresh(peer.pki, "CancelCO").bytes(), "REJECTED", ["BR-14"])


@pytest.mark.parametrize("then", ["CancelCO", "ReplaceCO"])
def test_a_superseded_co_can_be_neither_cancelled_nor_replaced_br15(peer, then):
    issued = fresh(peer.pki)
    original = issued.data["reference_number"]
    peer.expect_status(issued.bytes(), "ACCEPTED")
    peer.expect_status(fresh(peer.pki, "ReplaceCO", replaces=original).bytes(), "ACCEPTED")
    changes = {"reference_number": original} if then == "CancelCO" else {"replaces": original}
    peer.expect_status(fresh(peer.pki, then, **changes).bytes(), "REJECTED", ["BR-15"])


def test_a_cancelled_co_cannot_be_cancelled_again_br15(peer):
    issued = fresh(peer.pki)
    reference = issued.data["reference_number"]
    peer.expect_status(issued.bytes(), "ACCEPTED")
    peer.expect_status(
        fresh(peer.pki, "CancelCO", reference_number=reference).bytes(), "CANCELLATION_ACKNOWLEDGED"
    )
    peer.expect_status(fresh(peer.pki, "CancelCO", reference_number=reference).bytes(), "REJECTED", ["BR-15"])


def test_the_same_co_reference_twice_is_rejected_br11(peer):
    first = fresh(peer.pki)
    peer.expect_status(first.bytes(), "ACCEPTED")
    again = fresh(peer.pki, reference_number=first.data["reference_number"]).bytes()
    assert Sent.of(again).message_id != Sent.of(first.bytes()).message_id
    peer.expect_status(again, "REJECTED", ["BR-11"])


def test_a_duplicate_gets_a_duplicate_receipt_and_is_processed_once_m16(peer):
    body = fresh(peer.pki).bytes()
    sent, mark = Sent.of(body), peer.mark()
    first, second = peer.post(body), peer.post(body)
    later = peer.settle(mark)
    assert not peer.receipt(first, sent).duplicate
    assert peer.receipt(second, sent).duplicate
    assert_answer(only(later), sent, "StatusNotification", "ACCEPTED")
    assert peer.count("received", sent.message_id) == 1


def test_the_same_message_id_with_new_content_is_409_m17(peer):
    made = fresh(peer.pki)
    first = made.bytes()
    made.data = made.data | {"exporter": made.data["exporter"] | {"name": "Another Exporter Pte Ltd"}}
    second = made.bytes()
    sent, mark = Sent.of(first), peer.mark()
    assert Sent.of(second).message_id == sent.message_id
    answers = peer.post(first), peer.post(second)
    later = peer.settle(mark)
    peer.receipt(answers[0], sent)
    peer.error(answers[1], "EFDX-M17", sent.message_id)
    assert_answer(only(later), sent, "StatusNotification", "ACCEPTED")


# ------------------------------------------------------------------------------ TLS (section 2, T-05)


@pytest.mark.usefixtures("efdx_trust_only")
class TestMutualTls:
    @pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector.id)
    def test_vector_over_https(self, tls_peer, vector):
        assert tls_peer.reference.url.startswith("https://") and tls_peer.inbox.url.startswith("https://")
        check_vector(tls_peer, vector)

    def test_a_silent_connection_holds_up_no_other_handshake(self, tls_peer, tmp_path):
        """The handshake is in each connection's own thread (the core's BoundedWSGIServer), not in the
        accept loop: a peer that connects and says nothing stops nobody else. The POST goes through a
        new session, so that it makes a new connection and handshake (not the peer's kept one)."""
        parts = urlsplit(tls_peer.reference.url)
        fresh_session = client(tls_peer.pki, tmp_path, tls_peer.pki.nsw(SENDER))
        with socket.create_connection((parts.hostname, parts.port), timeout=10), fresh_session:
            assert tls_peer.post(b"<x/>", session=fresh_session).status_code == 400  # judged, not held up

    @pytest.mark.parametrize("credential", [None, "untrusted-ca", "expired", "revoked"])
    def test_a_client_without_a_trusted_certificate_is_refused_t05(self, tls_peer, tmp_path, credential):
        session = client(tls_peer.pki, tmp_path, credential and tls_peer.pki.bad(credential))
        body = fresh(tls_peer.pki).bytes()
        sent = Sent.of(body)
        try:
            response, later = tls_peer.exchange(body, session=session)
        except (requests.exceptions.SSLError, requests.exceptions.ConnectionError):
            response, later = None, []  # refused in the handshake
        if response is not None:
            tls_peer.error(response, "EFDX-T05", sent.message_id)
        assert later == []
        assert tls_peer.count("received", sent.message_id) == 0

    @pytest.mark.parametrize("party", ["TH", "wrong-country"])
    def test_a_certificate_of_another_party_than_from_is_403_t05(self, tls_peer, tmp_path, party):
        credential = tls_peer.pki.nsw(party) if party == "TH" else tls_peer.pki.bad(party)
        session = client(tls_peer.pki, tmp_path, credential)
        body = fresh(tls_peer.pki).bytes()
        response, later = tls_peer.exchange(body, session=session)
        sent = Sent.of(body)
        tls_peer.error(response, "EFDX-T05", sent.message_id)
        assert later == []
        assert tls_peer.count("received", sent.message_id) == 0


def test_outbound_tls_trusts_the_efdx_cas_whatever_the_environment_says(tls_peer, monkeypatch, tmp_path):
    """Section 4: each NSW trusts the parties' CAs; a CA bundle named by the environment must not
    replace them for the reference's own deliveries (requests lets REQUESTS_CA_BUNDLE override a
    Session's `verify`)."""
    foreign = tmp_path / "foreign-ca.pem"
    foreign.write_bytes(tls_peer.pki.bad("rogue-ca").cert_pem())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(foreign))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls_peer.expect_status(fresh(tls_peer.pki).bytes(), "ACCEPTED")


# ------------------------------------------------------------------------------ transport (T-02 .. T-04)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_non_post_methods_are_405_t02(peer, method):
    response = peer.session.request(method, peer.reference.url, timeout=WAIT)
    assert response.status_code == 405
    assert response.headers.get("Allow") == "POST"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_other_content_types_are_415_t03(peer, content_type):
    response, later = peer.exchange(fresh(peer.pki).bytes(), content_type)
    peer.error(response, "EFDX-T03")
    assert later == []


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml; charset=utf-8", "Application/XML"])
def test_xml_content_types_are_taken(peer, content_type):
    body = fresh(peer.pki).bytes()
    peer.receipt(peer.post(body, content_type), Sent.of(body))


class Body:
    """A streamed body of ``size`` bytes with a known length (requests then sends Content-Length)."""

    def __init__(self, size: int, block: int = 256 * 1024) -> None:
        self.size, self.block = size, block

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, self.size, self.block):
            yield b"x" * min(self.block, self.size - start)


def test_a_declared_length_over_5_mib_is_413_t04(peer):
    peer.error(peer.post(Body(6 * MIB)), "EFDX-T04")


def test_a_declared_length_over_5_mib_is_answered_before_the_body_is_sent_t04(peer):
    """T-04 "read no further than needed": the answer comes while no byte of the body was sent."""
    started = time.monotonic()
    status, body = raw_post(peer.reference.url, {"Content-Type": XML, "Content-Length": str(6 * MIB)})
    assert time.monotonic() - started < WAIT
    peer.raw_error(status, body, "EFDX-T04")


def test_a_chunked_body_over_5_mib_is_413_t04(peer):
    chunks = iter(Body(MAX_BODY_BYTES + 64 * 1024))  # a generator: requests sends it chunked
    response = peer.post(chunks)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    peer.error(response, "EFDX-T04")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_5_mib_is_taken(peer, chunked):
    """The cap is "over 5 MiB": a valid envelope padded to exactly 5 MiB gets its Receipt."""
    body = fresh(peer.pki).bytes()
    body += b"<!--" + b"x" * (MAX_BODY_BYTES - len(body) - 7) + b"-->"
    assert len(body) == MAX_BODY_BYTES
    response = peer.post(iter([body]) if chunked else body)
    assert response.request.headers.get("Transfer-Encoding") == ("chunked" if chunked else None)
    peer.receipt(response, Sent.of(body))


# ------------------------------------------------------------------------------ hostile input


def test_hostile_input_is_refused_and_leaves_it_working(start_reference, partner_inbox, pki, tmp_path):
    reference = start_reference()
    peer = Peer(reference, partner_inbox, pki, client(pki, tmp_path, tls=False))
    hostile = [
        (built("m02-entity-bomb", pki), "EFDX-M02"),
        (built("m02-external-entity", pki), "EFDX-M02"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64, "EFDX-M01"),  # binary junk
        (b"", "EFDX-M01"),
        (built("m01-not-well-formed", pki), "EFDX-M01"),  # a truncated document
    ]
    for body, code in hostile:
        peer.error(peer.post(body), code)
    # a transfer cut short: Content-Length promises more than the client sends before it stops
    valid = fresh(pki).bytes()
    head = {"Content-Type": XML, "Content-Length": str(len(valid))}
    status, answer = raw_post(reference.url, head, valid[: len(valid) // 2], half_close=True)
    assert status == 400
    peer.raw_error(status, answer, "EFDX-M01")
    sent = peer.expect_status(fresh(pki).bytes(), "ACCEPTED")
    store = reference.nsw.store
    assert (store.count("received"), store.count("outbox")) == (1, 1)
    assert peer.count("received", sent.message_id) == 1


# ------------------------------------------------------------------------------ exporting role (trigger)


def kh_certificate(reference_number: str) -> str:
    """An unsigned CO that KH issues to SG today, as the trigger takes it."""
    data = messages.sample_certificate(
        issuing_country=RECEIVER,
        importing_country=SENDER,
        issue_date=now().date(),
        reference_number=reference_number,
    )
    return messages.serialize(messages.certificate(data)).decode()


def trigger(peer: Peer, payload: dict | bytes, token: str | None = TOKEN) -> requests.Response:
    headers = {"X-EFDX-Test-Token": token} if token is not None else {}
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return peer.session.post(peer.reference.trigger_url, data=body, headers=headers, timeout=WAIT)


def answering(message_id: str):
    """A before-signing change: the Header's RefToMessageId (after ConversationId) names ``message_id``."""

    def change(envelope: etree._Element) -> None:
        conversation = envelope.find("e:Header/e:ConversationId", namespaces=NS)
        reference = etree.Element(f"{{{ENVELOPE_NS}}}RefToMessageId")
        reference.text, reference.tail = message_id, conversation.tail
        conversation.addnext(reference)

    return change


@pytest.fixture(scope="module")
def exporter(pki, tmp_path_factory) -> Iterator[Peer]:
    """A reference with the test trigger enabled."""
    with running(tmp_path_factory.mktemp("exporter"), pki, trigger_token=TOKEN) as started:
        yield started


class TestExportingRole:
    @staticmethod
    def issue(exporter: Peer) -> tuple[str, Arrival]:
        """Make KH issue a CO to SG through the trigger; return its reference and the IssueCO."""
        reference = f"KH-{uuid.uuid4().hex[:12].upper()}"
        document = kh_certificate(reference)
        response = trigger(exporter, {"action": "IssueCO", "to": SENDER, "document": document})
        assert response.status_code == 202, response.text
        message_id = response.json()["messageId"]
        arrival = exporter.inbox.wait_for(lambda a: a.message_id == message_id, WAIT)
        assert arrival is not None, f"the triggered IssueCO {message_id} did not arrive within {WAIT} s"
        return reference, arrival

    def test_a_triggered_issue_co_arrives_valid_and_signed_by_kh_authority_a06(self, exporter):
        reference, arrival = self.issue(exporter)
        judgement = arrival.judgement
        assert judgement.codes == [], judgement.violation
        assert judgement.status == "ACCEPTED"
        header = judgement.header
        assert (header.action, header.sender, header.receiver) == ("IssueCO", RECEIVER, SENDER)
        assert header.conversation_id == f"{RECEIVER}:{reference}"
        signed = verify.verify_enveloped(
            judgement.payload, trust=exporter.pki.trust_store(), party=RECEIVER, at=now(), purpose="authority"
        )
        assert signed.signer == exporter.pki.authority(RECEIVER).cert

    def test_a_verification_request_about_a_co_it_issued_is_confirmed_a05(self, exporter):
        reference, _ = self.issue(exporter)
        request = fresh(
            exporter.pki, "VerificationRequest", issuing_country=RECEIVER, reference_number=reference
        )
        sent, arrival = exporter.deliver(request.bytes())
        assert_answer(arrival, sent, "VerificationResponse", "CONFIRMED")

    def test_a_status_notification_about_a_co_it_issued_gets_a_receipt_a08(self, exporter):
        reference, issued = self.issue(exporter)
        status = fresh(
            exporter.pki, "StatusNotification", issuing_country=RECEIVER, reference_number=reference
        )
        status.before_signing.append(answering(issued.message_id))
        body = status.bytes()
        sent, mark = Sent.of(body), exporter.mark()
        assert sent.conversation_id == issued.header.conversation_id
        receipt = exporter.receipt(exporter.post(body), sent)
        assert not receipt.duplicate
        assert exporter.settle(mark) == []

    @pytest.mark.parametrize("token", ["wrong", None], ids=["wrong-token", "no-token"])
    def test_the_trigger_needs_the_token(self, exporter, token):
        queued = exporter.reference.nsw.store.count("outbox")
        document = kh_certificate("KH-NOT-SENT")
        response = trigger(exporter, {"action": "IssueCO", "to": SENDER, "document": document}, token)
        assert response.status_code == 403
        assert exporter.reference.nsw.store.count("outbox") == queued

    @pytest.mark.parametrize(
        "payload",
        [
            b"{not json",
            {"action": "IssueCO", "to": SENDER},
            {"action": "Ping", "to": SENDER, "document": "<Ping xmlns='urn:efdx:eformd:1'/>"},
            {"action": "IssueCO", "to": "TH", "document": "CO"},
            {"action": "IssueCO", "to": SENDER, "document": "<CertificateOfOrigin"},
            {"action": "CancelCO", "to": SENDER, "document": "CO"},
            {"action": "IssueCO", "to": SENDER, "document": 42},
            {"action": "IssueCO", "to": [SENDER], "document": "CO"},
        ],
        ids=[
            "not-json",
            "no-document",
            "ping-with-a-document",
            "unconfigured-peer",
            "not-xml",
            "wrong-payload",
            "document-not-a-string",
            "to-not-a-string",
        ],
    )
    def test_a_malformed_trigger_request_is_400(self, exporter, payload):
        if isinstance(payload, dict) and payload.get("document") == "CO":
            payload = payload | {"document": kh_certificate("KH-NOT-SENT")}
        queued = exporter.reference.nsw.store.count("outbox")
        response = trigger(exporter, payload)
        assert response.status_code == 400, response.text[:500]
        assert exporter.reference.nsw.store.count("outbox") == queued

    def test_a_ping_trigger_without_a_document_queues_a_ping_to_that_peer(self, exporter):
        """Errata 2 ("Test trigger: Ping"): {"action": "Ping", "to": party}, no document."""
        queued = exporter.reference.nsw.store.count("outbox")
        response = trigger(exporter, {"action": "Ping", "to": SENDER})
        assert response.status_code == 202, response.text[:500]
        assert response.json()["messageId"]
        assert exporter.reference.nsw.store.count("outbox") == queued + 1
        assert trigger(exporter, {"action": "Ping", "to": "TH"}).status_code == 400  # no such peer


def test_the_trigger_is_404_where_not_configured(peer):
    response = trigger(peer, {"action": "IssueCO", "to": SENDER, "document": kh_certificate("KH-NONE")})
    assert response.status_code == 404
