"""An independent XML Signature implementation (xmlsec1, libxmlsec1 with OpenSSL) agrees with ours.

Both directions: the signatures that ``conformance.signing`` writes on the vectors verify with
xmlsec1, and what xmlsec1 signs with the TEST ONLY PKI is accepted by the EFDX judge. Every
positive check has a negative control beside it, so that a tool that says yes to everything fails.

xmlsec1 is always given the signer's key explicitly (``--pubkey-cert-pem``) with key data limited to
``rsa`` or ``ecdsa``: it then ignores the certificate in KeyInfo/X509Data and uses only the key named
here, so it needs no trust store, no network and no ``--insecure``. Whether the signer is trusted
(chain, validity, CRL, country, key usage: M-08..M-11, BR-12) is judged by our own code; only
``test_envelope_chain_verifies_with_xmlsec1`` lets xmlsec1 build the chain, from the party's root.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.safexml import parse_untrusted
from conformance.core.trust import Credential
from conformance.family.judge import Receiver
from conformance.family.vectors import Vector, build_vector, load_manifest
from conformance.profiles.efdx import messages
from conformance.profiles.efdx.codes import EFORMD_NS, ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

XMLSEC1 = shutil.which("xmlsec1")
if XMLSEC1 is None and os.environ.get("CI"):
    raise RuntimeError("xmlsec1 is not installed under CI; .ci/run installs it")
if XMLSEC1 is None:
    pytest.skip(
        "xmlsec1 is not installed (Debian/Ubuntu package xmlsec1; .ci/run installs it): "
        "the cross-check against an independent XML Signature implementation cannot run",
        allow_module_level=True,
    )

DAY = date(2026, 11, 26)
NOON = datetime.combine(DAY, time(12), tzinfo=UTC)
SENDER, RECEIVER = "SG", "KH"
_E = f"{{{ENVELOPE_NS}}}"
_F = f"{{{EFORMD_NS}}}"

_DS_SIGNATURE = f'*[local-name()="Signature" and namespace-uri()="{ds.DS_NS}"]'
ENVELOPE_SIGNATURE = f"/*/{_DS_SIGNATURE}"
CO_SIGNATURE = f'//*[local-name()="CertificateOfOrigin" and namespace-uri()="{EFORMD_NS}"]/{_DS_SIGNATURE}'
# Without a DTD or schema xmlsec1 knows no ID attributes: declare the three Ids EFDX signs.
ID_ATTRS = (
    *("--id-attr:Id", f"{ENVELOPE_NS}:Header"),
    *("--id-attr:Id", f"{ENVELOPE_NS}:Payload"),
    *("--id-attr:Id", f"{EFORMD_NS}:CertificateOfOrigin"),
)

VALID = [vector for vector in load_manifest(dialect=EFDX) if vector.expect_code == "valid"]
CO_ACTIONS = ("IssueCO", "ReplaceCO")
# What xmlsec1 says of each BR-12 vector's CO signature: (verified with the certificate in its own
# KeyInfo, verified with SG's issuing authority certificate); None where there is no signature.
# True where the signature is cryptographically sound and BR-12 is a policy judgement of ours
# (signer's kind, party, KeyUsage; SHA-1).
BR12_XMLSEC1 = {
    "br12-co-unsigned": (None, False),
    "br12-co-tampered": (False, False),
    "br12-co-signed-by-nsw-certificate": (True, False),
    "br12-co-signed-by-other-authority": (True, False),
    "br12-co-authority-without-non-repudiation": (True, False),
    "br12-co-sha1-digest": (True, True),
    "br12-co-altered-signature-value": (False, False),
    "br12-co-expired-authority": (True, False),
    "br12-co-not-yet-valid-authority": (True, False),
    "br12-co-revoked-authority": (True, False),
    "br12-co-untrusted-authority": (True, False),
    "br12-co-wrong-country-authority": (True, False),
    "br12-co-xpath-transform": (True, True),  # verifies with the XPath applied (section 7)
    "br12-co-rsa-1024-authority": (True, False),  # a valid signature by a key under 2048 bits
    "br12-co-rsa-1024-authority-on-replace": (True, False),
    "br12-co-rsa-sha1-signature": (True, True),  # valid, with an algorithm section 4 refuses
    "br12-co-inclusive-c14n": (True, True),  # valid, with a canonicalization section 7 refuses
    "br12-co-extra-reference": (True, True),  # valid, with a Reference section 4 does not allow
    "br12-co-p384-authority": (True, False),  # a valid ECDSA signature by a key on a curve section 4 refuses
    "br12-co-md5-digest": (True, True),  # valid, with a digest section 4 refuses
    "br12-co-sha1-with-p256-signature": (True, False),  # valid ECDSA-SHA1 by the P-256 authority
}


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


def _ids(vectors: list[Vector]) -> list[str]:
    return [vector.id for vector in vectors]


def _is_ecdsa(credential: Credential) -> bool:
    return isinstance(credential.cert.public_key(), ec.EllipticCurvePublicKey)


def _xmlsec1(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XMLSEC1, *args], capture_output=True, text=True, timeout=60)


def _verify(
    path: Path, cert: Path, node_xpath: str, *, ecdsa: bool, id_attrs: tuple[str, ...] = ID_ATTRS
) -> subprocess.CompletedProcess[str]:
    """xmlsec1 --verify of the signature at ``node_xpath`` with the key of ``cert`` and nothing else
    (``id_attrs``: the Id attributes of another profile's namespaces)."""
    return _xmlsec1(
        "--verify",
        "--enabled-reference-uris",
        "same-doc",
        "--enabled-key-data",
        "ecdsa" if ecdsa else "rsa",  # not x509: KeyInfo's certificate is ignored, `cert` decides
        "--pubkey-cert-pem",
        str(cert),
        *id_attrs,
        "--node-xpath",
        node_xpath,
        str(path),
    )


def _sign(template: Path, credential: Credential, node_xpath: str, out: Path) -> bytes:
    result = _xmlsec1(
        "--sign",
        "--enabled-reference-uris",
        "same-doc",
        "--privkey-pem",
        f"{credential.key_path},{credential.cert_path}",
        *ID_ATTRS,
        "--node-xpath",
        node_xpath,
        "--output",
        str(out),
        str(template),
    )
    assert result.returncode == 0, f"xmlsec1 --sign failed:\n{result.stderr}"
    return out.read_bytes()


def _ok(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "OK" in result.stdout + result.stderr


def _explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"xmlsec1 exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def _write_vector(tmp_path: Path, vector_id: str, pki: TestPki) -> Path:
    path = tmp_path / f"{vector_id}.xml"
    path.write_bytes(build_vector(vector_id, DAY, pki, dialect=EFDX))
    return path


def _ecdsa_vector(vector_id: str) -> bool:
    return "ecdsa" in vector_id


# --- our signatures, xmlsec1 verifies ----------------------------------------------------------------


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_envelope_signature_verifies_with_xmlsec1(vector: Vector, pki: TestPki, tmp_path: Path) -> None:
    path = _write_vector(tmp_path, vector.id, pki)
    signer = pki.nsw(SENDER, ecdsa=_ecdsa_vector(vector.id))
    result = _verify(path, signer.cert_path, ENVELOPE_SIGNATURE, ecdsa=_is_ecdsa(signer))
    assert _ok(result), _explain(result)
    assert "SignedInfo References (ok/all): 2/2" in result.stdout + result.stderr


CO_VECTORS = [v for v in VALID if v.action in CO_ACTIONS and "BR-12" not in v.expect_reasons]


@pytest.mark.parametrize("vector", CO_VECTORS, ids=_ids(CO_VECTORS))
def test_co_signature_verifies_with_xmlsec1(vector: Vector, pki: TestPki, tmp_path: Path) -> None:
    path = _write_vector(tmp_path, vector.id, pki)
    # signed by the authority of the CO's IssuingCountry (br01-issuing-country-not-from: not From's)
    issuing = parse_untrusted(path.read_bytes()).findtext(
        f"{_E}Payload/{_F}CertificateOfOrigin/{_F}IssuingCountry"
    )
    signer = pki.authority(issuing or SENDER, ecdsa=_ecdsa_vector(vector.id))
    result = _verify(path, signer.cert_path, CO_SIGNATURE, ecdsa=_is_ecdsa(signer))
    assert _ok(result), _explain(result)
    assert "SignedInfo References (ok/all): 1/1" in result.stdout + result.stderr


def test_every_co_vector_is_cross_checked() -> None:
    """No valid CO vector escapes both CO tests: a new BR-12 vector needs its row in BR12_XMLSEC1."""
    co_vectors = {v.id for v in VALID if v.action in CO_ACTIONS}
    assert co_vectors == {v.id for v in CO_VECTORS} | set(BR12_XMLSEC1)


BR12_VECTORS = [v for v in VALID if "BR-12" in v.expect_reasons]


@pytest.mark.parametrize("vector", BR12_VECTORS, ids=_ids(BR12_VECTORS))
def test_br12_co_signatures_with_xmlsec1(vector: Vector, pki: TestPki, tmp_path: Path) -> None:
    """xmlsec1 refuses exactly the BR-12 COs that are cryptographically broken; the rest are policy."""
    with_own_cert, with_authority_cert = BR12_XMLSEC1[vector.id]
    path = _write_vector(tmp_path, vector.id, pki)
    authority = pki.authority(SENDER)
    result = _verify(path, authority.cert_path, CO_SIGNATURE, ecdsa=False)
    assert _ok(result) is with_authority_cert, _explain(result)
    if with_own_cert is None:
        return
    co = parse_untrusted(path.read_bytes()).find(f"{_E}Payload/{_F}CertificateOfOrigin")
    der = base64.b64decode(
        "".join(co.findtext(f"{ds.DS}Signature/{ds.DS}KeyInfo//{ds.DS}X509Certificate").split())
    )
    own_cert = tmp_path / "own-cert.pem"
    own_cert.write_text(
        "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode() + "-----END CERTIFICATE-----\n"
    )
    own_key = x509.load_der_x509_certificate(der).public_key()
    result = _verify(path, own_cert, CO_SIGNATURE, ecdsa=isinstance(own_key, ec.EllipticCurvePublicKey))
    assert _ok(result) is with_own_cert, _explain(result)


@pytest.mark.parametrize(
    "vector_id", ["m06-tampered-payload", "m06-tampered-header", "m06-altered-signature-value"]
)
def test_tampered_envelope_fails_xmlsec1(vector_id: str, pki: TestPki, tmp_path: Path) -> None:
    path = _write_vector(tmp_path, vector_id, pki)
    result = _verify(path, pki.nsw(SENDER).cert_path, ENVELOPE_SIGNATURE, ecdsa=False)
    assert result.returncode != 0, _explain(result)
    assert "FAIL" in result.stdout + result.stderr, _explain(result)


def test_wrong_certificate_fails_xmlsec1(pki: TestPki, tmp_path: Path) -> None:
    """The explicit certificate is what xmlsec1 verifies with, not the one in KeyInfo."""
    path = _write_vector(tmp_path, "valid-issue-co", pki)
    result = _verify(path, pki.authority(SENDER).cert_path, ENVELOPE_SIGNATURE, ecdsa=False)
    assert result.returncode != 0, _explain(result)
    result = _verify(path, pki.nsw("TH").cert_path, ENVELOPE_SIGNATURE, ecdsa=False)
    assert result.returncode != 0, _explain(result)


@pytest.mark.parametrize("vector_id", ["valid-issue-co", "valid-issue-co-ecdsa"])
def test_envelope_chain_verifies_with_xmlsec1(vector_id: str, pki: TestPki, tmp_path: Path) -> None:
    """With KeyInfo's certificate and SG's root as the only trust anchor, xmlsec1 builds the chain too;
    with another party's root it refuses (so the chain check is real, and needs no --insecure)."""
    path = _write_vector(tmp_path, vector_id, pki)

    def verify_trusting(party: str) -> subprocess.CompletedProcess[str]:
        return _xmlsec1(
            "--verify",
            "--enabled-reference-uris",
            "same-doc",
            "--enabled-key-data",
            "x509",
            "--trusted-pem",
            str(pki.ca_path(party)),
            "--verification-gmt-time",
            NOON.strftime("%Y-%m-%d %H:%M:%S"),
            *ID_ATTRS,
            "--node-xpath",
            ENVELOPE_SIGNATURE,
            str(path),
        )

    result = verify_trusting(SENDER)
    assert _ok(result), _explain(result)
    result = verify_trusting("TH")
    assert result.returncode != 0, _explain(result)


# --- xmlsec1 signs, our verifier judges ---------------------------------------------------------------


def _signature_template(references: list[tuple[str, tuple[str, ...]]], *, ecdsa: bool) -> etree._Element:
    """An empty ds:Signature for xmlsec1 to fill: exc-C14N, RSA- or ECDSA-SHA256, SHA-256 digests."""
    signature = etree.Element(f"{ds.DS}Signature", nsmap=ds.NSMAP)
    signed_info = etree.SubElement(signature, f"{ds.DS}SignedInfo")
    etree.SubElement(signed_info, f"{ds.DS}CanonicalizationMethod", Algorithm=ds.EXC_C14N)
    method = ds.ECDSA_SHA256 if ecdsa else ds.RSA_SHA256
    etree.SubElement(signed_info, f"{ds.DS}SignatureMethod", Algorithm=method)
    for uri, transforms in references:
        reference = etree.SubElement(signed_info, f"{ds.DS}Reference", URI=uri)
        holder = etree.SubElement(reference, f"{ds.DS}Transforms")
        for algorithm in transforms:
            etree.SubElement(holder, f"{ds.DS}Transform", Algorithm=algorithm)
        etree.SubElement(reference, f"{ds.DS}DigestMethod", Algorithm=ds.SHA256)
        etree.SubElement(reference, f"{ds.DS}DigestValue")
    etree.SubElement(signature, f"{ds.DS}SignatureValue")
    key_info = etree.SubElement(signature, f"{ds.DS}KeyInfo")
    etree.SubElement(etree.SubElement(key_info, f"{ds.DS}X509Data"), f"{ds.DS}X509Certificate")
    return signature


def _co(reference: str) -> etree._Element:
    data = messages.sample_certificate(
        issuing_country=SENDER, importing_country=RECEIVER, issue_date=DAY, reference_number=reference
    )
    return messages.certificate(data)


def _envelope(action: str, payload: etree._Element, seed: str) -> etree._Element:
    reference = payload.findtext(f"{_F}ReferenceNumber") or "PING"
    fields = messages.EnvelopeFields(
        action=action,
        sender=SENDER,
        receiver=RECEIVER,
        message_id=messages.message_id(SENDER, seed=seed),
        conversation_id=messages.conversation_id(SENDER, reference),
        timestamp=NOON,
    )
    return messages.envelope(fields, payload)


def _filled(signature: etree._Element) -> None:
    """xmlsec1 really signed: every value of the template is filled in."""
    for name in ("DigestValue", "SignatureValue", "X509Certificate"):
        for node in signature.iter(f"{ds.DS}{name}"):
            assert node.text and node.text.strip(), f"xmlsec1 left ds:{name} empty"


def _judge(body: bytes):
    return Receiver(RECEIVER, TestPki.load().trust_store(), dialect=EFDX).judge(body, at=NOON)


@pytest.mark.parametrize(
    ("action", "ecdsa"),
    [("IssueCO", False), ("Ping", False), ("IssueCO", True)],
    ids=["IssueCO", "Ping", "IssueCO-ecdsa"],
)
def test_envelope_signed_by_xmlsec1_is_accepted(
    action: str, ecdsa: bool, pki: TestPki, tmp_path: Path
) -> None:
    if action == "IssueCO":
        payload = _co(f"XMLSEC1-ENV-{'EC' if ecdsa else 'RSA'}")
        signing.sign_enveloped(payload, pki.authority(SENDER, ecdsa=ecdsa))
    else:
        payload = messages.payload("Ping", {})
    root = _envelope(action, payload, seed=f"xmlsec1-envelope/{action}/{ecdsa}")
    references = [("#header", (ds.EXC_C14N,)), ("#payload", (ds.EXC_C14N,))]
    root.append(_signature_template(references, ecdsa=ecdsa))
    template = tmp_path / "template.xml"
    template.write_bytes(messages.serialize(root))

    signer = pki.nsw(SENDER, ecdsa=ecdsa)
    body = _sign(template, signer, ENVELOPE_SIGNATURE, tmp_path / "signed.xml")
    signature = parse_untrusted(body).find(f"{ds.DS}Signature")
    _filled(signature)

    judgement = _judge(body)
    assert judgement.codes == [], judgement.violation or judgement.findings
    assert judgement.accepted
    assert judgement.status == ("ACCEPTED" if action == "IssueCO" else None)
    written = tuple(node.text.strip() for node in signature.iter(f"{ds.DS}DigestValue"))
    assert judgement.received_digests == written

    # Negative control: the same bytes with one signed character changed are refused.
    tampered = body.replace(b"T12:00:00Z</Timestamp>", b"T12:00:01Z</Timestamp>")
    assert tampered != body
    assert _judge(tampered).codes == ["EFDX-M06"]


@pytest.mark.parametrize("ecdsa", [False, True], ids=["rsa", "ecdsa"])
def test_co_signed_by_xmlsec1_is_accepted(ecdsa: bool, pki: TestPki, tmp_path: Path) -> None:
    co = _co(f"XMLSEC1-CO-{'EC' if ecdsa else 'RSA'}")
    co.append(_signature_template([("#co", (ds.ENVELOPED, ds.EXC_C14N))], ecdsa=ecdsa))
    template = tmp_path / "co-template.xml"
    template.write_bytes(messages.serialize(co))
    signed = _sign(template, pki.authority(SENDER, ecdsa=ecdsa), f"/*/{_DS_SIGNATURE}", tmp_path / "co.xml")
    signed_co = parse_untrusted(signed)
    _filled(signed_co.find(f"{ds.DS}Signature"))

    def wrap(certificate: etree._Element, label: str) -> bytes:
        root = _envelope("IssueCO", certificate, seed=f"xmlsec1-co/{ecdsa}/{label}")
        signing.sign_envelope(root, pki.nsw(SENDER))
        return messages.serialize(root)

    judgement = _judge(wrap(signed_co, "as-signed"))
    assert judgement.codes == [], judgement.violation or judgement.findings
    assert judgement.status == "ACCEPTED"

    # Negative control: xmlsec1's CO with one character of its content changed fails BR-12 only.
    signed_co.find(f"{_F}Item/{_F}Quantity").text = "5000.01"
    judgement = _judge(wrap(signed_co, "tampered"))
    assert judgement.accepted, judgement.violation
    assert judgement.status == "REJECTED"
    assert judgement.codes == ["BR-12"]
