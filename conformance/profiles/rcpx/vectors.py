"""RCPX 1.0's own test vectors: the RCEP CO broken one RBR clause at a time, and the boundaries a
receiver must still take.

The T-, M- and A- vectors and the CO-signature ones (RBR-12) are the family's builders run with
RCPX's dialect (``conformance/family/vectors.py`` builds any profile of the family);
``test_vectors/rcpx/manifest.toml`` says which vectors RCPX has and what a conforming receiver
answers. The builders here register in the family's ``BUILDERS`` under ids no EFDX vector uses, and
those of its field table for RCPX's dialect alone (``rcpx/dialect.py`` imports this module, so they
are there whenever RCPX is). Each changes one field of the sample CO (``messages.sample_certificate``:
Item 1 WO, Item 2 CTC with CTCLevel CTH, Item 3 RVC 45.00 with its FOBValue); a party other than
the issuer is ``Build.third_party()``, so that a vector says the same whichever parties the harness
and the candidate play.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from conformance.family.vectors import ON_REPLACE, Build, builder, issued_by_third_party, on_replace

Data = dict[str, Any]
CO_CHANGES: dict[str, Callable[[Build, Data], None]] = {}


def co_change(*vector_ids: str) -> Callable[[Callable[[Build, Data], None]], Callable[[Build, Data], None]]:
    """Register a change of the sample CO's data as the vector(s) named (an IssueCO)."""

    def register(change: Callable[[Build, Data], None]) -> Callable[[Build, Data], None]:
        for vector_id in vector_ids:
            CO_CHANGES[vector_id] = change
        builder(*vector_ids)(_changed_co)
        return change

    return register


def _changed_co(build: Build) -> None:
    data = build.co()
    CO_CHANGES[build.vector_id](build, data)
    build.data = data


# --- one Item changed (Items: 0 WO, 1 CTC/CTH, 2 RVC 45.00 with FOBValue) -------------------------

ITEM_CHANGES: dict[str, tuple[int, dict[str, Any]]] = {
    "rbr03-ctc-without-level": (1, {"ctc_level": None}),
    "rbr03-ctc-with-percent": (1, {"percent": "50.00"}),
    "rbr03-rvc-without-percent": (2, {"percent": None}),
    "rbr03-rvc-below-40": (2, {"percent": "39.99"}),
    "rbr03-rvc-with-level": (2, {"ctc_level": "CTH"}),
    "rbr03-wo-with-percent": (0, {"percent": "50.00"}),
    "rbr03-wo-with-level": (0, {"ctc_level": "CC"}),
    "rbr03-pe-with-percent": (0, {"criterion": "PE", "percent": "50.00"}),
    "rbr03-pe-with-level": (0, {"criterion": "PE", "ctc_level": "CTSH"}),
    "rbr03-cr-with-percent": (0, {"criterion": "CR", "percent": "50.00"}),
    "rbr03-cr-with-level": (0, {"criterion": "CR", "ctc_level": "CC"}),
    "valid-rbr03-rvc-40": (2, {"percent": "40.00"}),
    "rbr04-rvc-without-fob": (2, {"fob_value": None}),
    "rbr05-not-a-party": (0, {"origin": "US"}),
    "rbr13-chapter-00": (0, {"hs_code": "000100"}),
    "rbr13-chapter-above-97": (0, {"hs_code": "980100"}),
    "rbr13-last-item": (2, {"hs_code": "000100"}),  # Items 1 and 2 stay valid
    "m04-rvc-percent-over-100": (2, {"percent": "100.50"}),  # the RVC Item: only the schema is broken
}


@co_change(*ITEM_CHANGES)
def _item(build: Build, data: Data) -> None:
    index, fields = ITEM_CHANGES[build.vector_id]
    data["items"][index] |= fields


@co_change("rbr05-not-issuing-country")
def _origin_elsewhere(build: Build, data: Data) -> None:
    data["items"][0]["origin"] = build.third_party()


@co_change("rbr04-every-rvc-item")
def _second_rvc_without_fob(build: Build, data: Data) -> None:
    last = data["items"][-1]
    data["items"].append(last | {"number": len(data["items"]) + 1, "percent": "50.00", "fob_value": None})


@co_change("valid-rbr13-chapters-01-and-97")
def _chapter_ends(build: Build, data: Data) -> None:
    data["items"][0]["hs_code"] = "010121"
    data["items"][1]["hs_code"] = "970110"


@co_change("rbr-several-rules-at-once")
def _several(build: Build, data: Data) -> None:
    data["items"][2] |= {"percent": "39.99", "fob_value": None}  # RBR-03 and RBR-04
    data["items"][0]["hs_code"] = "770100"  # RBR-13


# --- parties (RBR-01, RBR-02) -----------------------------------------------------------------------


