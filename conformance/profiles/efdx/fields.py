"""EFDX 1.0 section 3's field lines as data: each bound of the CertificateOfOrigin, broken or met by
one vector (the family's ``Case`` model, helpers and Header cases are ``conformance/family/fields.py``).
EFDX's cases are ``CASES``: the family's Header cases and EFDX's CO cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.family.fields import (
    TRANSPORT_MODES,
    Case,
    Where,
    attribute,
    case,
    codes,
    data,
    drop_all,
    envelope_cases,
    in_co,
    item_one,
    ones,
    swap,
    text,
    twice,
)

# --- EFDX 1.0---------------------------------------------------------------------------------------

_CO_LOCATION = "/env:Envelope/env:Payload/co:CertificateOfOrigin"
CO = Where(
    "M-04",
    in_co,
    "",
    _CO_LOCATION,
    "co",
    "payload",
    "CertificateOfOrigin",
    "CertificateOfOrigin",
    fault="co-",
)
INVOICE = Where(
    "M-04",
    in_co,
    "{*}Invoice/",
    f"{_CO_LOCATION}/co:Invoice",
    "co",
    "payload",
    "InvoiceType",
    "Invoice",
    "invoice-",
    "invoice-",
)
CERTIFICATION = Where(
    "M-04",
    in_co,
    "{*}Certification/",
    f"{_CO_LOCATION}/co:Certification",
    "co",
    "payload",
    "CertificationType",
    "Certification",
    "certification-",
    "certification-",
)
ORIGIN_CRITERIA = ("WO", "PE", "RVC", "CC", "CTH", "CTSH", "SP", "PC")


def _third_item(build: Any) -> None:
    sample = build.co()
    sample["items"].append(sample["items"][0] | {"number": len(sample["items"]) + 1, "marks": "ASR/121-130"})
    build.data = sample


def _second_invoice(build: Any) -> None:
    sample = build.co()
    sample["invoices"].append(sample["invoices"][0] | {"number": "INV-2026-0043"})
    build.data = sample


def _without_co_id(build: Any) -> None:
    """The CO's Id removed after its authority signed it (an enveloped signature names it)."""
    build.co_after_signing.append(lambda co: co.attrib.pop("Id"))


def _original_co_of(country: str) -> Callable[[Any], None]:
    def change(build: Any) -> None:
        earlier = build.day.fromordinal(build.day.toordinal() - 20)
        original = {"reference_number": "CO-ORIGINAL-0001", "issuing_country": country, "issue_date": earlier}
        data(original_co=original, flags={"BackToBack": True})(build)

    return change


def co_cases() -> list[Case]:
    """The field lines of the CertificateOfOrigin (section 3.3), by kind."""
    return [*_listed_fields(), *_cardinalities(), *_item_fields(), *_order_and_parties()]


def _listed_fields() -> list[Case]:
    """The fields the generic field lines cover: one of each, and each code list."""
    return [
        *ones(
            CO,
            ["ReferenceNumber", "IssuingCountry", "IssueDate", "Exporter", "Consignee", "Transport"],
            "3.3",
            "Item[1]",
        ),
        *ones(CO, ["Declaration", "Certification", "Flags"], "3.3", "ds:Signature"),
        *ones(INVOICE, ["Number", "Date"], "3.3"),
        *ones(CERTIFICATION, ["AuthorityName", "Place", "Date", "OfficerName"], "3.3"),
        *codes(CO, "Transport/Mode", TRANSPORT_MODES, "SHIP", "TransportModeCode", "3.3"),
        *codes(
            CO,
            "Item[1]/OriginCriterion/Code",
            ORIGIN_CRITERIA,
            "PSR",
            "OriginCriterionCode",
            "3.3",
            field="origin-criterion",
            made={
                "RVC": item_one(criterion="RVC", percent="45.00", fob_value="900.00"),
                "PC": item_one(
                    {"PartialCumulation": True}, criterion="PC", percent="25.00", fob_value="900.00"
                ),
            },
        ),
    ]


