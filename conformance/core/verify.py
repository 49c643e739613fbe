"""Verify EFDX XML signatures (section 4) and say exactly which requirement a failure breaks.

The checks run in the order section 5 fixes for envelopes: missing (M-05), structure and wrapping
(M-07), weak algorithm or key (M-12, from URIs and the key alone, before any cryptography), digest
and value (M-06, by signxml), then trust of the signer (M-08 to M-11, by the TrustStore at the time
of receipt, with CRLs, which signxml does not check). What the caller processes afterwards is what
the References point at: the Header and Payload that are the Envelope's own children.

Enveloped signatures (CertificateOfOrigin, Receipt, Error) go through the same steps; a CO's
failures are reported by the caller as BR-12, a Receipt's as M-19, an Error's as M-20.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import InvalidInput, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from conformance.core import signature_value
from conformance.core import trust as trust_checks
from conformance.core import xmldsig as ds
from conformance.core.checks import Check, Checks
from conformance.core.policy import STRICT, Policy
from conformance.core.trust import TrustStore
from conformance.core.violations import Violation


@dataclass(frozen=True)
class VerifiedSignature:
    """What a verified signature tells the receiver: who signed, and the digests (for ReceivedDigest)."""

    signer: x509.Certificate | None
    digests: tuple[str, ...]


def find_signature(parent: etree._Element) -> etree._Element | None:
    return parent.find(f"{ds.DS}Signature")


def _duplicate_ids(root: etree._Element) -> list[str]:
    counts = Counter(str(value) for value in root.xpath("//@Id") or ())  # type: ignore[union-attr]
    return sorted(value for value, count in counts.items() if count > 1)


def _references(signature: etree._Element) -> list[etree._Element]:
    return signature.findall(f"{ds.DS}SignedInfo/{ds.DS}Reference")


def signature_present(signature: etree._Element | None) -> bool:
    """M-05: an Envelope carries a ds:Signature (False would take it unsigned)."""
    if signature is None:
        raise Violation("M-05", "a ds:Signature as the Envelope's last child", "no ds:Signature")
    return True


def unique_ids(root: etree._Element) -> None:
    """M-07: every Id is unique in the document (else a Reference may point at a decoy)."""
    duplicates = _duplicate_ids(root)
    if duplicates:
        raise Violation("M-07", "every Id unique in the document", f"duplicate Id {', '.join(duplicates)}")


def exact_references(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    """M-07: the References name exactly the processed Header and Payload, in that order."""
    return uris == expected


def exact_transforms(transforms: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    """M-07: exactly the allowed Transforms, none foreign, none missing."""
    return transforms == expected


def _check_structure(
    signature: etree._Element,
    expected_uris: list[str],
    expected_transforms: tuple[str, ...],
    policy: Policy,
    checks: Checks,
) -> None:
    """M-07: the References name exactly the processed elements, with exactly the allowed Transforms."""
    checks["signature.unique-ids"](signature.getroottree().getroot())
    method = signature.find(f"{ds.DS}SignedInfo/{ds.DS}CanonicalizationMethod")
    algorithm = None if method is None else method.get("Algorithm")
    if policy.canonicalizations is not None and algorithm not in policy.canonicalizations:
        raise Violation("M-07", f"CanonicalizationMethod {ds.EXC_C14N}", str(algorithm or "none"))
    references = _references(signature)
    uris = [reference.get("URI", "") for reference in references]
    if not checks["signature.references"](uris, expected_uris, signature):
        raise Violation("M-07", f"References {expected_uris}", f"References {uris}")
    for reference in references:
        transforms = tuple(
            t.get("Algorithm", "") for t in reference.findall(f"{ds.DS}Transforms/{ds.DS}Transform")
        )
        if not checks["signature.transforms"](transforms, expected_transforms):
            raise Violation(
                "M-07",
                f"Transforms {list(expected_transforms)} on {reference.get('URI')}",
                f"Transforms {list(transforms)}",
            )


def signer_chain(signature: etree._Element) -> list[x509.Certificate] | None:
    """M-08: the signer's certificate (and any intermediates) in KeyInfo (None would trust what it
    cannot check)."""
    texts = signature.findall(f"{ds.DS}KeyInfo/{ds.DS}X509Data/{ds.DS}X509Certificate")
    try:
        chain = [
            x509.load_der_x509_certificate(base64.b64decode("".join((t.text or "").split()))) for t in texts
        ]
    except (ValueError, AttributeError, TypeError) as exc:
        raise Violation(
            "M-08", "the signer's X.509 certificate in KeyInfo/X509Data", f"unreadable: {exc}"
        ) from None
    if not chain:
        raise Violation("M-08", "the signer's X.509 certificate in KeyInfo/X509Data", "no X509Certificate")
    return chain


def _check_algorithms(signature: etree._Element, signer: x509.Certificate, policy: Policy = STRICT) -> None:
    """M-12, judged from the algorithm URIs and the signer's key before any cryptography is done."""
    method = signature.find(f"{ds.DS}SignedInfo/{ds.DS}SignatureMethod")
    method_uri = method.get("Algorithm") if method is not None else None
    if method_uri not in policy.signature_methods:
        raise Violation("M-12", "SignatureMethod RSA-SHA256 or ECDSA-SHA256", str(method_uri))
    for digest_method in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestMethod"):
        uri = digest_method.get("Algorithm")
        if uri not in policy.digest_methods:
            raise Violation("M-12", "DigestMethod SHA-256, SHA-384 or SHA-512", str(uri))
    key = signer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < policy.min_rsa_bits:
            raise Violation(
                "M-12",
                f"an RSA key of at least {ds.MIN_RSA_BITS} bits with RSA-SHA256",
                f"RSA-{key.key_size} with {method_uri}",
            )
        if not method_uri or "rsa" not in method_uri:
            raise Violation("M-12", "an RSA key with RSA-SHA256", f"RSA-{key.key_size} with {method_uri}")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in policy.ecdsa_curves or method_uri not in policy.ecdsa_methods:
            raise Violation(
                "M-12", "an ECDSA P-256 key with ECDSA-SHA256", f"{key.curve.name} with {method_uri}"
            )
    else:
        raise Violation("M-12", "an RSA or ECDSA P-256 key", type(key).__name__)


