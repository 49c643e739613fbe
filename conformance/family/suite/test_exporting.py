"""The exporting role, and what the candidate sends: IssueCO, ReplaceCO and CancelCO on request
(A-06), verification answers (A-05), utilisation notices (A-07), Receipts for what it gets back
(A-08), and delivery through a flaky partner gateway (M-21). Everything it sends is judged as a
conforming partner would (M-22).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from conformance.core.verdicts import Inconclusive
from conformance.core.violations import Violation
from conformance.family import dialect as dialects
from conformance.family.inbox import Arrival, Reaction
from conformance.family.nodes import texts
from conformance.family.suite import deliveries, status_group, steps
from conformance.family.suite.deliveries import Delivery
from conformance.family.vectors import Build
from conformance.harness.control import TriggerFailed, ask_to_send
from conformance.harness.session import Harness


def new_reference(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def candidate_co(harness: Harness, reference: str, **changes: Any) -> etree._Element:
    """An unsigned CO issued by the candidate's party to the harness's (the candidate signs it)."""
    messages = dialects.of(harness).messages
    data = messages.sample_certificate(
        issuing_country=harness.config.party,
        importing_country=harness.party,
        issue_date=harness.now().date(),
        reference_number=reference,
    )
    data.update(changes)
    return messages.certificate(data)


def sent_by_candidate(harness: Harness, action: str, conversation: str) -> Callable[[Arrival], bool]:
    def matches(arrival: Arrival) -> bool:
        header = arrival.header
        return header is not None and header.action == action and header.conversation_id == conversation

    return matches


def await_message(harness: Harness, action: str, conversation: str, window: float) -> Arrival:
    inbox = steps.inbox_of(harness)
    with harness.waiting_for(f"{steps.a(action)} from {harness.config.party}", window):
        arrival = inbox.wait_for(sent_by_candidate(harness, action, conversation), window)
    if arrival is None and harness.manual_mode:  # the candidate, or the operator, did not act
        raise Inconclusive(
            f"no {action} in conversation {conversation} within {window:g} s (the operator window): "
            "the operator may not have acted"
        )
    if arrival is None:
        unreadable = inbox.matching(lambda a: a.header is None)
        extra = f"; {len(unreadable)} unreadable message(s) arrived" if unreadable else ""
        expected = f"{action} in conversation {conversation} at {harness.inbox_url} within {window:g} s"
        raise Violation("A-06", expected, f"none arrived{extra}")
    harness.note_arrival(arrival)
    return arrival


def check_conforms(arrival: Arrival, status: str | None = None) -> None:
    """M-22: what the candidate sent meets M-03..M-15; for a CO, its business rules too (A-06)."""
    if arrival.judgement.violation is not None:
        violation = arrival.judgement.violation
        raise Violation(
            "M-22",
            f"a {arrival.header.action if arrival.header else 'message'} that meets the profile",
            f"{arrival.judgement.codes[0]}: {violation.observed}",
            also=("A-06",),
        )
    if status and arrival.judgement.status != status:
        reasons = "; ".join(str(finding) for finding in arrival.judgement.findings)
        raise Violation(
            "A-06",
            f"a CO that the harness can accept ({status})",
            f"{arrival.judgement.status}: {reasons}",
            also=tuple(arrival.judgement.reasons),
        )


def issue_through_candidate(harness: Harness, reference: str) -> Arrival:
    window = ask_to_send(
        harness,
        "IssueCO",
        candidate_co(harness, reference),
        f"issue the e-Form D {reference} to {harness.party}",
    )
    arrival = await_message(harness, "IssueCO", f"{harness.config.party}:{reference}", window)
    check_conforms(arrival, "ACCEPTED")
    return arrival


def cancellation_of(harness: Harness, reference: str) -> etree._Element:
    """An unsigned CancelCO payload of the candidate's CO ``reference`` (the candidate signs it)."""
    return dialects.of(harness).messages.payload(
        "CancelCO",
        {
            "reference_number": reference,
            "issuing_country": harness.config.party,
            "cancel_date": harness.now().date().isoformat(),
            "reason": "Issued in error",
        },
    )


