"""Half a signature check, for seeded faults of the reference NSW (M-06 and M-07 purposes).

A receiver that checks the digests but not the SignatureValue accepts a forged value; one that
checks the SignatureValue but not the digests accepts tampered content. Only the reference NSW's
seeded faults reach this module (each function a ``signature.value`` check, its ``policy`` unread);
candidates are judged by signxml's full check in ``verify``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.violations import Violation

_T = TypeVar("_T")
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    ds.RSA_SHA256: hashes.SHA256,
    ds.ECDSA_SHA256: hashes.SHA256,
    ds.RSA_SHA1: hashes.SHA1,
    ds.ECDSA_SHA1: hashes.SHA1,
}


def value_only(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Checks the SignatureValue over SignedInfo, not the Reference digests (tampering passes)."""
    _check_signature_value(_signature(root), signer)


def digests_only(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Checks the Reference digests, not the SignatureValue (a forged value passes)."""
    _check_digests(root, _signature(root))


def value_only_if_foreign(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Does not compute what a foreign Transform hides: the value only, when there is one."""
    if root.xpath(".//ds:Transform[@Algorithm=$xpath]", namespaces=ds.NSMAP, xpath=ds.XPATH):
        value_only(root, signer, references)
    else:
        value_only(root, signer, references)
        digests_only(root, signer, references)


def value_and_digests(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Checks both, with this module's own digests: any DigestMethod ``signing.digest`` knows (MD5
    too), for a receiver whose algorithm list admits one that signxml refuses."""
    value_only(root, signer, references)
    digests_only(root, signer, references)


def _required(found: _T | None, what: str) -> _T:
    """What the signature holds before ``verify`` calls its ``signature.value`` check: the elements
    xmldsig's schema requires (in every profile's schemas), the algorithms ``verify`` has judged."""
    if found is None:
        raise ValueError(f"no {what} in the signature")
    return found


def _signature(root: etree._Element) -> etree._Element:
    return _required(root.find(f"{ds.DS}Signature"), "ds:Signature")


def _check_signature_value(signature: etree._Element, signer: x509.Certificate) -> None:
    signed_info = _required(signature.find(f"{ds.DS}SignedInfo"), "SignedInfo")
    method_element = _required(signed_info.find(f"{ds.DS}SignatureMethod"), "SignatureMethod")
    method = _required(method_element.get("Algorithm"), "SignatureMethod/@Algorithm")
    value_text = _required(signature.findtext(f"{ds.DS}SignatureValue"), "SignatureValue")
    value = base64.b64decode("".join(value_text.split()))
    data = ds.canonicalize(signed_info)
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), _HASHES[method]())
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)  # verify refused any other key (M-12)
            half = len(value) // 2
            der = encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            key.verify(der, data, ec.ECDSA(_HASHES[method]()))
    except (InvalidSignature, KeyError, ValueError) as exc:
        raise Violation("M-06", "a SignatureValue that verifies", f"it does not ({exc!r})") from None


def _check_digests(root: etree._Element, signature: etree._Element) -> None:
    for reference in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference"):
        uri = reference.get("URI") or ""
        targets = ds.elements(root, "//*[@Id=$id]", id=uri[1:])
        if not targets:
            raise Violation("M-06", f"a Reference target {uri}", "none")
        transforms = [t.get("Algorithm") for t in reference.iterfind(f"{ds.DS}Transforms/{ds.DS}Transform")]
        node = ds.without_signature(targets[0]) if ds.ENVELOPED in transforms else targets[0]
        method_element = _required(reference.find(f"{ds.DS}DigestMethod"), "DigestMethod")
        method = _required(method_element.get("Algorithm"), "DigestMethod/@Algorithm")
        observed = signing.digest(ds.canonicalize(node), method)
        if observed != _required(reference.findtext(f"{ds.DS}DigestValue"), "DigestValue").strip():
            raise Violation("M-06", f"the digest of {uri} as signed", f"digest {observed}")
