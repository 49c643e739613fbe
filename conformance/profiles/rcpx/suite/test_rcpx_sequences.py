"""RCPX 1.0's own sequences: the clauses of its stateful rules that EFDX's rules do not have (RBR-14
takes in EFDX's BR-15, and RBR-11 holds for a ReplaceCO's own ReferenceNumber too)."""

import pytest

from conformance.harness.session import Harness
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
