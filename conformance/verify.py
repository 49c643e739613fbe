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
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import InvalidInput, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from conformance import xmldsig as ds
from conformance.pki import TrustStore
from conformance.violations import Violation

_ALLOWED_METHODS = frozenset(SignatureMethod(uri) for uri in ds.ALLOWED_SIGNATURE_METHODS)
_ALLOWED_DIGESTS = frozenset(DigestAlgorithm(uri) for uri in ds.ALLOWED_DIGESTS)


@dataclass(frozen=True)
class VerifiedSignature:
    """What a verified signature tells the receiver: who signed, and the digests (for ReceivedDigest)."""

    signer: x509.Certificate | None
    digests: tuple[str, ...]


def find_signature(parent: etree._Element) -> etree._Element | None:
    return parent.find(f"{ds.DS}Signature")


def _duplicate_ids(root: etree._Element) -> list[str]:
    counts = Counter(value for value in root.xpath("//@Id"))
    return sorted(value for value, count in counts.items() if count > 1)


def _references(signature: etree._Element) -> list[etree._Element]:
    return signature.findall(f"{ds.DS}SignedInfo/{ds.DS}Reference")


def _uris_accepted(
    uris: list[str], expected: list[str], signature: etree._Element, skip: Collection[str]
) -> bool:
    """M-07: the References name exactly the processed Header and Payload, in that order.

    The other branches are the reference NSW's seeded faults (``skip`` is empty elsewhere).
    """
    if uris == expected:
        return True
    if "M-07/reference-order" in skip and sorted(uris) == sorted(expected):
        return True
    if "M-07/missing-reference" in skip and uris and set(uris) < set(expected):
        return True
    if "M-07/extra-reference" in skip and set(expected) < set(uris):
        return True
    if "M-07/wrapping" in skip and len(uris) == len(expected):  # any element of the right name will do
        root = signature.getroottree().getroot()
        return _target_names(root, uris) == _target_names(root, expected)
    return False


def _target_names(root: etree._Element, uris: list[str]) -> list[str | None]:
    names = []
    for uri in uris:
        nodes = root.xpath("//*[@Id=$id]", id=uri[1:]) if uri and uri.startswith("#") else []
        names.append(etree.QName(nodes[0]).localname if nodes else None)
    return names


def _transforms_accepted(
    transforms: tuple[str, ...], expected: tuple[str, ...], skip: Collection[str]
) -> bool:
    """M-07: exactly the allowed Transforms (the other branches are seeded faults)."""
    if transforms == expected:
        return True
    if "M-07/missing-transform" in skip and not transforms:
        return True
    return "M-07/foreign-transform" in skip and tuple(t for t in transforms if t in expected) == expected


def _check_structure(
    signature: etree._Element,
    expected_uris: list[str],
    expected_transforms: tuple[str, ...],
    skip: Collection[str] = (),
) -> None:
    """M-07: the References name exactly the processed elements, with exactly the allowed Transforms."""
    duplicates = _duplicate_ids(signature.getroottree().getroot())
    if duplicates and "M-07/duplicate-ids" not in skip:
        raise Violation("M-07", "every Id unique in the document", f"duplicate Id {', '.join(duplicates)}")
    method = signature.find(f"{ds.DS}SignedInfo/{ds.DS}CanonicalizationMethod")
    if (method is None or method.get("Algorithm") != ds.EXC_C14N) and "M-07/canonicalization" not in skip:
        observed = "none" if method is None else method.get("Algorithm")
        raise Violation("M-07", f"CanonicalizationMethod {ds.EXC_C14N}", str(observed))
    references = _references(signature)
    uris = [reference.get("URI") for reference in references]
    if not _uris_accepted(uris, expected_uris, signature, skip):
        raise Violation("M-07", f"References {expected_uris}", f"References {uris}")
    for reference in references:
        transforms = tuple(
            t.get("Algorithm") for t in reference.findall(f"{ds.DS}Transforms/{ds.DS}Transform")
        )
        if not _transforms_accepted(transforms, expected_transforms, skip):
            raise Violation(
                "M-07",
                f"Transforms {list(expected_transforms)} on {reference.get('URI')}",
                f"Transforms {list(transforms)}",
            )


def _signer_chain(signature: etree._Element) -> list[x509.Certificate]:
    texts = signature.findall(f"{ds.DS}KeyInfo/{ds.DS}X509Data/{ds.DS}X509Certificate")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode("".join(t.text.split()))) for t in texts]
    except (ValueError, AttributeError, TypeError) as exc:
        raise Violation(
            "M-08", "the signer's X.509 certificate in KeyInfo/X509Data", f"unreadable: {exc}"
        ) from None
    if not chain:
        raise Violation("M-08", "the signer's X.509 certificate in KeyInfo/X509Data", "no X509Certificate")
    return chain


