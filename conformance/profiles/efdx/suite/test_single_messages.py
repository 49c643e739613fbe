"""One message each, from the vector manifest: the synchronous answer and the status it earns.

The manifest says what a conforming NSW answers; the requirement IDs of each test come from it,
plus M-19 (Receipt) or M-20 (Error) for the answer and A-01/A-02 (and M-22) for a status.
"""

from __future__ import annotations

import pytest
from lxml import etree

from conformance.core.verdicts import Inconclusive
from conformance.harness.session import Harness
from conformance.profiles.efdx import steps
from conformance.profiles.efdx.codes import EFORMD_NS
from conformance.profiles.efdx.vectors import BAD_SIGNER_VECTORS, BAD_SIGNERS_PARTY, Vector, load_manifest

_F = f"{{{EFORMD_NS}}}"
CAPABILITY_OF_ACTION = {"ReplaceCO": "replace", "CancelCO": "cancel"}


def _marks(vector: Vector) -> list[pytest.MarkDecorator]:
    ids = list(vector.requirements)
    ids.append("M-20" if vector.expect_code != "valid" else "M-19")
    if vector.expect_status:
        ids += ["A-01", "A-02", "M-22"]
    purposes = list(vector.purposes)
    if vector.expect_code != "valid":
        purposes += ["M-20/code", "M-20/signed", "M-20/ref-to-message-id"]
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


VECTORS = [pytest.param(vector, id=vector.id, marks=_marks(vector)) for vector in load_manifest()]


def _named_co(body: bytes) -> str | None:
    """The reference of the CO a CancelCO or ReplaceCO names: it must have been accepted first."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    cancellation = root.find(f".//{_F}Cancellation")
    if cancellation is not None:
        return cancellation.findtext(f"{_F}ReferenceNumber")
    return root.findtext(f".//{_F}CertificateOfOrigin/{_F}Replaces")


def issue_first(harness: Harness, reference: str) -> None:
    """Have the candidate accept an IssueCO of ``reference`` (setup for replace and cancel)."""
    build = harness.build(f"setup-{reference}")
    build.data = build.co(reference_number=reference)
    sent = steps.send(harness, build.bytes(), label=f"setup: IssueCO {reference}")
    steps.expect_receipt(harness, sent)
    steps.expect_status(harness, sent, "ACCEPTED")


@pytest.mark.parametrize("vector", VECTORS)
def test_single_message(harness: Harness, vector: Vector) -> None:
    """The manifest's vector gets the manifest's answer (and status)."""
    if vector.id in BAD_SIGNER_VECTORS and harness.party != BAD_SIGNERS_PARTY:
        raise Inconclusive(
            f"the test PKI's bad signers claim {BAD_SIGNERS_PARTY}, but the harness plays {harness.party} "
            f"(a candidate of party {BAD_SIGNERS_PARTY} cannot be judged on this vector yet)"
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
        steps.expect_error(harness, sent, vector.expect_code)
    if vector.expect_status:
        steps.expect_status(harness, sent, vector.expect_status, list(vector.expect_reasons))
    elif vector.action == "CancelCO" and vector.expect_code == "valid":
        steps.expect_status(harness, sent, "CANCELLATION_ACKNOWLEDGED")
    elif vector.action == "VerificationRequest" and vector.expect_code == "valid":
        steps.expect_verification_response(harness, sent, "NOT_CONFIRMED")  # a CO the candidate never issued
