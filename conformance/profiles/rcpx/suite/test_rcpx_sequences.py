"""RCPX 1.0's own sequences: the clauses of its stateful rules that EFDX's rules do not have (RBR-14
takes in EFDX's BR-15, and RBR-11 holds for a ReplaceCO's own ReferenceNumber too)."""

import pytest

from conformance.harness.session import Harness
from conformance.profiles.efdx import steps
from conformance.profiles.efdx.suite.test_sequences import cancel, issue, reference_of, replace, send_co

pytestmark = pytest.mark.role("importing")


@pytest.mark.requirements("RBR-14", "A-04")
@pytest.mark.purposes("RBR-14/replace-superseded")
def test_replace_of_a_superseded_co_is_rejected(harness: Harness) -> None:
    """A second ReplaceCO of a CO already replaced: REJECTED with RBR-14."""
    co, _ = issue(harness, "rbr14-replace-superseded")
    send_co(harness, replace(harness, "rbr14-rs-first", reference_of(co)), "ReplaceCO", "ACCEPTED")
    second = replace(harness, "rbr14-rs-second", reference_of(co))
    send_co(harness, second, "ReplaceCO of the superseded CO", "REJECTED", ["RBR-14"])


@pytest.mark.requirements("RBR-14", "A-04")
@pytest.mark.purposes("RBR-14/replace-cancelled")
def test_replace_of_a_cancelled_co_is_rejected(harness: Harness) -> None:
    """A ReplaceCO naming a cancelled CO: REJECTED with RBR-14."""
    co, _ = issue(harness, "rbr14-replace-cancelled")
    send_co(
        harness, cancel(harness, "rbr14-rc-cancel", reference_of(co)), "CancelCO", "CANCELLATION_ACKNOWLEDGED"
    )
    later = replace(harness, "rbr14-rc-replace", reference_of(co))
    send_co(harness, later, "ReplaceCO of the cancelled CO", "REJECTED", ["RBR-14"])


@pytest.mark.requirements("RBR-11", "A-04")
@pytest.mark.purposes("RBR-11/replace-reuses-reference")
def test_replace_under_an_accepted_reference_number_is_rejected(harness: Harness) -> None:
    """A ReplaceCO whose own ReferenceNumber was accepted before: REJECTED with RBR-11."""
    replaced, _ = issue(harness, "rbr11-replaced")
    taken, _ = issue(harness, "rbr11-taken")
    build = replace(harness, "rbr11-replace", reference_of(replaced))
    build.data = build.co(replaces=reference_of(replaced), reference_number=reference_of(taken))
    send_co(harness, build, "ReplaceCO reusing a ReferenceNumber", "REJECTED", ["RBR-11"])


def issued_by_another_party(harness: Harness, name: str, reference: str | None = None):
    """An IssueCO from a party that is neither the harness's nor the candidate's, taken with a Receipt
    (its status goes to that party's own inbox, which this run does not watch). Returns its reference."""
    other_party = harness.build(name).third_party()
    build = harness.build(name, sender=other_party)
    build.data = build.co(**({"reference_number": reference} if reference else {}))
    sent = steps.send(
        harness, build.bytes(), label=f"{other_party}: IssueCO", client=harness.client_as(other_party)
    )
    steps.expect_receipt(harness, sent, sender=other_party)
    return other_party, reference_of(build)


@pytest.mark.requirements("RBR-11", "A-01")
@pytest.mark.purposes("RBR-11/per-issuing-country")
def test_a_reference_number_is_unique_per_issuing_country_only(harness: Harness) -> None:
    """A ReferenceNumber another party's CO already uses is free for this one: ACCEPTED, not RBR-11."""
    _, reference = issued_by_another_party(harness, "rbr11-other-country")
    build = harness.build("rbr11-own-country")
    build.data = build.co(reference_number=reference)
    send_co(harness, build, "IssueCO under the other party's ReferenceNumber", "ACCEPTED")


@pytest.mark.requirements("RBR-14", "A-03")
@pytest.mark.purposes("RBR-14/cancel-other-issuing-country")
def test_cancel_of_another_countrys_co_is_rejected(harness: Harness) -> None:
    """A CancelCO naming a CO accepted from another IssuingCountry than its sender: REJECTED, RBR-14."""
    other_party, reference = issued_by_another_party(harness, "rbr14-other-country")
    build = cancel(harness, "rbr14-cancel-theirs", reference)
    build.data = build.data | {"issuing_country": other_party}
    send_co(harness, build, f"CancelCO of {other_party}'s CO", "REJECTED", ["RBR-14"])
