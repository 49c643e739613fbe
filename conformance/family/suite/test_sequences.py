"""Sequences of messages: duplicates (M-16, M-17), the CO lifecycle (A-03, A-04) and the stateful
business rules (BR-11, BR-14, BR-15), judged on the synchronous answers and the statuses.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import cast

import pytest

from conformance.core.verdicts import Inconclusive
from conformance.core.violations import Violation
from conformance.family.suite import status_group, steps
from conformance.family.vectors import Build, default_payload_data
from conformance.harness.session import Harness

pytestmark = pytest.mark.role("importing")


JUDGES = {"CancelCO": ("A-03",), "ReplaceCO": ("A-04",)}


def send_co(
    harness: Harness, build: Build, label: str, status: str, reasons: Sequence[str] = ()
) -> steps.Sent:
    sent = steps.send(harness, build.bytes(), label=label)
    steps.expect_receipt(harness, sent)
    steps.expect_status(harness, sent, status, list(reasons), JUDGES.get(build.action, ()))
    return sent


# A test's first message: built (sending first what must come before it without a status wait, such
# as another party's IssueCO) and labelled.
Make = Callable[[Harness], tuple[Build, str]]


def first_co(
    harness: Harness, name: str, make: Make, status: str, reasons: Sequence[str] = ()
) -> tuple[Build, steps.Sent]:
    """The test's first CO message and its ``status``: sent now, or taken from the test's
    ``early_co`` start (its status wait overlapped the other tests', status_group; where that cannot
    tell, sent again alone: ``make`` again, a fresh message). The test's next steps follow once the
    group's statuses came (status_group.settle)."""
    kept = status_group.take(harness, name)
    if kept is None:
        return _send_now(harness, make, status, reasons)
    build, member, error = cast(tuple[Build, status_group.Waiting, Exception | None], kept)
    if error is not None:
        raise error
    again: list[tuple[Build, steps.Sent]] = []
    run = lambda: again.append(_send_now(harness, make, status, reasons))  # noqa: E731
    arrival = status_group.status_or_alone(harness, member, run, name)
    if arrival is None:
        return again[0]
    steps.judge_status(harness, arrival, member.sent, status, list(reasons), JUDGES.get(build.action, ()))
    status_group.settle(harness, member)
    return build, member.sent


def _send_now(harness: Harness, make: Make, status: str, reasons: Sequence[str]) -> tuple[Build, steps.Sent]:
    build, label = make(harness)
    return build, send_co(harness, build, label, status, reasons)


def early_co(name: str, make: Make, status: str) -> pytest.MarkDecorator:
    """Send the test's first CO message (``first_co(harness, name, make, status)``) with the other
    tests' early starts, so that its status wait overlaps theirs (status_group)."""
    return status_group.starts_with_the_group(
        functools.partial(_start_co, name=name, make=make, status=status)
    )


def _start_co(harness: Harness, name: str, make: Make, status: str) -> None:
    build, member, error = None, None, None
    try:
        build, label = make(harness)
        sent = steps.send(harness, build.bytes(), label=label)
        steps.expect_receipt(harness, sent)
        member = status_group.waiting(harness, sent, status)
    except Exception as exc:  # noqa: BLE001  # raised by first_co(), in the test, as in series
        error = exc
    status_group.keep(harness, name, (build, member, error))


def _new_issue(harness: Harness, name: str) -> tuple[Build, str]:
    return harness.build(name), f"IssueCO {name}"


def issue(harness: Harness, name: str) -> tuple[Build, steps.Sent]:
    """An IssueCO the candidate must accept (``early_issue``'s when the test has one)."""
    return first_co(harness, name, functools.partial(_new_issue, name=name), "ACCEPTED")


def early_issue(name: str) -> pytest.MarkDecorator:
    """The test's first IssueCO (``issue(harness, name)``) sent early: see early_co."""
    return early_co(name, functools.partial(_new_issue, name=name), "ACCEPTED")


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
@early_issue("duplicate")
def test_same_bytes_twice_is_processed_once(harness: Harness) -> None:
    """A duplicate (same MessageId, same bytes) gets a Receipt with Duplicate=true and no second status."""
    build, first = issue(harness, "duplicate")
    again = steps.send(harness, first.body, label="the same bytes again")
    steps.expect_receipt(harness, again, duplicate=True)
    steps.expect_no_second(harness, first)


