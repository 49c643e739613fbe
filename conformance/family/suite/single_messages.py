"""The single-message tests of every pack of the family (its suite's ``test_single_messages.py`` gives
its manifest): one message each, from the vector manifest: the synchronous answer and the status it earns.

The manifest says what a conforming NSW answers; the requirement IDs of each test come from it,
plus M-19 (Receipt) or M-20 (Error) for the answer and A-01/A-02 (and M-22) for a status.
"""

from __future__ import annotations

import time
from typing import cast

import pytest
from lxml import etree

from conformance.core.verdicts import Inconclusive
from conformance.family.dialect import Dialect
from conformance.family.suite import status_group, steps
from conformance.family.vectors import BAD_SIGNER_VECTORS, Vector, load_manifest
from conformance.harness.session import Harness

CAPABILITY_OF_ACTION = {"ReplaceCO": "replace", "CancelCO": "cancel"}
# A ReplaceCO started early is built with its setup; sent later than this, it is built again (with its
# setup) in a lone run: far inside M-15's 24 h, and rarely reached (the tests in between are quick).
STALE_S = 600.0


def _marks(vector: Vector) -> list[pytest.MarkDecorator]:
    ids = list(vector.requirements)
    ids.append("M-20" if vector.expect_code != "valid" else "M-19")
    if vector.expect_status:
        ids += ["A-01", "A-02", "M-22"]
        if vector.action == "ReplaceCO":  # a wrong status about it breaks A-04 too (steps.STATUS_DUE)
            ids.append("A-04")
    purposes = list(vector.purposes)
    if vector.expect_code != "valid":
        purposes += ["M-20/code", "M-20/signed", "M-20/ref-to-message-id", "M-20/to", "M-20/severity"]
    marks = [pytest.mark.requirements(*ids), pytest.mark.purposes(*purposes), pytest.mark.role("importing")]
    if vector.action in CAPABILITY_OF_ACTION and vector.expect_code == "valid":
        marks.append(pytest.mark.capability(CAPABILITY_OF_ACTION[vector.action]))
    if "ecdsa" in vector.id:
        marks.append(pytest.mark.capability("ecdsa"))
    if vector.action == "VerificationRequest" and vector.expect_code == "valid":
        marks += [
            pytest.mark.role("exporting"),
            pytest.mark.capability("verification"),
            pytest.mark.requirements("A-05", "M-22"),
        ]
    if vector.expect_status or _cancels_a_co(vector):  # its status wait overlaps the others' (status_group)
        marks.append(status_group.starts_with_the_group(start_single_message))
    return marks


def vector_params(dialect: Dialect) -> list:
    """One pytest param per vector of the profile's manifest (another profile's suite reuses this)."""
    manifest = load_manifest(dialect=dialect)
    return [pytest.param(vector, id=vector.id, marks=_marks(vector)) for vector in manifest]


