"""RCPX section 2's field lines as data: each bound of the RCEPCertificateOfOrigin, broken or met by
one vector (the family's ``Case`` model, helpers and Header cases are ``conformance/family/fields.py``).

The Header's cases (EFDX section 3.1, which RCPX keeps) are the family's, built in RCPX's dialect;
the CO's are RCPX's own. Each seeded fault changes one declaration of the reference
NSW's copy of RCPX's schemas (co.xsd, codelists.xsd).
"""

from __future__ import annotations

from typing import Any

from conformance.family.fields import (
    TRANSPORT_MODES,
    Case,
    Where,
    attribute,
    case,
    codes,
    data,
    drop,
    drop_all,
    envelope_cases,
    in_co,
    item_one,
    ones,
    swap,
    twice,
    zero_or_one,
)

_CO = "/env:Envelope/env:Payload/co:RCEPCertificateOfOrigin"
_ITEM = f"{_CO}/co:Item[1]"


def _where(path: str, location: str, owner: str, title: str, infix: str, fault: str) -> Where:
    return Where("M-04", in_co, path, location, "co", "payload", owner, title, infix, fault)


CO = _where("", _CO, "RCEPCertificateOfOrigin", "RCEPCertificateOfOrigin", "", "co-")
PRODUCER = _where("{*}Producer/", f"{_CO}/co:Producer", "TraderType", "Producer", "producer-", "trader-")
ITEM = _where("{*}Item/", _ITEM, "ItemType", "Item", "item-", "item-")
EXPORTER_DECLARATION = _where(
    "{*}ExporterDeclaration/",
    f"{_CO}/co:ExporterDeclaration",
    "ExporterDeclarationType",
    "ExporterDeclaration",
    "exporter-declaration-",
    "exporter-declaration-",
)
CERTIFICATION = _where(
    "{*}Certification/",
    f"{_CO}/co:Certification",
    "CertificationType",
    "Certification",
    "certification-",
    "certification-",
)
_DECLARED = ("payload", "RCEPCertificateOfOrigin")


def _unchanged(build: Any) -> None:
    """The sample CO as it is (it has the element, or it has not)."""


def _fourth_item(build: Any) -> None:
    sample = build.co()
    sample["items"].append(sample["items"][0] | {"number": len(sample["items"]) + 1, "marks": "RCPX/004"})
    build.data = sample


def _with(change: Any) -> Any:
    """The sample CO's data changed by an RCPX builder's ``change(build, data)``."""

    def made(build: Any) -> None:
        sample = build.co()
        change(build, sample)
        build.data = sample

    return made


def _third_party_invoice(build: Any, sample: dict) -> None:
    from conformance.profiles.rcpx.vectors import THIRD_PARTY_INVOICE

    sample["third_party_invoice"] = dict(THIRD_PARTY_INVOICE)
    sample["remarks"] = sample["remarks"] | {"ThirdPartyInvoicing": True}


def _original_proof(build: Any, sample: dict) -> None:
    from conformance.profiles.rcpx.vectors import _back_to_back

    _back_to_back(build, sample, items_of_proof_origin=True)


def _fob_value_on_wo(build: Any, sample: dict) -> None:
    sample["items"][0] |= {"fob_value": "3200.00"}


def _without_co_id(build: Any) -> None:
    build.co_after_signing.append(lambda co: co.attrib.pop("Id"))


def co_cases() -> list[Case]:
    """The field lines of the RCEPCertificateOfOrigin (section 2), by kind."""
    return [*_listed_fields(), *_cardinalities(), *_units_order_and_parties()]