@builder("rbr01-issuing-country-not-from")
def _issued_elsewhere(build: Build) -> None:
    issued_by_third_party(build)


@co_change("rbr02-importer-country")
def _imported_elsewhere(build: Build, data: Data) -> None:
    data["importer"] = data["importer"] | {"country": build.third_party()}


# --- back-to-back and third-party invoicing (RBR-05, RBR-08, RBR-09) --------------------------------


def _original_proof(build: Build, issuing_country: str, origin: str) -> dict[str, str]:
    return {
        "reference_number": "PROOF-2026-0042",
        "issuing_country": issuing_country,
        "issue_date": (build.day - timedelta(days=20)).isoformat(),
        "origin": origin,
    }


def _back_to_back(build: Build, data: Data, items_of_proof_origin: bool) -> None:
    """Back-to-back on a third party's original proof of that party's origin."""
    other = build.third_party()
    data["original_proof"] = _original_proof(build, other, other)
    data["remarks"] = data["remarks"] | {"BackToBack": True}
    if items_of_proof_origin:
        for item in data["items"]:
            item["origin"] = other


@co_change("rbr05-back-to-back-origin")
def _back_to_back_own_origin(build: Build, data: Data) -> None:
    _back_to_back(build, data, items_of_proof_origin=False)


@co_change("valid-rbr05-back-to-back")
def _back_to_back_ok(build: Build, data: Data) -> None:
    _back_to_back(build, data, items_of_proof_origin=True)


@co_change("valid-rbr08-proof-of-an-earlier-party")
def _back_to_back_on_an_earlier_party(build: Build, data: Data) -> None:
    """Back-to-back on the proof of the party that sorts last before the sender (the third party sorts
    after it): RBR-08 compares the two countries for equality, not order. A sender that sorts first
    (AU) has no such party: then the third party's, as valid-rbr05-back-to-back."""
    earlier = [p for p in sorted(build.dialect.codes.PARTIES) if p < build.sender and p != build.receiver]
    other = earlier[-1] if earlier else build.third_party()
    data["original_proof"] = _original_proof(build, other, other)
    data["remarks"] = data["remarks"] | {"BackToBack": True}
    for item in data["items"]:
        item["origin"] = other


@co_change("rbr08-flag-without-proof")
def _flag_without_proof(build: Build, data: Data) -> None:
    data["remarks"] = data["remarks"] | {"BackToBack": True}


@co_change("rbr08-proof-without-flag")
def _proof_without_flag(build: Build, data: Data) -> None:
    data["original_proof"] = _original_proof(build, build.third_party(), data["issuing_country"])


@co_change("rbr08-same-issuing-country")
def _proof_from_the_issuer(build: Build, data: Data) -> None:
    issuer = data["issuing_country"]
    data["original_proof"] = _original_proof(build, issuer, issuer)
    data["remarks"] = data["remarks"] | {"BackToBack": True}


THIRD_PARTY_INVOICE = {"issuer_name": "Pacific Trade Services Ltd", "issuer_country": "HK"}


@co_change("rbr09-flag-without-invoice")
def _flag_without_invoice(build: Build, data: Data) -> None:
    data["remarks"] = data["remarks"] | {"ThirdPartyInvoicing": True}


@co_change("rbr09-invoice-without-flag")
def _invoice_without_flag(build: Build, data: Data) -> None:
    data["third_party_invoice"] = dict(THIRD_PARTY_INVOICE)


# --- dates (RBR-07; RBR-06's vectors are EFDX's br06-*) --------------------------------------------


def twelve_months_before(issue: date) -> date:
    """The earliest departure for ``issue`` under RBR-07 (IssueDate at most 12 months after departure,
    same day of the month, clamped at a month's end: EFDX section 7): the same day a year earlier, or
    1 March when that year has no 29 February (28 February + 12 months is 28 February, one day short).
    Written out here rather than taken from the rules, so that the vector does not share their code."""
    try:
        return issue.replace(year=issue.year - 1)
    except ValueError:
        return date(issue.year - 1, 3, 1)


# vector -> (departure: days before the issue date, or None for twelve_months_before; offset; flag)
DEPARTURES: dict[str, tuple[int | None, int, bool]] = {
    "rbr07-not-flagged": (4, 0, False),
    "rbr07-wrongly-flagged": (3, 0, True),
    "valid-rbr07-retroactive-4-days": (4, 0, True),
    "rbr07-over-twelve-months-after-departure": (None, -1, True),  # one day before the earliest
    "valid-rbr07-twelve-months-after-departure": (None, 0, True),
}


@co_change(*DEPARTURES)
def _departure(build: Build, data: Data) -> None:
    days, offset, retroactive = DEPARTURES[build.vector_id]
    departure = build.day - timedelta(days=days) if days is not None else twelve_months_before(build.day)
    departure += timedelta(days=offset)
    data["transport"] = data["transport"] | {"departure_date": departure.isoformat()}
    data["remarks"] = data["remarks"] | {"IssuedRetroactively": retroactive}