def _cardinalities() -> list[Case]:
    """Section 3.3's cardinalities: the CO's Id, Items, Invoices and Replaces, none, one and several."""
    co = _CO_LOCATION
    declared = ("payload", "CertificateOfOrigin")
    return [
        case(
            "M-04/id-absent",
            "Section 3.3: a CertificateOfOrigin without its Id attribute is refused 400 with M-04.",
            "m04-co-id-absent",
            "CertificateOfOrigin without Id (removed after its authority signed it)",
            _without_co_id,
            refused=True,
            offending=(f"{co}/@Id",),
            fault=(
                "co-id-optional",
                "takes a CertificateOfOrigin without Id",
                "optional",
                (*declared, "@Id"),
            ),
        ),
        case(
            "M-04/item-none",
            "Section 3.3: a CertificateOfOrigin without Item (1..n) is refused 400 with M-04.",
            "m04-item-none",
            "CertificateOfOrigin without any Item (section 3.3: Item 1..n)",
            in_co(drop_all("{*}Item")),
            refused=True,
            offending=(f"{co}/co:Invoice",),
            fault=(
                "co-item-optional",
                "takes a CertificateOfOrigin without Item",
                "optional",
                (*declared, "Item"),
            ),
        ),
        case(
            "M-04/items-several",
            "Section 3.3: a CertificateOfOrigin with several Items (1..n) is taken.",
            "valid-co-three-items",
            "CertificateOfOrigin with three Items (section 3.3: Item 1..n)",
            _third_item,
            refused=False,
            # at most the sample's two: a plain CO still passes (tests/test_reference_faults.py)
            fault=(
                "co-at-most-two-items",
                "refuses a CO of more than two Items",
                "at_most",
                (*declared, "Item", 2),
            ),
        ),
        case(
            "M-04/invoice-none",
            "Section 3.3: a CertificateOfOrigin without Invoice (1..n) is refused 400 with M-04.",
            "m04-invoice-none",
            "CertificateOfOrigin without any Invoice (section 3.3: Invoice 1..n)",
            in_co(drop_all("{*}Invoice")),
            refused=True,
            offending=(f"{co}/co:Declaration",),
            fault=(
                "co-invoice-optional",
                "takes a CertificateOfOrigin without Invoice",
                "optional",
                (*declared, "Invoice"),
            ),
        ),
        case(
            "M-04/invoices-several",
            "Section 3.3: a CertificateOfOrigin with several Invoices (1..n) is taken.",
            "valid-co-two-invoices",
            "CertificateOfOrigin with two Invoices (section 3.3: Invoice 1..n)",
            _second_invoice,
            refused=False,
            fault=(
                "co-single-invoice",
                "refuses a CertificateOfOrigin with more than one Invoice",
                "single",
                (*declared, "Invoice"),
            ),
        ),
        case(
            "M-04/replaces-absent",
            "Section 3.3: an IssueCO whose CertificateOfOrigin has no Replaces (0..1) is taken.",
            "valid-co-replaces-absent",
            "IssueCO of a CertificateOfOrigin without Replaces (section 3.3: Replaces 0..1)",
            lambda build: None,
            refused=False,
            fault=(
                "co-replaces-required",
                "refuses a CertificateOfOrigin without Replaces",
                "required",
                (*declared, "Replaces"),
            ),
        ),
        case(
            "M-04/replaces-present",
            "Section 3.3: a ReplaceCO whose CertificateOfOrigin has one Replaces (0..1) is taken.",
            "valid-co-replaces-present",
            "ReplaceCO of a CO with one Replaces, naming a CO accepted first (section 3.3: Replaces 0..1)",
            lambda build: None,
            refused=False,
            fault=(
                "co-replaces-refused",
                "refuses a CertificateOfOrigin with Replaces",
                "forbidden",
                (*declared, "Replaces"),
            ),
            action="ReplaceCO",
        ),
        case(
            "M-04/replaces-twice",
            "Section 3.3: a CertificateOfOrigin with Replaces (0..1) twice is refused 400 with M-04.",
            "m04-replaces-twice",
            "ReplaceCO whose CertificateOfOrigin has Replaces twice, the second a copy of the first",
            in_co(twice("{*}Replaces")),
            refused=True,
            offending=(f"{co}/co:Replaces[2]",),
            fault=("co-replaces-repeatable", "takes Replaces twice", "repeatable", (*declared, "Replaces")),
            action="ReplaceCO",
        ),
    ]