def signature_value_verifies(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: Policy
) -> None:
    """M-06 by signxml: digests and signature value. Certificate validity is judged later (M-09)."""
    if type(references) is int and signature_value.verifies(
        root, signer, references, policy.signature_methods, policy.digest_methods
    ):
        return  # what signxml would say, sooner (signature_value.py); any other case is signxml's
    signxml_check(root, signer, references, policy)


def signxml_check(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: Policy
) -> None:
    """M-06 by signxml alone (``signature_value_verifies`` without the quicker path)."""
    config = SignatureConfiguration(
        location="./",
        expect_references=references,
        signature_methods=frozenset(SignatureMethod(uri) for uri in policy.signature_methods),
        digest_algorithms=frozenset(DigestAlgorithm(uri) for uri in policy.digest_methods if uri != ds.MD5),
        verification_time=signer.not_valid_before_utc + timedelta(seconds=1),
    )
    try:
        XMLVerifier().verify(root, x509_cert=signer, id_attribute="Id", expect_config=config)
    except (SignXMLException, InvalidInput, ValueError) as exc:
        raise Violation(
            "M-06", "digests and signature value that verify", f"{type(exc).__name__}: {exc}"
        ) from None


def _verify(
    signed_root: etree._Element,
    signature: etree._Element,
    expected_uris: list[str],
    transforms: tuple[str, ...],
    *,
    trust: TrustStore,
    party: str,
    at: datetime,
    purpose: str,
    policy: Policy,
    checks: Checks,
) -> VerifiedSignature:
    _check_structure(signature, expected_uris, transforms, policy, checks)
    chain = checks["signer.certificate"](signature)
    if chain is None:
        return VerifiedSignature(signer=None, digests=())  # trusts what it cannot check (never the spec's)
    _check_algorithms(signature, chain[0], policy)
    strict_references = checks["signature.references"] is exact_references
    references = len(expected_uris) if strict_references else True
    checks["signature.value"](signed_root, chain[0], references, policy)
    trust.check_signer(chain, party, at, purpose, checks=checks)
    digests = tuple(
        (value.text or "").strip()
        for value in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestValue")
    )
    return VerifiedSignature(signer=chain[0], digests=digests)


