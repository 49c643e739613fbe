"""Conversations end to end, over the whole record of a pilot (EFDX section 9; sections 5 and 7):

- every IssueCO or ReplaceCO its receiver had to take gets exactly one ACCEPTED or REJECTED
  StatusNotification back (A-01; errata 1: "exactly one" counts those two), in the CO's conversation
  (A-02), within the receiver's declared status window, with the Reasons the business rules give;
  a CancelCO gets CANCELLATION_ACKNOWLEDGED or REJECTED (A-03); a ReplaceCO's A-04 follows from the
  rules the judge applies with the receiver's history (BR-14, BR-15);
- a VerificationRequest is answered within the answering party's verification window (A-05),
  CONFIRMED for a CO the pilot saw that party issue;
- a request answered 5xx (the receiver's, or the gateway's 502/504) is sent again, the same bytes
  under the same MessageId, at least 3 times within the sender's declared retry schedule, or until
  it is taken (M-21, G-03); a relayed 4xx is final (M-21, G-03). A duplicate delivery the gateway
  made itself (scripted) is no sender's try; a second status after it breaks M-16 (and A-01).

A status is counted once however many times it was sent (its retries share its MessageId), and it
is timed by its first try. Where a time falls within ``TOLERANCE_S`` of its bound (the gateway's
clock, not the parties', decides) the pilot does not judge it: the pair is incomplete instead. A
conversation whose window had not ended when the pilot stopped is likewise left open, never lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from conformance.harness.config import Windows

from .findings import DISAGREEMENT, DUPLICATE, LATE, LOST, RECEIVER, RETRY, SENDER, Finding, Note
from .judging import Judged
from .traffic import Seen

TOLERANCE_S = 2.0  # issue 20: a bound within 2 s of the gateway's clock is not judged
CO_STATUSES = {
    "IssueCO": ("ACCEPTED", "REJECTED"),
    "ReplaceCO": ("ACCEPTED", "REJECTED"),
    "CancelCO": ("CANCELLATION_ACKNOWLEDGED", "REJECTED"),
}
STATUS_REQUIREMENT = {"IssueCO": "A-01", "ReplaceCO": "A-01", "CancelCO": "A-03"}
MIN_RETRIES = 3  # M-21: at least 3 times


@dataclass(frozen=True)
class Outcome:
    findings: list[Finding]
    notes: list[Note]


def judge_conversations(
    judged: Sequence[Judged],
    seen: Sequence[Seen],
    windows: Mapping[str, Windows],
    ended: datetime,
) -> Outcome:
    findings: list[Finding] = []
    notes: list[Note] = []
    for item in judged:
        action = item.seen.fields.action
        if not _answerable(item):
            continue
        if action in CO_STATUSES:
            _status(item, seen, windows, ended, findings, notes)
        elif action == "VerificationRequest":
            _verification(item, seen, windows, ended, findings, notes)
    _retries(seen, windows, ended, findings, notes)
    return Outcome(findings, notes)


def _answerable(item: Judged) -> bool:
    """Taken, as the profile demands and as the receiver did (200), and not a duplicate."""
    judgement = item.judgement
    return judgement.accepted and not judgement.duplicate and item.took


def _answers(seen: Sequence[Seen], request: Seen, action: str) -> dict[str, list[Seen]]:
    """The ``action`` messages from the request's receiver to its sender that answer it, by MessageId."""
    found: dict[str, list[Seen]] = defaultdict(list)
    for other in seen:
        fields = other.fields
        if (
            fields.action == action
            and fields.ref_to == request.fields.message_id
            and other.sender == request.receiver
            and other.receiver == request.sender
            and fields.message_id
        ):
            found[fields.message_id].append(other)
    return found


def _timed(
    request: Seen,
    firsts: list[Seen],
    window_s: float,
    ended: datetime,
    what: str,
    requirement: str,
    findings: list[Finding],
    notes: list[Note],
) -> bool:
    """Judge when the answer came (True: it came in time, go on to its content)."""
    pair = (request.sender or "?", request.receiver or "?")
    kind = request.fields.action or "?"
    deadline = request.answered + timedelta(seconds=window_s)
    tolerance = timedelta(seconds=TOLERANCE_S)
    if not firsts:
        if ended < deadline + tolerance:
            notes.append(
                Note(pair, kind, f"{what} for {request.fields.message_id}: still due when the pilot ended")
            )
        else:
            findings.append(
                Finding(
                    requirement,
                    pair[1],
                    RECEIVER,
                    pair,
                    kind,
                    LOST,
                    f"{what} within {window_s:g} s of the Receipt; none came",
                    (request.evidence(),),
                )
            )
        return False
    first = min(firsts, key=lambda s: s.started)
    if first.started > deadline + tolerance:
        late = (first.started - request.answered).total_seconds()
        findings.append(
            Finding(
                requirement,
                pair[1],
                RECEIVER,
                pair,
                kind,
                LATE,
                f"{what} within {window_s:g} s of the Receipt; it came after {late:.1f} s",
                (request.evidence(), first.evidence()),
            )
        )
        return False
    if first.started >= deadline - tolerance:
        notes.append(
            Note(
                pair,
                kind,
                f"{what} for {request.fields.message_id}: within {TOLERANCE_S:g} s of its window's "
                "end, not judged",
            )
        )
        return False
    return True


