"""Each request as its receiver must judge it, each synchronous answer as its sender must.

The judge is the family's own (``family/judge.py``'s ``Receiver``, the code the suite and the
reference NSW judge with), run as the receiving party at the time the request reached the gateway,
against what that receiver must have taken before: a ``Ledger`` per receiver, filled only with what
the profile says it takes (the pilot's model of a conforming receiver, never the receiver's own
answers), gives the judge its duplicates (M-16/M-17) and its history (BR-11, BR-14, BR-15).

The answer is judged by the load run's answer judge (``family/load/answers.py``: the suite's
``check_receipt`` and ``check_error``, the catalogue's HTTP status, the suite's rules for which
Errors may omit RefToMessageId or must give a Location). An answer the gateway made itself (an
injected 502/504, a receiver not reached, a first hop refused) is no receiver's and is not judged
here; the conversations judge what the sender did next. A duplicate delivery the gateway made
itself (``Relay.originated``, scripted) is judged as its receiver must take it (M-16: a Receipt with
Duplicate=true), an M-16 finding counted with the duplicates, and no sender's finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.core.safexml import parse_untrusted
from conformance.core.trust import TrustStore
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.dialect import Dialect
from conformance.family.judge import Judgement, Receiver
from conformance.family.load import answers
from conformance.family.suite import steps

from .findings import DISAGREEMENT, DUPLICATE, INVALID, RECEIVER, REFUSED_HOP, SENDER, Finding
from .traffic import Seen


@dataclass
class Ledger:
    """What one receiver must have taken so far: (From, MessageId) -> digest (a ``MessageLog``), and
    the COs it must have accepted, superseded or cancelled (a rules ``History``)."""

    digests: dict[tuple[str, str], str] = field(default_factory=dict)
    states: dict[tuple[str, str], str] = field(default_factory=dict)

    def digest_of(self, sender: str, message_id: str) -> str | None:
        return self.digests.get((sender, message_id))

    def accepted(self, issuing_country: str, reference: str) -> bool:
        return (issuing_country, reference) in self.states

    def superseded_or_cancelled(self, issuing_country: str, reference: str) -> bool:
        return self.states.get((issuing_country, reference)) in ("SUPERSEDED", "CANCELLED")

    def take(self, judgement: Judgement, dialect: Dialect) -> None:
        """Record a message the profile says the receiver takes, and what it does to its COs."""
        header, payload = judgement.header, judgement.payload
        if header is None or payload is None or judgement.duplicate:
            return
        self.digests[(header.sender, header.message_id)] = judgement.body_digest
        status = judgement.status
        if status not in ("ACCEPTED", "CANCELLATION_ACKNOWLEDGED"):
            return
        issuing = (payload.findtext(dialect.p("IssuingCountry")) or "").strip()
        reference = (payload.findtext(dialect.p("ReferenceNumber")) or "").strip()
        if header.action == "CancelCO":
            if self.accepted(issuing, reference):
                self.states[(issuing, reference)] = "CANCELLED"
            return
        self.states[(issuing, reference)] = "ACCEPTED"
        replaced = payload.findtext(dialect.p("Replaces"))
        if header.action == "ReplaceCO" and replaced:
            self.states[(issuing, replaced.strip())] = "SUPERSEDED"


@dataclass(frozen=True)
class Judged:
    """One forwarded request as the pilot judged it, and the answer its receiver gave."""

    seen: Seen
    judgement: Judgement
    answer_violation: Violation | None  # None: the answer is what the profile demands

    @property
    def took(self) -> bool:
        """The receiver answered 200 (it took the message, rightly or not)."""
        return self.seen.relay.status == 200


def judge_traffic(
    seen: Iterable[Seen], *, dialect: Dialect, trust: TrustStore, stimuli: frozenset[str] = frozenset()
) -> tuple[list[Judged], list[Finding]]:
    """Judge every relay in the order its request reached the gateway. ``stimuli``: MessageIds the
    script sent on purpose against a business rule (their rejection is no finding against the sender)."""
    ledgers: dict[str, Ledger] = {}
    judged: list[Judged] = []
    findings: list[Finding] = []
    for item in sorted(seen, key=lambda s: (s.started, s.index)):
        relay = item.relay
        if relay.to_party is None or not relay.request and relay.request_size == 0:
            continue  # no route, nothing sent: the gateway's 404/405, no pair to put it in
        sender = item.sender or "?"
        pair = (sender, relay.to_party)
        kind = item.fields.action or "(unreadable)"
        if relay.t05 is not None:
            findings.append(
                Finding("T-05", sender, SENDER, pair, kind, REFUSED_HOP, relay.t05, (item.evidence(),))
            )
        if not item.forwarded:
            continue
        ledger = ledgers.setdefault(relay.to_party, Ledger())
        receiver = Receiver(relay.to_party, trust, log=ledger, history=ledger, dialect=dialect)
        judgement = receiver.judge(relay.request, relay.content_type or "", at=item.started)
        if relay.originated is None:  # a duplicate delivery is the gateway's, not the sender's
            findings += _sender_findings(item, judgement, pair, kind, stimuli)
        violation = None
        if relay.relayed:  # the receiver's own answer (not the gateway's 502/504)
            violation = judge_answer(item, judgement, dialect=dialect, trust=trust)
            if violation is not None:
                findings.append(
                    Finding(
                        violation.requirement,
                        relay.to_party,
                        RECEIVER,
                        pair,
                        kind,
                        DUPLICATE if _mishandled_duplicate(relay.originated, violation) else DISAGREEMENT,
                        f"{_expected_answer(judgement)}: expected {violation.expected}; "
                        f"observed {violation.observed}",
                        (item.evidence(),),
                        violation.also,
                    )
                )
        if judgement.accepted:
            ledger.take(judgement, dialect)
        judged.append(Judged(item, judgement, violation))
    return judged, findings


def _sender_findings(
    item: Seen, judgement: Judgement, pair: tuple[str, str], kind: str, stimuli: frozenset[str]
) -> list[Finding]:
    """M-22: what a sender sends meets M-03..M-15 (and a CO its business rules, A-06), unless the
    script asked for a CO that breaks one."""
    sender = pair[0]
    violation = judgement.violation
    if violation is not None:
        return [
            Finding(
                "M-22",
                sender,
                SENDER,
                pair,
                kind,
                INVALID,
                f"a {kind} that meets the profile; observed {judgement.codes[0]}: {violation.observed}",
                (item.evidence(),),
                (violation.requirement,),
            )
        ]
    if judgement.reasons and item.fields.message_id not in stimuli and kind in ("IssueCO", "ReplaceCO"):
        return [
            Finding(
                "A-06",
                sender,
                SENDER,
                pair,
                kind,
                INVALID,
                f"a {kind} whose CO meets the business rules; observed {', '.join(judgement.reasons)}",
                (item.evidence(),),
                tuple(judgement.reasons),
            )
        ]
    return []


def _mishandled_duplicate(originated: str | None, violation: Violation) -> bool:
    """The gateway's duplicate delivery answered other than as a duplicate (M-16)."""
    return originated is not None and "M-16" in (violation.requirement, *violation.also)