@pytest.mark.requirements("M-16", "M-19")
@pytest.mark.purposes("M-16/keyed-by-sender")
@early_issue("keyed-by-sender")
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


def _changed_twin(harness: Harness, build: Build, name: str) -> Build:
    """``build`` again under its MessageId (the same seed), with other content."""
    twin = harness.build(name, moment=build.moment, day=build.day)
    twin.data = build.co(
        items=[item | {"description": "Changed after sending"} for item in build.co()["items"]]
    )
    return twin


@pytest.mark.requirements("M-17", "M-20")
@pytest.mark.purposes("M-17/conflict")
@early_issue("conflict")
def test_same_message_id_other_content_is_refused(harness: Harness) -> None:
    """Same MessageId, different content: 409 with EFDX-M17, and not processed (no second status);
    whichever content came first. A receiver compares what it stored with what came; so the two
    conversations send their pairs in opposite orders of the bodies' SHA-256 (a comparison by order
    instead of equality would take one of them), each first taken and its twin refused."""
    build, first = issue(harness, "conflict")
    twin = _changed_twin(harness, build, "conflict").bytes()
    sent = steps.send(harness, twin, label="same MessageId, other content")
    steps.expect_error(harness, sent, "EFDX-M17")
    steps.expect_no_second(harness, first)
    other = harness.build("conflict-reversed")
    pair = [other.bytes(), _changed_twin(harness, other, "conflict-reversed").bytes()]
    if _rising(pair[0], pair[1]) == _rising(first.body, twin):
        pair.reverse()
    second = steps.send(harness, pair[0], label="IssueCO conflict-reversed")
    steps.expect_receipt(harness, second)
    steps.expect_status(harness, second, "ACCEPTED", [], ())
    refused = steps.send(harness, pair[1], label="same MessageId, other content, in the other order")
    steps.expect_error(harness, refused, "EFDX-M17")
    steps.expect_no_second(harness, second)


def _rising(stored: bytes, new: bytes) -> bool:
    return hashlib.sha256(stored).digest() < hashlib.sha256(new).digest()


@pytest.mark.requirements("BR-11", "A-01")
@pytest.mark.purposes("BR-11/reference-reused")
@early_issue("reused-reference")
def test_reference_number_used_twice_is_rejected(harness: Harness) -> None:
    """A second IssueCO with an accepted ReferenceNumber (new MessageId) is REJECTED with BR-11."""
    first, _ = issue(harness, "reused-reference")
    second = harness.build("reused-reference-again")
    second.data = second.co(reference_number=reference_of(first))
    send_co(harness, second, "IssueCO again", "REJECTED", ["BR-11"])


def _cancel_unknown(harness: Harness) -> tuple[Build, str]:
    return cancel(harness, "cancel-unknown", "CO-NEVER-SEEN-0001"), "CancelCO"


@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-03", "BR-14")
@pytest.mark.purposes("A-03/unknown-rejected", "BR-14/cancel-unknown")
@early_co("cancel-unknown", _cancel_unknown, "REJECTED")
def test_cancel_of_unknown_co_is_rejected(harness: Harness) -> None:
    """CancelCO of a CO never received: REJECTED with BR-14."""
    first_co(harness, "cancel-unknown", _cancel_unknown, "REJECTED", ["BR-14"])


@pytest.mark.capability("cancel")
@pytest.mark.requirements("A-03")
@pytest.mark.purposes("A-03/acknowledged")
@early_issue("cancel-known")
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
@early_issue("cancel-twice")
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
@early_issue("replace-original")
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
@early_issue("supersede-original")
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


def _replace_unknown(harness: Harness) -> tuple[Build, str]:
    return replace(harness, "replace-unknown", "CO-NEVER-SEEN-0002"), "ReplaceCO"


@pytest.mark.capability("replace")
@pytest.mark.requirements("A-04", "BR-14")
@pytest.mark.purposes("BR-14/replace-unknown")
@early_co("replace-unknown", _replace_unknown, "REJECTED")
def test_replace_of_unknown_co_is_rejected(harness: Harness) -> None:
    """ReplaceCO naming a CO never received: REJECTED with BR-14."""
    first_co(harness, "replace-unknown", _replace_unknown, "REJECTED", ["BR-14"])