def _item_fields() -> list[Case]:
    """An Item's package count and type, unit codes and currency: each bound, both sides."""
    co, item = _CO_LOCATION, f"{_CO_LOCATION}/co:Item[1]"
    return [
        case(
            "M-04/package-count-zero",
            "Section 3.3: a PackageCount of 0 (not a positive integer) is refused 400 with M-04.",
            "m04-package-count-zero",
            "Item 1 with PackageCount 0 (section 3.3: a positive integer)",
            in_co(text("{*}Item/{*}PackageCount", "0")),
            refused=True,
            offending=(f"{item}/co:PackageCount",),
            fault=(
                "package-count-from-zero",
                "takes a PackageCount of 0",
                "restricted",
                ("payload", "ItemType", "PackageCount", "xs:nonNegativeInteger"),
            ),
        ),
        case(
            "M-04/package-count-one",
            "Section 3.3: a PackageCount of 1, the least positive integer, is taken.",
            "valid-package-count-one",
            "Item 1 with PackageCount 1 (section 3.3: a positive integer)",
            in_co(text("{*}Item/{*}PackageCount", "1")),
            refused=False,
            fault=(
                "package-count-from-two",
                "refuses a PackageCount of 1",
                "restricted",
                ("payload", "ItemType", "PackageCount", "xs:integer", {"minInclusive": "2"}),
            ),
        ),
        case(
            "M-04/package-type-over",
            "Section 3.3: a PackageType of 3 characters (a Rec. 21 code has 2) is refused 400 with M-04.",
            "m04-package-type-3-chars",
            "Item 1 with PackageType BGX, 3 characters (section 3.3: UN/ECE Rec. 21, 2 characters)",
            in_co(text("{*}Item/{*}PackageType", "BGX")),
            refused=True,
            offending=(f"{item}/co:PackageType",),
            fault=(
                "package-type-up-to-3",
                "takes a PackageType of 3 characters",
                "restricted",
                ("payload", "ItemType", "PackageType", "xs:string", {"pattern": "[0-9A-Z]{2,3}"}),
            ),
        ),
        case(
            "M-04/package-type-under",
            "Section 3.3: a PackageType of 1 character (a Rec. 21 code has 2) is refused 400 with M-04.",
            "m04-package-type-1-char",
            "Item 1 with PackageType B, 1 character (section 3.3: UN/ECE Rec. 21, 2 characters)",
            in_co(text("{*}Item/{*}PackageType", "B")),
            refused=True,
            offending=(f"{item}/co:PackageType",),
            fault=(
                "package-type-from-1",
                "takes a PackageType of 1 character",
                "restricted",
                ("payload", "ItemType", "PackageType", "xs:string", {"pattern": "[0-9A-Z]{1,2}"}),
            ),
        ),
        case(
            "M-04/package-type-rec21",
            "Section 3.3: a UN/ECE Rec. 21 PackageType with a digit (1A, drum, steel) is taken.",
            "valid-package-type-1a",
            "Item 1 with PackageType 1A (Rec. 21: drum, steel), a code with a digit",
            in_co(text("{*}Item/{*}PackageType", "1A")),
            refused=False,
            fault=(
                "package-type-letters-only",
                "refuses a PackageType with a digit",
                "restricted",
                ("payload", "ItemType", "PackageType", "xs:string", {"pattern": "[A-Z]{2}"}),
            ),
        ),
        case(
            "M-04/unit-code-absent",
            "Section 3.3: a Quantity without its unitCode attribute is refused 400 with M-04.",
            "m04-quantity-without-unit-code",
            "Item 1's Quantity without unitCode (section 3.3: Quantity @unitCode)",
            in_co(attribute("{*}Item/{*}Quantity", "unitCode", None)),
            refused=True,
            offending=(f"{item}/co:Quantity/@unitCode",),
            fault=(
                "unit-code-optional",
                "takes a Quantity without unitCode",
                "optional",
                ("payload", "QuantityWithUnit", "@unitCode"),
            ),
        ),
        case(
            "M-04/unit-other-quantity",
            "Section 3.3: a Quantity other than a weight, in a Rec. 20 unit with a digit (H87) is taken.",
            "valid-quantity-in-pieces",
            "Item 1's Quantity in unit H87 (Rec. 20: piece), a quantity other than gross weight",
            in_co(attribute("{*}Item/{*}Quantity", "unitCode", "H87")),
            refused=False,
            fault=(
                "unit-code-letters-only",
                "refuses a unitCode with a digit (H87)",
                "pattern",
                ("UnitCode", "[A-Z]{2,3}"),
            ),
        ),
        case(
            "M-04/unit-code-over",
            "Section 3.3: a unitCode of 4 characters (Rec. 20 codes have 2 or 3) is refused 400 with M-04.",
            "m04-unit-code-4-chars",
            "Item 1's Quantity in unit KGMS, 4 characters (Rec. 20 codes have 2 or 3)",
            in_co(attribute("{*}Item/{*}Quantity", "unitCode", "KGMS")),
            refused=True,
            offending=(f"{item}/co:Quantity/@unitCode",),
            fault=(
                "unit-code-up-to-4",
                "takes a unitCode of 4 characters",
                "pattern",
                ("UnitCode", "[0-9A-Z]{2,4}"),
            ),
        ),
        case(
            "M-04/currency-id-absent",
            "Section 3.3: a FOBValue without its currencyId attribute is refused 400 with M-04.",
            "m04-fob-value-without-currency",
            "Item 2's FOBValue without currencyId (section 3.3: FOBValue @currencyId)",
            in_co(attribute("{*}Item[2]/{*}FOBValue", "currencyId", None)),
            refused=True,
            offending=(f"{co}/co:Item[2]/co:FOBValue/@currencyId",),
            fault=(
                "currency-id-optional",
                "takes a FOBValue without currencyId",
                "optional",
                ("payload", "AmountWithCurrency", "@currencyId"),
            ),
        ),
    ]