def _status(
    item: Judged,
    seen: Sequence[Seen],
    windows: Mapping[str, Windows],
    ended: datetime,
    findings: list[Finding],
    notes: list[Note],
) -> None:
    request = item.seen
    action = request.fields.action or ""
    pair = (request.sender or "?", request.receiver or "?")
    requirement = STATUS_REQUIREMENT[action]
    statuses = {
        message_id: tries
        for message_id, tries in _answers(seen, request, "StatusNotification").items()
        if tries[0].fields.status in CO_STATUSES[action]
    }
    window = windows.get(pair[1], Windows()).status_s
    what = "a StatusNotification"
    firsts = _first_answers(request, statuses, window, ended, what, requirement, findings, notes)
    if not firsts:
        return
    if len(firsts) > 1:
        # after the gateway's duplicate delivery of this CO, a second status is M-16's "processed once"
        again = [
            s
            for s in seen
            if s.relay.originated is not None
            and s.sender == request.sender
            and s.fields.message_id == request.fields.message_id
        ]
        broken = "M-16" if again else requirement
        findings.append(
            Finding(
                broken,
                pair[1],
                RECEIVER,
                pair,
                action,
                DUPLICATE,
                f"exactly one {' or '.join(CO_STATUSES[action])} status"
                f"{' (a duplicate delivery is processed once)' if again else ''}; {len(firsts)} came "
                f"({', '.join(s.fields.status or '?' for s in firsts)})",
                (request.evidence(), *(s.evidence() for s in again), *(s.evidence() for s in firsts)),
                ("A-01",) if broken != "A-01" else (),
            )
        )
    first = min(firsts, key=lambda s: s.started)
    judgement = item.judgement
    if first.fields.conversation_id != request.fields.conversation_id:
        findings.append(
            Finding(
                "A-02",
                pair[1],
                RECEIVER,
                pair,
                action,
                DISAGREEMENT,
                f"the status in conversation {request.fields.conversation_id}; "
                f"observed {first.fields.conversation_id}",
                (request.evidence(), first.evidence()),
            )
        )
    expected_status, expected = judgement.status, list(judgement.reasons)
    observed = [code for code in first.fields.reasons if code]
    if first.fields.status == expected_status and sorted(observed) == sorted(expected):
        return
    missing = [rule for rule in expected if rule not in observed]
    extra = [rule for rule in observed if rule not in expected]
    named = missing + extra
    also = tuple(dict.fromkeys([*named[1:], requirement, *(("A-04",) if action == "ReplaceCO" else ())]))
    findings.append(
        Finding(
            named[0] if named else requirement,
            pair[1],
            RECEIVER,
            pair,
            action,
            DISAGREEMENT,
            f"{expected_status}{_reasons(expected)} (the profile's business rules); "
            f"observed {first.fields.status}{_reasons(observed)}",
            (request.evidence(), first.evidence()),
            tuple(rid for rid in also if rid != (named[0] if named else requirement)),
        )
    )


def _first_answers(
    request: Seen,
    answers: Mapping[str, list[Seen]],
    window: float,
    ended: datetime,
    what: str,
    requirement: str,
    findings: list[Finding],
    notes: list[Note],
) -> list[Seen]:
    """The first try of each answer (by its MessageId); none when no answer came in the window
    (_timed has then said so, as a finding or a note)."""
    firsts = [min(tries, key=lambda s: s.started) for tries in answers.values()]
    return firsts if _timed(request, firsts, window, ended, what, requirement, findings, notes) else []


def _reasons(codes: Sequence[str]) -> str:
    return f" with {', '.join(codes)}" if codes else ""


