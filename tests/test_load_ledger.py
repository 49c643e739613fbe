"""The load ledger (conformance.app.load.ledger) matching statuses to the messages they answer."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.app.load.ledger import Awaited, Ledger
from conformance.core.violations import Violation


@dataclass(frozen=True)
class Incoming:
    """What the pack's inbox reads of an arrival (adapter.Incoming)."""

    at: float
    refused: bool
    accepted: bool
    answer: bool
    message_id: str | None
    ref: str | None
    wrong: tuple[str, str] | None = None


def sent(message_id: str, at: float) -> dict:
    """A Locust record: a CO taken with a Receipt, its status due."""
    return {"t": at, "k": "CO", "id": message_id, "cv": f"conv-{message_id}", "st": "ACCEPTED", "l": 0.1}


def no_message_id(incoming: Incoming, awaited: Awaited) -> None:
    if incoming.message_id is None:
        raise Violation("M-01", "a MessageId", "none")


def test_statuses_without_a_message_id_are_each_judged_not_taken_for_retries_of_one_another():
    ledger = Ledger(started=0.0, planned_s=60.0, status_window_s=30.0, check=no_message_id)
    ledger.record(sent("A", 1.0))
    ledger.record(sent("B", 1.0))
    # the candidate answers both, each without a MessageId (the inbox's judge refused them)
    ledger.arrival(Incoming(2.0, refused=True, accepted=False, answer=True, message_id=None, ref="A"))
    ledger.arrival(Incoming(2.5, refused=True, accepted=False, answer=True, message_id=None, ref="B"))
    ledger.sweep(100.0, final=True)
    counts = ledger.figures()["counts"]
    assert counts["statuses"] == 2
    assert ledger.wrong["M-01"] == 2
    assert counts.get("redelivered", 0) == 0
    assert counts.get("lost", 0) == 0


def test_a_status_sent_again_with_its_message_id_is_a_retry():
    ledger = Ledger(started=0.0, planned_s=60.0, status_window_s=30.0, check=no_message_id)
    ledger.record(sent("A", 1.0))
    ledger.arrival(Incoming(2.0, refused=False, accepted=True, answer=True, message_id="S1", ref="A"))
    ledger.arrival(Incoming(3.0, refused=False, accepted=True, answer=True, message_id="S1", ref="A"))
    counts = ledger.figures()["counts"]
    assert counts["statuses"] == 1
    assert counts["redelivered"] == 1
    assert counts.get("duplicate_statuses", 0) == 0