def _order_and_parties() -> list[Case]:
    """The element order of the CO, and parties that are no member state."""
    co = _CO_LOCATION
    declared = ("payload", "CertificateOfOrigin")
    return [
        case(
            "M-04/order",
            "Section 3: CO children out of order (IssueDate first) are refused 400 with M-04.",
            "m04-co-out-of-order",
            "CertificateOfOrigin with IssueDate before IssuingCountry (section 3: the order listed)",
            in_co(swap("{*}IssuingCountry", "{*}IssueDate")),
            refused=True,
            offending=(f"{co}/co:IssueDate", f"{co}/co:IssuingCountry"),
            fault=(
                "co-any-order",
                "takes IssuingCountry after IssueDate",
                "movable",
                (*declared, "IssuingCountry", "IssueDate"),
            ),
        ),
        case(
            "M-04/party-non-member",
            "Section 1: a CO party (OriginalCO/IssuingCountry) outside the list (US) is refused: M-04.",
            "m04-original-co-non-member",
            "Back-to-back CO whose OriginalCO/IssuingCountry is US, no party of the list (section 1)",
            _original_co_of("US"),
            refused=True,
            offending=(f"{co}/co:OriginalCO/co:IssuingCountry",),
            fault=("party-list-with-us", "takes US as a party", "with_code", ("PartyCode", "US")),
        ),
    ]


CASES: tuple[Case, ...] = (*envelope_cases(), *co_cases())