def _listed_fields() -> list[Case]:
    """The fields the generic field lines cover (section 2): one of each, the optional ones absent
    and present, each code list."""
    s = "2"
    return [
        *ones(CO, ["ReferenceNumber", "IssuingCountry", "IssueDate", "Exporter"], s, "Producer"),
        *ones(CO, ["Importer", "Transport"], s, "Item[1]"),
        *ones(CO, ["Remarks", "ExporterDeclaration", "Certification"], s, "ds:Signature"),
        *zero_or_one(CO, "Producer", s, absent=in_co(drop("{*}Producer")), present=_unchanged),
        *ones(PRODUCER, ["Name", "Address", "Country"], s),
        *zero_or_one(CO, "ThirdPartyInvoice", s, absent=_unchanged, present=_with(_third_party_invoice)),
        *zero_or_one(CO, "OriginalProof", s, absent=_unchanged, present=_with(_original_proof)),
        *ones(ITEM, ["PackageCount", "PackageType", "Description"], s, "MarksAndNumbers"),
        *zero_or_one(
            ITEM, "MarksAndNumbers", s, absent=in_co(drop("{*}Item/{*}MarksAndNumbers")), present=_unchanged
        ),
        *zero_or_one(ITEM, "FOBValue", s, absent=_unchanged, present=_with(_fob_value_on_wo)),
        *ones(ITEM, ["InvoiceNumber", "InvoiceDate"], s),
        *ones(EXPORTER_DECLARATION, ["Place", "Date", "SignatoryName"], s),
        *ones(CERTIFICATION, ["IssuingBodyName", "Place", "Date", "OfficerName"], s),
        *codes(CO, "Transport/Mode", TRANSPORT_MODES, "SHIP", "TransportModeCode", s),
        *codes(
            CO,
            "Item[1]/OriginCriterion/Code",
            ("WO", "PE", "CTC", "RVC", "CR"),
            "PSR",
            "OriginCriterionCode",
            s,
            field="origin-criterion",
            made={
                "CTC": item_one(criterion="CTC", ctc_level="CTH"),
                "RVC": item_one(criterion="RVC", percent="45.00", fob_value="900.00"),
            },
        ),
        *codes(
            CO,
            "Item[2]/OriginCriterion/CTCLevel",
            ("CC", "CTH", "CTSH"),
            "CTI",
            "CTCLevelCode",
            s,
            field="ctc-level",
        ),
    ]


def _cardinalities() -> list[Case]:
    """Section 2's cardinalities: Replaces, the CO's Id and its Items, none, one and several."""
    return [
        case(
            "M-04/replaces-absent",
            "Section 2: an IssueCO whose CO has no Replaces (0..1) is taken.",
            "valid-co-replaces-absent",
            "IssueCO of a CO without Replaces (section 2: Replaces 0..1)",
            _unchanged,
            refused=False,
            fault=(
                "co-replaces-required",
                "refuses a CO without Replaces",
                "required",
                (*_DECLARED, "Replaces"),
            ),
        ),
        case(
            "M-04/replaces-present",
            "Section 2: a ReplaceCO whose CO has one Replaces (0..1) is taken.",
            "valid-co-replaces-present",
            "ReplaceCO of a CO with one Replaces, naming a CO accepted first (section 2: Replaces 0..1)",
            _unchanged,
            refused=False,
            fault=(
                "co-replaces-refused",
                "refuses a CO with Replaces",
                "forbidden",
                (*_DECLARED, "Replaces"),
            ),
            action="ReplaceCO",
        ),
        case(
            "M-04/replaces-twice",
            "Section 2: a CO with Replaces (0..1) twice is refused 400 with M-04.",
            "m04-replaces-twice",
            "ReplaceCO whose CO has Replaces twice, the second a copy of the first",
            in_co(twice("{*}Replaces")),
            refused=True,
            offending=(f"{_CO}/co:Replaces[2]",),
            fault=("co-replaces-repeatable", "takes Replaces twice", "repeatable", (*_DECLARED, "Replaces")),
            action="ReplaceCO",
        ),
        case(
            "M-04/id-absent",
            "Section 2: an RCEPCertificateOfOrigin without its Id attribute is refused 400 with M-04.",
            "m04-co-id-absent",
            "RCEPCertificateOfOrigin without Id (removed after its authority signed it)",
            _without_co_id,
            refused=True,
            offending=(f"{_CO}/@Id",),
            fault=("co-id-optional", "takes a CO without Id", "optional", (*_DECLARED, "@Id")),
        ),
        case(
            "M-04/item-none",
            "Section 2: an RCEPCertificateOfOrigin without Item (1..n) is refused 400 with M-04.",
            "m04-item-none",
            "RCEPCertificateOfOrigin without any Item (section 2: Item 1..n)",
            in_co(drop_all("{*}Item")),
            refused=True,
            offending=(f"{_CO}/co:Remarks",),
            fault=("co-item-optional", "takes a CO without Item", "optional", (*_DECLARED, "Item")),
        ),
        case(
            "M-04/items-several",
            "Section 2: an RCEPCertificateOfOrigin with several Items (1..n) is taken.",
            "valid-co-four-items",
            "RCEPCertificateOfOrigin with four Items (section 2: Item 1..n)",
            _fourth_item,
            refused=False,
            fault=(
                "co-at-most-three-items",
                "refuses a CO of more than three Items",
                "at_most",
                (*_DECLARED, "Item", 3),
            ),
        ),
    ]


