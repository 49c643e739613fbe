"""The quicker signature check (core/signature_value.py) accepts only what signxml accepts.

Every envelope and CO signature of every manifest vector, and broken copies of a valid message, are
judged both ways: the quicker check may say "cannot tell" (then signxml decides), never yes where
signxml says no. On the shape EFDX allows it must say yes wherever signxml does, or it saves nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from conformance.core import signature_value, verify
from conformance.core import xmldsig as ds
from conformance.core.policy import STRICT
from conformance.core.safexml import parse_untrusted
from conformance.core.violations import Violation
from conformance.family import vectors
from conformance.profiles.efdx.codes import EFORMD_NS, ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

MOMENT = datetime.now(UTC)
VECTORS = vectors.load_manifest(dialect=EFDX)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


def signxml_accepts(root: etree._Element, signer, references: int) -> bool:
    try:
        verify.signxml_check(root, signer, references, STRICT)
    except Violation:
        return False
    except Exception:  # noqa: BLE001 - signxml raising anything else is a refusal as well
        return False
    return True


def quick_accepts(root: etree._Element, signer, references: int) -> bool:
    return signature_value.verifies(root, signer, references, STRICT.signature_methods, STRICT.digest_methods)


def signatures(body: bytes) -> list[tuple[str, etree._Element, int]]:
    """(what, the signed root as verify.py hands it over, References expected) for the envelope and CO."""
    try:
        root = parse_untrusted(body)
    except Violation:
        return []
    found = []
    if verify.find_signature(root) is not None:
        found.append(("envelope", root, 2))
    for co in root.iter(f"{{{EFORMD_NS}}}CertificateOfOrigin"):
        if verify.find_signature(co) is not None:
            found.append(("co", etree.fromstring(etree.tostring(co, with_tail=False)), 1))
    return found


def signer_of(root: etree._Element):
    try:
        return verify.signer_chain(verify.find_signature(root))[0]
    except Violation:
        return None


def compare(root: etree._Element, references: int, signer=None) -> tuple[bool, bool]:
    signer = signer or signer_of(root)
    if signer is None:
        return False, False
    quick, full = quick_accepts(root, signer, references), signxml_accepts(root, signer, references)
    assert not quick or full, "the quicker check accepted what signxml refuses"
    return quick, full


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector.id)
def test_every_vector_is_judged_as_signxml_judges_it(pki, vector):
    body = vectors.build_vector(vector.id, MOMENT.date(), pki, moment=MOMENT, dialect=EFDX)
    for what, root, references in signatures(body):
        quick, full = compare(root, references)
        if full and _usual_shape(root):
            assert quick, f"{what}: signxml accepts it, the quicker check could not tell"


def _usual_shape(root: etree._Element) -> bool:
    """Exclusive C14N, RSA/ECDSA-SHA256, the Transforms EFDX allows: the shape the quicker check takes."""
    signature = verify.find_signature(root)
    method = signature.find(f"{ds.DS}SignedInfo/{ds.DS}SignatureMethod").get("Algorithm")
    c14n = signature.find(f"{ds.DS}SignedInfo/{ds.DS}CanonicalizationMethod").get("Algorithm")
    transforms = {
        tuple(t.get("Algorithm") for t in reference.findall(f"{ds.DS}Transforms/{ds.DS}Transform"))
        for reference in signature.findall(f"{ds.DS}SignedInfo/{ds.DS}Reference")
    }
    return (
        c14n == ds.EXC_C14N
        and method in (ds.RSA_SHA256, ds.ECDSA_SHA256)
        and transforms
        <= {
            (ds.EXC_C14N,),
            (ds.ENVELOPED, ds.EXC_C14N),
        }
    )


# ------------------------------------------------------------------------------ broken copies


def valid_envelope(pki: TestPki) -> etree._Element:
    return parse_untrusted(
        vectors.build_vector("valid-issue-co", MOMENT.date(), pki, moment=MOMENT, dialect=EFDX)
    )


def _first(root: etree._Element, path: str) -> etree._Element:
    return root.find(path)


E = f"{{{ENVELOPE_NS}}}"
SIG = f"{ds.DS}Signature"


def _payload_text(root):
    node = next(e for e in root.iter(f"{{{EFORMD_NS}}}ReferenceNumber"))
    node.text = node.text + "X"


def _digest_value(root):
    node = _first(root, f"{SIG}/{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestValue")
    node.text = ("A" if node.text[0] != "A" else "B") + node.text[1:]


def _signature_value(root):
    node = _first(root, f"{SIG}/{ds.DS}SignatureValue")
    node.text = ("A" if node.text[0] != "A" else "B") + node.text[1:]


def _foreign_id_twin(root):
    header_id = _first(root, f"{E}Header").get("Id")
    _first(root, f"{E}Payload").set("{urn:example:x}Id", header_id)


def _comment_in_header(root):
    _first(root, f"{E}Header").insert(0, etree.Comment(" a comment "))


def _key_value(root):
    key_info = _first(root, f"{SIG}/{ds.DS}KeyInfo")
    etree.SubElement(key_info, f"{ds.DS}KeyValue")


def _inclusive_namespaces(root):
    transform = _first(root, f"{SIG}/{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}Transforms/{ds.DS}Transform")
    etree.SubElement(
        transform, "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces", PrefixList="e"
    )


def _whitespace_in_signed_info(root):
    _first(root, f"{SIG}/{ds.DS}SignedInfo").text = "\n   "


def _reference_uri_renamed(root):
    reference = _first(root, f"{SIG}/{ds.DS}SignedInfo/{ds.DS}Reference")
    reference.set("URI", "#nowhere")


def _signature_moved_into_header(root):
    _first(root, f"{E}Header").append(_first(root, SIG))


BREAKAGES = [
    _payload_text,
    _digest_value,
    _signature_value,
    _foreign_id_twin,
    _comment_in_header,
    _key_value,
    _inclusive_namespaces,
    _whitespace_in_signed_info,
    _reference_uri_renamed,
    _signature_moved_into_header,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__.strip("_"))
def test_a_broken_copy_is_judged_as_signxml_judges_it(pki, breakage):
    root = valid_envelope(pki)
    signer = signer_of(root)
    assert compare(root, 2, signer) == (True, True)
    breakage(root)
    reparsed = etree.fromstring(etree.tostring(root))
    compare(reparsed, 2, signer)


def test_another_key_or_another_count_is_refused_by_both(pki):
    root = valid_envelope(pki)
    assert compare(root, 2, pki.nsw("KH").cert) == (False, False)
    assert compare(root, 3) == (False, False)
    assert compare(root, 1) == (False, False)


def test_comments_are_outside_the_digests_for_both(pki):
    root = valid_envelope(pki)
    _comment_in_header(root)
    assert compare(etree.fromstring(etree.tostring(root)), 2) == (True, True)