def _expected_answer(judgement: Judgement) -> str:
    if judgement.violation is None:
        return "the profile takes this message" + (" (a duplicate)" if judgement.duplicate else "")
    return f"the profile refuses this message with {judgement.codes[0]}"


def judge_answer(
    item: Seen, judgement: Judgement, *, dialect: Dialect, trust: TrustStore
) -> Violation | None:
    """The receiver's synchronous answer against what the profile demands for this message (None:
    as demanded). A Receipt refused with an Error names the requirement the receiver applied."""
    relay = item.relay
    header = judgement.header
    expected = answers.Expected(
        message_id=judgement.message_id,
        action=header.action if header else item.fields.action,
        digests=judgement.received_digests,
        code=judgement.codes[0] if judgement.violation is not None else None,
        duplicate=judgement.duplicate,
    )
    answer = answers.Answer(relay.status, relay.answer_content_type or "", relay.answer)
    violation = answers.judge(
        expected,
        answer,
        sender=(header.sender if header else None) or item.sender or "",
        candidate=relay.to_party or "",
        trust=trust,
        at=relay.received_at,
        dialect=dialect,
    )
    if violation is not None and expected.code is None and 400 <= relay.status < 500:
        applied = _error_requirement(relay.answer, dialect)
        if applied is not None and applied != violation.requirement:
            # through the gateway, a T-05 refusal of a message the profile takes refuses the gateway's
            # TLS client (the receiver's only first hop): G-02 too, for an NSW that uses a gateway
            gateway = ("G-02",) if applied == "T-05" else ()
            return Violation(
                applied,
                "HTTP 200 with a Receipt (the profile takes this message)",
                steps.answer_summary(answer),
                also=(violation.requirement, *gateway),
            )
    return violation


def _error_requirement(body: bytes, dialect: Dialect) -> str | None:
    """The requirement the first code of an Error names, if the body is an Error whose code reads."""
    try:
        root = parse_untrusted(body)
        code = (
            root.findtext(f"{dialect.e('Fault')}/{dialect.e('Code')}")
            if root.tag == dialect.e("Error")
            else None
        )
        return signals.code_requirement(code.strip(), dialect) if code else None
    except (Violation, ValueError, KeyError):
        return None
