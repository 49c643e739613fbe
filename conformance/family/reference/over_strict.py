"""Seeded faults of the other kind: a reference NSW too strict, refusing what sections 2-4 allow.

Each function is a refusal added after the payload schema check (``lax.refusing``): given the
Envelope, it returns the Violation the faulty receiver answers, or None, and refuses exactly one
kind of valid message, so that the vector showing that variant must be taken is proven able to
fail. Only the reference NSW's seeded faults reach this module; candidates are judged with the
spec's checks, which have none.
"""

from __future__ import annotations

import re

from lxml import etree

from conformance.core.violations import Violation

_CO_ROOTS = ("CertificateOfOrigin", "RCEPCertificateOfOrigin")


def _co(envelope: etree._Element) -> etree._Element | None:
    for name in _CO_ROOTS:
        found = envelope.find(f"{{*}}Payload/{{*}}{name}")
        if found is not None:
            return found
    return None


def zulu_only(envelope: etree._Element) -> Violation | None:
    """Refuses a Timestamp in UTC written ``+00:00``, as if only ``Z`` meant UTC."""
    timestamp = envelope.findtext("{*}Header/{*}Timestamp") or ""
    if not timestamp.endswith("Z"):
        return Violation("M-15", "a Timestamp ending in Z", timestamp)
    return None


def longest_message_id(envelope: etree._Element) -> Violation | None:
    """Refuses a MessageId of 255 characters, the maximum section 3.1 allows."""
    message_id = envelope.findtext("{*}Header/{*}MessageId") or ""
    if len(message_id) >= 255:
        return Violation("M-03", "a MessageId under 255 characters", f"{len(message_id)} characters")
    return None


_LIMITS = {"ReferenceNumber": 35, "Name": 256, "Address": 512, "Description": 2048}


def longest_co_texts(envelope: etree._Element) -> Violation | None:
    """Refuses a CO text at its maximum length (ReferenceNumber 35, names 256, addresses 512, free
    texts 2048), as if the limits were exclusive."""
    co = _co(envelope)
    for node in co.iter() if co is not None else ():
        if not isinstance(node.tag, str):
            continue
        limit = _LIMITS.get(etree.QName(node).localname)
        if limit is not None and len(node.text or "") >= limit:
            return Violation("M-04", f"a {etree.QName(node).localname} under {limit} characters", "at it")
    return None


_OPTIONAL = ("ThirdCountryInvoice", "OriginalCO", "ExhibitionDetails", "ThirdPartyInvoice", "OriginalProof")


def optional_co_elements(envelope: etree._Element) -> Violation | None:
    """Refuses a CO carrying an optional block (third-country invoice, original CO or proof,
    exhibition) or a FOBValue on an Item whose criterion needs none (WO)."""
    co = _co(envelope)
    if co is None:
        return None
    present = [name for name in _OPTIONAL if co.find(f"{{*}}{name}") is not None]
    for item in co.iterfind("{*}Item"):
        if item.findtext("{*}OriginCriterion/{*}Code") == "WO" and item.find("{*}FOBValue") is not None:
            present.append("FOBValue")
    if present:
        return Violation("M-04", "a CO without optional elements", f"{', '.join(present)} present")
    return None


def vessel_or_flight_required(envelope: etree._Element) -> Violation | None:
    """Refuses a CO without the optional Transport/VesselOrFlight."""
    co = _co(envelope)
    if co is not None and co.find("{*}Transport/{*}VesselOrFlight") is None:
        return Violation("M-04", "Transport/VesselOrFlight", "absent")
    return None


_REQUESTS = ("IssueCO", "ReplaceCO", "CancelCO", "VerificationRequest", "Ping")


def no_ref_on_requests(envelope: etree._Element) -> Violation | None:
    """Refuses a RefToMessageId on a message that answers nothing (an IssueCO, say)."""
    header = envelope.find("{*}Header")
    assert header is not None  # envelope.xsd requires it, and the Envelope passed it
    if header.findtext("{*}Action") in _REQUESTS and header.find("{*}RefToMessageId") is not None:
        return Violation("M-03", "no RefToMessageId on a request", "RefToMessageId present")
    return None


_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


def plain_ids(envelope: etree._Element) -> Violation | None:
    """Takes only letters and digits in the Header's, Payload's and CO's Id (not any NCName)."""
    nodes = [envelope.find("{*}Header"), envelope.find("{*}Payload"), _co(envelope)]
    for node in nodes:
        value = node.get("Id", "") if node is not None else ""
        if value and not _PLAIN_ID.match(value):
            return Violation("M-03", "an Id of letters and digits", repr(value))
    return None
