"""What every pack of the family builds its messages with: a renderer of the pack's templates, the
Envelope's Header fields, the envelope around a payload, MessageIds, timestamps and the bytes that
travel. A pack's own messages module (its ``render``, sample CO, payloads) is given to the shared
code through its Dialect.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2
from lxml import etree

PROFILE_VERSION = "1.0"


def renderer(package: str) -> Callable[[str, Mapping[str, Any]], etree._Element]:
    """The ``render`` of a pack whose templates are in ``<package>/templates`` (every pack of the
    family builds its messages this way; only the templates differ)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files(package) / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )

    def render(template: str, data: Mapping[str, Any]) -> etree._Element:
        """Render ``<template>.xml.j2`` with ``data``; parse it (our own text: the plain parser is fine)."""
        text = environment.get_template(f"{template}.xml.j2").render(**data)
        return etree.fromstring(text.encode("utf-8"))

    return render


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message_id(party: str, seed: str | None, domain: str) -> str:
    """``<uuid>@<party>.efdx`` (``.rcpx`` ...); deterministic when a seed is given."""
    value = uuid.uuid5(uuid.NAMESPACE_URL, seed) if seed is not None else uuid.uuid4()
    return f"{value}@{party.lower()}.{domain}"


def conversation_id(issuing_country: str, reference_number: str) -> str:
    return f"{issuing_country}:{reference_number}"


@dataclass
class EnvelopeFields:
    """The Header of an Envelope, plus the Ids used for the signature References."""

    action: str
    sender: str
    receiver: str
    message_id: str
    conversation_id: str
    timestamp: datetime
    ref_to_message_id: str | None = None
    profile_version: str = PROFILE_VERSION  # every profile of the family is 1.0 so far
    header_id: str = "header"
    payload_id: str = "payload"


def envelope(
    fields: EnvelopeFields, payload_element: etree._Element, render: Callable[..., etree._Element]
) -> etree._Element:
    """An unsigned Envelope (the pack's ``render``'s template) holding a copy of ``payload_element``."""
    data = vars(fields) | {"timestamp": utc_timestamp(fields.timestamp)}
    root = render("envelope", data)
    holder = root[1]
    holder.text = "\n    "
    child = copy.deepcopy(payload_element)
    child.tail = "\n  "
    holder.append(child)
    return root


def serialize(root: etree._Element) -> bytes:
    """The bytes that travel: UTF-8 with an XML declaration, nothing reformatted after signing."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class PackMessages:
    """A pack's message builders, given its templates' package, its CO element and its names: the
    same three steps in every pack (render the CO, the payload an action carries, the envelope), so a
    pack's messages module binds these instead of writing them again."""

    render: Callable[[str, Mapping[str, Any]], etree._Element]
    co_element: str  # "CertificateOfOrigin", "RCEPCertificateOfOrigin"
    payload_for_action: Mapping[str, str]  # Action -> the Payload child's template
    domain: str  # MessageId domain: "efdx", "rcpx"

    def message_id(self, party: str, seed: str | None = None) -> str:
        """``<uuid>@<party>.<domain>``; deterministic when a seed is given."""
        return message_id(party, seed, self.domain)

    def certificate(self, data: Mapping[str, Any]) -> etree._Element:
        """The pack's CO element rendered from ``data``."""
        return self.render(self.co_element, data)

    def payload(self, action: str, data: Mapping[str, Any]) -> etree._Element:
        """The Payload child for ``action`` (a CO for IssueCO and ReplaceCO)."""
        return self.render(self.payload_for_action[action], data)

    def envelope(self, fields: EnvelopeFields, payload_element: etree._Element) -> etree._Element:
        """An unsigned Envelope in the pack's namespace holding a copy of ``payload_element``."""
        return envelope(fields, payload_element, self.render)