# --- the stateful rules clause by clause: each kind of message and each state of the named CO ------


def issued_by_another_party(
    harness: Harness, name: str, reference: str | None = None, party: str | None = None
) -> tuple[str, str]:
    """An IssueCO from a party that is neither the harness's nor the candidate's (``party``, or the
    build's third party), taken with a Receipt (its status goes to that party's own inbox, which this
    run does not watch). Returns the party and the CO's ReferenceNumber."""
    other_party = party or harness.build(name).third_party()
    build = harness.build(name, sender=other_party)
    build.data = build.co(**({"reference_number": reference} if reference else {}))
    sent = steps.send(
        harness, build.bytes(), label=f"{other_party}: IssueCO", client=harness.client_as(other_party)
    )
    steps.expect_receipt(harness, sent, sender=other_party)
    return other_party, reference_of(build)


@pytest.mark.capability("replace")
@pytest.mark.requirements("BR-11", "A-04")
@pytest.mark.purposes("BR-11/replace-reuses-reference")
@early_issue("br11-replace-original")
def test_replace_under_the_replaced_reference_number_is_rejected(harness: Harness) -> None:
    """A ReplaceCO carrying the ReferenceNumber of the CO it replaces (accepted before): REJECTED with
    BR-11 alone (the named CO is accepted and current, so BR-14 and BR-15 hold)."""
    original, _ = issue(harness, "br11-replace-original")
    build = replace(harness, "br11-replace-same-number", reference_of(original))
    build.data = build.co(replaces=reference_of(original), reference_number=reference_of(original))
    send_co(harness, build, "ReplaceCO under the replaced CO's ReferenceNumber", "REJECTED", ["BR-11"])


@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-11", "A-01")
@pytest.mark.purposes("BR-11/after-cancel")
@early_issue("br11-cancelled")
def test_reference_number_of_a_cancelled_co_is_not_free(harness: Harness) -> None:
    """An IssueCO under the ReferenceNumber of a CO accepted and then cancelled: REJECTED with BR-11
    (that CO was accepted before; cancelling it does not free its number)."""
    co, _ = issue(harness, "br11-cancelled")
    send_co(
        harness,
        cancel(harness, "br11-cancelled-cancel", reference_of(co)),
        "CancelCO",
        "CANCELLATION_ACKNOWLEDGED",
    )
    again = harness.build("br11-cancelled-again")
    again.data = again.co(reference_number=reference_of(co))
    send_co(harness, again, "IssueCO under the cancelled CO's ReferenceNumber", "REJECTED", ["BR-11"])


def _under_another_partys_number(harness: Harness) -> tuple[Build, str]:
    _, reference = issued_by_another_party(harness, "br11-other-country")
    build = harness.build("br11-own-country")
    build.data = build.co(reference_number=reference)
    return build, "IssueCO under the other party's ReferenceNumber"


@pytest.mark.requirements("BR-11", "A-01")
@pytest.mark.purposes("BR-11/per-issuing-country")
@early_co("br11-own-country", _under_another_partys_number, "ACCEPTED")
def test_a_reference_number_is_unique_per_issuing_country_only(harness: Harness) -> None:
    """A ReferenceNumber that another party's accepted CO uses is free for this one: ACCEPTED."""
    first_co(harness, "br11-own-country", _under_another_partys_number, "ACCEPTED")


def _cancel_theirs(harness: Harness) -> tuple[Build, str]:
    other_party, reference = issued_by_another_party(harness, "br14-other-country")
    build = cancel(harness, "br14-cancel-theirs", reference)
    build.data = build.data | {"issuing_country": other_party}
    return build, f"CancelCO of {other_party}'s CO"


@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-14", "A-03")
@pytest.mark.purposes("BR-14/cancel-other-issuing-country")
@early_co("br14-cancel-theirs", _cancel_theirs, "REJECTED")
def test_cancel_of_another_countrys_co_is_rejected(harness: Harness) -> None:
    """A CancelCO naming a CO accepted from another IssuingCountry than its sender: REJECTED with BR-14
    ("accepted earlier from the same IssuingCountry")."""
    first_co(harness, "br14-cancel-theirs", _cancel_theirs, "REJECTED", ["BR-14"])


