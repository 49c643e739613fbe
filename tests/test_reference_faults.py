"""Each seeded fault of the reference NSW switches on exactly its one wrong behaviour.

For every fault in ``FAULTS`` one scenario sends the message(s) that expose it, once to a reference
NSW with the fault and once to a fault-free one (same scenario, its own partner inbox), and the
two observations must be the expected pair: the wrong behaviour with the fault, what the spec
(EFDX-1.0.md) demands without it. A scenario whose observation does not change with the fault
would pass against a correct NSW and prove nothing, so both halves are always asserted.

A second test shows that everything else stays conforming with the fault on: valid-issue-co still
gets a good Receipt and an ACCEPTED status (or, where the fault breaks exactly that, the rest of
the exchange is right). Waits are event-driven and bounded; only absences wait out a short grace.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
import requests
from lxml import etree

from conformance.app import cli
from conformance.core import xmldsig as ds
from conformance.core.safexml import parse_untrusted
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.inbox import Arrival, HarnessInbox, Reaction
from conformance.family.reference.runner import RunningReference
from conformance.family.validation import ENVELOPE_SCHEMA
from conformance.family.vectors import Build, build_vector
from conformance.profiles.efdx.catalogue import requirement
from conformance.profiles.efdx.codes import EFORMD_NS, ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from conformance.profiles.efdx.reference.seeded_faults import FAULTS

_E = f"{{{ENVELOPE_NS}}}"
_F = f"{{{EFORMD_NS}}}"
SENDER, CANDIDATE = "SG", "KH"
CO_ACTIONS = ("IssueCO", "ReplaceCO", "CancelCO")

STATUS_TIMEOUT = 10.0  # upper bound of an event-driven wait for something that must come
GRACE = 1.0  # how long an absence is waited out: well above conftest's whole retry schedule
LATE_STATUS_DELAY = 3.0  # the late-status fault's delay in these tests: after the 1 s window
STATUS_WINDOW = 1.0  # the status window the late-status scenario declares

Scenario = Callable[[RunningReference, HarnessInbox, TestPki], Any]


# ------------------------------------------------------------------------------ observing


class Outcome(NamedTuple):
    """What one POST got: the HTTP status, the Error's code or the Receipt's Duplicate, the status."""

    http: int
    code: str | None = None
    duplicate: bool = False
    status: str | None = None
    reasons: tuple[str, ...] = ()


def accepted(status: str = "ACCEPTED") -> Outcome:
    return Outcome(200, status=status)


def rejected(*reasons: str) -> Outcome:
    return Outcome(200, status="REJECTED", reasons=reasons)


def refused(http: int, code: str) -> Outcome:
    return Outcome(http, code)


@dataclass(frozen=True)
class Sent:
    """A message as sent: its bytes, header fields and envelope digests (read leniently: our own bytes)."""

    body: bytes
    message_id: str
    conversation_id: str
    action: str
    digests: tuple[str, ...]

    @classmethod
    def of(cls, body: bytes) -> Sent:
        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
        root = etree.fromstring(body, parser=parser)
        header = root.find(f"{_E}Header")

        def text(name: str) -> str:
            node = header.find(f"{_E}{name}")  # an unexpanded entity (m02) leaves its text in tails
            return ((node.text or "") + "".join(child.tail or "" for child in node)).strip()

        digests = root.xpath(
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue/text()", namespaces={"ds": ds.DS_NS}
        )
        return cls(body, text("MessageId"), text("ConversationId"), text("Action"), tuple(digests))


def _now() -> datetime:
    return datetime.now(UTC)


def _post(reference: RunningReference, body: bytes) -> requests.Response:
    return requests.post(
        reference.url, data=body, headers={"Content-Type": "application/xml"}, timeout=STATUS_TIMEOUT
    )


def _answer(response: requests.Response) -> Outcome:
    """The synchronous part of an Outcome: the Error's first Fault/Code, or the Receipt's Duplicate.

    A body that is no signal at all (a crash page) leaves code None: the HTTP status tells.
    """
    try:
        root = parse_untrusted(response.content)
    except Violation:
        return Outcome(response.status_code)
    if response.status_code != 200:
        codes = root.xpath("e:Fault/e:Code/text()", namespaces={"e": ENVELOPE_NS})
        return Outcome(response.status_code, codes[0].strip() if codes else None)
    return Outcome(200, duplicate=root.findtext(f"{_E}Duplicate", "").strip() == "true")


def _answering(action: str, message_id: str) -> Callable[[Arrival], bool]:
    def predicate(arrival: Arrival) -> bool:
        header = arrival.header
        return header is not None and header.action == action and header.ref_to_message_id == message_id

    return predicate


def _status(inbox: HarnessInbox, message_id: str, timeout: float) -> Arrival | None:
    return inbox.wait_for(_answering("StatusNotification", message_id), timeout)


def _payload(arrival: Arrival) -> etree._Element:
    root = parse_untrusted(arrival.body)
    return ds.element_children(root.find(f"{_E}Payload"))[0]


def _status_and_reasons(arrival: Arrival) -> tuple[str, tuple[str, ...]]:
    payload = _payload(arrival)
    reasons = tuple(
        code.strip() for code in payload.xpath("f:Reason/f:Code/text()", namespaces={"f": EFORMD_NS})
    )
    return payload.findtext(f"{_F}Status").strip(), reasons


def _verdict(check: Callable[..., object], body: bytes, **arguments: Any) -> str:
    """``pass``, or the requirement and what it expected (without the digests or values listed)."""
    try:
        check(body, **arguments)
    except Violation as violation:
        return f"{violation.requirement}: {violation.expected.split(' [')[0]}"
    return "pass"


def _receipt_verdict(response: requests.Response, sent: Sent, pki: TestPki) -> str:
    return _verdict(
        signals.check_receipt,
        response.content,
        message_id=sent.message_id,
        sender=SENDER,
        receiver=CANDIDATE,
        sent_digests=sent.digests,
        trust=pki.trust_store(),
        at=_now(),
        dialect=EFDX,
    )


def _vector(vector_id: str) -> Callable[[TestPki, datetime], bytes]:
    def make(pki: TestPki, now: datetime) -> bytes:
        return build_vector(vector_id, now.date(), pki, moment=now, dialect=EFDX)

    return make


def _send(reference: RunningReference, pki: TestPki, make: Callable[[TestPki, datetime], bytes]):
    now = _now()
    sent = Sent.of(make(pki, now))
    return sent, _post(reference, sent.body)


# ------------------------------------------------------------------------------ scenarios


def _outcome(inbox: HarnessInbox, sent: Sent, response: requests.Response) -> Outcome:
    """The answer, and for a CO message taken with a Receipt its status (or "none")."""
    outcome = _answer(response)
    if outcome.http != 200 or sent.action not in CO_ACTIONS:
        return outcome
    arrival = _status(inbox, sent.message_id, STATUS_TIMEOUT)
    if arrival is None:
        return outcome._replace(status="none")
    status, reasons = _status_and_reasons(arrival)
    return outcome._replace(status=status, reasons=reasons)


def exchange(make: Callable[[TestPki, datetime], bytes]) -> Scenario:
    """Send one message: its Outcome."""

    def scenario(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> Outcome:
        sent, response = _send(reference, pki, make)
        return _outcome(inbox, sent, response)

    return scenario


def vector(vector_id: str) -> Scenario:
    return exchange(_vector(vector_id))


SECRET = "/etc/passwd"  # the file m02-external-entity's entity names


def external_entity(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> tuple[Outcome, bool]:
    """m02-external-entity: its Outcome, and whether the file it names leaked into anything KH sent."""
    sent, response = _send(reference, pki, _vector("m02-external-entity"))
    outcome = _outcome(inbox, sent, response)
    with open(SECRET, "rb") as handle:
        secrets = [line for line in handle.read().splitlines() if line.strip()][:5] + [b"root:x:0:0"]
    answers = [response.content] + [arrival.body for arrival in inbox.matching(lambda arrival: True)]
    return outcome, any(secret in answer for secret in secrets for answer in answers)


def stale_timestamp(pki: TestPki, now: datetime) -> bytes:
    """A valid IssueCO sent now whose Timestamp is 25 h old (M-15: over 24 h)."""
    return Build(
        "m15-live-stale", now.date(), pki, moment=now, timestamp=now - timedelta(hours=25), dialect=EFDX
    ).bytes()


def same_bytes_twice(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> tuple[Outcome, int]:
    """The answer to the same bytes sent again, and how many statuses answer that MessageId."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    assert response.status_code == 200
    first = _status(inbox, sent.message_id, STATUS_TIMEOUT)
    assert first is not None
    again = _answer(_post(reference, sent.body))
    is_status = _answering("StatusNotification", sent.message_id)
    inbox.wait_for(lambda arrival: arrival is not first and is_status(arrival), GRACE)
    return again, len(inbox.matching(is_status))


