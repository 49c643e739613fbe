"""Shared steps of the conformance suite: send a message, judge the answer, wait for the status.

Each judging step is a plain function that raises a Violation carrying the requirement, what the
spec demands and what was observed, so that a failed test says both. Waits are event-driven and
bounded by the windows the candidate declared in its ICS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, cast

from lxml import etree

from conformance.core import safexml
from conformance.core import xmldsig as ds
from conformance.core.client import CandidateClient, Exchange
from conformance.core.testpki import PkiFolder as TestPki  # a pack's TEST ONLY PKI
from conformance.core.violations import Violation
from conformance.family import dialect as dialects
from conformance.family import signals
from conformance.family.dialect import Dialect
from conformance.family.inbox import Arrival, HarnessInbox
from conformance.family.judge import Header
from conformance.family.nodes import text_of, texts
from conformance.harness.session import Harness

# Errors for bodies a receiver need not read (T-03, T-04) or cannot parse (M-01, M-02): they MAY
# omit RefToMessageId; where present it must be right (section 7).
UNREAD_REQUIREMENTS = ("T-03", "T-04", "M-01", "M-02")
# Rows of section 5 that demand a Location in the Error.
LOCATION_GIVEN = frozenset({"M-03", "M-04"})


@dataclass(frozen=True)
class Sent:
    """A message the harness sent and what it needs to judge the answers to it."""

    body: bytes
    exchange: Exchange
    message_id: str | None
    conversation_id: str | None
    action: str | None
    digests: tuple[str, ...]


class Facts(NamedTuple):
    """What the harness reads back from a message it built, to judge the answers to it."""

    message_id: str | None
    conversation_id: str | None
    action: str | None
    digests: tuple[str, ...]  # the signature's DigestValues (a Receipt must echo them)


NO_FACTS = Facts(None, None, None, ())


class Answered(Protocol):
    """What the steps read of an answer: a client.Exchange, or a load run's answers.Answer."""

    @property
    def status(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def response_body(self) -> bytes: ...
    @property
    def error(self) -> str | None: ...


def inbox_of(harness: Harness) -> HarnessInbox:
    """The harness inbox as the family's profiles make it (family/profile.py: make_inbox)."""
    return cast(HarnessInbox, harness.inbox)


def pki_of(harness: Harness) -> TestPki:
    """The harness's TEST ONLY PKI as the family's profiles load it (Dialect.load_pki)."""
    return cast(TestPki, harness.pki)


def taken(arrival: Arrival) -> tuple[Header, etree._Element]:
    """The Header and payload of an arrival the judge took (no violation: it read both)."""
    header, payload = arrival.header, arrival.judgement.payload
    assert header is not None and payload is not None, "an arrival the judge took"
    return header, payload


def own_message_facts(body: bytes, dialect: Dialect) -> Facts:
    """The Facts of our own (trusted) message, read without judging it (none when it is not XML or
    has no Header of ``dialect``'s envelope: an invalid vector, say)."""
    try:
        root = etree.fromstring(
            body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        )
    except etree.XMLSyntaxError:
        return NO_FACTS
    e = dialect.e
    header = root.find(e("Header"))
    if header is None:
        return NO_FACTS
    digests = tuple(
        text_of(value).strip()
        for value in root.iterfind(f"{ds.DS}Signature/{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestValue")
    )
    return Facts(
        header.findtext(e("MessageId")) or None,  # an empty one (a vector's) is none to refer to
        header.findtext(e("ConversationId")),
        header.findtext(e("Action")),
        digests,
    )


def send(
    harness: Harness,
    body: bytes,
    *,
    content_type: str = "application/xml",
    label: str = "",
    client: CandidateClient | None = None,
) -> Sent:
    """POST ``body`` to the candidate (through ``client``: another party's TLS client, say)."""
    client = client or harness.client
    exchange = client.post(harness.config.inbox_url, body, content_type=content_type, label=label)
    facts = own_message_facts(body, dialects.of(harness))
    harness.sent_message_ids.add(facts.message_id)
    return Sent(body, exchange, *facts)


def answer_summary(exchange: Answered) -> str:
    """What the candidate answered, in words where a line is needed (terminal, results.json, junit,
    the report's summary): ``HTTP 200, a Receipt for <MessageId>``, ``HTTP 400, an Error EFDX-M03 at
    /Envelope/Header/To``, ``no answer within 30 s (T-01)``. The bytes stay whole in the exchange
    (the report's pretty-printed view, evidence.zip); a line no longer cuts the XML mid-tag."""
    if exchange.error:
        return exchange.error
    return f"HTTP {exchange.status}, {describe_body(exchange.response_body)}"


MAX_SHOWN = 200  # characters of a body that is not XML, quoted (its words may be all it says)
MAX_DESCRIPTION_SHOWN = 120  # characters of an Error's Description


def describe_body(body: bytes) -> str:
    """A body as a line says it: a Receipt (for which MessageId), an Error (its codes, where), another
    document by its root element, or how a body that is none is not XML. Read under the size cap."""
    if not body.strip():
        return "an empty body"
    try:
        root = safexml.parse_untrusted(body)
    except Violation as refused:  # not well-formed (M-01), a DOCTYPE (M-02), too large, not UTF-8
        shown = body[:MAX_SHOWN].decode("utf-8", errors="replace").replace("\n", " ")
        more = "…" if len(body) > MAX_SHOWN else ""
        said = f"{refused.observed}; {len(body)} bytes: '{shown}{more}'"
        return f"a body that is not XML the profile takes ({said})"
    kind = etree.QName(root).localname
    children = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in root
        if isinstance(child.tag, str)
    }
    if kind == "Receipt":
        ref = children.get("RefToMessageId")
        return f"a Receipt for {ref}" if ref else "a Receipt without RefToMessageId"
    if kind == "Error":
        faults = [
            child for child in root if isinstance(child.tag, str) and etree.QName(child).localname == "Fault"
        ] or [root]  # or an Error with its Code and Description right under it
        codes = [code for fault in faults if (code := _child_text(fault, "Code"))]
        where = next((loc for fault in faults if (loc := _child_text(fault, "Location"))), "")
        description = next((text for fault in faults if (text := _child_text(fault, "Description"))), "")
        said = f"an Error {', '.join(codes) or 'without a Code'}" + (f" at {where}" if where else "")
        if description:
            more = "…" if len(description) > MAX_DESCRIPTION_SHOWN else ""
            said += f" ('{description[:MAX_DESCRIPTION_SHOWN]}{more}')"
        return said
    return f"a {kind} document, neither Receipt nor Error"