def expect_verified(harness: Harness, reference: str, outcome: str) -> None:
    """A-05: a VerificationRequest about the candidate's CO ``reference`` gets a Receipt, then a
    VerificationResponse with ``outcome`` in time."""
    build = harness.build(f"verify-{reference}", action="VerificationRequest")
    today = harness.now().date().isoformat()
    build.data = {
        "reference_number": reference,
        "issuing_country": harness.config.party,
        "request_date": today,
        "reply_by": today,
        "reason": "Random check of origin",
    }
    sent = steps.send(harness, build.bytes(), label=f"VerificationRequest {reference}")
    steps.expect_receipt(harness, sent)
    steps.expect_verification_response(harness, sent, outcome)


def answer_status(harness: Harness, arrival: Arrival, reference: str, status: str = "ACCEPTED") -> None:
    """Send the candidate the StatusNotification its CO earned; it must give a Receipt (A-08)."""
    build = harness.build(f"status-{reference}", action="StatusNotification")
    build.data = {
        "reference_number": reference,
        "issuing_country": harness.config.party,
        "status": status,
        "status_date": harness.now().date().isoformat(),
        "reasons": [],
        "declaration_reference": None,
    }
    build.ref_to_message_id = arrival.message_id
    sent = steps.send(harness, build.bytes(), label=f"StatusNotification {status} for {reference}")
    steps.expect_receipt(harness, sent)


@pytest.mark.role("exporting")
@pytest.mark.requirements("A-06", "M-22", "BR-12", "A-08")
@pytest.mark.purposes(
    "A-06/conforms", "A-06/authority-signature", "A-08/status-receipt", "M-22/outbound-valid"
)
def test_issue_co_sent_by_the_candidate_conforms(harness: Harness) -> None:
    """The candidate's IssueCO meets the profile, its CO signed by its own issuing authority; it takes
    the status back with a Receipt."""
    reference = new_reference("A06-ISSUE")
    arrival = issue_through_candidate(harness, reference)
    answer_status(harness, arrival, reference)


@pytest.mark.role("exporting")
@pytest.mark.capability("replace")
@pytest.mark.requirements("A-06", "M-22", "BR-16")
@pytest.mark.purposes("A-06/conforms")
def test_replace_co_sent_by_the_candidate_conforms(harness: Harness) -> None:
    """The candidate's ReplaceCO meets the profile and names the CO it replaces."""
    original = new_reference("A06-ORIG")
    issue_through_candidate(harness, original)
    replacement = new_reference("A06-REPL")
    window = ask_to_send(
        harness,
        "ReplaceCO",
        candidate_co(harness, replacement, replaces=original),
        f"replace the e-Form D {original} by {replacement}",
    )
    arrival = await_message(harness, "ReplaceCO", f"{harness.config.party}:{replacement}", window)
    check_conforms(arrival, "ACCEPTED")
    _, payload = steps.taken(arrival)
    named = payload.findtext("{*}Replaces")
    if named != original:
        raise Violation("A-06", f"Replaces {original}", f"Replaces {named}")


@pytest.mark.role("exporting")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-06", "M-22")
@pytest.mark.purposes("A-06/conforms")
def test_cancel_co_sent_by_the_candidate_conforms(harness: Harness) -> None:
    """The candidate's CancelCO meets the profile and is in the CO's conversation."""
    reference = new_reference("A06-CANCEL")
    issue_through_candidate(harness, reference)
    cancellation = cancellation_of(harness, reference)
    window = ask_to_send(harness, "CancelCO", cancellation, f"cancel the e-Form D {reference}")
    arrival = await_message(harness, "CancelCO", f"{harness.config.party}:{reference}", window)
    check_conforms(arrival)


@pytest.mark.role("exporting")
@pytest.mark.capability("verification")
@pytest.mark.requirements("A-05", "M-22")
@pytest.mark.purposes("A-05/confirmed", "A-05/conversation-id")
def test_verification_of_an_issued_co_is_confirmed(harness: Harness) -> None:
    """A VerificationRequest about a CO the candidate issued is answered CONFIRMED in time."""
    reference = new_reference("A05-KNOWN")
    issue_through_candidate(harness, reference)
    expect_verified(harness, reference, "CONFIRMED")