def _verification(
    item: Judged,
    seen: Sequence[Seen],
    windows: Mapping[str, Windows],
    ended: datetime,
    findings: list[Finding],
    notes: list[Note],
) -> None:
    request = item.seen
    pair = (request.sender or "?", request.receiver or "?")
    responses = _answers(seen, request, "VerificationResponse")
    window = windows.get(pair[1], Windows()).verification_s
    what = "a VerificationResponse"
    firsts = _first_answers(request, responses, window, ended, what, "A-05", findings, notes)
    if not firsts:
        return
    first = min(firsts, key=lambda s: s.started)
    issued = any(
        other.sender == pair[1]
        and other.fields.action in ("IssueCO", "ReplaceCO")
        and other.fields.issuing == pair[1]
        and other.fields.reference == request.fields.reference
        and other.relay.status == 200
        for other in seen
    )
    # a CO the pilot did not see issued may have been issued outside it: either outcome is allowed
    if issued and first.fields.outcome != "CONFIRMED":
        findings.append(
            Finding(
                "A-05",
                pair[1],
                RECEIVER,
                pair,
                "VerificationRequest",
                DISAGREEMENT,
                f"CONFIRMED for the CO {request.fields.reference} that {pair[1]} issued in this pilot; "
                f"observed {first.fields.outcome}",
                (request.evidence(), first.evidence()),
            )
        )


def retry_bound_s(windows: Windows) -> float:
    """How long a sender may take over its retries: its schedule, each try its peer timeout."""
    tries = len(windows.retry_schedule_s) + 1
    return sum(windows.retry_schedule_s) + tries * windows.peer_timeout_s + TOLERANCE_S


def _retries(
    seen: Sequence[Seen],
    windows: Mapping[str, Windows],
    ended: datetime,
    findings: list[Finding],
    notes: list[Note],
) -> None:
    groups: dict[tuple[str, str], list[Seen]] = defaultdict(list)
    for item in seen:
        if item.fields.message_id and item.receiver and item.sender and item.relay.originated is None:
            groups[(item.sender, item.fields.message_id)].append(item)
    for (sender, _message_id), tries in groups.items():
        tries.sort(key=lambda s: (s.started, s.index))
        first, last = tries[0], tries[-1]
        pair = (sender, first.receiver or "?")
        kind = first.fields.action or "?"
        evidence = tuple(t.evidence() for t in tries)
        changed = [t for t in tries[1:] if t.relay.request_digest != first.relay.request_digest]
        if changed:
            findings.append(
                Finding(
                    "M-21",
                    sender,
                    SENDER,
                    pair,
                    kind,
                    RETRY,
                    "the same bytes under the same MessageId on every try; "
                    f"{len(changed)} tr{'y' if len(changed) == 1 else 'ies'} changed them",
                    evidence,
                )
            )
        after_4xx = [
            later
            for earlier, later in zip(tries, tries[1:], strict=False)
            if earlier.relay.relayed and 400 <= earlier.relay.status < 500
        ]
        if after_4xx:
            findings.append(
                Finding(
                    "M-21",
                    sender,
                    SENDER,
                    pair,
                    kind,
                    RETRY,
                    f"no retry after a relayed 4xx (final); it was sent {len(after_4xx)} more time(s)",
                    evidence,
                    ("G-03",),
                )
            )
        if last.relay.status < 500:
            continue
        retried = len(tries) - 1
        if retried >= MIN_RETRIES:
            continue
        bound = retry_bound_s(windows.get(sender, Windows()))
        if ended < first.started + timedelta(seconds=bound):
            notes.append(
                Note(pair, kind, f"{first.fields.message_id}: retries still due when the pilot ended")
            )
            continue
        by_gateway = any(t.relay.gateway is not None and t.relay.status >= 500 for t in tries)
        findings.append(
            Finding(
                "M-21",
                sender,
                SENDER,
                pair,
                kind,
                RETRY,
                f"after a {last.relay.status}, the same message again until taken or at least "
                f"{MIN_RETRIES} retries; it gave up after {retried}",
                evidence,
                ("G-03",) if by_gateway else (),
            )
        )


def retries_seen(seen: Sequence[Seen]) -> dict[tuple[str, str, str], int]:
    """(sender, receiver, kind) -> tries beyond the first of each message (what the matrix counts)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    keys: dict[tuple[str, str], tuple[str, str, str]] = {}
    for item in seen:
        if item.fields.message_id and item.sender and item.receiver and item.relay.originated is None:
            key = (item.sender, item.fields.message_id)
            counts[key] += 1
            keys[key] = (item.sender, item.receiver, item.fields.action or "?")
    total: dict[tuple[str, str, str], int] = defaultdict(int)
    for key, count in counts.items():
        total[keys[key]] += count - 1
    return dict(total)
