"""The gateway of EFDX section 9 (conformance/family/gateway.py), on loopback with real HTTP and mutual
TLS (the TEST ONLY PKI's gateway certificate): routing by path for both profiles, bytes and
Content-Type unchanged both ways, bodies it must not judge forwarded, its 16 MiB bound, 502 and 504
of its own (never a 200), mutual TLS per hop with the first hop judged as T-05 demands; two reference
NSWs (SG and KH) exchanging an IssueCO and its StatusNotification through it, every exchange
recorded; and the reference's seeded gateway faults (G-01..G-03) seen at the gateway.

Every server a test starts is stopped by its with-block; waits are event-driven and bounded.
"""

from __future__ import annotations

import hashlib
import json
import random
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from conformance.family import messages as family_messages
from conformance.family.gateway import Faults, Gateway, GatewayTls, Relay, Route, gateway_path
from conformance.family.judge import Receiver
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.family.vectors import Build
from conformance.profiles.efdx import messages
from conformance.profiles.efdx.codes import INBOX_PATH as EFDX_INBOX
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from conformance.profiles.rcpx.codes import INBOX_PATH as RCPX_INBOX
from tests.loopback import free_port

WAIT = 10.0  # bound on every wait for something that must come
GRACE = 1.0  # how long an absence is waited out (well past FAST_RETRIES)
FAST_RETRIES = (0.1, 0.2, 0.3)
MIB = 1024 * 1024
TOKEN = "gateway-test"


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------------------ a scripted receiver


class ScriptedReceiver:
    """A receiver's inbox that keeps what arrives (path, Content-Type, bytes, TLS client subject) and
    answers ``answer`` (status, Content-Type or None, body), or holds the request while ``hold`` is set.
    With ``tls``: KH's NSW certificate as server, clients must chain to ``client_ca``."""

    def __init__(self, pki: TestPki, *, tls: bool = False, client_ca: Path | None = None) -> None:
        self.arrivals: list[tuple[str, str | None, bytes, str | None]] = []
        self.answer: tuple[int, str | None, bytes] = (200, "application/xml", b"<ok/>")
        self.hold = threading.Event()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer = self.connection.getpeercert() if tls else None
                subject = ",".join(f"{k}={v}" for rdn in peer["subject"] for k, v in rdn) if peer else None
                receiver.arrivals.append((self.path, self.headers.get("Content-Type"), body, subject))
                if receiver.hold.is_set():
                    receiver._release.wait(WAIT)
                    return
                status, content_type, answer = receiver.answer
                self.send_response(status)
                if content_type is not None:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            nsw = pki.nsw("KH")
            context.load_cert_chain(str(nsw.cert_path), str(nsw.key_path))
            context.load_verify_locations(str(client_ca))
            context.verify_mode = ssl.CERT_REQUIRED
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_port}{EFDX_INBOX}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


def post(url: str, body: bytes, content_type: str | None = "application/xml", **options) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    with requests.Session() as session:
        session.trust_env = False
        return session.post(url, data=body, headers=headers, timeout=WAIT + 30, **options)


def no_content_type(response: requests.Response) -> bool:
    return "Content-Type" not in response.headers


@pytest.fixture
def receiver(pki) -> Iterator[ScriptedReceiver]:
    with ScriptedReceiver(pki) as started:
        yield started


@pytest.fixture
def gateway(receiver) -> Iterator[Gateway]:
    with Gateway([Route(EFDX_INBOX, {"KH": receiver.url})], timeout_s=1.0) as started:
        yield started


# ------------------------------------------------------------------------------ routing and bytes


def test_the_gateway_path_puts_the_party_before_the_last_step():
    assert gateway_path(EFDX_INBOX, "SG") == "/efdx/1/SG/messages"
    assert gateway_path(RCPX_INBOX, "AU") == "/rcpx/1/AU/messages"


