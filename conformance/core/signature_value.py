"""A quicker way to the answer signxml gives for the usual signature: digests and value verify (M-06).

signxml serializes and re-parses the whole document several times for each signature (a copy per
Reference, the Signature, the verified SignedInfo, each canonicalized Reference), which made it the
largest cost of judging a message. ``verifies`` follows the same steps as
``XMLVerifier.verify(root, x509_cert=signer, id_attribute="Id", expect_config=...)`` with the
configuration verify.py gives it, on the parsed tree, with signxml's own schema check and the same
canonicalizations of the same node copies, but only for the shape EFDX allows: exclusive C14N without
InclusiveNamespaces, RSA-SHA256 or ECDSA-SHA256, ``#Id`` References whose Transforms are exclusive
C14N, optionally after enveloped-signature, and no KeyValue beside the certificate.

It only ever says yes. Whenever a step fails or the signature has another shape it returns False,
and the caller asks signxml, whose verdict and message then stand: a signature this accepts is one
signxml accepts (tests/test_signature_value.py compares both on every test vector and on broken
copies), and every refusal still comes from signxml, word for word.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml import XMLVerifier
from signxml.util import _remove_sig

from conformance.core import xmldsig as ds

_DSIG11 = "{http://www.w3.org/2009/xmldsig11#}"
_HASHLIB = {ds.SHA256: "sha256", ds.SHA384: "sha384", ds.SHA512: "sha512"}
_SHAPES = ((ds.EXC_C14N,), (ds.ENVELOPED, ds.EXC_C14N))  # the Transforms taken here
_PARSER = etree.XMLParser(resolve_entities=False)  # signxml's default parser
_SCHEMA_CHECK = XMLVerifier()  # only its validate_schema (signxml's own schemas) is used


def verifies(
    root: etree._Element,
    signer: x509.Certificate,
    references: int,
    signature_methods: frozenset[str],
    digest_methods: frozenset[str],
) -> bool:
    """True when signxml would verify the ds:Signature child of ``root`` with ``signer``'s key and
    exactly ``references`` References; False when it would not, or when this cannot tell."""
    try:
        return _verifies(root, signer, references, signature_methods, digest_methods)
    except Exception:  # noqa: BLE001 - any surprise: signxml decides
        return False


def _copy(element: etree._Element) -> etree._Element:
    """signxml's copy of a node (serialized and parsed alone), and its refusal of entities."""
    copied = etree.fromstring(etree.tostring(element), parser=_PARSER)
    if next(copied.iter(etree.Entity), None) is not None:
        raise ValueError("entities")
    return copied


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _verifies(
    root: etree._Element,
    signer: x509.Certificate,
    references: int,
    signature_methods: frozenset[str],
    digest_methods: frozenset[str],
) -> bool:
    root = _copy(root)
    if root.tag == f"{ds.DS}Signature":
        return False
    placed = root.find(f"./{ds.DS}Signature")
    if placed is None:
        return False
    signature = _copy(placed)
    _SCHEMA_CHECK.validate_schema(signature)  # raises when invalid
    signed_info = signature.find(f"{ds.DS}SignedInfo")
    if signed_info is None:
        return False
    method = signed_info.find(f"{ds.DS}CanonicalizationMethod")
    if method is None or method.get("Algorithm") != ds.EXC_C14N or len(method):
        return False
    signature_method = signed_info.find(f"{ds.DS}SignatureMethod")
    algorithm = None if signature_method is None else signature_method.get("Algorithm")
    if algorithm not in (ds.RSA_SHA256, ds.ECDSA_SHA256) or algorithm not in signature_methods:
        return False
    value = signature.find(f"{ds.DS}SignatureValue")
    if value is None or value.text is None:
        return False
    key_info = signature.find(f"{ds.DS}KeyInfo")
    if key_info is not None and (
        key_info.find(f"{ds.DS}KeyValue") is not None
        or key_info.find(f"{_DSIG11}DEREncodedKeyValue") is not None
    ):
        return False
    if signer.not_valid_after_utc < signer.not_valid_before_utc + timedelta(seconds=1):
        return False  # signxml judges the certificate at notBefore + 1 s
    signed_info_c14n = _c14n(signed_info)
    if not _signature_verifies(signer, algorithm, base64.b64decode(value.text), signed_info_c14n):
        return False
    verified = etree.fromstring(signed_info_c14n, parser=_PARSER)
    found = verified.findall(f"{ds.DS}Reference")
    if len(found) != references:
        return False
    return all(_reference_verifies(reference, root, digest_methods) for reference in found)


def _signature_verifies(signer: x509.Certificate, algorithm: str, raw: bytes, data: bytes) -> bool:
    key = signer.public_key()
    try:
        if algorithm == ds.RSA_SHA256:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        size = (key.key_size + 7) // 8
        if len(raw) != 2 * size:
            return False
        r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def _reference_verifies(
    reference: etree._Element, root: etree._Element, digest_methods: frozenset[str]
) -> bool:
    uri = reference.get("URI")
    if uri is None or not uri.startswith("#") or uri.startswith("#xpointer("):
        return False
    transforms = reference.findall(f"{ds.DS}Transforms/{ds.DS}Transform")
    if tuple(t.get("Algorithm") for t in transforms) not in _SHAPES or any(len(t) for t in transforms):
        return False
    digest_method = reference.find(f"{ds.DS}DigestMethod")
    digest_uri = None if digest_method is None else digest_method.get("Algorithm")
    if digest_uri not in _HASHLIB or digest_uri not in digest_methods:
        return False
    digest_value = reference.find(f"{ds.DS}DigestValue")
    if digest_value is None or digest_value.text is None:
        return False
    enveloped = transforms[0].get("Algorithm") == ds.ENVELOPED
    # signxml resolves each Reference in its own copy of the document; only the enveloped-signature
    # transform changes the copy, so the others can share one (the same content)
    document = _copy(root) if enveloped else root
    targets = document.xpath("//*[@*[local-name() = 'Id']=$uri]", uri=uri.lstrip("#"))
    if not isinstance(targets, list) or len(targets) != 1 or not isinstance(targets[0], etree._Element):
        return False
    if enveloped:
        placed = document.find(f"./{ds.DS}Signature")
        if placed is None:
            return False
        _remove_sig(placed, idempotent=True)
    digest = hashlib.new(_HASHLIB[digest_uri], _c14n(_copy(targets[0]))).digest()
    try:
        return base64.b64decode(digest_value.text) == digest
    except (binascii.Error, ValueError):
        return False