def party_sorting_before_sender(harness: Harness, name: str) -> str:
    """A party that is neither the harness's nor the candidate's and whose code sorts before the
    harness's (the one nearest it): the other side of the sender's code from the build's third party."""
    build = harness.build(name)
    before = sorted(
        party
        for party in build.dialect.codes.PARTIES
        if party < build.sender and party not in (build.sender, build.receiver)
    )
    if not before:
        raise Inconclusive(
            f"no party of the list but the candidate's sorts before {build.sender}, the party the "
            "harness plays: this test needs another IssuingCountry on that side of it"
        )
    return before[-1]


def _cancel_earlier_countrys(harness: Harness) -> tuple[Build, str]:
    party = party_sorting_before_sender(harness, "br14-earlier-country")
    other_party, reference = issued_by_another_party(harness, "br14-earlier-country", party=party)
    build = cancel(harness, "br14-cancel-earlier-country", reference)
    build.data = build.data | {"issuing_country": other_party}
    return build, f"CancelCO of {other_party}'s CO"


@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-14", "A-03")
@pytest.mark.purposes("BR-14/cancel-country-sorting-before-sender")
@early_co("br14-cancel-earlier-country", _cancel_earlier_countrys, "REJECTED")
def test_cancel_of_a_co_of_a_country_sorting_before_the_sender_is_rejected(harness: Harness) -> None:
    """A CancelCO naming a CO accepted from another IssuingCountry whose code sorts before its
    sender's: REJECTED with BR-14, as on the other side (BR-14's "the same IssuingCountry" is
    equality, not an order of the codes)."""
    first_co(harness, "br14-cancel-earlier-country", _cancel_earlier_countrys, "REJECTED", ["BR-14"])


def _replace_theirs(harness: Harness) -> tuple[Build, str]:
    other_party, reference = issued_by_another_party(harness, "br14-other-country-replaced")
    return replace(harness, "br14-replace-theirs", reference), f"ReplaceCO of {other_party}'s CO"


@pytest.mark.capability("replace")
@pytest.mark.requirements("BR-14", "A-04")
@pytest.mark.purposes("BR-14/replace-other-issuing-country")
@early_co("br14-replace-theirs", _replace_theirs, "REJECTED")
def test_replace_of_another_countrys_co_is_rejected(harness: Harness) -> None:
    """A ReplaceCO whose Replaces names a ReferenceNumber that only another party's accepted CO has:
    REJECTED with BR-14 (Replaces is looked up under the replacing CO's IssuingCountry)."""
    first_co(harness, "br14-replace-theirs", _replace_theirs, "REJECTED", ["BR-14"])


@pytest.mark.capability("replace")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-15", "A-04")
@pytest.mark.purposes("BR-15/replace-cancelled")
@early_issue("br15-replace-cancelled")
def test_replace_of_a_cancelled_co_is_rejected(harness: Harness) -> None:
    """A ReplaceCO naming a cancelled CO: REJECTED with BR-15 (and not BR-14: it was accepted)."""
    co, _ = issue(harness, "br15-replace-cancelled")
    send_co(
        harness, cancel(harness, "br15-rc-cancel", reference_of(co)), "CancelCO", "CANCELLATION_ACKNOWLEDGED"
    )
    later = replace(harness, "br15-rc-replace", reference_of(co))
    send_co(harness, later, "ReplaceCO of the cancelled CO", "REJECTED", ["BR-15"])


@pytest.mark.capability("replace")
@pytest.mark.requirements("BR-11", "A-04")
@pytest.mark.purposes("BR-11/after-supersede")
@early_issue("br11-superseded")
def test_reference_number_of_a_superseded_co_is_not_free(harness: Harness) -> None:
    """An IssueCO under the ReferenceNumber of a CO accepted and then replaced: REJECTED with BR-11
    (that CO was accepted before; superseding it does not free its number)."""
    original, _ = issue(harness, "br11-superseded")
    send_co(
        harness, replace(harness, "br11-superseded-replace", reference_of(original)), "ReplaceCO", "ACCEPTED"
    )
    again = harness.build("br11-superseded-again")
    again.data = again.co(reference_number=reference_of(original))
    send_co(harness, again, "IssueCO under the superseded CO's ReferenceNumber", "REJECTED", ["BR-11"])