def test_it_routes_both_profiles_by_path_alone(pki):
    with ExitStack() as stack:
        kh, sg, au = (stack.enter_context(ScriptedReceiver(pki)) for _ in range(3))
        routes = [Route(EFDX_INBOX, {"KH": kh.url, "SG": sg.url}), Route(RCPX_INBOX, {"AU": au.url})]
        gw = stack.enter_context(Gateway(routes))
        for url, body in (
            (gw.url(EFDX_INBOX, "KH"), b"to KH"),
            (gw.url(EFDX_INBOX, "SG"), b"to SG"),
            (gw.url(RCPX_INBOX, "AU"), b"to AU"),
        ):
            assert post(url, body).status_code == 200
        assert [a[2] for a in kh.arrivals] == [b"to KH"]
        assert [a[2] for a in sg.arrivals] == [b"to SG"]
        assert [a[2] for a in au.arrivals] == [b"to AU"]
        assert {a[0] for a in (*kh.arrivals, *au.arrivals)} == {EFDX_INBOX}  # each receiver's own path
        assert [(r.inbox_path, r.to_party) for r in gw.relays] == [
            (EFDX_INBOX, "KH"),
            (EFDX_INBOX, "SG"),
            (RCPX_INBOX, "AU"),
        ]
        assert gw.peers(EFDX_INBOX, ["KH"]) == {"KH": f"{gw.base}/efdx/1/KH/messages"}


def test_bytes_and_content_type_go_unchanged_both_ways(receiver, gateway):
    sent = b"<?xml version='1.0'?>\r\n<Envelope  a='1'>\xc3\xa9\t</Envelope>\r\n\r\n"
    receiver.answer = (409, "application/xml;charset=UTF-8", b"<Error>\r\n  \xc3\xa9</Error>\n")
    response = post(gateway.url(EFDX_INBOX, "KH"), sent, "text/xml; charset=utf-8")
    ((_, content_type, body, _),) = receiver.arrivals
    assert (sha(body), content_type) == (sha(sent), "text/xml; charset=utf-8")
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert sha(response.content) == sha(receiver.answer[2])
    (relay,) = gateway.relays
    assert relay.relayed and relay.forwarded_to == receiver.url and relay.to_party == "KH"
    assert (relay.request_digest, relay.request_size) == (sha(sent), len(sent))
    assert (relay.status, relay.answer_digest, relay.answer_size) == (
        409,
        sha(receiver.answer[2]),
        len(receiver.answer[2]),
    )
    assert relay.answer_content_type == "application/xml;charset=UTF-8"
    assert relay.from_tls is None and relay.duration_s >= 0


def test_a_missing_content_type_stays_missing_both_ways(receiver, gateway):
    receiver.answer = (400, None, b"")
    response = post(gateway.url(EFDX_INBOX, "KH"), b"x", content_type=None)
    assert receiver.arrivals[0][1] is None
    assert response.status_code == 400 and no_content_type(response)


@pytest.mark.parametrize(
    "body",
    [
        b"<Envelope><Header>not closed",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"\xff\xfe<\x00x\x00/\x00>\x00",
        b"",
    ],
    ids=["not-well-formed", "doctype", "utf-16", "empty"],
)
def test_a_body_the_gateway_must_not_judge_reaches_the_receiver_untouched(receiver, gateway, body):
    receiver.answer = (400, "application/xml", b"<Error/>")
    response = post(gateway.url(EFDX_INBOX, "KH"), body)
    assert [sha(a[2]) for a in receiver.arrivals] == [sha(body)]
    assert response.status_code == 400 and response.content == b"<Error/>"


def test_exactly_16_mib_is_forwarded_and_one_byte_more_is_413_of_its_own(receiver, gateway):
    whole = b"<" + b"a" * (16 * MIB - 2) + b">"
    assert post(gateway.url(EFDX_INBOX, "KH"), whole).status_code == 200
    assert [sha(a[2]) for a in receiver.arrivals] == [sha(whole)]
    response = post(gateway.url(EFDX_INBOX, "KH"), whole + b"!")
    assert response.status_code == 413 and response.content == b"" and no_content_type(response)
    assert len(receiver.arrivals) == 1  # never forwarded
    too_large = gateway.relays[-1]
    assert (too_large.status, too_large.forwarded_to, too_large.request_size) == (413, None, 16 * MIB + 1)
    assert too_large.gateway and not too_large.relayed


