"""Build RCPX messages from the pack's templates, data and a clock.

Templates (jinja2, autoescaped) hold the shape; callers hand in plain data. ``sample_certificate``
gives a complete RCEP Certificate of Origin (Japan to Australia by default) that satisfies every RBR
rule when received on its issue date; tests and vectors change one field at a time. Message ids and
times derive from what the caller passes, so a fixed seed and clock give byte-identical output.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import jinja2
from lxml import etree

from conformance.profiles.rcpx.codes import (
    MESSAGE_ID_DOMAIN,
    PAYLOAD_FOR_ACTION,
    PROFILE_VERSION,
    REMARK_ORDER,
)

TEMPLATES: tuple[str, ...] = (
    "envelope",
    "Receipt",
    "Error",
    "RCEPCertificateOfOrigin",
    "Cancellation",
    "StatusNotification",
    "VerificationRequest",
    "VerificationResponse",
    "Ping",
)

# A port of discharge (UN/LOCODE) in each party, so that a sample to any party names one of its ports.
PORTS: dict[str, str] = {
    "AU": "AUSYD",
    "BN": "BNMUA",
    "CN": "CNSHA",
    "ID": "IDTPP",
    "JP": "JPYOK",
    "KH": "KHPNH",
    "KR": "KRPUS",
    "LA": "LAVTE",
    "MM": "MMRGN",
    "MY": "MYPKG",
    "NZ": "NZAKL",
    "PH": "PHMNL",
    "SG": "SGSIN",
    "TH": "THLCH",
    "VN": "VNSGN",
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.profiles.rcpx") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)


def render(template: str, data: Mapping[str, Any]) -> etree._Element:
    """Render ``<template>.xml.j2`` with ``data`` and parse it (our own text: the plain parser is fine)."""
    text = _environment.get_template(f"{template}.xml.j2").render(**data)
    return etree.fromstring(text.encode("utf-8"))


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message_id(party: str, seed: str | None = None) -> str:
    """``<uuid>@<party>.rcpx``; deterministic when a seed is given."""
    value = uuid.uuid5(uuid.NAMESPACE_URL, seed) if seed is not None else uuid.uuid4()
    return f"{value}@{party.lower()}.{MESSAGE_ID_DOMAIN}"


def conversation_id(issuing_country: str, reference_number: str) -> str:
    return f"{issuing_country}:{reference_number}"


def sample_item(
    number: int,
    *,
    origin: str,
    invoice_date: date,
    criterion: str = "WO",
    ctc_level: str | None = None,
    percent: str | None = None,
    fob_value: str | None = None,
    hs_code: str = "030722",
    description: str = "Scallops, frozen, in cartons of 10 kg",
) -> dict[str, Any]:
    """One Item as template data; the defaults are a wholly obtained (WO) good."""
    return {
        "number": number,
        "package_count": 40,
        "package_type": "CT",
        "description": description,
        "marks": f"RCPX/{number:03d}",
        "hs_code": hs_code,
        "criterion": criterion,
        "ctc_level": ctc_level,
        "percent": percent,
        "origin": origin,
        "quantity": "400.00",
        "unit": "KGM",
        "fob_value": fob_value,
        "currency": "USD",
        "invoice_number": "INV-2026-0815",
        "invoice_date": invoice_date.isoformat(),
    }


def sample_certificate(
    *,
    issuing_country: str = "JP",
    importing_country: str = "AU",
    issue_date: date,
    reference_number: str = "CO-0001",
    element_id: str = "co",
) -> dict[str, Any]:
    """A complete RCEP CO that satisfies every RBR rule when received on ``issue_date`` from
    ``issuing_country`` by ``importing_country``: departure 2 days before issue (not retroactive),
    three Items (WO; CTC with CTCLevel CTH; RVC 45.00 with its FOBValue), each of RCEP origin in the
    IssuingCountry, a Producer, no third-party invoice, not back-to-back."""
    departure = issue_date - timedelta(days=2)
    invoiced = departure - timedelta(days=1)
    items = [
        sample_item(1, origin=issuing_country, invoice_date=invoiced),
        sample_item(
            2,
            origin=issuing_country,
            invoice_date=invoiced,
            criterion="CTC",
            ctc_level="CTH",
            hs_code="210310",
            description="Soy sauce, bottles of 1 l in cartons of 12",
        ),
        sample_item(
            3,
            origin=issuing_country,
            invoice_date=invoiced,
            criterion="RVC",
            percent="45.00",
            fob_value="18250.00",
            hs_code="401110",
            description="New pneumatic radial tyres for passenger cars",
        ),
    ]
    return {
        "id": element_id,
        "reference_number": reference_number,
        "issuing_country": issuing_country,
        "issue_date": issue_date.isoformat(),
        "exporter": {
            "name": "Seto Trading K.K.",
            "address": "3-1 Minato Mirai, Nishi-ku, Yokohama",
            "country": issuing_country,
        },
        "producer": {
            "name": "Hokkai Marine Products Co., Ltd.",
            "address": "12 Harbour Street, Hakodate",
            "country": issuing_country,
        },
        "importer": {
            "name": "Southern Cross Foods Pty Ltd",
            "address": "45 George Street, Sydney NSW 2000",
            "country": importing_country,
        },
        "transport": {
            "departure_date": departure.isoformat(),
            "mode": "SEA",
            "vessel_or_flight": "MV PACIFIC HARMONY 215",
            "port_of_discharge": PORTS.get(importing_country, f"{importing_country}AAA"),
        },
        "items": items,
        "third_party_invoice": None,
        "original_proof": None,
        "remarks": dict.fromkeys(REMARK_ORDER, False),
        "remark_order": REMARK_ORDER,
        "declaration": {
            "place": "Yokohama",
            "date": departure.isoformat(),
            "signatory": "Sato Hanako",
        },
        "certification": {
            "issuing_body": f"RCPX TEST ONLY {issuing_country} Issuing Body",
            "place": "Yokohama",
            "date": issue_date.isoformat(),
            "officer": "Suzuki Ichiro",
        },
        "replaces": None,
    }


def certificate(data: Mapping[str, Any]) -> etree._Element:
    return render("RCEPCertificateOfOrigin", data)


def payload(action: str, data: Mapping[str, Any]) -> etree._Element:
    """The Payload child for ``action`` (an RCEP CO for IssueCO and ReplaceCO)."""
    return render(PAYLOAD_FOR_ACTION[action], data)


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
    profile_version: str = PROFILE_VERSION
    header_id: str = "header"
    payload_id: str = "payload"


def envelope(fields: EnvelopeFields, payload_element: etree._Element) -> etree._Element:
    """An unsigned Envelope holding a copy of ``payload_element``."""
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