@pytest.mark.capability("replace")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-15", "A-04", "A-03")
@pytest.mark.purposes("BR-15/replacement-current")
@early_issue("br15-chain-original")
def test_a_replacement_is_current(harness: Harness) -> None:
    """A CO brought in by a ReplaceCO is current: it can be replaced in turn (ACCEPTED), and that
    replacement cancelled (CANCELLATION_ACKNOWLEDGED); only the COs replaced are superseded."""
    original, _ = issue(harness, "br15-chain-original")
    second = replace(harness, "br15-chain-second", reference_of(original))
    send_co(harness, second, "ReplaceCO of the original", "ACCEPTED")
    third = replace(harness, "br15-chain-third", reference_of(second))
    send_co(harness, third, "ReplaceCO of the replacement", "ACCEPTED")
    send_co(
        harness,
        cancel(harness, "br15-chain-cancel", reference_of(third)),
        "CancelCO of the latest replacement",
        "CANCELLATION_ACKNOWLEDGED",
    )


def rejected_co(harness: Harness, name: str) -> Build:
    """An IssueCO that the candidate takes with a Receipt and REJECTS (HS chapter 77: BR-13 alone)."""
    return first_co(harness, name, functools.partial(_chapter_77, name=name), "REJECTED", ["BR-13"])[0]


def _chapter_77(harness: Harness, name: str) -> tuple[Build, str]:
    build = harness.build(name)
    data = build.co()
    data["items"][0]["hs_code"] = "770100"
    build.data = data
    return build, f"IssueCO {name} (HS chapter 77)"


def early_rejected_co(name: str) -> pytest.MarkDecorator:
    """The test's rejected_co(harness, name) sent early: see early_co."""
    return early_co(name, lambda harness: _chapter_77(harness, name), "REJECTED")


@pytest.mark.capability("replace")
@pytest.mark.capability("cancel")
@pytest.mark.requirements("BR-14", "BR-13", "A-03", "A-04")
@pytest.mark.purposes("BR-14/named-co-rejected")
@early_rejected_co("br14-rejected")
def test_a_rejected_co_cannot_be_cancelled_or_replaced(harness: Harness) -> None:
    """A CO received but REJECTED was never accepted: a CancelCO of it and a ReplaceCO of it are
    REJECTED with BR-14."""
    co = rejected_co(harness, "br14-rejected")
    send_co(
        harness, cancel(harness, "br14-rejected-cancel", reference_of(co)), "CancelCO", "REJECTED", ["BR-14"]
    )
    send_co(
        harness,
        replace(harness, "br14-rejected-replace", reference_of(co)),
        "ReplaceCO",
        "REJECTED",
        ["BR-14"],
    )


@pytest.mark.requirements("BR-11", "BR-13", "A-01")
@pytest.mark.purposes("BR-11/rejected-reference-free")
@early_rejected_co("br11-rejected")
def test_the_number_of_a_rejected_co_is_free(harness: Harness) -> None:
    """A CO received but REJECTED was never accepted: an IssueCO under its ReferenceNumber is ACCEPTED."""
    co = rejected_co(harness, "br11-rejected")
    again = harness.build("br11-rejected-again")
    again.data = again.co(reference_number=reference_of(co))
    send_co(harness, again, "IssueCO under the rejected CO's ReferenceNumber", "ACCEPTED")


@pytest.mark.capability("replace")
@pytest.mark.requirements("BR-11", "A-04")
@pytest.mark.purposes("BR-11/replace-reuses-other-reference")
@early_issue("br11-replace-other-replaced")
def test_replace_under_another_accepted_reference_number_is_rejected(harness: Harness) -> None:
    """A ReplaceCO carrying the ReferenceNumber of another CO accepted before (not the one it replaces,
    which stays current): REJECTED with BR-11 alone (BR-11 holds for ReplaceCO: "IssueCO and
    ReplaceCO")."""
    replaced, _ = issue(harness, "br11-replace-other-replaced")
    taken, _ = issue(harness, "br11-replace-other-taken")
    build = replace(harness, "br11-replace-other", reference_of(replaced))
    build.data = build.co(replaces=reference_of(replaced), reference_number=reference_of(taken))
    send_co(harness, build, "ReplaceCO under another accepted CO's ReferenceNumber", "REJECTED", ["BR-11"])
