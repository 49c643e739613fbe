"""The single-message tests of every pack of the family (its suite's ``test_single_messages.py`` gives
its manifest): one message each, from the vector manifest: the synchronous answer and the status it earns.

The manifest says what a conforming NSW answers; the requirement IDs of each test come from it,
plus M-19 (Receipt) or M-20 (Error) for the answer and A-01/A-02 (and M-22) for a status.
"""

from __future__ import annotations

import pytest
from lxml import etree

from conformance.core.verdicts import Inconclusive
from conformance.family.dialect import Dialect
from conformance.family.suite import steps
from conformance.family.vectors import BAD_SIGNER_VECTORS, Vector, load_manifest
from conformance.harness.session import Harness

CAPABILITY_OF_ACTION = {"ReplaceCO": "replace", "CancelCO": "cancel"}


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


def single_message(harness: Harness, vector: Vector) -> None:
    """The body of test_single_message, for any profile of the family."""
    if vector.id in BAD_SIGNER_VECTORS and not steps.pki_of(harness).has_bad(harness.party):
        raise Inconclusive(
            f"the test PKI has no bad signers of {harness.party}, the party the harness plays "
            f"(bad/{harness.party}/ is missing: `conformance pki generate` makes them for every party)"
        )
    body = harness.vector(vector.id)
    if (
        vector.action in ("ReplaceCO", "CancelCO")
        and vector.expect_code == "valid"
        and (named := _named_co(body))
    ):
        issue_first(harness, named)
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
