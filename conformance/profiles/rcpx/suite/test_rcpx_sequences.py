"""RCPX 1.0's own sequences: the clauses of its stateful rules that EFDX's sequences
(``test_sequences.py``, run in RCPX with EFDX's IDs aliased) do not cover in RCPX's words: a second
ReplaceCO of a superseded CO is RBR-14 here (EFDX's BR-15), and a ReplaceCO may not take the number
of another accepted CO (RBR-11). The cancel and replace of another IssuingCountry's CO, the replace of
a cancelled CO and the per-country ReferenceNumbers are EFDX's tests, run here."""

import pytest

from conformance.family.suite.test_sequences import issue, reference_of, replace, send_co
from conformance.harness.session import Harness

pytestmark = pytest.mark.role("importing")


@pytest.mark.requirements("RBR-14", "A-04")
@pytest.mark.purposes("RBR-14/replace-superseded")
def test_replace_of_a_superseded_co_is_rejected(harness: Harness) -> None:
    """A second ReplaceCO of a CO already replaced: REJECTED with RBR-14."""
    co, _ = issue(harness, "rbr14-replace-superseded")
    send_co(harness, replace(harness, "rbr14-rs-first", reference_of(co)), "ReplaceCO", "ACCEPTED")
    second = replace(harness, "rbr14-rs-second", reference_of(co))
    send_co(harness, second, "ReplaceCO of the superseded CO", "REJECTED", ["RBR-14"])


@pytest.mark.requirements("RBR-11", "A-04")
@pytest.mark.purposes("RBR-11/replace-reuses-reference")
def test_replace_under_an_accepted_reference_number_is_rejected(harness: Harness) -> None:
    """A ReplaceCO whose own ReferenceNumber was accepted before: REJECTED with RBR-11."""
    replaced, _ = issue(harness, "rbr11-replaced")
    taken, _ = issue(harness, "rbr11-taken")
    build = replace(harness, "rbr11-replace", reference_of(replaced))
    build.data = build.co(replaces=reference_of(replaced), reference_number=reference_of(taken))
    send_co(harness, build, "ReplaceCO reusing a ReferenceNumber", "REJECTED", ["RBR-11"])
