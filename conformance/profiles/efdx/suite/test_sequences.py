"""Sequences of messages: duplicates (M-16, M-17), the CO lifecycle (A-03, A-04) and the stateful
business rules (BR-11, BR-14, BR-15), judged on the synchronous answers and the statuses.
"""

from __future__ import annotations

import pytest

from conformance.core.violations import Violation
from conformance.harness.session import Harness
from conformance.profiles.efdx import steps
from conformance.profiles.efdx.vectors import Build, default_payload_data

pytestmark = pytest.mark.role("importing")


JUDGES = {"CancelCO": ("A-03",), "ReplaceCO": ("A-04",)}


def send_co(harness: Harness, build: Build, label: str, status: str, reasons: list[str] = ()) -> steps.Sent:
    sent = steps.send(harness, build.bytes(), label=label)
    steps.expect_receipt(harness, sent)
    steps.expect_status(harness, sent, status, list(reasons), JUDGES.get(build.action, ()))
    return sent


def issue(harness: Harness, name: str) -> tuple[Build, steps.Sent]:
    build = harness.build(name)
    return build, send_co(harness, build, f"IssueCO {name}", "ACCEPTED")


def cancel(harness: Harness, name: str, reference: str) -> Build:
    build = harness.build(name, action="CancelCO")
    build.data = default_payload_data("CancelCO", build.co(reference_number=reference))
    return build


def replace(harness: Harness, name: str, replaced: str) -> Build:
    build = harness.build(name, action="ReplaceCO")
    build.data = build.co(replaces=replaced)
    return build


def reference_of(build: Build) -> str:
    return build.payload_data()["reference_number"]


@pytest.mark.requirements("M-16", "M-19", "A-01")
@pytest.mark.purposes("M-16/processed-once", "M-16/duplicate-flag")
def test_same_bytes_twice_is_processed_once(harness: Harness) -> None:
    """A duplicate (same MessageId, same bytes) gets a Receipt with Duplicate=true and no second status."""
    build, first = issue(harness, "duplicate")
    again = steps.send(harness, first.body, label="the same bytes again")
    steps.expect_receipt(harness, again, duplicate=True)
    steps.expect_no_second(harness, first)


@pytest.mark.requirements("M-16", "M-19")
@pytest.mark.purposes("M-16/keyed-by-sender")
def test_same_message_id_from_another_party_is_a_new_message(harness: Harness) -> None:
    """Duplicates are keyed by (From, MessageId): another partner's message under a MessageId the first
    partner used is new, taken with a Receipt (Duplicate=false), not refused or called a duplicate."""
    build, first = issue(harness, "keyed-by-sender")
    other_party = build.third_party()
    other = harness.build("keyed-by-sender-other", sender=other_party, message_id=first.message_id)
    other.data = other.co()
    client = harness.client_as(other_party)
    sent = steps.send(harness, other.bytes(), label=f"{other_party}: the same MessageId", client=client)
    steps.require_answer(sent.exchange)
    if sent.exchange.status != 200:
        raise Violation(
            "M-16",
            f"HTTP 200 with a Receipt: ({other_party}, {first.message_id}) is a new message",
            steps.answer_summary(sent.exchange),
        )
    steps.expect_receipt(harness, sent, sender=other_party)


@pytest.mark.requirements("M-17", "M-20")
@pytest.mark.purposes("M-17/conflict")
def test_same_message_id_other_content_is_refused(harness: Harness) -> None:
    """Same MessageId, different content: 409 with EFDX-M17, and not processed (no second status)."""
    build, first = issue(harness, "conflict")
    twin = harness.build("conflict", moment=build.moment, day=build.day)  # same seed: same MessageId
    twin.data = build.co(
        items=[item | {"description": "Changed after sending"} for item in build.co()["items"]]
    )
    sent = steps.send(harness, twin.bytes(), label="same MessageId, other content")
    steps.expect_error(harness, sent, "EFDX-M17")
    steps.expect_no_second(harness, first)