def test_a_receiver_it_cannot_reach_gets_the_sender_a_502_without_body():
    closed = f"http://127.0.0.1:{free_port()}{EFDX_INBOX}"  # nothing listens there
    with Gateway([Route(EFDX_INBOX, {"KH": closed})]) as gw:
        response = post(gw.url(EFDX_INBOX, "KH"), b"<x/>")
        assert response.status_code == 502 and response.content == b"" and no_content_type(response)
        (relay,) = gw.relays
        assert relay.status == 502 and "not reached" in (relay.gateway or "")


def test_a_receiver_that_never_answers_is_504_within_the_timeout(receiver, gateway):
    receiver.hold.set()
    started = time.monotonic()
    response = post(gateway.url(EFDX_INBOX, "KH"), b"<x/>")
    assert response.status_code == 504 and response.content == b"" and no_content_type(response)
    assert time.monotonic() - started < 5.0  # the gateway's 1 s, not the receiver's silence
    (relay,) = gateway.relays
    assert relay.status == 504 and relay.forwarded_to == receiver.url and "1 s" in (relay.gateway or "")


def test_an_unknown_party_or_path_is_404_and_another_method_405(receiver, gateway):
    for path in ("/efdx/1/TH/messages", "/efdx/1/messages", "/rcpx/1/KH/messages", "/"):
        response = post(gateway.base + path, b"<x/>")
        assert response.status_code == 404 and response.content == b"", path
    with requests.Session() as session:
        session.trust_env = False
        got = session.get(gateway.url(EFDX_INBOX, "KH"), timeout=WAIT)
    assert got.status_code == 405 and got.headers["Allow"] == "POST"
    assert receiver.arrivals == []
    assert all(relay.status != 200 and not relay.relayed for relay in gateway.relays)


def test_it_never_answers_200_of_its_own(receiver, gateway):
    """Every status it makes itself is one of its refusals; a 200 only ever comes from a receiver."""
    receiver.answer = (200, "application/xml", b"<Receipt/>")
    assert post(gateway.url(EFDX_INBOX, "KH"), b"<x/>").status_code == 200
    receiver.hold.set()
    assert post(gateway.url(EFDX_INBOX, "KH"), b"<x/>").status_code == 504
    own = [relay.status for relay in gateway.relays if not relay.relayed]
    relayed = [relay.status for relay in gateway.relays if relay.relayed]
    assert (own, relayed) == ([504], [200])


def test_injected_faults_follow_the_callers_random_and_are_not_forwarded(receiver):
    faults = Faults(server_error=0.3, timeout=0.2, rng=random.Random(20))
    expected_rng = random.Random(20)
    expected = []
    for _ in range(20):
        roll = expected_rng.random()
        expected.append(502 if roll < 0.3 else 504 if roll < 0.5 else 200)
    with Gateway([Route(EFDX_INBOX, {"KH": receiver.url})], faults=faults) as gw:
        got = [post(gw.url(EFDX_INBOX, "KH"), f"<m{n}/>".encode()).status_code for n in range(20)]
        assert got == expected and {502, 504, 200} <= set(got)
        assert len(receiver.arrivals) == got.count(200)
        injected = [relay for relay in gw.relays if relay.gateway and "injected" in relay.gateway]
        assert len(injected) == 20 - got.count(200) and all(r.forwarded_to is None for r in injected)
    with pytest.raises(ValueError):
        Faults(server_error=0.8, timeout=0.3)


def test_a_listener_gets_every_relay(receiver):
    heard: list[Relay] = []
    with Gateway([Route(EFDX_INBOX, {"KH": receiver.url})], listener=heard.append, keep=False) as gw:
        post(gw.url(EFDX_INBOX, "KH"), b"<x/>")
        post(gw.base + "/nowhere", b"<x/>")
        assert gw.relays == []
    assert [relay.status for relay in heard] == [200, 404]


# ------------------------------------------------------------------------------ mutual TLS per hop