def _child_text(element: etree._Element, name: str) -> str:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return ""


def require_answer(exchange: Exchange) -> None:
    """T-01: an answer came, in time and within the size cap."""
    if exchange.error:
        raise Violation("T-01", "an answer to a POST within the configured time", exchange.error)


def require_xml(exchange: Answered, requirement_id: str) -> None:
    """Signals travel as application/xml (section 3; text/xml tolerated as on the way in)."""
    media_type = exchange.content_type.split(";")[0].strip().lower()
    if media_type not in ("application/xml", "text/xml"):
        raise Violation(
            requirement_id,
            "an answer with Content-Type application/xml",
            f"Content-Type {exchange.content_type or 'none'!r}",
        )


# Which requirement demands the Receipt for a message, by its Action (M-19 for the rest).
RECEIPT_DUE = {"Ping": "M-23", "StatusNotification": "A-08", "VerificationResponse": "A-08"}


def expect_receipt(
    harness: Harness, sent: Sent, *, duplicate: bool = False, sender: str | None = None
) -> signals.Signal:
    """M-19: HTTP 200 with a Receipt that is schema-valid, signed, and refers to what was sent
    (by ``sender``: the party the harness plays, unless it played another)."""
    exchange = sent.exchange
    require_answer(exchange)
    if exchange.status != 200:
        # A message that breaks no rule was refused. When the Error names a requirement this test
        # judges (a too narrow M-15 window, text/xml refused under T-03), that one was applied
        # wrongly; otherwise the requirement that demands the Receipt is what failed.
        refused_by = refusal_requirement(exchange, dialects.of(harness))
        named = harness.current.requirements if harness.current else ()
        blamed = refused_by if refused_by in named else RECEIPT_DUE.get(sent.action or "", "M-19")
        raise Violation(blamed, "HTTP 200 with a Receipt", answer_summary(exchange))
    require_xml(exchange, "M-19")
    receipt = signals.check_receipt(
        exchange.response_body,
        message_id=sent.message_id,
        sender=sender or harness.party,
        receiver=harness.config.party,
        sent_digests=sent.digests,
        trust=harness.trust,
        at=harness.now(),
        dialect=dialects.of(harness),
    )
    if receipt.duplicate != duplicate:
        raise Violation(
            "M-16", f"Duplicate {str(duplicate).lower()}", f"Duplicate {str(receipt.duplicate).lower()}"
        )
    return receipt


