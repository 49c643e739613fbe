"""The RCPX 1.0 XML schemas (schemas/rcpx): they compile offline under lxml (libxml2) and xmlschema,
accept the sample RCEP CO (signed and unsigned) and every template, and refuse what RCPX section 2
calls a schema error."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree

from conformance.core.safexml import hardened_parser
from conformance.core.signing import sign_envelope, sign_enveloped
from conformance.profiles.rcpx import messages
from conformance.profiles.rcpx.codes import CO_NS, ENVELOPE_NS, PARTIES, PAYLOAD_FOR_ACTION
from conformance.profiles.rcpx.pki import TestPki

SCHEMAS = Path(str(files("conformance.schemas"))) / "rcpx"
DAY = date(2026, 11, 26)
MOMENT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
C = {"c": CO_NS}


class Engines:
    """One schema compiled by both engines, from the package data, with no network."""

    def __init__(self, name: str) -> None:
        self.lxml = etree.XMLSchema(etree.parse(str(SCHEMAS / name), hardened_parser()))
        self.xs = xmlschema.XMLSchema(str(SCHEMAS / name), allow="local")

    def assert_valid(self, element: etree._Element) -> None:
        assert self.lxml.validate(element), str(self.lxml.error_log)
        errors = list(self.xs.iter_errors(element))
        assert not errors, errors[0]

    def assert_invalid(self, element: etree._Element) -> None:
        assert not self.lxml.validate(element)
        assert not self.xs.is_valid(element)


@pytest.fixture(scope="module")
def co_schema() -> Engines:
    return Engines("co.xsd")


@pytest.fixture(scope="module")
def envelope_schema() -> Engines:
    return Engines("envelope.xsd")


def sample(**changes: Any) -> dict[str, Any]:
    return messages.sample_certificate(issue_date=DAY) | changes


# --- the files ------------------------------------------------------------------------------------------


def test_each_folder_is_self_contained() -> None:
    assert {p.name for p in SCHEMAS.glob("*.xsd")} == {
        "envelope.xsd",
        "co.xsd",
        "codelists.xsd",
        "xmldsig-core-schema.xsd",
    }
    efdx = SCHEMAS.parent / "efdx" / "xmldsig-core-schema.xsd"
    assert (SCHEMAS / "xmldsig-core-schema.xsd").read_bytes() == efdx.read_bytes()


def test_namespaces_and_the_party_list() -> None:
    assert etree.parse(str(SCHEMAS / "co.xsd")).getroot().get("targetNamespace") == CO_NS
    assert etree.parse(str(SCHEMAS / "envelope.xsd")).getroot().get("targetNamespace") == ENVELOPE_NS
    codelists = etree.parse(str(SCHEMAS / "codelists.xsd"))
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    parties = codelists.xpath("//xs:simpleType[@name='PartyCode']//xs:enumeration/@value", namespaces=xs)
    assert tuple(parties) == PARTIES


# --- what must be valid -----------------------------------------------------------------------------------


def test_the_sample_co_is_valid(co_schema: Engines) -> None:
    co_schema.assert_valid(messages.certificate(sample()))


def test_the_signed_sample_co_is_valid(co_schema: Engines) -> None:
    co = messages.certificate(sample())
    sign_enveloped(co, TestPki.load().authority("JP"))
    assert co[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    co_schema.assert_valid(co)


def test_every_optional_block_of_the_co_is_valid(co_schema: Engines) -> None:
    data = sample(
        producer=None,
        third_party_invoice={"issuer_name": "Pacific Trade Services Ltd", "issuer_country": "HK"},
        original_proof={
            "reference_number": "KR-1",
            "issuing_country": "KR",
            "issue_date": "2026-11-01",
            "origin": "KR",
        },
        replaces="CO-0000",
    )
    data["transport"]["vessel_or_flight"] = None
    data["items"][0]["marks"] = None
    co_schema.assert_valid(messages.certificate(data))


def _payload_data() -> dict[str, dict[str, Any]]:
    common = {"reference_number": "CO-0001", "issuing_country": "JP"}
    return {
        "RCEPCertificateOfOrigin": sample(),
        "Cancellation": common | {"cancel_date": "2026-11-26", "reason": "Withdrawn by the exporter"},
        "StatusNotification": common
        | {
            "status": "REJECTED",
            "status_date": "2026-11-26",
            "reasons": [{"code": "RBR-03", "text": "Item 2: CTC without CTCLevel"}],
            "declaration_reference": None,
        },
        "VerificationRequest": common
        | {"request_date": "2026-11-26", "reply_by": "2026-12-26", "reason": "Random check"},
        "VerificationResponse": common | {"outcome": "CONFIRMED", "findings": "Origin confirmed"},
        "Ping": {},
    }


@pytest.mark.parametrize("action", list(PAYLOAD_FOR_ACTION))
def test_every_payload_template_is_valid_and_travels_in_a_valid_envelope(
    action: str, co_schema: Engines, envelope_schema: Engines
) -> None:
    payload = messages.payload(action, _payload_data()[PAYLOAD_FOR_ACTION[action]])
    co_schema.assert_valid(payload)
    fields = messages.EnvelopeFields(
        action=action,
        sender="JP",
        receiver="AU",
        message_id=messages.message_id("JP", seed=action),
        conversation_id=messages.conversation_id("JP", "CO-0001"),
        timestamp=MOMENT,
        ref_to_message_id=None if action in ("IssueCO", "Ping") else messages.message_id("AU", seed="x"),
    )
    envelope = messages.envelope(fields, payload)
    sign_envelope(envelope, TestPki.load().nsw("JP"))
    envelope_schema.assert_valid(envelope)
    assert fields.message_id.endswith("@jp.rcpx")


def test_receipt_and_error_templates_are_valid(envelope_schema: Engines) -> None:
    base = {"id": "signal", "profile_version": "1.0", "sender": "AU", "timestamp": "2026-11-26T09:30:00Z"}
    receipt = messages.render(
        "Receipt",
        base
        | {
            "ref_to_message_id": "m@jp.rcpx",
            "receiver": "JP",
            "duplicate": False,
            "received_digests": ["AAAA", "BBBB"],
        },
    )
    error = messages.render(
        "Error",
        base
        | {
            "ref_to_message_id": "m@jp.rcpx",
            "receiver": "JP",
            "faults": [
                {"code": "RCPX-M06", "severity": "error", "description": "digest", "location": "/Envelope"}
            ],
        },
    )
    for signal in (receipt, error):
        sign_enveloped(signal, TestPki.load().nsw("AU"))
        envelope_schema.assert_valid(signal)


# --- what must be refused ---------------------------------------------------------------------------------


def _set(path: str, value: str) -> Callable[[etree._Element], None]:
    def change(co: etree._Element) -> None:
        (node,) = co.xpath(path, namespaces=C)
        node.text = value

    return change


def _remove(path: str) -> Callable[[etree._Element], None]:
    def change(co: etree._Element) -> None:
        for node in co.xpath(path, namespaces=C):
            node.getparent().remove(node)

    return change


def _duplicate(path: str) -> Callable[[etree._Element], None]:
    def change(co: etree._Element) -> None:
        (node,) = co.xpath(path, namespaces=C)
        node.addnext(copy.deepcopy(node))

    return change


BROKEN: dict[str, Callable[[etree._Element], None]] = {
    "hs-code-5-digits": _set("c:Item[1]/c:HSCode", "03072"),
    "hs-code-7-digits": _set("c:Item[1]/c:HSCode", "0307220"),
    "hs-code-letters": _set("c:Item[1]/c:HSCode", "03072A"),
    "missing-certification": _remove("c:Certification"),
    "missing-remarks": _remove("c:Remarks"),
    "missing-exporter-declaration": _remove("c:ExporterDeclaration"),
    "missing-importer": _remove("c:Importer"),
    "no-item": _remove("c:Item"),
    "two-exporters": _duplicate("c:Exporter"),
    "issuing-country-not-a-party": _set("c:IssuingCountry", "US"),
    "exporter-country-not-a-party": _set("c:Exporter/c:Country", "TL"),
    "importer-country-lowercase": _set("c:Importer/c:Country", "au"),
    "unknown-criterion": _set("c:Item[1]/c:OriginCriterion/c:Code", "CTH"),
    "unknown-ctc-level": _set("c:Item[2]/c:OriginCriterion/c:CTCLevel", "CTI"),
    "unknown-transport-mode": _set("c:Transport/c:Mode", "PIPELINE"),
    "port-not-un-locode": _set("c:Transport/c:PortOfDischarge", "Sydney"),
    "percent-over-100": _set("c:Item[3]/c:OriginCriterion/c:Percent", "100.01"),
    "percent-3-decimals": _set("c:Item[3]/c:OriginCriterion/c:Percent", "45.001"),
    "remark-not-boolean": _set("c:Remarks/c:BackToBack", "yes"),
    "reference-over-35": _set("c:ReferenceNumber", "X" * 36),
    "origin-not-iso-shape": _set("c:Item[1]/c:RCEPCountryOfOrigin", "JPN"),
    "missing-id": lambda co: co.attrib.pop("Id"),
    "declaration-after-certification": lambda co: co.find("c:Certification", C).addnext(
        co.find("c:ExporterDeclaration", C)
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_cos_are_refused(name: str, co_schema: Engines) -> None:
    co = messages.certificate(sample())
    BROKEN[name](co)
    co_schema.assert_invalid(co)


def test_an_rbr_rule_is_not_a_schema_error(co_schema: Engines) -> None:
    """A non-party origin (RBR-05), a chapter 77 HSCode (RBR-13), a CTC without level (RBR-03):
    schema-valid, judged by the rules as REJECTED reasons."""
    data = sample()
    data["items"][0].update(origin="US", hs_code="770100")
    data["items"][1].update(ctc_level=None)
    co_schema.assert_valid(messages.certificate(data))


def test_efdx_error_and_reason_codes_are_refused(envelope_schema: Engines, co_schema: Engines) -> None:
    error = messages.render(
        "Error",
        {
            "id": "e",
            "profile_version": "1.0",
            "ref_to_message_id": None,
            "sender": "AU",
            "receiver": None,
            "timestamp": "2026-11-26T09:30:00Z",
            "faults": [{"code": "EFDX-M06", "severity": "error", "description": "d", "location": None}],
        },
    )
    envelope_schema.assert_invalid(error)
    status = _payload_data()["StatusNotification"] | {"reasons": [{"code": "BR-03", "text": "t"}]}
    co_schema.assert_invalid(messages.payload("StatusNotification", status))