@pytest.mark.role("exporting")
@pytest.mark.capability("verification")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-05", "M-22")
@pytest.mark.purposes("A-05/unknown")
def test_a_co_it_was_asked_to_cancel_but_never_issued_is_not_confirmed(harness: Harness) -> None:
    """Asked to cancel a CO it never issued, the candidate may send the CancelCO or refuse; either
    way the CO is not one it issued, and a VerificationRequest about it is NOT_CONFIRMED (A-05:
    "for an unknown CO"). Confirming it would vouch for a certificate nobody issued."""
    reference = new_reference("A05-NEVER-ISSUED")
    cancellation = cancellation_of(harness, reference)
    window = None
    if harness.manual_mode:  # an operator's NSW knows no such CO to cancel: only a trigger is asked
        harness.note("manual mode: no CancelCO asked for (the candidate never issued the CO)")
    else:
        try:
            window = ask_to_send(harness, "CancelCO", cancellation, f"cancel the e-Form D {reference}")
        except TriggerFailed as refused:  # refusing is allowed: the CO stays unknown
            harness.note(f"{refused}; the test goes on to the VerificationRequest")
    if window is not None:  # it sent it, or will: the request follows it (A-06 judges no CancelCO here)
        inbox = steps.inbox_of(harness)
        conversation = f"{harness.config.party}:{reference}"
        with harness.waiting_for(f"a CancelCO from {harness.config.party}, if it sends one", window):
            cancelled = inbox.wait_for(sent_by_candidate(harness, "CancelCO", conversation), window)
        if cancelled is not None:
            harness.note_arrival(cancelled)
    expect_verified(harness, reference, "NOT_CONFIRMED")


def _co_to_be_utilised(harness: Harness, status: str) -> tuple[Build, steps.Sent]:
    build = harness.build(f"utilisation-{status}")
    sent = steps.send(harness, build.bytes(), label="IssueCO to be utilised")
    steps.expect_receipt(harness, sent)
    return build, sent


def start_utilisation(
    harness: Harness, status: str, reasons: list[str]
) -> tuple[Build, status_group.Waiting]:
    """The IssueCO to be utilised, its ACCEPTED awaited with the status group's."""
    build, sent = _co_to_be_utilised(harness, status)
    return build, status_group.waiting(harness, sent, "ACCEPTED")


@pytest.mark.role("importing")
@pytest.mark.capability("utilisation")
@pytest.mark.requirements("A-07", "M-22")
@pytest.mark.purposes("A-07/utilisation", "A-07/ref-to-message-id")
@pytest.mark.parametrize(("status", "reasons"), [("UTILISED", []), ("PREFERENCE_DENIED", ["BR-03"])])
@status_group.starts_with_the_group(start_utilisation)
def test_utilisation_notice_sent_by_the_candidate(
    harness: Harness, status: str, reasons: list[str], early: tuple[Build, status_group.Waiting]
) -> None:
    """After accepting a CO, the candidate sends UTILISED or PREFERENCE_DENIED (with reasons) on request."""
    build, member = early
    alone = lambda: utilisation_notice(harness, status, reasons)  # noqa: E731
    arrival = status_group.status_or_alone(harness, member, alone, f"utilisation-{status}")
    if arrival is None:
        return
    steps.judge_status(harness, arrival, member.sent, "ACCEPTED")
    status_group.settle(harness, member)
    ask_for_the_notice(harness, build, member.sent, status, reasons)


def utilisation_notice(harness: Harness, status: str, reasons: list[str]) -> None:
    """The utilisation test in series: the IssueCO, its ACCEPTED, then the notice asked for."""
    build, sent = _co_to_be_utilised(harness, status)
    steps.expect_status(harness, sent, "ACCEPTED")
    ask_for_the_notice(harness, build, sent, status, reasons)