def refusal_requirement(exchange: Exchange, dialect: Dialect) -> str | None:
    """The requirement named by the first Fault/Code of an Error answer, if it is one of the profile's."""
    try:
        root = safexml.parse_untrusted(exchange.response_body, max_bytes=1024 * 1024)
    except Violation:
        return None
    code = (root.findtext(f"{dialect.e('Fault')}/{dialect.e('Code')}") or "").strip()
    if not code.startswith(dialect.codes.ERROR_PREFIX):  # "EFDX-": not a rule ID
        return None
    try:
        return dialect.catalogue.requirement(signals.code_requirement(code, dialect)).id
    except (KeyError, IndexError):
        return None


def expect_error(
    harness: Harness, sent: Sent, code: str, offending: tuple[str, ...] = ()
) -> signals.Signal | None:
    """The HTTP status and the signed Error with ``code`` that the spec's tables demand (M-20).

    For M-03 and M-04 the Location is judged against what was sent (errata 2), against
    ``offending`` (the nodes the message broke, as location paths) where the test knows them."""
    exchange = sent.exchange
    require_answer(exchange)
    dialect = dialects.of(harness)
    code = dialect.own_code(code)
    failed = signals.code_requirement(code, dialect)
    status = dialect.catalogue.requirement(failed).http_status
    if exchange.status != status:
        raise Violation(failed, f"HTTP {status} with an Error {code}", answer_summary(exchange))
    require_xml(exchange, "M-20")
    return signals.check_error(
        exchange.response_body,
        message_id=sent.message_id,
        sender=harness.party,
        receiver=harness.config.party,
        expected_code=code,
        trust=harness.trust,
        at=harness.now(),
        ref_optional=failed in UNREAD_REQUIREMENTS,
        location_required=failed if failed in LOCATION_GIVEN else None,
        refused=sent.body,
        offending=offending,
        dialect=dialect,
        without_message_id=has_no_message_id(sent.body, dialect),
    )


def has_no_message_id(body: bytes, dialect: Dialect) -> bool:
    """Our own message has a Header without MessageId, or with an empty one (section 3.1: exactly one,
    1..255 characters; an Error about it has no MessageId to refer to)."""
    try:
        root = etree.fromstring(
            body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        )
    except etree.XMLSyntaxError:
        return False
    header = root.find(dialect.e("Header"))
    message_id = header.find(dialect.e("MessageId")) if header is not None else None
    return header is not None and (message_id is None or not message_id.text)  # absent or empty


def _about(harness: Harness, sent: Sent, action: str) -> Callable[[Arrival], bool]:
    """An answer to ``sent``: it names it as RefToMessageId, or (a wrong RefToMessageId, which
    check_status then reports as A-02) it came afterwards in its conversation and names none of the
    other messages the harness sent."""

    def matches(arrival: Arrival) -> bool:
        header = arrival.header
        if header is None or header.action != action:
            return False
        if header.ref_to_message_id == sent.message_id:
            return True
        return (
            header.conversation_id == sent.conversation_id
            and arrival.received_at >= sent.exchange.started
            and header.ref_to_message_id not in harness.sent_message_ids
        )

    return matches


def answer_to(harness: Harness, sent: Sent, action: str) -> Callable[[Arrival], bool]:
    """What matches the candidate's ``action`` answering ``sent`` (see _about)."""
    return _about(harness, sent, action)


def wait_for_answer(
    harness: Harness, sent: Sent, action: str, window: float, requirement_id: str, also: tuple[str, ...] = ()
) -> Arrival:
    """The candidate's asynchronous answer (a StatusNotification, a VerificationResponse) to ``sent``.

    None in the window fails ``requirement_id`` (and ``also``); but one that came in the conversation
    naming another of the harness's messages as RefToMessageId (the IssueCO instead of the CancelCO
    it answers) fails A-02 first: the answer came, about the wrong message."""
    inbox = inbox_of(harness)
    with harness.waiting_for(f"{a(action)} from {harness.config.party}", window):
        arrival = inbox.wait_for(_about(harness, sent, action), window)
    if arrival is None:
        misdirected = inbox.matching(_misdirected(harness, sent, action))
        if misdirected:
            header = misdirected[0].header
            assert header is not None  # _misdirected matched it by its Header
            ref = header.ref_to_message_id
            raise Violation(
                "A-02",
                f"RefToMessageId {sent.message_id} on the {action} answering it",
                f"a {action} in its conversation with RefToMessageId {ref} (another message)",
                also=tuple(r for r in (requirement_id, *also) if r != "A-02"),
            )
        unreadable = inbox.matching(lambda a: a.header is None and a.received_at >= sent.exchange.started)
        extra = f"; {len(unreadable)} unreadable message(s) arrived meanwhile" if unreadable else ""
        raise NoAnswer(
            requirement_id,
            f"a {action} for {sent.message_id} within {window:g} s",
            f"none arrived{extra}",
            also=also,
        )
    harness.note_arrival(arrival)
    return arrival


