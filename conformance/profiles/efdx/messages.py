"""Build EFDX messages from the profile's templates, data and a clock.

Templates (jinja2, autoescaped) hold the shape; callers hand in plain data. Sample data gives a
complete, rule-abiding e-Form D that tests and vectors change one field at a time. Message ids and
times derive from what the caller passes, so a fixed seed and clock give byte-identical output.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import jinja2
from lxml import etree

from conformance.profiles.efdx.codes import PAYLOAD_FOR_ACTION, PROFILE_VERSION

FLAG_ORDER = (
    "ThirdCountryInvoicing",
    "Exhibition",
    "Accumulation",
    "DeMinimis",
    "BackToBack",
    "IssuedRetroactively",
    "PartialCumulation",
)


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


render = renderer("conformance.profiles.efdx")


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message_id(party: str, seed: str | None = None, domain: str = "efdx") -> str:
    """``<uuid>@<party>.efdx`` (``.rcpx`` ...); deterministic when a seed is given."""
    value = uuid.uuid5(uuid.NAMESPACE_URL, seed) if seed is not None else uuid.uuid4()
    return f"{value}@{party.lower()}.{domain}"


def conversation_id(issuing_country: str, reference_number: str) -> str:
    return f"{issuing_country}:{reference_number}"


def sample_certificate(
    *,
    issuing_country: str,
    importing_country: str,
    issue_date: date,
    reference_number: str = "CO-0001",
    element_id: str = "co",
) -> dict[str, Any]:
    """A complete e-Form D that satisfies every business rule when received on ``issue_date``."""
    departure = issue_date - timedelta(days=2)
    return {
        "id": element_id,
        "reference_number": reference_number,
        "issuing_country": issuing_country,
        "issue_date": issue_date.isoformat(),
        "exporter": {
            "name": "Mekong Rice Export Co., Ltd.",
            "address": "12 Harbour Road",
            "country": issuing_country,
        },
        "consignee": {
            "name": "Angkor Foods Import",
            "address": "45 Preah Norodom Blvd",
            "country": importing_country,
        },
        "transport": {
            "departure_date": departure.isoformat(),
            "mode": "SEA",
            "vessel_or_flight": "MV ASEAN STAR 042",
            "port_of_loading": f"{issuing_country}SIN"
            if issuing_country == "SG"
            else f"{issuing_country}AAA",
            "port_of_discharge": "KHPNH",
        },
        "items": [
            {
                "number": 1,
                "marks": "ASR/001-100",
                "package_count": 100,
                "package_type": "BG",
                "description": "Thai Hom Mali rice, milled, 50 kg bags",
                "hs_code": "100630",
                "criterion": "WO",
                "percent": None,
                "quantity": "5000.00",
                "unit": "KGM",
                "fob_value": None,
                "currency": "USD",
            },
            {
                "number": 2,
                "marks": "ASR/101-120",
                "package_count": 20,
                "package_type": "CT",
                "description": "Instant noodles, cartons of 30 packs",
                "hs_code": "190230",
                "criterion": "RVC",
                "percent": "45.00",
                "quantity": "400.00",
                "unit": "KGM",
                "fob_value": "1250.00",
                "currency": "USD",
            },
        ],
        "invoices": [{"number": "INV-2026-0042", "date": departure.isoformat()}],
        "third_country_invoice": None,
        "declaration": {
            "producing_country": issuing_country,
            "importing_country": importing_country,
            "place": "Harbour City",
            "date": departure.isoformat(),
            "signatory": "Lim Wei Ling",
        },
        "certification": {
            "authority": f"EFDX TEST ONLY {issuing_country} Issuing Authority",
            "place": "Harbour City",
            "date": issue_date.isoformat(),
            "officer": "Tan Ah Kow",
        },
        "flags": dict.fromkeys(FLAG_ORDER, False),
        "flag_order": FLAG_ORDER,
        "original_co": None,
        "exhibition": None,
        "replaces": None,
    }


def certificate(data: Mapping[str, Any]) -> etree._Element:
    return render("CertificateOfOrigin", data)


def payload(action: str, data: Mapping[str, Any]) -> etree._Element:
    """The Payload child for ``action`` (a CO for IssueCO and ReplaceCO)."""
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


def envelope(
    fields: EnvelopeFields, payload_element: etree._Element, render: Callable[..., etree._Element] = render
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