@pytest.fixture
def tls_files(pki, tmp_path) -> dict[str, Path]:
    (tmp_path / "parties.pem").write_bytes(pki.trust_store().ca_pem())
    (tmp_path / "gateway-ca.pem").write_bytes(pki.gateway_ca_cert().public_bytes(Encoding.PEM))
    return {"parties": tmp_path / "parties.pem", "gateway-ca": tmp_path / "gateway-ca.pem"}


def tls_post(gw: Gateway, party: str, body: bytes, files: dict[str, Path], credential) -> requests.Response:
    """POST to the gateway over mutual TLS as ``credential``; the gateway's server certificate is
    checked against the gateway CA."""
    cert = (str(credential.cert_path), str(credential.key_path)) if credential else None
    return post(gw.url(EFDX_INBOX, party), body, verify=str(files["gateway-ca"]), cert=cert)


def signed(pki: TestPki, sender: str = "SG", receiver: str = "KH", **options) -> bytes:
    now = datetime.now(UTC)
    build = Build(
        vector_id=f"gw-{uuid.uuid4().hex[:8]}",
        day=now.date(),
        pki=pki,
        moment=now,
        sender=sender,
        receiver=receiver,
        dialect=EFDX,
        **options,
    )
    return family_messages.serialize(build.envelope())


def test_the_gateway_certificate_is_test_only_ou_gateway_for_tls_client_and_server(pki):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert = pki.gateway().cert
    names = {attribute.oid: attribute.value for attribute in cert.subject}
    assert names[NameOID.ORGANIZATIONAL_UNIT_NAME] == "gateway"
    assert names[NameOID.ORGANIZATION_NAME].endswith("TEST ONLY") and NameOID.COUNTRY_NAME not in names
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    cert.verify_directly_issued_by(pki.gateway_ca_cert())
    assert pki.test_material().why(cert) is not None  # declared TEST ONLY material
    assert "gateway" not in pki.trust_store().parties  # no party's, in no signer's trust


def test_mutual_tls_on_each_hop_with_the_gateway_certificate(pki, tls_files):
    with ScriptedReceiver(pki, tls=True, client_ca=tls_files["gateway-ca"]) as receiver:
        route = Route(EFDX_INBOX, {"KH": receiver.url}, pki.trust_store())
        with Gateway([route], tls=GatewayTls(pki.gateway())) as gw:
            body = signed(pki)
            response = tls_post(gw, "KH", body, tls_files, pki.nsw("SG"))
            assert response.status_code == 200
            ((_, _, forwarded, client),) = receiver.arrivals
            assert sha(forwarded) == sha(body) and "organizationalUnitName=gateway" in client
            (relay,) = gw.relays
            assert (relay.from_tls_party, relay.sender, relay.t05) == ("SG", "SG", None)
            assert "nsw.sg.efdx.test" in (relay.from_tls or "")


@pytest.mark.parametrize(
    "who", ["untrusted-ca", "gateway", "none"], ids=["rogue-ca-client", "gateway-as-client", "no-certificate"]
)
def test_a_first_hop_client_outside_the_parties_cas_fails_the_handshake(pki, tls_files, receiver, who):
    credential = {"untrusted-ca": pki.bad("untrusted-ca", "SG"), "gateway": pki.gateway(), "none": None}[who]
    route = Route(EFDX_INBOX, {"KH": receiver.url}, pki.trust_store())
    with Gateway([route], tls=GatewayTls(pki.gateway())) as gw:
        with pytest.raises(requests.exceptions.RequestException):
            tls_post(gw, "KH", signed(pki), tls_files, credential)
        assert receiver.arrivals == [] and gw.relays == []