def _check_algorithms(
    signature: etree._Element, signer: x509.Certificate, skip: Collection[str] = ()
) -> None:
    """M-12, judged from the algorithm URIs and the signer's key before any cryptography is done."""
    method = signature.find(f"{ds.DS}SignedInfo/{ds.DS}SignatureMethod")
    method_uri = method.get("Algorithm") if method is not None else None
    weak_method_ok = "M-12/weak-signature-method" in skip and method_uri in ds.WEAK_ALGORITHMS
    if method_uri not in ds.ALLOWED_SIGNATURE_METHODS and not weak_method_ok:
        raise Violation("M-12", "SignatureMethod RSA-SHA256 or ECDSA-SHA256", str(method_uri))
    for digest_method in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestMethod"):
        uri = digest_method.get("Algorithm")
        if uri not in ds.ALLOWED_DIGESTS and not ("M-12/weak-digest" in skip and uri in ds.WEAK_ALGORITHMS):
            raise Violation("M-12", "DigestMethod SHA-256, SHA-384 or SHA-512", str(uri))
    key = signer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < ds.MIN_RSA_BITS and "M-12/short-key" not in skip:
            raise Violation(
                "M-12",
                f"an RSA key of at least {ds.MIN_RSA_BITS} bits with RSA-SHA256",
                f"RSA-{key.key_size} with {method_uri}",
            )
        if method_uri != ds.RSA_SHA256 and not weak_method_ok:
            raise Violation("M-12", "an RSA key with RSA-SHA256", f"RSA-{key.key_size} with {method_uri}")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name != "secp256r1" or method_uri != ds.ECDSA_SHA256:
            raise Violation(
                "M-12", "an ECDSA P-256 key with ECDSA-SHA256", f"{key.curve.name} with {method_uri}"
            )
    else:
        raise Violation("M-12", "an RSA or ECDSA P-256 key", type(key).__name__)


def _check_value(
    root: etree._Element, signer: x509.Certificate, references: int | bool, skip: Collection[str] = ()
) -> None:
    """M-06 by signxml: digests and signature value. Certificate validity is judged later (M-09)."""
    weak_ok = any(key.startswith("M-12/") for key in skip)
    half = {key for key in skip if key in ("M-06/digest", "M-06/value")}
    if "M-07/foreign-transform" in skip and root.xpath(
        ".//ds:Transform[@Algorithm=$xpath]", namespaces=ds.NSMAP, xpath=ds.XPATH
    ):
        half.add("M-06/digest")  # the seeded fault does not verify what its foreign Transform hides
    if half:
        from conformance.reference import lax_signatures  # the seeded faults' half-checks live there

        lax_signatures.check_half(root, signer, half)
        return
    config = SignatureConfiguration(
        location="./",
        expect_references=references,
        signature_methods=frozenset(SignatureMethod) if weak_ok else _ALLOWED_METHODS,
        digest_algorithms=frozenset(DigestAlgorithm) if weak_ok else _ALLOWED_DIGESTS,
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
    skip: Collection[str],
) -> VerifiedSignature:
    _check_structure(signature, expected_uris, transforms, skip)
    if "M-08/no-certificate" in skip and not signature.findall(f".//{ds.DS}X509Certificate"):
        return VerifiedSignature(signer=None, digests=())  # a seeded fault: trusts what it cannot check
    chain = _signer_chain(signature)
    _check_algorithms(signature, chain[0], skip)
    lax_references = any(key.startswith("M-07/") for key in skip)
    _check_value(signed_root, chain[0], True if lax_references else len(expected_uris), skip)
    trust.check_signer(chain, party, at, purpose, skip=skip)
    digests = tuple(
        value.text.strip()
        for value in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestValue")
    )
    return VerifiedSignature(signer=chain[0], digests=digests)


def verify_envelope(
    envelope: etree._Element, *, trust: TrustStore, party: str, at: datetime, skip: Collection[str] = ()
) -> VerifiedSignature:
    """Verify a schema-valid Envelope's signature as signed by ``party``'s NSW, or raise M-05..M-12.

    ``skip`` names checks not to make; only the reference NSW's seeded faults use it.
    """
    signature = find_signature(envelope)
    if signature is None:
        if "M-05/missing" in skip:
            return VerifiedSignature(signer=None, digests=())
        raise Violation("M-05", "a ds:Signature as the Envelope's last child", "no ds:Signature")
    header, payload = ds.element_children(envelope)[:2]
    uris = [f"#{header.get('Id')}", f"#{payload.get('Id')}"]
    return _verify(
        envelope, signature, uris, (ds.EXC_C14N,), trust=trust, party=party, at=at, purpose="nsw", skip=skip
    )


def verify_enveloped(
    element: etree._Element,
    *,
    trust: TrustStore,
    party: str,
    at: datetime,
    purpose: str,
    skip: Collection[str] = (),
) -> VerifiedSignature:
    """Verify the enveloped signature of a CO ("authority") or a Receipt or Error ("nsw").

    Raises Violations with the envelope codes (M-05 missing, M-07, M-12, M-06, M-08..M-11); the
    caller reports them under its own requirement (BR-12, M-19, M-20) with this as the detail.
    """
    if find_signature(element) is None:
        raise Violation("M-05", f"a ds:Signature in {etree.QName(element).localname}", "no ds:Signature")
    standalone = etree.fromstring(etree.tostring(element, with_tail=False))
    uris = [f"#{element.get('Id')}"]
    # duplicate Ids are judged in the whole document, not only this element
    _check_structure(find_signature(element), uris, (ds.ENVELOPED, ds.EXC_C14N), skip)
    transforms = (ds.ENVELOPED, ds.EXC_C14N)
    return _verify(
        standalone,
        find_signature(standalone),
        uris,
        transforms,
        trust=trust,
        party=party,
        at=at,
        purpose=purpose,
        skip=skip,
    )


def as_requirement(violation: Violation, requirement: str) -> Violation:
    """Report a signature failure under another requirement (BR-12, M-19, M-20), keeping the detail."""
    return Violation(
        requirement,
        violation.expected,
        f"{violation.observed} ({violation.requirement} applied to this signature)",
        violation.location,
    )
