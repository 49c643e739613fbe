"""Properties over generated data: a valid CO survives the whole trip, and no signed character is free.

1. A CO built from random, business-rule-valid data (any printable Unicode in the texts, with the
   XML specials & < > " ' made frequent) is rendered, signed, put in a signed envelope, serialized,
   parsed back by the hardened parser: every value comes back as given, and a receiving NSW takes
   it and ACCEPTS it.
2. Exclusive C14N keeps text as it is, so changing any one character of any text node that a
   signature covers (whitespace between elements included) must break that signature: M-06.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.safexml import parse_untrusted
from conformance.core.verify import verify_envelope, verify_enveloped
from conformance.core.violations import Violation
from conformance.family.judge import Receiver
from conformance.family.vectors import build_vector
from conformance.profiles.efdx import messages
from conformance.profiles.efdx.codes import EFORMD_NS, ENVELOPE_NS, ORIGIN_CRITERIA, PARTIES, TRANSPORT_MODES
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from conformance.profiles.efdx.rules import earliest_issue_date

DAY = date(2026, 11, 26)
NOON = datetime.combine(DAY, time(12), tzinfo=UTC)
_E = f"{{{ENVELOPE_NS}}}"
_F = f"{{{EFORMD_NS}}}"
PKI = TestPki.load()
TRUST = PKI.trust_store()

# --- strategies ------------------------------------------------------------------------------------

# Printable characters that XML 1.0 allows: letters, marks, numbers, punctuation, symbols, spaces
# (no controls, surrogates, unassigned or private-use code points), with the XML specials frequent.
PRINTABLE = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"))
CHARACTER = st.one_of(st.sampled_from("&<>\"'"), PRINTABLE)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(CHARACTER, min_size=1, max_size=max_size)


NAME, ADDRESS, FREE_TEXT, REFERENCE = texts(256), texts(512), texts(300), texts(35)
PACKAGE_TYPE = st.from_regex(r"[0-9A-Z]{2}", fullmatch=True)
UNIT = st.from_regex(r"[0-9A-Z]{2,3}", fullmatch=True)
CURRENCY = st.from_regex(r"[A-Z]{3}", fullmatch=True)
LOCODE = st.from_regex(r"[A-Z]{2}[A-Z2-9]{3}", fullmatch=True)
COUNTRY = st.from_regex(r"[A-Z]{2}", fullmatch=True)
CO_ID = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda value: value not in ("header", "payload")
)
ANY_DATE = st.dates(min_value=date(2020, 1, 1), max_value=DAY)
BOOL = st.booleans()


@st.composite
def decimal_text(draw: st.DrawFn, low_cents: int, high_cents: int) -> str:
    """An xs:decimal with at most 2 fraction digits: 40, 40.5, 40.50, 39.99 ..."""
    cents = draw(st.integers(low_cents, high_cents))
    whole, fraction = divmod(cents, 100)
    needed = 0 if fraction == 0 else 1 if fraction % 10 == 0 else 2
    digits = draw(st.integers(needed, 2))
    return str(whole) if digits == 0 else f"{whole}.{fraction:02d}"[: len(str(whole)) + 1 + digits]


@st.composite
def hs_codes(draw: st.DrawFn) -> str:
    chapter = draw(st.integers(1, 97).filter(lambda n: n != 77))
    rest = draw(st.from_regex(r"[0-9]{4,8}", fullmatch=True))
    return f"{chapter:02d}{rest}"


@st.composite
def items(draw: st.DrawFn, number: int) -> dict[str, Any]:
    """One Item that keeps BR-03, BR-04 and BR-13: Percent only on RVC (>= 40) and PC (20 to < 40),
    a FOBValue on both (optional elsewhere), a real HS chapter."""
    criterion = draw(st.sampled_from(ORIGIN_CRITERIA))
    percent, fob_value = None, draw(st.none() | decimal_text(0, 10**12))
    if criterion == "RVC":
        percent, fob_value = draw(decimal_text(4000, 10000)), draw(decimal_text(0, 10**12))
    elif criterion == "PC":
        percent, fob_value = draw(decimal_text(2000, 3999)), draw(decimal_text(0, 10**12))
    return {
        "number": number,
        "marks": draw(FREE_TEXT),
        "package_count": draw(st.integers(1, 10**9)),
        "package_type": draw(PACKAGE_TYPE),
        "description": draw(FREE_TEXT),
        "hs_code": draw(hs_codes()),
        "criterion": criterion,
        "percent": percent,
        "quantity": draw(decimal_text(1, 10**12)),
        "unit": draw(UNIT),
        "fob_value": fob_value,
        "currency": draw(CURRENCY),
    }


@st.composite
def certificates(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(Action, CO data) that a receiver on DAY accepts: BR-01..BR-16 hold (stateless ones)."""
    issuing, importing = draw(st.permutations(PARTIES))[:2]
    action = draw(st.sampled_from(("IssueCO", "ReplaceCO")))
    window = (DAY - earliest_issue_date(DAY)).days
    issue = DAY - timedelta(days=draw(st.integers(0, window)))
    departure = issue - timedelta(days=draw(st.integers(0, 10)))
    item_list = [draw(items(n)) for n in range(1, draw(st.integers(1, 5)) + 1)]
    third_country = draw(st.none() | st.fixed_dictionaries({"issuer_name": NAME, "issuer_country": COUNTRY}))
    original = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "reference_number": REFERENCE,
                "issuing_country": st.sampled_from(PARTIES),
                "issue_date": ANY_DATE,
            }
        )
    )
    exhibition = draw(st.none() | st.fixed_dictionaries({"name": NAME, "place": NAME}))
    flags = {
        "ThirdCountryInvoicing": third_country is not None,
        "Exhibition": exhibition is not None,
        "Accumulation": draw(BOOL),
        "DeMinimis": draw(BOOL),
        "BackToBack": original is not None,
        "IssuedRetroactively": (issue - departure).days > 3,
        "PartialCumulation": any(i["criterion"] == "PC" for i in item_list) or draw(BOOL),
    }
    if original is not None:
        original["issue_date"] = original["issue_date"].isoformat()
    data = {
        "id": draw(CO_ID),
        "reference_number": draw(REFERENCE),
        "issuing_country": issuing,
        "issue_date": issue.isoformat(),
        "exporter": {"name": draw(NAME), "address": draw(ADDRESS), "country": issuing},
        "consignee": {"name": draw(NAME), "address": draw(ADDRESS), "country": importing},
        "transport": {
            "departure_date": departure.isoformat(),
            "mode": draw(st.sampled_from(TRANSPORT_MODES)),
            "vessel_or_flight": draw(st.none() | NAME),
            "port_of_loading": draw(st.none() | LOCODE),
            "port_of_discharge": draw(LOCODE),
        },
        "items": item_list,
        "invoices": draw(
            st.lists(
                st.fixed_dictionaries({"number": REFERENCE, "date": ANY_DATE.map(date.isoformat)}),
                min_size=1,
                max_size=3,
            )
        ),
        "third_country_invoice": third_country,
        "declaration": {
            "producing_country": issuing,
            "importing_country": importing,
            "place": draw(NAME),
            "date": draw(ANY_DATE).isoformat(),
            "signatory": draw(NAME),
        },
        "certification": {
            "authority": draw(NAME),
            "place": draw(NAME),
            "date": draw(ANY_DATE).isoformat(),
            "officer": draw(NAME),
        },
        "flags": flags,
        "flag_order": messages.FLAG_ORDER,
        "original_co": original,
        "exhibition": exhibition,
        "replaces": draw(REFERENCE) if action == "ReplaceCO" else None,
    }
    return action, data


