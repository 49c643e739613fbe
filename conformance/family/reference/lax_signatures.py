"""Half a signature check, for seeded faults of the reference NSW (M-06 and M-07 purposes).

A receiver that checks the digests but not the SignatureValue accepts a forged value; one that
checks the SignatureValue but not the digests accepts tampered content. Only the reference NSW's
seeded faults reach this module (each function a ``signature.value`` check, its ``policy`` unread);
candidates are judged by signxml's full check in ``verify``.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.violations import Violation

_HASHES = {
    ds.RSA_SHA256: hashes.SHA256,
    ds.ECDSA_SHA256: hashes.SHA256,
    ds.RSA_SHA1: hashes.SHA1,
    ds.ECDSA_SHA1: hashes.SHA1,
}


def value_only(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Checks the SignatureValue over SignedInfo, not the Reference digests (tampering passes)."""
    _check_signature_value(root.find(f"{ds.DS}Signature"), signer)


def digests_only(
    root: etree._Element, signer: x509.Certificate, references: int | bool, policy: object = None
) -> None:
    """Checks the Reference digests, not the SignatureValue (a forged value passes)."""
    _check_digests(root, root.find(f"{ds.DS}Signature"))


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


def _check_signature_value(signature: etree._Element, signer: x509.Certificate) -> None:
    signed_info = signature.find(f"{ds.DS}SignedInfo")
    method = signed_info.find(f"{ds.DS}SignatureMethod").get("Algorithm")
    value = base64.b64decode("".join(signature.findtext(f"{ds.DS}SignatureValue").split()))
    data = ds.canonicalize(signed_info)
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), _HASHES[method]())
        else:
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
        targets = root.xpath("//*[@Id=$id]", id=uri[1:])
        if not targets:
            raise Violation("M-06", f"a Reference target {uri}", "none")
        transforms = [t.get("Algorithm") for t in reference.iterfind(f"{ds.DS}Transforms/{ds.DS}Transform")]
        node = ds.without_signature(targets[0]) if ds.ENVELOPED in transforms else targets[0]
        method = reference.find(f"{ds.DS}DigestMethod").get("Algorithm")
        observed = signing.digest(ds.canonicalize(node), method)
        if observed != reference.findtext(f"{ds.DS}DigestValue").strip():
            raise Violation("M-06", f"the digest of {uri} as signed", f"digest {observed}")