def verify_envelope(
    envelope: etree._Element,
    *,
    trust: TrustStore,
    party: str,
    at: datetime,
    policy: Policy = STRICT,
    checks: Checks | None = None,
) -> VerifiedSignature:
    """Verify a schema-valid Envelope's signature as signed by ``party``'s NSW, or raise M-05..M-12.

    ``policy`` and ``checks`` are the spec's wherever candidates are judged.
    """
    checks = checks or SPEC_CHECKS
    signature = find_signature(envelope)
    if not checks["signature.present"](signature) or signature is None:
        return VerifiedSignature(signer=None, digests=())
    header, payload = ds.element_children(envelope)[:2]
    uris = [f"#{header.get('Id')}", f"#{payload.get('Id')}"]
    return _verify(
        envelope,
        signature,
        uris,
        (ds.EXC_C14N,),
        trust=trust,
        party=party,
        at=at,
        purpose="nsw",
        policy=policy,
        checks=checks,
    )


def verify_enveloped(
    element: etree._Element,
    *,
    trust: TrustStore,
    party: str,
    at: datetime,
    purpose: str,
    policy: Policy = STRICT,
    checks: Checks | None = None,
) -> VerifiedSignature:
    """Verify the enveloped signature of a CO ("authority") or a Receipt or Error ("nsw").

    Raises Violations with the envelope codes (M-05 missing, M-07, M-12, M-06, M-08..M-11); the
    caller reports them under its own requirement (BR-12, M-19, M-20) with this as the detail.
    """
    checks = checks or SPEC_CHECKS
    signature = find_signature(element)
    if signature is None:
        raise Violation("M-05", f"a ds:Signature in {etree.QName(element).localname}", "no ds:Signature")
    standalone = etree.fromstring(etree.tostring(element, with_tail=False))
    uris = [f"#{element.get('Id')}"]
    # duplicate Ids are judged in the whole document, not only this element
    _check_structure(signature, uris, (ds.ENVELOPED, ds.EXC_C14N), policy, checks)
    transforms = (ds.ENVELOPED, ds.EXC_C14N)
    return _verify(
        standalone,
        cast(etree._Element, find_signature(standalone)),  # the same signature, in the copy
        uris,
        transforms,
        trust=trust,
        party=party,
        at=at,
        purpose=purpose,
        policy=policy,
        checks=checks,
    )


def as_requirement(violation: Violation, requirement: str) -> Violation:
    """Report a signature failure under another requirement (BR-12, M-19, M-20), keeping the detail."""
    return Violation(
        requirement,
        violation.expected,
        f"{violation.observed} ({violation.requirement} applied to this signature)",
        violation.location,
    )


CHECKS = (
    Check("signature.present", "M-05", signature_present),
    Check("signature.unique-ids", "M-07", unique_ids),
    Check("signature.references", "M-07", exact_references),
    Check("signature.transforms", "M-07", exact_transforms),
    Check("signer.certificate", "M-08", signer_chain),
    Check("signature.value", "M-06", signature_value_verifies),
)
SPEC_CHECKS = Checks.of(CHECKS, trust_checks.CHECKS)  # a signature's, its signer's included