# --- item numbers (RBR-10) --------------------------------------------------------------------------

NUMBERINGS: dict[str, tuple[int, ...]] = {
    "rbr10-gap": (1, 2, 4),
    "rbr10-repeat": (1, 2, 2),
    "rbr10-not-from-one": (2, 3, 4),
    "rbr10-document-order": (2, 1, 3),
}


@co_change(*NUMBERINGS)
def _numbered(build: Build, data: Data) -> None:
    for item, number in zip(data["items"], NUMBERINGS[build.vector_id], strict=True):
        item["number"] = number


@co_change("rbr10-long-finding")
def _long_finding(build: Build, data: Data) -> None:
    """250 Items numbered 1..249, 249: an RBR-10 finding longer than a Reason's Text may be (2048)."""
    last = data["items"][-1]
    data["items"] = [last | {"number": number} for number in (*range(1, 250), 249)]


# --- RBR-14's one stateless clause --------------------------------------------------------------------


@builder("rbr14-replace-without-replaces")
def _replace_naming_nothing(build: Build) -> None:
    build.action = "ReplaceCO"
    build.data = build.co()  # Replaces absent


# --- the message layer's valid variants: every optional element present, or none ----------------


@co_change("valid-rcep-co-all-optional-elements")
def _all_optional(build: Build, data: Data) -> None:
    """Producer, VesselOrFlight, MarksAndNumbers (in the sample), and FOBValue where RBR-04 needs
    none (the WO Item), ThirdPartyInvoice and OriginalProof, each with its Remarks flag."""
    data["items"][0] |= {"fob_value": "800.00"}
    data["third_party_invoice"] = dict(THIRD_PARTY_INVOICE)
    data["remarks"] = data["remarks"] | {"ThirdPartyInvoicing": True}
    _back_to_back(build, data, items_of_proof_origin=True)


@co_change("valid-rcep-co-no-optional-elements")
def _no_optional(build: Build, data: Data) -> None:
    """No Producer ("available upon request"), VesselOrFlight, MarksAndNumbers, FOBValue where
    RBR-04 needs none, ThirdPartyInvoice, OriginalProof or Replaces."""
    data["producer"] = None
    data["transport"] = data["transport"] | {"vessel_or_flight": None}
    for item in data["items"]:
        item["marks"] = None


# --- more clauses: the rules on ReplaceCO too, and the alternatives a receiver must still take -----

_RCPX_ON_REPLACE = {
    "rbr03-rvc-below-40-on-replace": "rbr03-rvc-below-40",
    "rbr10-repeat-on-replace": "rbr10-repeat",
}
ON_REPLACE.update(_RCPX_ON_REPLACE)


@builder(*_RCPX_ON_REPLACE)
def _on_replace(build: Build) -> None:
    on_replace(build)


@co_change("valid-rbr09-third-party-invoice-non-party")
def _third_party_invoice_ok(build: Build, data: Data) -> None:
    """A ThirdPartyInvoice issued in HK (any ISO 3166 code, not an RCEP party), flagged."""
    data["third_party_invoice"] = dict(THIRD_PARTY_INVOICE)
    data["remarks"] = data["remarks"] | {"ThirdPartyInvoicing": True}


# --- section 2's field lines (rcpx/fields.py), built for RCPX's dialect ------------------------------


def _field_case(build: Build) -> None:
    from conformance.profiles.rcpx import fields

    case = next(case for case in fields.CASES if case.vector == build.vector_id)
    build.action = case.action
    case.change(build)


def _rcpx_field_builders() -> None:
    from conformance.profiles.rcpx import fields

    builder(*fields.OWN_VECTORS, only_for="rcpx")(_field_case)


_rcpx_field_builders()
# --- issue 17: every stateless rule on ReplaceCO too (RCPX's own clauses; br01-, br06- and br13-*-on-replace
# are EFDX's, built by EFDX's builder) ---

_RCPX_ON_REPLACE_17 = {
    "rbr02-importer-country-on-replace": "rbr02-importer-country",
    "rbr04-rvc-without-fob-on-replace": "rbr04-rvc-without-fob",
    "rbr05-not-a-party-on-replace": "rbr05-not-a-party",
    "rbr07-not-flagged-on-replace": "rbr07-not-flagged",
    "rbr08-flag-without-proof-on-replace": "rbr08-flag-without-proof",
    "rbr09-flag-without-invoice-on-replace": "rbr09-flag-without-invoice",
}
ON_REPLACE.update(_RCPX_ON_REPLACE_17)
builder(*_RCPX_ON_REPLACE_17)(_on_replace)