@pytest.mark.parametrize("client", ["revoked", "expired", "other-party"])
def test_a_first_hop_client_not_the_current_nsw_of_from_is_403_and_not_forwarded(
    pki, tls_files, receiver, client
):
    credential = {
        "revoked": pki.bad("revoked", "SG"),
        "expired": pki.bad("expired", "SG"),
        "other-party": pki.nsw("TH"),  # a trusted party's NSW, but the message is From SG
    }[client]
    route = Route(EFDX_INBOX, {"KH": receiver.url}, pki.trust_store())
    with Gateway([route], tls=GatewayTls(pki.gateway())) as gw:
        try:
            response = tls_post(gw, "KH", signed(pki), tls_files, credential)
        except requests.exceptions.SSLError:  # an expired client may already fail the handshake
            assert client == "expired"
        else:
            assert response.status_code == 403 and response.content == b""
            (relay,) = gw.relays
            assert relay.sender == "SG" and relay.t05 and "T-05" in (relay.gateway or "")
        assert receiver.arrivals == []


def test_a_foreign_from_may_be_forwarded_with_the_finding_recorded(pki, tls_files, receiver):
    """Section 9 says the gateway judges the first hop against From; refusing it by itself is the
    default, recording it and forwarding is the other reading (``refuse_foreign_from=False``)."""
    route = Route(EFDX_INBOX, {"KH": receiver.url}, pki.trust_store())
    with Gateway([route], tls=GatewayTls(pki.gateway()), refuse_foreign_from=False) as gw:
        assert tls_post(gw, "KH", signed(pki), tls_files, pki.nsw("TH")).status_code == 200
        (relay,) = gw.relays
        assert relay.relayed and relay.sender == "SG" and relay.from_tls_party == "TH" and relay.t05


def test_an_unreadable_body_over_tls_is_judged_on_the_certificate_alone_and_forwarded(
    pki, tls_files, receiver
):
    route = Route(EFDX_INBOX, {"KH": receiver.url}, pki.trust_store())
    with Gateway([route], tls=GatewayTls(pki.gateway())) as gw:
        body = b"<!DOCTYPE x><Envelope/>"
        assert tls_post(gw, "KH", body, tls_files, pki.nsw("SG")).status_code == 200
        assert [sha(a[2]) for a in receiver.arrivals] == [sha(body)]
        (relay,) = gw.relays
        assert (relay.sender, relay.t05) == (None, None)


# ------------------------------------------------------------------------------ as a signer: M-08


def test_the_gateway_certificate_as_envelope_signer_is_m08(pki):
    body = signed(pki, envelope_signer=pki.gateway())
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, "application/xml")
    assert judgement.violation is not None and judgement.violation.requirement == "M-08"
    assert judgement.http_status == 403


def test_the_gateway_certificate_as_co_signer_fails_the_co_signature(pki):
    """Section 9 calls it EFDX-M08; a CO's signature is judged by BR-12 (section 4), whose finding
    says the signer is not trusted: the existing check refuses it (a spec question, see the report)."""
    body = signed(pki, co_signer=pki.gateway())
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, "application/xml")
    assert judgement.violation is None  # the envelope is SG's
    assert [finding.rule for finding in judgement.findings] == ["BR-12"]


# ------------------------------------------------------------------------------ two reference NSWs


@contextmanager
def pilot(
    tmp_path: Path,
    pki: TestPki,
    *,
    tls: bool,
    sg: dict | None = None,
    kh: dict | None = None,
    kh_behind: str | None = None,
    **gw,
):
    """SG and KH reference NSWs (claiming gateway) whose peers are each other's gateway inboxes;
    ``kh_behind``: the gateway routes KH's inbox there instead (a receiver of the test's)."""
    kh_port, sg_port = free_port(), free_port()
    scheme = "https" if tls else "http"
    direct = {
        "KH": f"{scheme}://127.0.0.1:{kh_port}{EFDX_INBOX}",
        "SG": f"{scheme}://127.0.0.1:{sg_port}{EFDX_INBOX}",
    }
    route = Route(EFDX_INBOX, {**direct, "KH": kh_behind or direct["KH"]}, pki.trust_store())
    with Gateway([route], tls=GatewayTls(pki.gateway()) if tls else None, timeout_s=5.0, **gw) as gateway:
        peers = gateway.peers(EFDX_INBOX, ["KH", "SG"])

        def settings(party: str, options: dict | None) -> Settings:
            return Settings(
                party=party,
                db=tmp_path / f"{party}.sqlite",
                peers={p: url for p, url in peers.items() if p != party},
                direct_peers={p: url for p, url in direct.items() if p != party},
                retry_schedule=FAST_RETRIES,
                outbound_timeout=5.0,
                trigger_token=TOKEN,
                tls=tls,
                gateway=True,
                dialect=EFDX,
                **(options or {}),
            )

        with (
            RunningReference(settings("KH", kh), port=kh_port) as kh_nsw,
            RunningReference(settings("SG", sg), port=sg_port) as sg_nsw,
        ):
            yield gateway, sg_nsw, kh_nsw