def _named_co(body: bytes) -> str | None:
    """The reference of the CO a CancelCO or ReplaceCO names: it must have been accepted first."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    cancellation = root.find(".//{*}Cancellation")
    if cancellation is not None:
        return cancellation.findtext("{*}ReferenceNumber")
    return root.findtext(".//{*}Payload/*/{*}Replaces")  # the CO's, whatever the profile calls it


def issue_first(harness: Harness, reference: str) -> None:
    """Have the candidate accept an IssueCO of ``reference`` (setup for replace and cancel)."""
    build = harness.build(f"setup-{reference}")
    build.data = build.co(reference_number=reference)
    sent = steps.send(harness, build.bytes(), label=f"setup: IssueCO {reference}")
    steps.expect_receipt(harness, sent)
    steps.expect_status(harness, sent, "ACCEPTED")


def _check_signers(harness: Harness, vector: Vector) -> None:
    if vector.id in BAD_SIGNER_VECTORS and not steps.pki_of(harness).has_bad(harness.party):
        raise Inconclusive(
            f"the test PKI has no bad signers of {harness.party}, the party the harness plays "
            f"(bad/{harness.party}/ is missing: `conformance pki generate` makes them for every party)"
        )


def _cancels_a_co(vector: Vector) -> bool:
    """A valid CancelCO: its setup's IssueCO awaits ACCEPTED with the others (then, in series, the
    CancelCO and its CANCELLATION_ACKNOWLEDGED)."""
    return vector.action == "CancelCO" and vector.expect_code == "valid"


def _needs_issue_first(vector: Vector, body: bytes) -> str | None:
    """The CO a valid ReplaceCO or CancelCO names, which the candidate must have accepted first."""
    if vector.action in ("ReplaceCO", "CancelCO") and vector.expect_code == "valid":
        return _named_co(body)
    return None


def start_single_message(harness: Harness, vector: Vector) -> status_group.Waiting:
    """A test whose status wait overlaps the others': send its message (or, for a ReplaceCO, the
    IssueCO it replaces) and judge the synchronous answer now; the test awaits the status."""
    _check_signers(harness, vector)
    body = harness.vector(vector.id)
    if named := _needs_issue_first(vector, body):
        setup = harness.build(f"setup-{named}")
        setup.data = setup.co(reference_number=named)
        sent = steps.send(harness, setup.bytes(), label=f"setup: IssueCO {named}")
        steps.expect_receipt(harness, sent)
        return status_group.waiting(harness, sent, "ACCEPTED", body=body)
    sent = steps.send(harness, body, label=vector.id)
    steps.expect_receipt(harness, sent)  # vectors with a status are valid
    assert vector.expect_status
    return status_group.waiting(harness, sent, vector.expect_status)


def started_single_message(harness: Harness, vector: Vector, member: status_group.Waiting) -> None:
    """The rest of a test started early: its status (or its setup's, then its own message in series),
    or the whole test again alone where the overlapped wait cannot tell (status_group)."""
    alone = lambda: single_message(harness, vector)  # noqa: E731
    arrival = status_group.status_or_alone(harness, member, alone, vector.id)
    if arrival is None:
        return
    if member.then is None:
        assert vector.expect_status
        steps.judge_status(harness, arrival, member.sent, vector.expect_status, list(vector.expect_reasons))
        return
    steps.judge_status(harness, arrival, member.sent, "ACCEPTED")  # the setup's, as issue_first judges it
    if time.time() - member.answered_at > STALE_S:
        stale = status_group.RunAlone(
            f"its message was built over {STALE_S:g} s ago, before the tests between"
        )
        status_group.run_alone(harness, stale, alone, member, vector.id)
        return
    status_group.settle(harness, member)
    _send_and_judge(harness, vector, member.then)


def early_of(request: pytest.FixtureRequest) -> status_group.Waiting | None:
    """What the test's ``starts_early`` start sent (None for a test without a status to await)."""
    if request.node.get_closest_marker("starts_early") is None:
        return None
    return cast(status_group.Waiting, request.getfixturevalue("early"))


def single_message(harness: Harness, vector: Vector, early: status_group.Waiting | None = None) -> None:
    """The body of test_single_message, for any profile of the family (``early``: what its
    ``starts_early`` start sent, for a vector with a status)."""
    if early is not None:
        started_single_message(harness, vector, early)
        return
    _check_signers(harness, vector)
    body = harness.vector(vector.id)
    if named := _needs_issue_first(vector, body):
        issue_first(harness, named)
    _send_and_judge(harness, vector, body)


def _send_and_judge(harness: Harness, vector: Vector, body: bytes) -> None:
    sent = steps.send(harness, body, label=vector.id)
    if vector.expect_code == "valid":
        steps.expect_receipt(harness, sent)
    else:
        steps.expect_error(harness, sent, vector.expect_code, vector.offending)
    if vector.expect_status:
        steps.expect_status(harness, sent, vector.expect_status, list(vector.expect_reasons))
    elif vector.action == "CancelCO" and vector.expect_code == "valid":
        steps.expect_status(harness, sent, "CANCELLATION_ACKNOWLEDGED")
    elif vector.action == "VerificationRequest" and vector.expect_code == "valid":
        steps.expect_verification_response(harness, sent, "NOT_CONFIRMED")  # a CO the candidate never issued
