"""Build EFDX messages from the profile's templates, data and a clock.

Templates (jinja2, autoescaped) hold the shape; callers hand in plain data. Sample data gives a
complete, rule-abiding e-Form D that tests and vectors change one field at a time. Message ids and
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
from conformance.profiles.efdx.codes import MESSAGE_ID_DOMAIN, PAYLOAD_FOR_ACTION

FLAG_ORDER = (
    "ThirdCountryInvoicing",
    "Exhibition",
    "Accumulation",
    "DeMinimis",
    "BackToBack",
    "IssuedRetroactively",
    "PartialCumulation",
)


render = renderer("conformance.profiles.efdx")
_messages = PackMessages(render, "CertificateOfOrigin", PAYLOAD_FOR_ACTION, MESSAGE_ID_DOMAIN)
message_id = _messages.message_id
certificate = _messages.certificate
payload = _messages.payload
envelope = _messages.envelope


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