def issue(pki: TestPki, sg: RunningReference, tls: bool, files: dict[str, Path] | None = None) -> str:
    """Make SG issue a CO to KH through its trigger; return the IssueCO's MessageId."""
    data = messages.sample_certificate(
        issuing_country="SG",
        importing_country="KH",
        issue_date=datetime.now(UTC).date(),
        reference_number=f"SG-{uuid.uuid4().hex[:10].upper()}",
    )
    document = messages.serialize(messages.certificate(data)).decode()
    options: dict = {}
    if tls:
        assert files is not None
        nsw = pki.nsw("KH")
        options = {"verify": str(files["parties"]), "cert": (str(nsw.cert_path), str(nsw.key_path))}
    with requests.Session() as session:
        session.trust_env = False
        response = session.post(
            sg.trigger_url,
            data=json.dumps({"action": "IssueCO", "to": "KH", "document": document}),
            headers={"X-EFDX-Test-Token": TOKEN},
            timeout=WAIT,
            **options,
        )
    assert response.status_code == 202, response.text
    return response.json()["messageId"]


def header(relay: Relay, name: str) -> str | None:
    root = etree.fromstring(relay.request)
    return root.findtext(f"{{*}}Header/{{*}}{name}")


def of_message(message_id: str):
    return lambda relay: relay.request and header(relay, "MessageId") == message_id


def answering(message_id: str):
    return lambda relay: relay.request and header(relay, "RefToMessageId") == message_id


def outbox_bodies(reference: RunningReference) -> dict[str, bytes]:
    return {row["message_id"]: bytes(row["body"]) for row in reference.nsw.store.outbox_rows()}


@pytest.mark.parametrize("tls", [False, True], ids=["http", "mutual-tls"])
def test_two_reference_nsws_exchange_an_issue_co_and_its_status_through_the_gateway(
    tmp_path, pki, tls, tls_files
):
    with pilot(tmp_path, pki, tls=tls) as (gateway, sg, kh):
        message_id = issue(pki, sg, tls, tls_files)
        (co,) = gateway.wait_for(of_message(message_id), WAIT)
        (status,) = gateway.wait_for(answering(message_id), WAIT)
        assert (co.to_party, co.status, header(co, "Action"), header(co, "From")) == (
            "KH",
            200,
            "IssueCO",
            "SG",
        )
        assert (status.to_party, status.status, header(status, "Action")) == ("SG", 200, "StatusNotification")
        assert b"ACCEPTED" in status.request
        for relay in (co, status):  # bytes delivered are the bytes sent, answers are the receivers'
            assert relay.relayed and relay.content_type == "application/xml"
            assert relay.answer_content_type == "application/xml" and b"Receipt" in relay.answer
        assert sha(outbox_bodies(sg)[message_id]) == co.request_digest
        assert sha(outbox_bodies(kh)[header(status, "MessageId")]) == status.request_digest
        if tls:  # each hop: the sender's NSW certificate to the gateway, judged against From
            assert (co.from_tls_party, co.sender, co.t05) == ("SG", "SG", None)
            assert (status.from_tls_party, status.sender, status.t05) == ("KH", "KH", None)
        else:
            assert co.from_tls is None
        assert len(gateway.relays) == 2  # nothing else went through


