"""What reaches the harness inbox under load, as the engine's ledger reads it, and the suite's
checks of an asynchronous answer matched to the message it answers (M-22, A-02, A-01/A-03/A-04, A-05).

The ledger (conformance/app/load/ledger.py) counts, times and matches by MessageId; which actions
are answers, which answer is due and whether it says the right thing is the profile's, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.core.violations import Violation
from conformance.family.inbox import Arrival
from conformance.family.suite import steps

ANSWER_ACTIONS = ("StatusNotification", "VerificationResponse")
ANSWERS = {"NOT_CONFIRMED": "VerificationResponse"}  # the asynchronous answer due, by expected status


@dataclass(frozen=True)
class Incoming:
    """One message the candidate sent to the harness inbox, once answered."""

    arrival: Arrival
    at: float  # epoch seconds
    refused: bool  # the inbox did not answer 200 (a gateway fault played, or a refusal)
    accepted: bool  # the inbox's judge took it
    answer: bool  # a StatusNotification or VerificationResponse: an answer to match
    message_id: str | None
    ref: str | None  # its RefToMessageId
    wrong: tuple[str, str] | None  # (requirement, detail) when it is neither an answer nor taken


def read(arrival: Arrival) -> Incoming:
    header = arrival.header
    answer = header is not None and header.action in ANSWER_ACTIONS
    accepted = arrival.judgement.accepted
    return Incoming(
        arrival=arrival,
        at=arrival.received_at.timestamp(),
        refused=arrival.answered != 200,
        accepted=accepted,
        answer=answer,
        message_id=arrival.message_id,
        ref=header.ref_to_message_id if header is not None else None,
        wrong=None if answer or accepted else ("M-22", str(arrival.judgement.violation)),
    )


@dataclass(frozen=True)
class _Sent:
    """What steps.check_status reads of a sent message."""

    message_id: str
    conversation_id: str
    action: str | None  # what status_blame reads: the CO message the status answers


ACTIONS = {"issue": "IssueCO", "replace": "ReplaceCO", "cancel": "CancelCO"}  # the mix's kinds


def check(incoming: Incoming, awaited: Any) -> None:
    """The suite's checks of the answer to ``awaited`` (message_id, conversation_id, kind, status)."""
    arrival, header = incoming.arrival, incoming.arrival.header
    assert header is not None  # an answer (the ledger checks no other): read() found its Header
    due = ANSWERS.get(awaited.status, "StatusNotification")
    if header.action != due:
        raise Violation("A-01", f"a {due}", f"a {header.action}")
    sent = _Sent(awaited.message_id, awaited.conversation_id, ACTIONS.get(awaited.kind))
    if due == "StatusNotification":
        judges = {"cancel": ("A-03",), "replace": ("A-04",)}.get(awaited.kind, ())
        # _Sent has what check_status reads of a steps.Sent (a load run keeps no exchange per message)
        steps.check_status(arrival, sent, awaited.status, [], judges)  # type: ignore[arg-type]
        return
    if arrival.judgement.violation is not None:
        raise Violation(
            "M-22", "a VerificationResponse that meets M-03..M-15", str(arrival.judgement.violation)
        )
    _, payload = steps.taken(arrival)
    outcome = payload.findtext(arrival.judgement.dialect.p("Outcome"))
    if outcome != awaited.status:
        raise Violation("A-05", f"Outcome {awaited.status}", f"Outcome {outcome}")
