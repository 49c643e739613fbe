"""Parse XML that came from outside: size-capped, UTF-8 only, no DOCTYPE, no entities, no network.

Every byte the harness or the reference NSW receives goes through :func:`parse_untrusted` before
anything else looks at it. A DOCTYPE is refused before the parser runs (M-02), so no entity, local
file or URL is ever resolved; the parser is hardened as well, as a second line.
"""

from __future__ import annotations

import re

from lxml import etree

from conformance.core.checks import Check, Checks
from conformance.core.policy import MAX_BODY_BYTES, STRICT, Policy
from conformance.core.violations import Violation
from conformance.core.xmldsig import remove_keeping_tail

_XML_DECL = re.compile(rb"^<\?xml\s[^?]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Prolog items that may stand before the root element: comments, processing instructions, space.
_PROLOG_ITEM = re.compile(rb"\s+|<!--.*?-->|<\?.*?\?>", re.S)


def hardened_parser(recover: bool = False) -> etree.XMLParser:
    """A parser that never resolves entities, loads DTDs or touches the network.

    Exclusive C14N without comments ignores comments, so a comment inside signed text would split
    what lxml reads (element.text stops at it) from what was signed. Dropping comments at parse time
    makes the two the same. Processing instructions are dropped too: C14N covers them, so one added
    after signing is simply gone, and one that was signed makes the digest fail (M-06). Either way
    what is read is what was canonicalized. ``recover`` (never the spec's check) mends broken XML.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def _refuse_non_utf8(body: bytes, policy: Policy, checks: Checks) -> bytes:
    """The body if it is UTF-8 (or what the checks read it as); M-01 otherwise."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        raise Violation("M-01", "a UTF-8 body (section 2)", "a UTF-16 or UTF-32 byte order or NUL bytes")
    declared = _XML_DECL.match(body)
    if (
        declared
        and policy.encodings is not None
        and declared.group(1).lower().decode() not in policy.encodings
    ):
        raise Violation(
            "M-01",
            "a UTF-8 body whose XML declaration, if any, says UTF-8",
            f"encoding declared as {declared.group(1).decode('ascii')!r}",
        )
    if declared and policy.encodings is None:
        return body  # the parser honours the declared encoding
    return checks["xml.utf-8"](body)


def utf8_only(body: bytes) -> bytes:
    """M-01 (section 2): a body that is not UTF-8 is refused."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Violation("M-01", "a UTF-8 body", f"bytes that are not UTF-8 at offset {exc.start}") from None
    return body


def no_doctype(body: bytes, doctype: bytes) -> bool:
    """M-02 (section 7): any DOCTYPE is refused; True would let this one through."""
    return False


def well_formed(body: bytes) -> etree._Element:
    """M-01: one well-formed XML document, read by the hardened parser."""
    try:
        root = etree.fromstring(body, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise Violation("M-01", "one well-formed XML document", f"not well-formed: {exc}") from None
    if root is None:  # lxml's way of saying there is no document
        raise Violation("M-01", "one well-formed XML document", "nothing could be read")
    return root


CHECKS = (
    Check("xml.utf-8", "M-01", utf8_only),
    Check("xml.doctype", "M-02", no_doctype),
    Check("xml.well-formed", "M-01", well_formed),
)
SPEC_CHECKS = Checks.of(CHECKS)


def _refuse_doctype(body: bytes, checks: Checks) -> bool:
    """Walk the prolog (declaration, comments, PIs) and refuse a DOCTYPE before the root element.

    Returns whether the checks let a DOCTYPE through (the spec's never do)."""
    position = 0
    if body.startswith(b"<?xml"):
        end = body.find(b"?>")
        position = len(body) if end < 0 else end + 2
    while True:
        item = _PROLOG_ITEM.match(body, position)
        if not item:
            break
        position = item.end()
    if not body.startswith(b"<!DOCTYPE", position):
        return False
    if checks["xml.doctype"](body, body[position : position + 4096]):
        return True
    raise Violation("M-02", "no DOCTYPE (so no entity declarations)", "a DOCTYPE in the prolog")


def parse_untrusted(
    body: bytes,
    *,
    max_bytes: int | None = MAX_BODY_BYTES,
    policy: Policy = STRICT,
    checks: Checks | None = None,
) -> etree._Element:
    """Return the root element of ``body`` or raise a Violation (T-04, M-01 or M-02).

    ``policy`` and ``checks`` are the spec's wherever candidates are judged; even the reference
    NSW's seeded faults expand no entity and read nothing outside the body.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise Violation("T-04", f"a body of at most {max_bytes} bytes", f"{len(body)} bytes")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        raise Violation("M-01", "one well-formed XML document", "an empty body")
    checks = checks or SPEC_CHECKS
    body = _refuse_non_utf8(body, policy, checks)
    allow_doctype = _refuse_doctype(body, checks)
    root: etree._Element = checks["xml.well-formed"](body)
    tree = root.getroottree()
    doctype = tree.docinfo.doctype  # type: ignore[attr-defined]  # lxml-stubs lack DocInfo.doctype
    if not allow_doctype and (doctype or tree.docinfo.internalDTD is not None):
        raise Violation("M-02", "no DOCTYPE", "a DOCTYPE")  # defence in depth: the scan above missed it
    for entity in list(root.iter(etree.Entity)):  # only when a DOCTYPE was let in: unexpanded; drop
        remove_keeping_tail(entity)
    return root
