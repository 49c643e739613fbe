"""Hostile variants of signed messages: signature wrapping, tampering and XML-level attacks.

Each function takes a signed Envelope (or its bytes) and returns the attack, leaving the input
alone. The wrapping variants hide the signed element inside the Signature's ds:Object, where the
envelope schema lets it pass (lax content), so that only the signature checks (M-07) can catch them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from conformance.core import xmldsig as ds
from conformance.family.nodes import required, text_of


def _hide_in_object(envelope: etree._Element, original: etree._Element) -> None:
    signature = required(envelope, f"{ds.DS}Signature")
    holder = etree.SubElement(signature, f"{ds.DS}Object")
    holder.append(copy.deepcopy(original))


def wrap(
    envelope: etree._Element, part: str, evil_id: str, change: Callable[[etree._Element], None]
) -> etree._Element:
    """Move the signed ``part`` (Header or Payload) into ds:Object; put a changed copy in its place.

    ``evil_id`` is the Id the processed look-alike carries: the original Id gives duplicate Ids, a
    new one leaves the signature's Reference pointing at the hidden element.
    """
    attacked = copy.deepcopy(envelope)
    namespace = etree.QName(attacked).namespace  # the envelope's own
    original = required(attacked, f"{{{namespace}}}{part}")
    _hide_in_object(attacked, original)
    original.set("Id", evil_id)
    change(original)
    return attacked


def set_text(element: etree._Element, path: str, value: str) -> None:
    required(element, path).text = value


def flip_signature_value(envelope: etree._Element) -> etree._Element:
    """Change one base64 character of the SignatureValue (still decodes, no longer verifies)."""
    attacked = copy.deepcopy(envelope)
    value = required(attacked, f"{ds.DS}Signature/{ds.DS}SignatureValue")
    text = text_of(value)
    value.text = ("B" if text[10] == "A" else "A").join((text[:10], text[11:]))
    return attacked


def external_entity(serialized: bytes, path: str = "/etc/passwd") -> bytes:
    """XXE: a DOCTYPE whose external entity reads a local file into the MessageId."""
    doctype = f'<!DOCTYPE Envelope [<!ENTITY leak SYSTEM "file://{path}">]>\n'.encode()
    body = _after_declaration(serialized, doctype)
    return body.replace(b"<MessageId>", b"<MessageId>&leak;", 1)


def entity_bomb(serialized: bytes, depth: int = 10) -> bytes:
    """Billion laughs: ten levels of ten references each, used in the MessageId."""
    lines = ['<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, depth)]
    doctype = ("<!DOCTYPE Envelope [\n" + "\n".join(lines) + "\n]>\n").encode()
    body = _after_declaration(serialized, doctype)
    return body.replace(b"<MessageId>", f"<MessageId>&lol{depth - 1};".encode(), 1)


def _after_declaration(serialized: bytes, insert: bytes) -> bytes:
    end = serialized.index(b"?>") + 2 if serialized.startswith(b"<?xml") else 0
    return serialized[:end] + b"\n" + insert + serialized[end:].lstrip()


def declare_latin1(serialized: bytes) -> bytes:
    """The document re-encoded in ISO-8859-1 under a declaration saying so: consistent, not UTF-8.

    Read by its declaration it says exactly what was signed, so only the encoding rule (M-01) is broken.
    """
    text = serialized.decode("utf-8").replace("encoding='UTF-8'", "encoding='ISO-8859-1'", 1)
    return text.encode("iso-8859-1")


def latin1_bytes(serialized: bytes) -> bytes:
    """The document re-encoded in ISO-8859-1, its declaration still saying UTF-8: bytes that are not UTF-8."""
    return serialized.decode("utf-8").encode("iso-8859-1")


def doctype(serialized: bytes, declaration: str) -> bytes:
    """A DOCTYPE (with no entity, or none referenced) before the root element; nothing else changes."""
    return _after_declaration(serialized, declaration.encode() + b"\n")


def truncate(serialized: bytes) -> bytes:
    """Cut the document off mid-element: not well-formed."""
    return serialized[: len(serialized) * 2 // 3]


def pad_to(serialized: bytes, size: int) -> bytes:
    """Append a comment so the body is exactly ``size`` bytes (still well-formed, signature intact)."""
    filler = size - len(serialized) - len(b"\n<!---->\n")
    if filler < 0:
        raise ValueError(f"the body is already {len(serialized)} bytes, over {size}")
    return serialized + b"\n<!--" + b"x" * filler + b"-->\n"


def pad_over(serialized: bytes, size: int) -> bytes:
    """Append a comment so the body exceeds ``size`` bytes (still well-formed)."""
    filler = size - len(serialized) + 1024
    return serialized + b"\n<!--" + b"x" * filler + b"-->\n"
