"""Parse XML that came from outside: size-capped, UTF-8 only, no DOCTYPE, no entities, no network.

Every byte the harness or the reference NSW receives goes through :func:`parse_untrusted` before
anything else looks at it. A DOCTYPE is refused before the parser runs (M-02), so no entity, local
file or URL is ever resolved; the parser is hardened as well, as a second line.
"""

from __future__ import annotations

import re

from lxml import etree

from conformance.profile.codes import MAX_BODY_BYTES
from conformance.violations import Violation
from conformance.xmldsig import remove_keeping_tail

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    # Exclusive C14N without comments ignores comments, so a comment inside signed text would split
    # what lxml reads (element.text stops at it) from what was signed. Dropping comments at parse time
    # makes the two the same. Processing instructions are dropped too: C14N covers them, so one added
    # after signing is simply gone, and one that was signed makes the digest fail (M-06). Either way
    # what is read is what was canonicalized.
    remove_comments=True,
    remove_pis=True,
)
_XML_DECL = re.compile(rb"^<\?xml\s[^?]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Prolog items that may stand before the root element: comments, processing instructions, space.
_PROLOG_ITEM = re.compile(rb"\s+|<!--.*?-->|<\?.*?\?>", re.S)


def hardened_parser() -> etree.XMLParser:
    """A parser that never resolves entities, loads DTDs or touches the network."""
    return etree.XMLParser(**_PARSER_OPTIONS)


def _refuse_non_utf8(body: bytes, skip: frozenset[str]) -> bytes:
    """The body if it is UTF-8; M-01 otherwise. (``skip``: the reference NSW's seeded faults only.)"""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        raise Violation("M-01", "a UTF-8 body (section 2)", "a UTF-16 or UTF-32 byte order or NUL bytes")
    declared = _XML_DECL.match(body)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        if "M-01/declared-encoding" in skip:
            return body  # the parser then honours the declared encoding
        raise Violation(
            "M-01",
            "a UTF-8 body whose XML declaration, if any, says UTF-8",
            f"encoding declared as {declared.group(1).decode('ascii')!r}",
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if "M-01/invalid-utf8" in skip:
            return body.decode("latin-1").encode("utf-8")
        raise Violation("M-01", "a UTF-8 body", f"bytes that are not UTF-8 at offset {exc.start}") from None
    return body


def _doctype_allowed(doctype: bytes, skip: frozenset[str]) -> bool:
    """Only the reference NSW's seeded faults let a DOCTYPE through, each a different one."""
    external = b"SYSTEM" in doctype or b"PUBLIC" in doctype
    entities = b"<!ENTITY" in doctype
    return (
        "M-02/doctype" in skip
        or ("M-02/doctype-without-entities" in skip and not entities)
        or ("M-02/external-entity" in skip and external)
        or ("M-02/internal-entities" in skip and entities and not external)
    )


def _refuse_doctype(body: bytes, skip: frozenset[str] = frozenset()) -> bool:
    """Walk the prolog (declaration, comments, PIs) and refuse a DOCTYPE before the root element.

    Returns whether a DOCTYPE was let through (only ever by a seeded fault)."""
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
    if _doctype_allowed(body[position : position + 4096], skip):
        return True
    raise Violation("M-02", "no DOCTYPE (so no entity declarations)", "a DOCTYPE in the prolog")


def parse_untrusted(
    body: bytes, *, max_bytes: int = MAX_BODY_BYTES, skip: frozenset[str] = frozenset()
) -> etree._Element:
    """Return the root element of ``body`` or raise a Violation (T-04, M-01 or M-02).

    ``skip`` holds the test purposes (``M-02/doctype`` ...) of the reference NSW's seeded faults, and
    is empty everywhere else; even then no entity is expanded and nothing outside the body is read.
    """
    if len(body) > max_bytes and "T-04/over-5-mib" not in skip:
        raise Violation("T-04", f"a body of at most {max_bytes} bytes", f"{len(body)} bytes")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        raise Violation("M-01", "one well-formed XML document", "an empty body")
    body = _refuse_non_utf8(body, skip)
    if "M-02/before-parsing" in skip:  # parses first: a DOCTYPE before a broken body is then M-01
        _parse(body)
    allow_doctype = _refuse_doctype(body, skip)
    root = _parse(body, recover="M-01/well-formed" in skip)
    tree = root.getroottree()
    if not allow_doctype and (tree.docinfo.doctype or tree.docinfo.internalDTD is not None):
        raise Violation("M-02", "no DOCTYPE", "a DOCTYPE")  # defence in depth: the scan above missed it
    for entity in list(root.iter(etree.Entity)):  # only with allow_doctype: unexpanded references; drop
        remove_keeping_tail(entity)
    return root


def _parse(body: bytes, recover: bool = False) -> etree._Element:
    """Parse hardened; ``recover`` (a seeded fault of the reference NSW) mends broken XML."""
    parser = etree.XMLParser(**_PARSER_OPTIONS, recover=True) if recover else hardened_parser()
    try:
        root = etree.fromstring(body, parser=parser)
        if root is None:
            raise etree.XMLSyntaxError("nothing to recover", None, 0, 0)
        return root
    except etree.XMLSyntaxError as exc:
        raise Violation("M-01", "one well-formed XML document", f"not well-formed: {exc}") from None
