"""Create EFDX XML signatures (section 4): envelope signatures with two References, enveloped ones.

Signatures are assembled here from lxml and ``cryptography`` rather than by signxml so that the test
vectors can ask for exactly the wrong thing (a SHA-1 digest, one Reference missing, a foreign
Transform); verification uses signxml and the test suite cross-checks with xmlsec1, so the signer is
never judged only by itself. RSA PKCS#1 v1.5 is deterministic, and ECDSA is made so (RFC 6979):
the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from conformance.core import xmldsig as ds
from conformance.core.trust import Credential

_HASHLIB = {ds.SHA1: "sha1", ds.SHA256: "sha256", ds.SHA384: "sha384", ds.SHA512: "sha512", ds.MD5: "md5"}
_SIGNATURE_HASH: dict[str, hashes.HashAlgorithm] = {
    ds.RSA_SHA256: hashes.SHA256(),
    ds.RSA_SHA1: hashes.SHA1(),
    ds.ECDSA_SHA256: hashes.SHA256(),
    ds.ECDSA_SHA1: hashes.SHA1(),
}


def digest(data: bytes, algorithm: str) -> str:
    return base64.b64encode(hashlib.new(_HASHLIB[algorithm], data).digest()).decode("ascii")


@dataclass
class Reference:
    """One ds:Reference: the URI written, the element digested, and the transforms applied."""

    uri: str
    target: etree._Element
    transforms: Sequence[str] = (ds.EXC_C14N,)
    # Foreign Transforms (an XPath filter), written before the last of ``transforms``; ``unsigned`` is the
    # local name of the elements that filter leaves out, so the digest is the one the filter gives.
    extra_transforms: Sequence[etree._Element] = field(default_factory=tuple)
    unsigned: str | None = None

    def digest_input(self) -> bytes:
        if not self.transforms:  # no Transform: the node-set goes to inclusive C14N (XML-DSig 4.4.3.2)
            return ds.canonicalize_inclusive(self.target)
        node = ds.without_signature(self.target) if ds.ENVELOPED in self.transforms else self.target
        if self.unsigned:
            node = etree.fromstring(etree.tostring(node, with_tail=False))
            for left_out in ds.elements(node, "//*[local-name()=$name]", name=self.unsigned):
                ds.remove_keeping_tail(left_out)
        return ds.canonicalize(node)

    def transform_elements(self) -> list[etree._Element]:
        """The ds:Transform elements in order: the foreign ones just before the final canonicalization."""
        plain = [etree.Element(f"{ds.DS}Transform", Algorithm=algorithm) for algorithm in self.transforms]
        return plain[:-1] + list(self.extra_transforms) + plain[-1:]


def default_signature_method(credential: Credential) -> str:
    return ds.ECDSA_SHA256 if isinstance(credential.key, ec.EllipticCurvePrivateKey) else ds.RSA_SHA256


def sign_bytes(data: bytes, credential: Credential, method: str) -> bytes:
    """The raw SignatureValue of ``data`` (canonical SignedInfo bytes) by ``credential``."""
    return _sign_bytes(data, credential, method)


def _sign_bytes(data: bytes, credential: Credential, method: str) -> bytes:
    algorithm = _SIGNATURE_HASH[method]
    key = credential.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{credential.name}: an RSA or ECDSA key signs, not a {type(key).__name__}")
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algorithm, deterministic_signing=True)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class SignatureOptions(TypedDict, total=False):
    """build_signature's keyword options, as sign_envelope and sign_enveloped pass them on."""

    signature_method: str | None
    digest_method: str
    canonicalization: str


def build_signature(
    parent: etree._Element,
    references: Sequence[Reference],
    credential: Credential,
    *,
    signature_method: str | None = None,
    digest_method: str = ds.SHA256,
    canonicalization: str = ds.EXC_C14N,
) -> etree._Element:
    """Append a ds:Signature over ``references`` to ``parent`` and return it.

    Digests are computed before the Signature is attached, which is what the enveloped-signature
    transform sees on the verifying side.
    """
    signature_method = signature_method or default_signature_method(credential)
    signature = etree.Element(f"{ds.DS}Signature", nsmap=ds.NSMAP)
    signed_info = etree.SubElement(signature, f"{ds.DS}SignedInfo")
    etree.SubElement(signed_info, f"{ds.DS}CanonicalizationMethod", Algorithm=canonicalization)
    etree.SubElement(signed_info, f"{ds.DS}SignatureMethod", Algorithm=signature_method)
    for reference in references:
        node = etree.SubElement(signed_info, f"{ds.DS}Reference", URI=reference.uri)
        transform_elements = reference.transform_elements()
        if transform_elements:
            etree.SubElement(node, f"{ds.DS}Transforms").extend(transform_elements)
        etree.SubElement(node, f"{ds.DS}DigestMethod", Algorithm=digest_method)
        value = etree.SubElement(node, f"{ds.DS}DigestValue")
        value.text = digest(reference.digest_input(), digest_method)
    parent.append(signature)
    value = etree.SubElement(signature, f"{ds.DS}SignatureValue")
    signed_bytes = (
        ds.canonicalize(signed_info)
        if canonicalization == ds.EXC_C14N
        else ds.canonicalize_inclusive(signed_info)
    )
    value.text = base64.b64encode(_sign_bytes(signed_bytes, credential, signature_method)).decode()
    x509_data = etree.SubElement(etree.SubElement(signature, f"{ds.DS}KeyInfo"), f"{ds.DS}X509Data")
    for cert in credential.chain:
        etree.SubElement(x509_data, f"{ds.DS}X509Certificate").text = base64.b64encode(
            cert.public_bytes(Encoding.DER)
        ).decode("ascii")
    return signature


def sign_envelope(
    envelope: etree._Element, credential: Credential, **options: Unpack[SignatureOptions]
) -> etree._Element:
    """Sign an Envelope: References to #Header then #Payload, each with one exclusive C14N Transform."""
    header, payload = ds.element_children(envelope)[:2]
    references = [Reference(f"#{header.get('Id')}", header), Reference(f"#{payload.get('Id')}", payload)]
    return build_signature(envelope, references, credential, **options)


def sign_enveloped(
    element: etree._Element, credential: Credential, **options: Unpack[SignatureOptions]
) -> etree._Element:
    """Sign a CertificateOfOrigin, Receipt or Error: one Reference to its own Id, enveloped."""
    reference = Reference(f"#{element.get('Id')}", element, transforms=(ds.ENVELOPED, ds.EXC_C14N))
    return build_signature(element, [reference], credential, **options)