# --- what the CO must say, leaf by leaf ------------------------------------------------------------


def expected_leaves(data: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(element name, text, attributes) of every leaf of the CO the data describes, in document order."""
    leaves: list[tuple[str, str, dict[str, str]]] = []

    def add(name: str, value: Any, **attributes: str) -> None:
        if value is not None:
            leaves.append((name, str(value), attributes))

    add("ReferenceNumber", data["reference_number"])
    add("IssuingCountry", data["issuing_country"])
    add("IssueDate", data["issue_date"])
    for party in ("exporter", "consignee"):
        for name in ("name", "address", "country"):
            add(name.capitalize(), data[party][name])
    transport = data["transport"]
    add("DepartureDate", transport["departure_date"])
    add("Mode", transport["mode"])
    add("VesselOrFlight", transport["vessel_or_flight"])
    add("PortOfLoading", transport["port_of_loading"])
    add("PortOfDischarge", transport["port_of_discharge"])
    for item in data["items"]:
        add("ItemNumber", item["number"])
        add("MarksAndNumbers", item["marks"])
        add("PackageCount", item["package_count"])
        add("PackageType", item["package_type"])
        add("Description", item["description"])
        add("HSCode", item["hs_code"])
        add("Code", item["criterion"])
        add("Percent", item["percent"])
        add("Quantity", item["quantity"], unitCode=item["unit"])
        if item["fob_value"] is not None:
            add("FOBValue", item["fob_value"], currencyId=item["currency"])
    for invoice in data["invoices"]:
        add("Number", invoice["number"])
        add("Date", invoice["date"])
    if data["third_country_invoice"]:
        add("IssuerName", data["third_country_invoice"]["issuer_name"])
        add("IssuerCountry", data["third_country_invoice"]["issuer_country"])
    declaration = data["declaration"]
    for name, key in (("ProducingCountry", "producing_country"), ("ImportingCountry", "importing_country")):
        add(name, declaration[key])
    add("Place", declaration["place"])
    add("Date", declaration["date"])
    add("SignatoryName", declaration["signatory"])
    certification = data["certification"]
    add("AuthorityName", certification["authority"])
    add("Place", certification["place"])
    add("Date", certification["date"])
    add("OfficerName", certification["officer"])
    for flag in messages.FLAG_ORDER:
        add(flag, "true" if data["flags"][flag] else "false")
    if data["original_co"]:
        add("ReferenceNumber", data["original_co"]["reference_number"])
        add("IssuingCountry", data["original_co"]["issuing_country"])
        add("IssueDate", data["original_co"]["issue_date"])
    if data["exhibition"]:
        add("Name", data["exhibition"]["name"])
        add("Place", data["exhibition"]["place"])
    add("Replaces", data["replaces"])
    return leaves


def actual_leaves(co: etree._Element) -> list[tuple[str, str, dict[str, str]]]:
    """The same from a parsed CO, its ds:Signature left out."""
    leaves = []
    for element in co.iterdescendants(f"{_F}*"):
        if len(element) == 0:
            leaves.append((etree.QName(element).localname, element.text or "", dict(element.attrib)))
    return leaves


# --- 1. round trip ---------------------------------------------------------------------------------


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(certificates())
def test_random_valid_co_round_trips_and_is_accepted(case: tuple[str, dict[str, Any]]) -> None:
    action, data = case
    sender, receiver = data["issuing_country"], data["consignee"]["country"]
    co = messages.certificate(data)
    signing.sign_enveloped(co, PKI.authority(sender))
    fields = messages.EnvelopeFields(
        action=action,
        sender=sender,
        receiver=receiver,
        message_id=messages.message_id(sender),
        conversation_id=messages.conversation_id(sender, data["reference_number"]),
        timestamp=NOON,
    )
    envelope = messages.envelope(fields, co)
    signing.sign_envelope(envelope, PKI.nsw(sender))
    body = messages.serialize(envelope)

    parsed = parse_untrusted(body).find(f"{_E}Payload/{_F}CertificateOfOrigin")
    assert parsed is not None
    assert parsed.get("Id") == data["id"]
    assert actual_leaves(parsed) == expected_leaves(data)

    judgement = Receiver(receiver, TRUST, dialect=EFDX).judge(body, at=NOON)
    assert judgement.codes == [], judgement.violation or [str(f) for f in judgement.findings]
    assert judgement.status == "ACCEPTED"


# --- 2. no signed character is free ----------------------------------------------------------------

BASES = {
    vector_id: build_vector(vector_id, DAY, PKI, dialect=EFDX)
    for vector_id in ("valid-issue-co", "valid-issue-co-ecdsa", "valid-cancel-co", "valid-ping")
}
CO_BASES = ("valid-issue-co", "valid-issue-co-ecdsa")
REPLACEMENT = st.one_of(st.sampled_from("\t\n &<>\"'x0"), PRINTABLE)


def signed_slots(
    scope: etree._Element, skip: etree._Element | None = None
) -> Iterator[tuple[etree._Element, str]]:
    """Every non-empty text node inside ``scope`` as (element, "text" or "tail"), and every attribute
    but an Id as (element, "@name").

    ``scope``'s own tail lies outside it and is left out; so is everything inside ``skip`` (but not
    ``skip``'s tail, which the enveloped-signature transform keeps). Ids are left out because a
    changed Id is a missing or foreign Reference (M-07), not a changed digest.
    """
    if scope.text:
        yield scope, "text"
    for element in scope.iterdescendants():
        inside_skip = skip is not None and (element is skip or skip in element.iterancestors())
        if element.tail and not (inside_skip and element is not skip):
            yield element, "tail"
        if inside_skip:
            continue
        if element.text:
            yield element, "text"
        yield from ((element, f"@{name}") for name, value in element.attrib.items() if name != "Id" and value)


def _get(element: etree._Element, slot: str) -> str:
    return element.get(slot[1:]) if slot.startswith("@") else getattr(element, slot)


def _set(element: etree._Element, slot: str, value: str) -> None:
    if slot.startswith("@"):
        element.set(slot[1:], value)
    else:
        setattr(element, slot, value)


def change_one_character(data: st.DataObject, slots: list[tuple[etree._Element, str]]) -> str:
    element, slot = data.draw(st.sampled_from(slots), label="text node or attribute")
    text = _get(element, slot)
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    new = data.draw(REPLACEMENT.filter(lambda c: c != text[position]), label="new character")
    _set(element, slot, text[:position] + new + text[position + 1 :])
    return f"{slot} of {etree.QName(element).localname}: {text!r} -> {_get(element, slot)!r}"


def signer_at_noon(envelope: etree._Element) -> None:
    verify_envelope(envelope, trust=TRUST, party="SG", at=NOON)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(BASES)), st.data())
def test_changing_any_signed_character_breaks_the_envelope_signature(base: str, data: st.DataObject) -> None:
    envelope = parse_untrusted(BASES[base])
    signer_at_noon(envelope)  # as built, it verifies
    header, payload = ds.element_children(envelope)[:2]
    slots = [*signed_slots(header), *signed_slots(payload)]
    change = change_one_character(data, slots)
    tampered = parse_untrusted(messages.serialize(envelope))  # what travels is bytes
    try:
        signer_at_noon(tampered)
    except Violation as violation:
        assert violation.requirement == "M-06", f"{change}: {violation}"
    else:
        raise AssertionError(f"the envelope signature still verifies after changing the {change}")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CO_BASES), st.data())
def test_changing_any_signed_character_breaks_the_co_signature(base: str, data: st.DataObject) -> None:
    envelope = parse_untrusted(BASES[base])
    co = envelope.find(f"{_E}Payload/{_F}CertificateOfOrigin")
    verify_enveloped(co, trust=TRUST, party="SG", at=NOON, purpose="authority")  # as built, it verifies
    slots = list(signed_slots(co, skip=co.find(f"{ds.DS}Signature")))
    change = change_one_character(data, slots)
    tampered = parse_untrusted(messages.serialize(envelope)).find(f"{_E}Payload/{_F}CertificateOfOrigin")
    try:
        verify_enveloped(tampered, trust=TRUST, party="SG", at=NOON, purpose="authority")
    except Violation as violation:
        assert violation.requirement == "M-06", f"{change}: {violation}"
    else:
        raise AssertionError(f"the CO signature still verifies after changing the {change}")