def test_a_reference_nsw_not_claiming_gateway_refuses_the_gateways_client_certificate(
    tmp_path, pki, tls_files
):
    """The control of G-02: without ``gateway`` the gateway CA is no TLS client CA of the reference."""
    with RunningReference(Settings(party="KH", db=tmp_path / "kh.sqlite", tls=True, dialect=EFDX)) as kh:
        route = Route(EFDX_INBOX, {"KH": kh.url}, pki.trust_store())
        with Gateway([route], tls=GatewayTls(pki.gateway())) as gw:
            response = tls_post(gw, "KH", signed(pki), tls_files, pki.nsw("SG"))
            assert response.status_code == 502 and "not reached" in (gw.relays[0].gateway or "")


# ------------------------------------------------------------------------------ seeded gateway faults


def test_gateway_bypassed_sends_around_the_gateway_g01(tmp_path, pki, tls_files):
    with pilot(tmp_path, pki, tls=False, sg={"fault": "gateway-bypassed"}) as (gateway, sg, kh):
        message_id = issue(pki, sg, False)
        assert kh_received(kh, message_id)
        assert gateway.wait_for(of_message(message_id), GRACE) == []  # the gateway never saw it


def kh_received(kh: RunningReference, message_id: str) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if kh.nsw.store.count("received", "message_id = ?", message_id):
            return True
        time.sleep(0.05)
    return False


def test_gateway_unsigned_sends_the_gateway_an_unsigned_envelope_g01(tmp_path, pki):
    with pilot(tmp_path, pki, tls=False, sg={"fault": "gateway-unsigned"}) as (gateway, sg, kh):
        message_id = issue(pki, sg, False)
        (co,) = gateway.wait_for(of_message(message_id), WAIT)
        envelope = etree.fromstring(co.request)  # the CO keeps its authority's signature
        assert envelope.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None
        assert co.status == 403 and b"EFDX-M05" in co.answer  # KH refuses it, and the gateway relays that


def test_refuse_gateway_client_answers_the_gateway_403_t05_g02(tmp_path, pki, tls_files):
    with pilot(tmp_path, pki, tls=True, kh={"fault": "refuse-gateway-client"}) as (gateway, sg, kh):
        message_id = issue(pki, sg, True, tls_files)
        (co,) = gateway.wait_for(of_message(message_id), WAIT)
        assert co.relayed and co.status == 403 and b"EFDX-T05" in co.answer
        assert co.t05 is None  # the first hop was SG's own NSW: the refusal is KH's, of the gateway


@pytest.mark.parametrize("fault", [None, "gateway-errors-final"])
def test_gateway_errors_final_gives_up_on_the_first_502_g03(tmp_path, pki, fault):
    faults = Faults(server_error=1.0, rng=random.Random(3))
    with pilot(tmp_path, pki, tls=False, sg={"fault": fault}, faults=faults) as (gateway, sg, kh):
        message_id = issue(pki, sg, False)
        wanted = 1 if fault else 1 + len(FAST_RETRIES)
        tries = gateway.wait_for(of_message(message_id), WAIT, count=wanted)
        time.sleep(GRACE)  # a retry that must not come
        tries = gateway.wait_for(of_message(message_id), 0)
        assert [relay.status for relay in tries] == [502] * wanted
        assert len({relay.request_digest for relay in tries}) == 1  # the same bytes each time


@pytest.mark.parametrize("fault", [None, "gateway-4xx-retried"])
def test_gateway_4xx_retried_retries_a_relayed_4xx_g03(tmp_path, pki, fault, receiver):
    receiver.answer = (400, "application/xml", b"<Error/>")
    # KH's gateway inbox goes to a receiver that refuses everything: the gateway relays its 400
    with pilot(tmp_path, pki, tls=False, sg={"fault": fault}, kh_behind=receiver.url) as (gateway, sg, kh):
        message_id = issue(pki, sg, False)
        wanted = 1 + len(FAST_RETRIES) if fault else 1
        gateway.wait_for(of_message(message_id), WAIT, count=wanted)
        time.sleep(GRACE)
        tries = gateway.wait_for(of_message(message_id), 0)
        assert [relay.status for relay in tries] == [400] * wanted and all(r.relayed for r in tries)