class NoAnswer(Violation):
    """No answer of the kind awaited came in its window (not a wrong one): what a lone run of a test
    whose status wait overlapped others tells apart (status_group)."""


def a(noun: str) -> str:
    """``an IssueCO``, ``a StatusNotification``: what a wait line names."""
    return f"{'an' if noun[:1] in 'AEIOU' else 'a'} {noun}"


def _misdirected(harness: Harness, sent: Sent, action: str) -> Callable[[Arrival], bool]:
    """An answer in ``sent``'s conversation, after it, that names another message the harness sent
    and that no test has taken as its own answer."""
    taken = {id(arrival) for record in harness.records for arrival in record.arrivals}

    def matches(arrival: Arrival) -> bool:
        header = arrival.header
        return (
            header is not None
            and header.action == action
            and header.conversation_id == sent.conversation_id
            and arrival.received_at >= sent.exchange.started
            and header.ref_to_message_id != sent.message_id
            and header.ref_to_message_id in harness.sent_message_ids
            and id(arrival) not in taken
        )

    return matches


# What a status about each action answers to: A-01 for every IssueCO or ReplaceCO taken, and the
# lifecycle requirement of a replacement or a cancellation (A-03, whose status A-01 does not
# count: section 7).
STATUS_DUE = {"IssueCO": ("A-01",), "ReplaceCO": ("A-04", "A-01"), "CancelCO": ("A-03",)}