@pytest.mark.requirements("BR-11", "A-01")
@pytest.mark.purposes("BR-11/reference-reused")
def test_reference_number_used_twice_is_rejected(harness: Harness) -> None:
    """A second IssueCO with an accepted ReferenceNumber (new MessageId) is REJECTED with BR-11."""
    first, _ = issue(harness, "reused-reference")
    second = harness.build("reused-reference-again")
    second.data = second.co(reference_number=reference_of(first))
    send_co(harness, second, "IssueCO again", "REJECTED", ["BR-11"])


@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-03", "BR-14")
@pytest.mark.purposes("A-03/unknown-rejected", "BR-14/cancel-unknown")
def test_cancel_of_unknown_co_is_rejected(harness: Harness) -> None:
    """CancelCO of a CO never received: REJECTED with BR-14."""
    send_co(
        harness, cancel(harness, "cancel-unknown", "CO-NEVER-SEEN-0001"), "CancelCO", "REJECTED", ["BR-14"]
    )


@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-03")
@pytest.mark.purposes("A-03/acknowledged")
def test_cancel_of_accepted_co_is_acknowledged(harness: Harness) -> None:
    """CancelCO of an accepted CO: CANCELLATION_ACKNOWLEDGED."""
    co, _ = issue(harness, "cancel-known")
    send_co(
        harness,
        cancel(harness, "cancel-known-cancel", reference_of(co)),
        "CancelCO",
        "CANCELLATION_ACKNOWLEDGED",
    )


@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-15", "A-03")
@pytest.mark.purposes("BR-15/cancel-twice")
def test_cancel_twice_is_rejected(harness: Harness) -> None:
    """A cancelled CO cannot be cancelled again: REJECTED with BR-15."""
    co, _ = issue(harness, "cancel-twice")
    send_co(
        harness, cancel(harness, "cancel-twice-1", reference_of(co)), "CancelCO", "CANCELLATION_ACKNOWLEDGED"
    )
    send_co(
        harness, cancel(harness, "cancel-twice-2", reference_of(co)), "CancelCO again", "REJECTED", ["BR-15"]
    )


@pytest.mark.capability("replace")
@pytest.mark.requirements("A-04", "BR-15")
@pytest.mark.purposes("A-04/supersedes", "BR-15/superseded")
def test_replaced_co_is_superseded(harness: Harness) -> None:
    """ReplaceCO of an accepted CO is ACCEPTED; the replaced CO can then neither be replaced nor cancelled."""
    original, _ = issue(harness, "replace-original")
    send_co(harness, replace(harness, "replace-1", reference_of(original)), "ReplaceCO", "ACCEPTED")
    send_co(
        harness,
        replace(harness, "replace-2", reference_of(original)),
        "ReplaceCO of the superseded CO",
        "REJECTED",
        ["BR-15"],
    )


@pytest.mark.capability("replace")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-04", "BR-15")
@pytest.mark.purposes("BR-15/superseded")
def test_superseded_co_cannot_be_cancelled(harness: Harness) -> None:
    """CancelCO of a superseded CO: REJECTED with BR-15."""
    original, _ = issue(harness, "supersede-original")
    send_co(harness, replace(harness, "supersede-replace", reference_of(original)), "ReplaceCO", "ACCEPTED")
    send_co(
        harness,
        cancel(harness, "supersede-cancel", reference_of(original)),
        "CancelCO of the superseded CO",
        "REJECTED",
        ["BR-15"],
    )


@pytest.mark.capability("replace")
@pytest.mark.requirements("A-04", "BR-14")
@pytest.mark.purposes("BR-14/replace-unknown")
def test_replace_of_unknown_co_is_rejected(harness: Harness) -> None:
    """ReplaceCO naming a CO never received: REJECTED with BR-14."""
    send_co(
        harness, replace(harness, "replace-unknown", "CO-NEVER-SEEN-0002"), "ReplaceCO", "REJECTED", ["BR-14"]
    )