def ask_for_the_notice(
    harness: Harness, build: Build, sent: steps.Sent, status: str, reasons: list[str]
) -> None:
    """Ask the candidate to record ``status`` for the accepted CO and judge the notice it sends."""
    reference = build.payload_data()["reference_number"]
    reasons = dialects.of(harness).own_rules(reasons)
    notice = dialects.of(harness).messages.payload(
        "StatusNotification",
        {
            "reference_number": reference,
            "issuing_country": harness.party,
            "status": status,
            "status_date": harness.now().date().isoformat(),
            "declaration_reference": "DECL-2026-000042",
            "reasons": [
                {"code": code, "text": "Origin criterion not met on verification"} for code in reasons
            ],
        },
    )
    window = ask_to_send(
        harness, "StatusNotification", notice, f"record {status} for the e-Form D {reference}"
    )
    with harness.waiting_for(f"a StatusNotification {status} from {harness.config.party}", window):
        arrival = steps.inbox_of(harness).wait_for(
            lambda a: (
                a.header is not None
                and a.header.action == "StatusNotification"
                and a.header.conversation_id == sent.conversation_id
                and a.judgement.payload is not None
                and a.judgement.payload.findtext("{*}Status") == status
            ),
            window,
        )
    if arrival is None and harness.manual_mode:  # the candidate, or the operator, did not act
        raise Inconclusive(
            f"no StatusNotification {status} in conversation {sent.conversation_id} within {window:g} s: "
            "the operator may not have acted"
        )
    if arrival is None:
        raise Violation(
            "A-07", f"a StatusNotification {status} in conversation {sent.conversation_id}", "none arrived"
        )
    harness.note_arrival(arrival)
    check_conforms(arrival)
    header, payload = steps.taken(arrival)
    if header.ref_to_message_id != sent.message_id:  # it answers the IssueCO (section 7)
        raise Violation(
            "A-07",
            f"RefToMessageId {sent.message_id} (the IssueCO's)",
            f"RefToMessageId {header.ref_to_message_id}",
        )
    observed = [
        code.strip() for code in texts(payload, "*[local-name()='Reason']/*[local-name()='Code']/text()")
    ]
    if sorted(observed) != sorted(reasons):
        raise Violation("A-07", f"Reasons {reasons}", f"Reasons {observed}")


# --- M-21: delivery through a flaky gateway -----------------------------------------------------------


def retry_budget(harness: Harness, reactions: list[Reaction]) -> float:
    """How long after its first try a conversation's retries may come: the declared schedule with
    slack, and the candidate's own timeout for each scripted answer (a reset may be noticed late)."""
    windows = harness.config.windows
    return sum(windows.retry_schedule_s) * 1.5 + len(reactions) * windows.peer_timeout_s + 2.0


def start_delivery(harness: Harness, reactions: list[Reaction], prefix: str, tries: int) -> Delivery:
    """Have the candidate send an IssueCO while the gateway answers its first tries with ``reactions``."""
    reference = new_reference(prefix)
    conversation = f"{harness.config.party}:{reference}"
    return deliveries.start(
        harness,
        conversation,
        sent_by_candidate(harness, "IssueCO", conversation),
        candidate_co(harness, reference),
        reactions,
        tries,
        retry_budget(harness, reactions),
    )


def first_try(harness: Harness, delivery: Delivery) -> Arrival | None:
    """The conversation's first try; None when none came (inconclusive without a trigger: the
    operator may not have acted)."""
    what = f"the first try of IssueCO {delivery.conversation} from {harness.config.party}"
    with harness.waiting_for(what, delivery.window) as left:
        first = deliveries.first_try(delivery, left)
    if first is None and harness.manual_mode:
        raise Inconclusive(
            f"no IssueCO in conversation {delivery.conversation} within the operator window: "
            "the operator may not have acted"
        )
    return first


def delivered(harness: Harness, delivery: Delivery) -> list[Arrival]:
    """The conversation's first tries (as many as are due), once they came or their window (the
    schedule, from the first) is over; none when it never came (M-21: no try at all)."""
    first = first_try(harness, delivery)
    if first is None:
        return []
    what = f"the retries of IssueCO {delivery.conversation} (its declared schedule)"
    with harness.waiting_for(what, delivery.retry_budget) as left:
        arrivals = deliveries.tries_after(delivery, first, delivery.tries, delivery.retry_budget, left)
    for arrival in arrivals:
        harness.note_arrival(arrival)
    return arrivals[: delivery.tries]  # judged as when they came, whenever the test looks


def check_same_bytes(arrivals: list[Arrival], tries: int, what: str) -> None:
    if len(arrivals) < tries:
        raise Violation(
            "M-21",
            f"the message sent again after {what}: at least {tries} tries",
            f"{len(arrivals)} tr{'y' if len(arrivals) == 1 else 'ies'}",
        )
    first = arrivals[0].body
    different = [index for index, arrival in enumerate(arrivals) if arrival.body != first]
    if different:
        raise Violation(
            "M-21",
            "the same bytes (same MessageId) on every retry",
            f"try {different[0] + 1} differs from the first",
        )


