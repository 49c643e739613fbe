"""XML Signature vocabulary of the EFDX security profile (section 4): URIs, what is allowed, helpers."""

from __future__ import annotations

from lxml import etree

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DS = f"{{{DS_NS}}}"
NSMAP = {"ds": DS_NS}

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"  # inclusive: not allowed (section 7), vectors only
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"  # a foreign Transform: vectors only
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
MD5 = "http://www.w3.org/2001/04/xmldsig-more#md5"

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_MD5 = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"

ALLOWED_DIGESTS = frozenset({SHA256, SHA384, SHA512})
ALLOWED_SIGNATURE_METHODS = frozenset({RSA_SHA256, ECDSA_SHA256})
WEAK_ALGORITHMS = frozenset({SHA1, MD5, RSA_SHA1, RSA_MD5, ECDSA_SHA1})
MIN_RSA_BITS = 2048


def element_children(element: etree._Element) -> list[etree._Element]:
    """Child elements only: comments and processing instructions are not Header or Payload."""
    return [child for child in element if isinstance(child.tag, str)]


def elements(node: etree._Element, xpath: str, **variables: str) -> list[etree._Element]:
    """The elements an XPath selects (lxml's xpath() is typed for any result)."""
    found = node.xpath(xpath, **variables)  # type: ignore[arg-type]  # the stubs know no XPath variables
    return [item for item in found if isinstance(item, etree._Element)] if isinstance(found, list) else []


def canonicalize(element: etree._Element) -> bytes:
    """Exclusive C14N 1.0 without comments, the only canonicalization EFDX allows."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def canonicalize_inclusive(element: etree._Element) -> bytes:
    """Inclusive C14N 1.0 (in-scope namespaces of the ancestors included): what EFDX refuses."""
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)


def without_signature(element: etree._Element) -> etree._Element:
    """A copy of ``element`` minus its own ds:Signature children: the enveloped-signature transform."""
    clone = etree.fromstring(etree.tostring(element, with_tail=False))
    for signature in clone.findall(f"{DS}Signature"):
        remove_keeping_tail(signature)
    return clone


def remove_keeping_tail(element: etree._Element) -> None:
    """Remove an element but keep the text that follows it, as the XPath data model does."""
    parent, tail = element.getparent(), element.tail
    if parent is None:
        raise ValueError("the root element cannot be removed")
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