def _units_order_and_parties() -> list[Case]:
    """An Item's unit codes and currency, the CO's element order, and parties that are no RCEP party."""
    return [
        case(
            "M-04/unit-code-absent",
            "Section 2: a Quantity without its unitCode attribute is refused 400 with M-04.",
            "m04-quantity-without-unit-code",
            "Item 1's Quantity without unitCode (section 2: Quantity @unitCode)",
            in_co(attribute("{*}Item/{*}Quantity", "unitCode", None)),
            refused=True,
            offending=(f"{_ITEM}/co:Quantity/@unitCode",),
            fault=(
                "unit-code-optional",
                "takes a Quantity without unitCode",
                "optional",
                ("payload", "QuantityWithUnit", "@unitCode"),
            ),
        ),
        case(
            "M-04/unit-other-quantity",
            "Section 2: a Quantity other than a weight (unit H87, piece) is taken.",
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
            "M-04/currency-id-absent",
            "Section 2: a FOBValue without its currencyId attribute is refused 400 with M-04.",
            "m04-rvc-fob-value-without-currency",
            "Item 3's FOBValue without currencyId (section 2: FOBValue @currencyId)",
            in_co(attribute("{*}Item[3]/{*}FOBValue", "currencyId", None)),
            refused=True,
            offending=(f"{_CO}/co:Item[3]/co:FOBValue/@currencyId",),
            fault=(
                "currency-id-optional",
                "takes a FOBValue without currencyId",
                "optional",
                ("payload", "AmountWithCurrency", "@currencyId"),
            ),
        ),
        case(
            "M-04/order",
            "Section 2: CO children out of order (IssueDate first) are refused 400 with M-04.",
            "m04-co-out-of-order",
            "RCEPCertificateOfOrigin with IssueDate before IssuingCountry (EFDX section 3: the order listed)",
            in_co(swap("{*}IssuingCountry", "{*}IssueDate")),
            refused=True,
            offending=(f"{_CO}/co:IssueDate", f"{_CO}/co:IssuingCountry"),
            fault=(
                "co-any-order",
                "takes IssuingCountry after IssueDate",
                "movable",
                (*_DECLARED, "IssuingCountry", "IssueDate"),
            ),
        ),
        case(
            "M-04/party-non-member",
            "RCPX section 1: a CO party (Producer/Country) outside the list (US) is refused: M-04.",
            "m04-producer-non-member",
            "CO whose Producer/Country is US, no party of the list (RCPX section 1)",
            data(producer={"country": "US"}),
            refused=True,
            offending=(f"{_CO}/co:Producer/co:Country",),
            fault=("party-list-with-us", "takes US as a party", "with_code", ("PartyCode", "US")),
        ),
    ]


CASES: tuple[Case, ...] = (*envelope_cases(), *co_cases())
# RCPX registers a builder for the vector of each of its cases, for its dialect alone (rcpx/vectors.py).
# 51 of them have the id of an EFDX case (the Header's, and CO bounds both profiles share): EFDX's
# builders built them before the family package was split out, and RCPX's own build byte-identical
# vectors (checked then).
OWN_VECTORS = frozenset(case.vector for case in CASES)