def check_within_schedule(harness: Harness, arrivals: list[Arrival], timeouts: int = 0) -> None:
    """The retries came within the retry window the candidate declared (with slack for the timeouts)."""
    windows = harness.config.windows
    allowed = sum(windows.retry_schedule_s) * 1.5 + timeouts * windows.peer_timeout_s + 2.0
    spent = (arrivals[-1].received_at - arrivals[0].received_at).total_seconds()
    if spent > allowed:
        raise Violation(
            "M-21",
            f"the retries within the declared schedule ({list(windows.retry_schedule_s)} s)",
            f"{len(arrivals)} tries over {spent:.1f} s",
        )


TRANSIENT = [Reaction(status=503), Reaction(status=500), Reaction(drop=True)]


def start_transient(harness: Harness, failure: Reaction) -> Delivery:
    return start_delivery(harness, [failure] * 3, "M21-5XX", tries=4)


@pytest.mark.role("exporting")
@pytest.mark.requirements("M-21")
@pytest.mark.purposes("M-21/retry-transient", "M-21/same-bytes")
@pytest.mark.parametrize("failure", TRANSIENT, ids=["503", "500", "reset"])
@pytest.mark.starts_early(start=start_transient)
def test_transient_failures_are_retried_with_the_same_bytes(
    harness: Harness, failure: Reaction, early: Delivery
) -> None:
    """After three 5xx answers (or resets) in a row, the same bytes come a fourth time, in the schedule."""
    arrivals = delivered(harness, early)
    check_same_bytes(arrivals, 4, "three transient failures")
    check_within_schedule(harness, arrivals)


def start_timeout(harness: Harness) -> Delivery:
    delay = harness.config.windows.peer_timeout_s + 0.5
    return start_delivery(harness, [Reaction(delay=delay)], "M21-TIMEOUT", tries=2)


@pytest.mark.role("exporting")
@pytest.mark.requirements("M-21")
@pytest.mark.purposes("M-21/timeout")
@pytest.mark.starts_early(start=start_timeout)
def test_a_timeout_is_retried_with_the_same_bytes(harness: Harness, early: Delivery) -> None:
    """A gateway that answers only after the candidate's own timeout gets the same bytes again."""
    arrivals = delivered(harness, early)
    check_same_bytes(arrivals, 2, "a timeout")
    check_within_schedule(harness, arrivals, timeouts=1)


def start_refused(harness: Harness, status: int, refusing: str) -> Delivery:
    """A conforming candidate tries once: the gateway refuses it for good (an Error with the code of
    the requirement ``refusing``, in the profile's own words)."""
    code = dialects.of(harness).error_code(refusing)
    return start_delivery(harness, [Reaction(status=status, error_code=code)], "M21-4XX", tries=1)


@pytest.mark.role("exporting")
@pytest.mark.requirements("M-21")
@pytest.mark.purposes("M-21/no-retry-after-4xx")
# Every 4xx of section 5's table: a refusal of any of them ends the delivery (and ends nothing else: five
# refusals in one run, more than the reference's four outbox workers, so a sender whose refusal
# handling loses a worker each time stops delivering).
@pytest.mark.parametrize(
    ("status", "refusing"), [(400, "M-03"), (403, "M-06"), (409, "M-17"), (413, "T-04"), (415, "T-03")]
)
@pytest.mark.starts_early(start=start_refused)
def test_a_4xx_is_not_retried(harness: Harness, status: int, refusing: str, early: Delivery) -> None:
    """After a 4xx answer with a signed Error the message is not sent again (watched for the whole
    retry schedule)."""
    expect_no_retry(harness, early, f"HTTP {status}", "M-21")


def expect_no_retry(
    harness: Harness, early: Delivery, refusal: str, requirement: str, also: tuple[str, ...] = ()
) -> None:
    """After ``refusal`` (a 4xx with a signed Error, the receiver's or relayed) the message is not sent
    again: watched for the whole declared schedule, and half as long again, plus the grace."""
    first = first_try(harness, early)
    if first is None:
        expected = f"an IssueCO in conversation {early.conversation} within {early.window:g} s"
        raise Violation("A-06", expected, "none arrived")
    watch = sum(harness.config.windows.retry_schedule_s) * 1.5 + harness.config.windows.grace_s
    what = f"any retry of IssueCO {early.conversation}, which must not come after {refusal}"
    with harness.waiting_for(what, watch) as left:
        arrivals = deliveries.tries_after(early, first, 2, watch, left)
    for arrival in arrivals:
        harness.note_arrival(arrival)
    if len(arrivals) > 1:
        raise Violation(requirement, f"no retry after {refusal}", f"{len(arrivals)} tries", also=also)