def status_blame(sent: Sent, judges: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The requirements a missing or wrong status about ``sent`` breaks, the test's ``judges`` first."""
    return tuple(dict.fromkeys((*judges, *STATUS_DUE.get(sent.action or "", ("A-01",)))))


def check_status(
    arrival: Arrival, sent: Sent, status: str, reasons: Sequence[str], judges: tuple[str, ...] = ()
) -> None:
    """A-02, M-22 and A-01: the status is valid, signed, refers to the CO message, says the right thing.

    A wrong verdict is blamed on the business rule whose Reason is missing (or wrongly present), and
    on ``judges`` (e.g. A-03 for a cancellation) and what a status about that action answers to
    (``status_blame``: A-01 for an IssueCO or ReplaceCO, never for a cancellation).
    """
    if arrival.judgement.violation is not None:
        raise Violation(
            "M-22",
            "a StatusNotification that meets M-03..M-15",
            f"{arrival.judgement.codes[0]}: {arrival.judgement.violation}",
        )
    header, payload = taken(arrival)
    if header.ref_to_message_id != sent.message_id:
        raise Violation(
            "A-02", f"RefToMessageId {sent.message_id}", f"RefToMessageId {header.ref_to_message_id}"
        )
    if header.conversation_id != sent.conversation_id:
        raise Violation(
            "A-02", f"ConversationId {sent.conversation_id}", f"ConversationId {header.conversation_id}"
        )
    dialect = arrival.judgement.dialect
    reasons = dialect.own_rules(reasons)
    observed_status = payload.findtext(dialect.p("Status"))
    observed_reasons = [code.strip() for code in texts(payload, "f:Reason/f:Code/text()", dialect.namespaces)]
    if observed_status == status and sorted(set(observed_reasons)) == sorted(reasons):
        return
    # a Reason the profile has no rule for is no requirement of it: the status itself is wrong
    known = {requirement.id for requirement in dialect.catalogue.requirements()}
    wrong_rules = sorted(rule for rule in set(reasons) ^ set(observed_reasons) if rule in known)
    blamed = (*wrong_rules, *status_blame(sent, judges))
    expected = f"Status {status}" + (f" with Reasons {', '.join(reasons)}" if reasons else "")
    shown = f"Status {observed_status}" + (
        f" with Reasons {', '.join(observed_reasons)}" if observed_reasons else ""
    )
    raise Violation(blamed[0], expected, shown, also=blamed[1:])


def expect_status(
    harness: Harness, sent: Sent, status: str, reasons: Sequence[str] = (), judges: tuple[str, ...] = ()
) -> Arrival:
    due = status_blame(sent, judges)
    window = harness.config.windows.status_s
    arrival = wait_for_answer(harness, sent, "StatusNotification", window, due[0], due[1:])
    judge_status(harness, arrival, sent, status, reasons, judges)
    return arrival


def judge_status(
    harness: Harness,
    arrival: Arrival,
    sent: Sent,
    status: str,
    reasons: Sequence[str] = (),
    judges: tuple[str, ...] = (),
) -> None:
    """The status that came for ``sent``: what check_status judges, and A-01's "exactly one" queued
    for after the run's grace period."""
    check_status(arrival, sent, status, list(reasons), judges)
    record = harness.current
    if record is not None and "A-01" in record.requirements and status in A01_STATUSES:
        # "exactly one": judged for all tests at once, after one grace period
        harness.single_answers.append((record, _decision_about(harness, sent)))


# A-01's "exactly one" counts these; UTILISED, PREFERENCE_DENIED and CANCELLATION_ACKNOWLEDGED are
# further notices about the same CO (section 7).
A01_STATUSES = frozenset({"ACCEPTED", "REJECTED"})


def _decision_about(harness: Harness, sent: Sent) -> Callable[[Arrival], bool]:
    about = _about(harness, sent, "StatusNotification")

    def matches(arrival: Arrival) -> bool:
        payload = arrival.judgement.payload
        status = payload.findtext(arrival.judgement.dialect.p("Status")) if payload is not None else None
        return about(arrival) and status in A01_STATUSES

    return matches


def second_answers(harness: Harness) -> None:
    """A-01 for every test that names it and got its status: after one grace period for the whole
    run, a second, different ACCEPTED or REJECTED status for the same message makes that test fail.
    A judgement made after a test blames only what that test names and sent."""
    if not harness.single_answers:
        return
    inbox = inbox_of(harness)
    grace = harness.config.windows.grace_s
    with harness.waiting_for("the grace period, in which no second status may come", grace):
        inbox.settle(grace)
    for record, matches in harness.single_answers:
        distinct = distinct_message_ids(inbox.matching(matches))
        if len(distinct) > 1 and record.verdict in ("pass", "inconclusive"):
            record.verdict, record.failed_requirements = "fail", ("A-01",)
            record.expected, record.observed = (
                "exactly one StatusNotification",
                f"{len(distinct)}: {distinct}",
            )
            record.reason = f"A-01: expected {record.expected}; observed {record.observed}"


def expect_no_second(harness: Harness, sent: Sent, action: str = "StatusNotification") -> None:
    """M-16 / A-01: one status only; a repeat of the same MessageId (a retry) is not a second one."""
    inbox = inbox_of(harness)
    grace = harness.config.windows.grace_s
    with harness.waiting_for(f"the grace period, in which no second {action} may come", grace):
        inbox.settle(grace)
    distinct = distinct_message_ids(inbox.matching(_about(harness, sent, action)))
    if len(distinct) > 1:
        raise Violation(
            "M-16",
            f"exactly one {action} for {sent.message_id}",
            f"{len(distinct)} different ones: {', '.join(distinct)}",
            also=("A-01",),
        )


def distinct_message_ids(arrivals: Iterable[Arrival]) -> list[str]:
    """The different MessageIds of ``arrivals``, sorted; a blank one (which the schema may let
    through) is shown as ``(blank)``, not compared with text."""
    return sorted({arrival.message_id or "(blank)" for arrival in arrivals})


def expect_verification_response(harness: Harness, sent: Sent, outcome: str) -> Arrival:
    """A-05: the candidate answers a VerificationRequest with a valid VerificationResponse in time."""
    arrival = wait_for_answer(
        harness, sent, "VerificationResponse", harness.config.windows.verification_s, "A-05"
    )
    if arrival.judgement.violation is not None:
        raise Violation(
            "M-22", "a VerificationResponse that meets M-03..M-15", str(arrival.judgement.violation)
        )
    header, payload = taken(arrival)
    if header.ref_to_message_id != sent.message_id:
        raise Violation(
            "A-05", f"RefToMessageId {sent.message_id}", f"RefToMessageId {header.ref_to_message_id}"
        )
    if header.conversation_id != sent.conversation_id:  # the CO's conversation (section 1)
        raise Violation(
            "A-05",
            f"ConversationId {sent.conversation_id}",
            f"ConversationId {header.conversation_id}",
        )
    observed = payload.findtext(arrival.judgement.dialect.p("Outcome"))
    if observed != outcome:
        raise Violation("A-05", f"Outcome {outcome}", f"Outcome {observed}")
    return arrival
