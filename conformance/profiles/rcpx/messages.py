"""Build RCPX messages from the pack's templates, data and a clock.

Templates (jinja2, autoescaped) hold the shape; callers hand in plain data. ``sample_certificate``
gives a complete RCEP Certificate of Origin (Japan to Australia by default) that satisfies every RBR
rule when received on its issue date; tests and vectors change one field at a time. Message ids and
times derive from what the caller passes, so a fixed seed and clock give byte-identical output.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conformance.family.messages import EnvelopeFields as EnvelopeFields
from conformance.family.messages import PackMessages, renderer
from conformance.family.messages import conversation_id as conversation_id
from conformance.family.messages import serialize as serialize
from conformance.family.messages import utc_timestamp as utc_timestamp
from conformance.profiles.rcpx.codes import (
    MESSAGE_ID_DOMAIN,
    PAYLOAD_FOR_ACTION,
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

render = renderer("conformance.profiles.rcpx")
_messages = PackMessages(render, "RCEPCertificateOfOrigin", PAYLOAD_FOR_ACTION, MESSAGE_ID_DOMAIN)
message_id = _messages.message_id
certificate = _messages.certificate
payload = _messages.payload
envelope = _messages.envelope


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
