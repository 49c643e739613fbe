"""Every negative vector breaks exactly the clause it names (spec section 7, last bullet).

An independent XML Signature implementation (xmlsec1) verifies every signature of every vector, the
envelope's and the CO's, with the certificate the signature itself carries and the Transforms it
declares applied: so a verdict blames the right requirement whatever order a receiver checks in.
Only the vectors whose purpose *is* a broken signature, and those whose bytes cannot be parsed by
design, are left out, each with its reason. Broken encodings are read as their bytes say.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from conformance.core import xmldsig as ds
from conformance.family.vectors import build_vector, load_manifest
from conformance.profiles.efdx.codes import EFORMD_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests.test_xmlsec1 import _DS_SIGNATURE, ENVELOPE_SIGNATURE, ID_ATTRS, _explain, _ok, _verify

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

DAY = date(2026, 11, 26)


def co_signature(namespace: str, element: str) -> str:
    """The signature of the CO a receiver processes: the Payload's own (a wrapping vector hides another
    copy elsewhere)."""
    return (
        '/*/*[local-name()="Payload"]'
        f'/*[local-name()="{element}" and namespace-uri()="{namespace}"]/{_DS_SIGNATURE}'
    )


CO_SIGNATURE = co_signature(EFORMD_NS, "CertificateOfOrigin")

# Purposes whose vectors are broken signatures on purpose: xmlsec1 must refuse them.
BROKEN_SIGNATURE = {
    "M-06/digest": ENVELOPE_SIGNATURE,
    "M-06/value": ENVELOPE_SIGNATURE,
    "BR-12/tampered": CO_SIGNATURE,
    "BR-12/signature-value": CO_SIGNATURE,
}
# Purposes whose vectors cannot be parsed (or resolved) by design.
NOT_CHECKED = {
    "M-01/well-formed": "the body is cut off: no parser reads it",
    "M-02/before-parsing": "the body is cut off: no parser reads it",
    "M-02/external-entity": "the body references an entity that only its DOCTYPE declares",
    "M-02/internal-entities": "the body references an entity that only its DOCTYPE declares",
    "M-07/duplicate-ids": "duplicate Ids make every Reference ambiguous by design",
    "M-03/schema-typed-duplicate-ids": "duplicate Ids make every Reference ambiguous by design",
    "T-04/over-5-mib": "checked as the same message under 5 MiB (the padding is a comment)",
    "M-04/id-absent": "the CO's Id, which its signature's Reference names, is what the vector takes out",
}
VECTORS = load_manifest(dialect=EFDX)


@dataclass(frozen=True)
class Isolation:
    """What the check needs to know of a profile of the family (tests/rcpx/ checks RCPX's vectors)."""

    sender: str  # who sends the dated vector set (its NSW certificate verifies a KeyInfo-less one)
    co_signature: str
    co_element: bytes  # the CO's start tag as serialized: b"<CertificateOfOrigin"
    unsigned_co: str  # the purpose whose CO has no signature at all
    broken: dict[str, str]  # purpose -> the signature it breaks on purpose
    not_checked: dict[str, str]  # purpose -> why its vector cannot be checked
    id_attrs: tuple[str, ...] = ID_ATTRS  # xmlsec1's --id-attr options for the profile's namespaces


EFDX_ISOLATION = Isolation(
    "SG", CO_SIGNATURE, b"<CertificateOfOrigin", "BR-12/unsigned", BROKEN_SIGNATURE, NOT_CHECKED
)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


def _readable(vector_id: str, body: bytes) -> bytes:
    """The body as a receiver that skipped only the vector's clause would read it."""
    if vector_id == "m01-invalid-utf8":
        return body.decode("iso-8859-1").encode("utf-8")
    return body


def _signer_pem(path: Path, node_xpath: str, fallback: Path, tmp_path: Path) -> tuple[Path, bool]:
    """The certificate the signature at ``node_xpath`` carries (the sender's NSW one if none)."""
    from lxml import etree

    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    nodes = root.xpath(node_xpath)
    texts = nodes[0].findall(f"{ds.DS}KeyInfo/{ds.DS}X509Data/{ds.DS}X509Certificate") if nodes else []
    if not texts:
        pem = fallback
    else:
        pem = tmp_path / f"signer-{abs(hash(node_xpath))}.pem"
        der = base64.b64decode("".join(texts[0].text.split()))
        pem.write_text(
            "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode() + "-----END CERTIFICATE-----\n"
        )
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    ecdsa = isinstance(
        x509.load_pem_x509_certificate(pem.read_bytes()).public_key(), ec.EllipticCurvePublicKey
    )
    return pem, ecdsa


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_every_signature_of_the_vector_verifies_unless_broken_on_purpose(vector, pki, tmp_path) -> None:
    check_signatures(vector, build_vector(vector.id, DAY, pki, dialect=EFDX), pki, EFDX_ISOLATION, tmp_path)


def check_signatures(vector, body: bytes, pki, profile: Isolation, tmp_path: Path) -> None:
    """xmlsec1 verifies every signature of ``body`` (the vector built), unless broken on purpose."""
    skipped = [profile.not_checked[p] for p in vector.purposes if p in profile.not_checked]
    broken = {profile.broken[p] for p in vector.purposes if p in profile.broken}
    if vector.id == "t04-oversized-body":
        body = body[: body.rindex(b"\n<!--")]
    elif skipped:
        pytest.skip("; ".join(skipped))
    path = tmp_path / f"{vector.id}.xml"
    path.write_bytes(_readable(vector.id, body))
    sender_nsw = pki.nsw(profile.sender).cert_path
    signatures = [] if "M-05/missing" in vector.purposes else [ENVELOPE_SIGNATURE]
    if profile.co_element in body and profile.unsigned_co not in vector.purposes:
        signatures.append(profile.co_signature)
    checked = 0
    for node_xpath in signatures:
        signer, ecdsa = _signer_pem(path, node_xpath, sender_nsw, tmp_path)
        result = _verify(path, signer, node_xpath, ecdsa=ecdsa, id_attrs=profile.id_attrs)
        checked += 1
        if node_xpath in broken:
            assert not _ok(result), f"{vector.id}: the {node_xpath} signature should be broken\n" + _explain(
                result
            )
        else:
            assert _ok(result), f"{vector.id}: the signature at {node_xpath} does not verify\n" + _explain(
                result
            )
    assert checked, f"{vector.id}: no signature was checked"


def test_every_purpose_left_out_names_a_vector() -> None:
    """The exceptions above are real purposes of vectors, not leftovers."""
    covered = {p for v in VECTORS for p in v.purposes}
    assert set(NOT_CHECKED) <= covered and set(BROKEN_SIGNATURE) <= covered