def conflicting_duplicate(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> Outcome:
    """The answer to new content under the MessageId of a message taken before."""
    now = _now()
    original = Build("m17-live", now.date(), pki, moment=now, dialect=EFDX)
    sent = Sent.of(original.bytes())
    assert _post(reference, sent.body).status_code == 200
    changed = Build("m17-live", now.date(), pki, moment=now, dialect=EFDX)
    data = changed.co()
    data["items"][0]["quantity"] = "4000.00"
    changed.data = data
    other = Sent.of(changed.bytes())
    assert other.message_id == sent.message_id and other.body != sent.body
    return _answer(_post(reference, other.body))


def receipt_check(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> tuple[int, str]:
    """valid-issue-co's Receipt judged by signals.check_receipt (M-19)."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    return response.status_code, _receipt_verdict(response, sent, pki)


def error_code(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> tuple[int, str]:
    """m06-tampered-payload's Error judged by signals.check_error expecting EFDX-M06 (M-20)."""
    sent, response = _send(reference, pki, _vector("m06-tampered-payload"))
    verdict = _verdict(
        signals.check_error,
        response.content,
        message_id=sent.message_id,
        sender=SENDER,
        receiver=CANDIDATE,
        expected_code="EFDX-M06",
        trust=pki.trust_store(),
        at=_now(),
        dialect=EFDX,
    )
    return response.status_code, verdict


def deliveries(answer: int, *, first_only: bool) -> Scenario:
    """SG's inbox answers the status ``answer`` (the first time, or always): is it delivered again?"""

    def scenario(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> str:
        scripted: list[Arrival] = []

        def script(arrival: Arrival) -> Reaction | None:
            if arrival.header is None or arrival.header.action != "StatusNotification":
                return None
            if first_only and scripted:
                return None
            scripted.append(arrival)
            return Reaction(status=answer)

        assert sum(reference.settings.retry_schedule) < GRACE / 2, "GRACE must outlast every retry"
        inbox.script = script
        sent, response = _send(reference, pki, _vector("valid-issue-co"))
        assert response.status_code == 200
        first = _status(inbox, sent.message_id, STATUS_TIMEOUT)
        assert first is not None and first.answered == answer
        is_status = _answering("StatusNotification", sent.message_id)
        inbox.wait_for(lambda arrival: arrival is not first and is_status(arrival), GRACE)
        arrivals = inbox.matching(is_status)
        if len(arrivals) == 1:
            return "once"
        return "again, same bytes" if {a.body for a in arrivals} == {first.body} else "again, other bytes"

    return scenario


def status_timing(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> tuple[str, str]:
    """valid-issue-co's status within the status window, and (bounded) at all."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    assert response.status_code == 200
    in_window = _status(inbox, sent.message_id, STATUS_WINDOW)
    eventually = in_window or _status(inbox, sent.message_id, LATE_STATUS_DELAY + STATUS_TIMEOUT)
    return tuple(_status_and_reasons(a)[0] if a else "none" for a in (in_window, eventually))


def status_within_grace(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> str:
    """valid-issue-co's status (or "none") within the short grace period."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    assert response.status_code == 200
    arrival = _status(inbox, sent.message_id, GRACE)
    return _status_and_reasons(arrival)[0] if arrival else "none"


def status_conversation(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> bool:
    """Whether valid-issue-co's status carries the CO's ConversationId (A-02)."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    assert response.status_code == 200
    arrival = _status(inbox, sent.message_id, STATUS_TIMEOUT)
    assert arrival is not None
    return arrival.header.conversation_id == sent.conversation_id


def verification(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> str:
    """The Outcome of the VerificationResponse to valid-verification-request (KH issued no such CO)."""
    sent, response = _send(reference, pki, _vector("valid-verification-request"))
    assert response.status_code == 200
    arrival = inbox.wait_for(_answering("VerificationResponse", sent.message_id), GRACE)
    return _payload(arrival).findtext(f"{_F}Outcome").strip() if arrival else "none"


# ------------------------------------------------------------------------------ the table


def client_without_certificate(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> str:
    """A valid Ping over HTTPS from a client that presents no certificate: answered, or refused."""
    bundle = reference.settings.db.with_name("client-trust.pem")
    bundle.write_bytes(pki.trust_store().ca_pem())
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.post(
            reference.url,
            data=_vector("valid-ping")(pki, _now()),
            headers={"Content-Type": "application/xml"},
            verify=str(bundle),
            timeout=10,
        )
    except requests.exceptions.ConnectionError:  # SSLError included: the handshake was refused
        return "refused"
    return f"HTTP {response.status_code}"


def distinct_statuses(reference: RunningReference, inbox: HarnessInbox, pki: TestPki) -> int:
    """How many different StatusNotifications answer one valid IssueCO (after a grace period)."""
    sent, response = _send(reference, pki, _vector("valid-issue-co"))
    assert response.status_code == 200 and _status(inbox, sent.message_id, STATUS_TIMEOUT) is not None
    inbox.settle(1.0)
    return len(
        {arrival.message_id for arrival in inbox.matching(_answering("StatusNotification", sent.message_id))}
    )


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    with_fault: Any
    without_fault: Any
    options: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "accept-any-tls-client": Case(client_without_certificate, "HTTP 200", "refused", {"tls": True}),
    "accept-doctype": Case(external_entity, (accepted(), False), (refused(400, "EFDX-M02"), False)),
    "accept-missing-signature": Case(vector("m05-unsigned"), accepted(), refused(403, "EFDX-M05")),
    # The envelope digest is not checked; the re-signed CO in the changed Payload is then accepted.
    "ignore-digests": Case(vector("m06-tampered-payload"), accepted(), refused(403, "EFDX-M06")),
    # The look-alike (its CO re-labelled co2 and re-signed by its authority) is processed: ACCEPTED.
    "process-unsigned-lookalike": Case(
        vector("m07-wrapping-payload-new-id"), accepted(), refused(403, "EFDX-M07")
    ),
    "trust-any-ca": Case(vector("m08-untrusted-ca"), accepted(), refused(403, "EFDX-M08")),
    "ignore-expiry": Case(vector("m09-expired-signer"), accepted(), refused(403, "EFDX-M09")),
    "ignore-crl": Case(vector("m10-revoked-signer"), accepted(), refused(403, "EFDX-M10")),
    "ignore-signer-country": Case(vector("m11-wrong-country-signer"), accepted(), refused(403, "EFDX-M11")),
    "accept-sha1": Case(vector("m12-sha1-digest"), accepted(), refused(403, "EFDX-M12")),
    # The CO names TH as importing country too, so BR-02 holds against the envelope's To.
    "accept-foreign-to": Case(vector("m13-wrong-receiver"), accepted(), refused(400, "EFDX-M13")),
    "accept-stale-timestamp": Case(exchange(stale_timestamp), accepted(), refused(400, "EFDX-M15")),
    "process-duplicates-twice": Case(
        same_bytes_twice, (Outcome(200, duplicate=True), 2), (Outcome(200, duplicate=True), 1)
    ),
    "conflicting-duplicate-accepted": Case(
        conflicting_duplicate, Outcome(200, duplicate=True), refused(409, "EFDX-M17")
    ),
    "unsigned-receipts": Case(receipt_check, (200, "M-19: a ds:Signature in Receipt"), (200, "pass")),
    "wrong-received-digest": Case(receipt_check, (200, "M-19: ReceivedDigest"), (200, "pass")),
    "wrong-error-code": Case(error_code, (403, "M-06: Fault/Code EFDX-M06"), (403, "pass")),
    "no-retry": Case(deliveries(503, first_only=True), "once", "again, same bytes"),
    "retry-after-4xx": Case(deliveries(400, first_only=False), "again, same bytes", "once"),
    "never-send-status": Case(status_within_grace, "none", "ACCEPTED"),
    "second-status": Case(distinct_statuses, 2, 1),
    "late-status": Case(
        status_timing,
        ("none", "ACCEPTED"),
        ("ACCEPTED", "ACCEPTED"),
        {"late_status_delay": LATE_STATUS_DELAY},
    ),
    "wrong-conversation-id": Case(status_conversation, False, True),
    "acknowledge-unknown-cancel": Case(
        vector("valid-cancel-co"), accepted("CANCELLATION_ACKNOWLEDGED"), rejected("BR-14")
    ),
    "ignore-verification-requests": Case(verification, "none", "NOT_CONFIRMED"),
    "accept-rvc-below-40": Case(vector("br03-rvc-below-40"), accepted(), rejected("BR-03")),
    "ignore-retroactive-flag": Case(vector("br05-retroactive-not-flagged"), accepted(), rejected("BR-05")),
    "accept-wrong-authority": Case(
        vector("br12-co-signed-by-other-authority"), accepted(), rejected("BR-12")
    ),
    # Business-rule clauses that certified NSWs got wrong (each fault drops one clause of its rule).
    "repeated-item-numbers-taken": Case(vector("br10-item-number-repeat"), accepted(), rejected("BR-10")),
    "pc-without-partial-cumulation": Case(
        vector("br03-pc-without-partial-cumulation"), accepted(), rejected("BR-03")
    ),
    "accept-short-rsa-co-signer": Case(vector("br12-co-rsa-1024-authority"), accepted(), rejected("BR-12")),
}

FAULT_IDS = [fault.name for fault in FAULTS]
# The faults shown here by a direct exchange; every fault (these included) is caught by the suite's
# tests of its test purpose in tests/test_fault_matrix.py.
SCENARIO_FAULTS = [fault for fault in FAULTS if fault.name in CASES]


@pytest.fixture
def clean_inbox(pki):
    """SG's inbox for the fault-free reference, apart from the faulty one's."""
    with HarnessInbox(SENDER, pki=pki, dialect=EFDX) as inbox:
        yield inbox


@pytest.fixture
def servers(start_reference, partner_inbox, clean_inbox):
    """start_reference, but at teardown every server of the test is stopped at once.

    Each werkzeug server takes up to its 0.5 s poll to notice a shutdown; stopped one after the
    other, four of them would cost more than most scenarios. The fixtures' own (later) stops then
    find them stopped already.
    """
    started: list[RunningReference] = []

    def start(**options: Any) -> RunningReference:
        reference = start_reference(**options)
        started.append(reference)
        return reference

    yield start
    stops = [reference.stop for reference in started] + [partner_inbox.stop, clean_inbox.stop]
    threads = [threading.Thread(target=stop) for stop in stops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _case(name: str) -> Case:
    if name not in CASES:
        pytest.fail(f"fault {name} has no scenario in CASES: add one that shows its wrong behaviour")
    return CASES[name]


# ------------------------------------------------------------------------------ tests


def test_every_scenario_is_of_a_known_fault():
    assert set(CASES) <= set(FAULT_IDS)


@pytest.mark.parametrize("fault", SCENARIO_FAULTS, ids=[fault.name for fault in SCENARIO_FAULTS])
def test_fault_switches_on_its_wrong_behaviour(fault, servers, partner_inbox, clean_inbox, pki):
    case = _case(fault.name)
    faulty = servers(fault=fault.name, **case.options)
    observed_with = case.scenario(faulty, partner_inbox, pki)
    clean = servers(peers={SENDER: clean_inbox.url}, **case.options)
    observed_without = case.scenario(clean, clean_inbox, pki)
    assert {"with fault": observed_with, "without fault": observed_without} == {
        "with fault": case.with_fault,
        "without fault": case.without_fault,
    }


# What each fault breaks of the plain valid-issue-co exchange (the rest must still be right).
BREAKS_RECEIPT_SIGNATURE = {"unsigned-receipts"}
BREAKS_RECEIVED_DIGEST = {"wrong-received-digest"}
BREAKS_STATUS = {"never-send-status"}
DELAYS_STATUS = {"late-status"}
BREAKS_CONVERSATION = {"wrong-conversation-id"}
BREAKS_RECEIPT = {"receipts-signed-by-authority", "receipt-wrong-ref"}  # M-19 fails, the rest is right
BREAKS_STATUS_REF = {"status-wrong-ref"}  # the status answers another MessageId
BREAKS_STATUS_TIMESTAMP = {"stale-outbound-timestamps"}  # the status is stale (M-15 at the partner)
# Too strict a schema where valid-issue-co is the valid variant refused (section 3.3: Replaces 0..1
# absent, the listed Transport/Mode SEA, OriginCriterion WO and RVC): the plain CO gets that M-04
# Error, and that is all it breaks.
REFUSES_THE_PLAIN_CO = {
    "co-replaces-required",
    "transport-mode-without-sea",
    "origin-criterion-without-wo",  # Item 1's criterion
    "origin-criterion-without-rvc",  # Item 2's
}
# valid-issue-co is issued on the day of receipt: a receiver refusing that day REJECTS it (BR-06)
REJECTS_PLAIN_CO = {"issued-on-day-of-receipt-refused": ("BR-06",)}
# A receiver refusing RSA-2048 signers refuses valid-issue-co: the rest is shown with ECDSA P-256 signers
PLAIN_VECTOR = {
    "refuse-rsa-2048": "valid-issue-co-ecdsa",
    "refuse-rsa-2048-co-signer": "valid-issue-co-ecdsa",
}


def _check_unsigned_receipt(response: requests.Response, sent: Sent) -> None:
    """What check_receipt checks, but the signature: schema, RefToMessageId, From, To, digests."""
    root = parse_untrusted(response.content)
    assert root.tag == f"{_E}Receipt"
    assert root.find(f"{ds.DS}Signature") is None
    assert EFDX.schemas.problem(root, ENVELOPE_SCHEMA) is None
    fields = {name: root.findtext(f"{_E}{name}").strip() for name in ("RefToMessageId", "From", "To")}
    assert fields == {"RefToMessageId": sent.message_id, "From": CANDIDATE, "To": SENDER}
    assert root.findtext(f"{_E}Duplicate").strip() == "false"
    digests = [d.strip() for d in root.xpath("e:ReceivedDigest/text()", namespaces={"e": ENVELOPE_NS})]
    assert digests == list(sent.digests)


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_everything_else_stays_conforming(fault, servers, partner_inbox, pki):
    """valid-issue-co with the fault on: a good Receipt and a good ACCEPTED status, but for the fault."""
    case_options = CASES[fault.name].options if fault.name in CASES else {}
    options = {key: value for key, value in case_options.items() if key != "tls"}  # plain HTTP
    reference = servers(fault=fault.name, **options)
    sent, response = _send(reference, pki, _vector(PLAIN_VECTOR.get(fault.name, "valid-issue-co")))
    if fault.name in REFUSES_THE_PLAIN_CO:
        assert _answer(response) == refused(400, "EFDX-M04")
        return
    assert response.status_code == 200
    receipt = dict(
        message_id=sent.message_id,
        sender=SENDER,
        receiver=CANDIDATE,
        trust=pki.trust_store(),
        at=_now(),
        dialect=EFDX,
    )
    if fault.name in BREAKS_RECEIPT_SIGNATURE:
        _check_unsigned_receipt(response, sent)
    elif fault.name in BREAKS_RECEIPT:
        with pytest.raises(Violation) as broken:
            signals.check_receipt(response.content, sent_digests=sent.digests, **receipt)
        assert broken.value.requirement == "M-19"
    elif fault.name in BREAKS_RECEIVED_DIGEST:
        # Signed, schema-valid and addressed right (checked against its own digests); only the
        # digests are off, one per Reference as sent.
        returned = signals.Signal(parse_untrusted(response.content), "Receipt", dialect=EFDX).received_digests
        signals.check_receipt(response.content, sent_digests=returned, **receipt)
        assert len(returned) == len(sent.digests) and returned != list(sent.digests)
    else:
        signals.check_receipt(response.content, sent_digests=sent.digests, **receipt)

    if fault.name in BREAKS_STATUS:
        return  # the missing status is the fault; the Receipt above is the rest of the exchange
    timeout = STATUS_TIMEOUT + (LATE_STATUS_DELAY if fault.name in DELAYS_STATUS else 0.0)
    if fault.name in BREAKS_STATUS_REF:
        assert _status(partner_inbox, sent.message_id, STATUS_TIMEOUT) is None
        return
    arrival = _status(partner_inbox, sent.message_id, timeout)
    assert arrival is not None, "no StatusNotification"
    if fault.name in BREAKS_STATUS_TIMESTAMP:
        assert arrival.judgement.violation.requirement == "M-15"
        return
    assert arrival.judgement.accepted, arrival.judgement.violation  # signed, schema-valid (M-22)
    assert arrival.answered == 200
    assert (arrival.header.sender, arrival.header.receiver) == (CANDIDATE, SENDER)
    if fault.name in REJECTS_PLAIN_CO:
        assert _status_and_reasons(arrival) == ("REJECTED", REJECTS_PLAIN_CO[fault.name])
    else:
        assert _status_and_reasons(arrival) == ("ACCEPTED", ())
    if fault.name not in BREAKS_CONVERSATION:
        assert arrival.header.conversation_id == sent.conversation_id


def test_cli_lists_every_fault_on_one_line(capsys):
    assert cli.main(["reference", "faults"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == len(FAULTS)
    parsed = [re.fullmatch(r"(\S+)  +(\S+)  +(\S.*)", line) for line in lines]
    assert all(parsed), lines
    assert [match.groups() for match in parsed] == [
        (fault.name, fault.purpose, fault.description) for fault in FAULTS
    ]


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault_requirement_is_in_the_catalogue(fault):
    assert requirement(fault.requirement).id == fault.requirement
