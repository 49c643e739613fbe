"""RCPX 1.0's seeded faults: the reference NSW's deliberate defects, one test purpose each.

The reference NSW's code is the family's, run with RCPX's dialect, so its faults of the transport,
message and application layers (and of the CO signature, BR-12 there, RBR-12 here) are the family's
base faults (EFDX's), named by the same purposes. Each business rule gets a fault that switches it
off (the purposes it breaks are all of the rule's), each clause of a rule one that does not apply
that clause alone (``CLAUSE_FAULTS``), and each boundary a receiver must still take one that rejects
it (``BOUNDARY_FAULTS``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree

from conformance.core.business_rules import as_date
from conformance.family.reference.faults import FAULTS as FAMILY_FAULTS
from conformance.family.reference.faults import (
    LATER_FAULTS,
    Fault,
    a_day_before_the_window,
    consecutive,
    field_faults,
    gaps_only,
    issued_on,
    item_numbers,
    named_state,
    no_gap,
    permutation,
)
from conformance.family.reference.lax import dropping
from conformance.profiles.rcpx import codes, rules
from conformance.profiles.rcpx.catalogue import catalogue

# Purposes whose right answer is acceptance, judged by RCPX's own sequences (not by a vector).
ACCEPTED_IN_SEQUENCES = frozenset(
    {"RBR-11/per-issuing-country", "RBR-11/rejected-reference-free", "RBR-14/replacement-current"}
)


def _shared() -> list[Fault]:
    """The family's base faults whose purposes RCPX has too (T, M, A and the CO signature's, and the
    rule clauses its ALIASES resolve), renamed to RCPX's."""
    found = []
    for fault in (*FAMILY_FAULTS, *LATER_FAULTS):
        if fault.lax.without_rule:  # switches an EFDX rule off: RCPX's rules get their own below
            continue
        purpose = _ours(fault.purpose)
        if purpose is None:
            continue
        if fault.name in _own_names() or purpose in _own_purposes():  # RCPX's own fault stands
            continue
        also = tuple(p for p in map(_ours, fault.also) if p is not None)
        rejects, forgives = _in_rcpx(fault.rejects), _in_rcpx(fault.forgives)  # BR-06: RBR-06
        found.append(
            dataclasses.replace(fault, purpose=purpose, also=also, rejects=rejects, forgives=forgives)
        )
    return found


_Check = TypeVar("_Check")


def _in_rcpx(pair: tuple[str, _Check] | None) -> tuple[str, _Check] | None:
    """A fault's (rule, check) with the rule as RCPX names it: a rule RCPX has."""
    if pair is None:
        return None
    rule = catalogue().resolve(pair[0])
    if rule is None:
        raise LookupError(f"{pair[0]} has no counterpart in RCPX")
    return rule, pair[1]


def _own_names() -> set[str]:
    return {fault.name for fault in (*CLAUSE_FAULTS, *BOUNDARY_FAULTS, *_field_faults(), *ISSUE_17_FAULTS)}


def _own_purposes() -> set[str]:
    return {
        purpose
        for fault in (*CLAUSE_FAULTS, *BOUNDARY_FAULTS, *_field_faults(), *ISSUE_17_FAULTS)
        for purpose in (fault.purpose, *fault.also)
    }


@functools.cache
def _field_faults() -> tuple[Fault, ...]:
    """Section 2's field lines (rcpx/fields.py) and RCPX's party list: a declaration of the reference's
    copy of RCPX's schemas changed, one per case and one per party but those of the plain exchange."""
    from conformance.profiles.rcpx import fields
    from conformance.profiles.rcpx.dialect import RCPX

    plain = set(RCPX.vector_parties.values())  # the parties of the plain exchange: every test has them
    return field_faults(fields.CASES, [party for party in codes.PARTIES if party not in plain])


def _ours(purpose: str) -> str | None:
    """An EFDX purpose as RCPX names it, if RCPX has it."""
    found = catalogue().resolve(purpose)
    return found if found is not None and found in {item.id for item in catalogue().purposes()} else None


@functools.cache
def _acceptances() -> frozenset[str]:
    """Purposes whose vectors must be ACCEPTED (a rule's boundary): switching the rule off breaks none."""
    from conformance.family.vectors import load_manifest
    from conformance.profiles.rcpx.dialect import RCPX

    accepted: set[str] = set()
    rejected: set[str] = set()
    for vector in load_manifest(dialect=RCPX):
        taken = vector.expect_code == "valid" and vector.expect_status == "ACCEPTED"
        (accepted if taken else rejected).update(vector.purposes)
    return frozenset(accepted - rejected)


def _ignoring(rule: str) -> Fault:
    """Switching a rule off breaks every purpose of it that a document breaks; not its boundaries,
    where the right answer is acceptance (those need a fault of their own, or show as a gap)."""
    purposes = [
        item.id
        for item in catalogue().of_requirement(rule)
        if item.id not in _acceptances() and item.id not in ACCEPTED_IN_SEQUENCES
    ]
    title = catalogue().requirement(rule).title
    return Fault(
        f"ignore-{rule.lower()}",
        purposes[0],
        f"does not apply {rule} ({title})",
        dropping(rule),
        tuple(purposes[1:]),
    )


def _texts(co: etree._Element, path: str) -> list[str]:
    return [(node.text or "").strip() for node in co.iterfind(path)]


def _rvc_at_40(co: etree._Element, today: date, history: Any) -> bool:
    items = co.iterfind("{*}Item/{*}OriginCriterion")
    return any(
        item.findtext("{*}Code") == "RVC" and Decimal(item.findtext("{*}Percent") or "0") == 40
        for item in items
    )


def _departure_plus_12_months(co: etree._Element, today: date, history: Any) -> bool:
    departure = as_date(co.findtext("{*}Transport/{*}DepartureDate"))  # an xs:date: maybe "...Z"
    issued = as_date(co.findtext("{*}IssueDate"))
    return departure is not None and rules.latest_issue_date(departure) == issued


def _reference_used_anywhere(co: etree._Element, today: date, history: Any) -> bool:
    """RBR-11 keyed by ReferenceNumber alone: another party's CO with it counts (the fault)."""
    reference, country = co.findtext("{*}ReferenceNumber"), co.findtext("{*}IssuingCountry")
    return any(history.accepted(party, reference) for party in codes.PARTIES if party != country)


# Boundaries made exclusive: each rejects, under the rule, the case the rule accepts.
BOUNDARY_FAULTS = (
    Fault(
        "third-party-invoice-issuer-must-be-a-party",
        "RBR-09/non-party-issuer",
        "rejects a ThirdPartyInvoice whose IssuerCountry is not an RCEP party",
        rejects=("RBR-09", lambda co, today, history: _foreign_invoice_issuer(co, today, history)),
    ),
    Fault(
        "reference-numbers-global",
        "RBR-11/per-issuing-country",
        "takes a ReferenceNumber used by any party's accepted CO as used (RBR-11 ignores the country)",
        rejects=("RBR-11", _reference_used_anywhere),
    ),
    Fault(
        "rvc-40-exclusive",
        "RBR-03/rvc-40-inclusive",
        "rejects an RVC of exactly 40 percent",
        rejects=("RBR-03", _rvc_at_40),
    ),
    Fault(
        "back-to-back-refused",
        "RBR-05/back-to-back-taken",
        "rejects every back-to-back CO (origin from its OriginalProof)",
        rejects=("RBR-05", lambda co, today, history: "true" in _texts(co, "{*}Remarks/{*}BackToBack")),
    ),
    Fault(
        "back-to-back-on-an-earlier-party-refused",
        "RBR-08/proof-of-any-other-party",
        "rejects a back-to-back CO whose OriginalProof/IssuingCountry sorts before its IssuingCountry",
        rejects=("RBR-08", lambda co, today, history: _proof_sorts_before_issuer(co)),
    ),
    Fault(
        "departure-window-exclusive",
        "RBR-07/twelve-months-after-departure-inclusive",
        "rejects a CO issued exactly 12 months after departure",
        rejects=("RBR-07", _departure_plus_12_months),
    ),
    Fault(
        "hs-chapters-01-97-refused",
        "RBR-13/chapters-01-and-97",
        "rejects HS chapters 01 and 97, the first and last valid ones",
        rejects=(
            "RBR-13",
            lambda co, today, history: any(c[:2] in ("01", "97") for c in _texts(co, "{*}Item/{*}HSCode")),
        ),
    ),
)


def _clause(
    name: str, purposes: tuple[str, ...], description: str, picks: Callable[[Any, etree._Element, Any], bool]
) -> Fault:
    """A fault that does not apply the clause(s) ``purposes`` of one rule: it drops the rule's findings
    that ``picks`` (finding, CO or Cancellation, rules.Context) chooses; the rest of the rule holds."""
    return Fault(
        name, purposes[0], description, also=purposes[1:], forgives=(purposes[0].split("/")[0], picks)
    )


def _says(*words: str) -> Callable[[Any, etree._Element, Any], bool]:
    """Picks a finding whose text holds every one of ``words``."""
    return lambda finding, doc, ctx: all(word in finding.text for word in words)


def _at(location: str) -> Callable[[Any, etree._Element, Any], bool]:
    return lambda finding, doc, ctx: finding.location == location


# One clause each: each breaks only the purposes it names, which the suite's tests of those purposes
# catch (switching a whole rule off, ``ignore-rbr-NN``, breaks them all at once).
CLAUSE_FAULTS = (
    _clause(
        "hs-code-of-the-first-item-only",
        ("RBR-13/every-item",),
        "checks the first Item's HSCode only",
        lambda finding, doc, ctx: finding.location not in (None, "Item[1]/HSCode"),
    ),
    _clause(
        "from-not-compared",
        ("RBR-01/issuing-country-from",),
        "compares Exporter/Country with IssuingCountry, but IssuingCountry not with the envelope From",
        _at("IssuingCountry"),
    ),
    _clause(
        "exporter-country-unchecked",
        ("RBR-01/exporter-country",),
        "compares IssuingCountry with From, but not Exporter/Country with IssuingCountry",
        _at("Exporter/Country"),
    ),
    _clause(
        "ctc-level-optional",
        ("RBR-03/ctc-without-level",),
        "takes a CTC Item without CTCLevel",
        _says("CTC without CTCLevel"),
    ),
    _clause(
        "percent-taken-on-ctc",
        ("RBR-03/ctc-with-percent",),
        "takes a Percent on a CTC Item",
        _says("CTC with Percent"),
    ),
    _clause(
        "rvc-without-percent-taken",
        ("RBR-03/rvc-without-percent",),
        "takes an RVC Item without Percent (judges only the Percents given)",
        _says("RVC without Percent"),
    ),
    _clause(
        "rvc-minimum-unchecked",
        ("RBR-03/rvc-below-40",),
        "takes an RVC Item of any Percent",
        _says("RVC with Percent", "needs Percent >= 40"),
    ),
    _clause(
        "level-taken-on-rvc",
        ("RBR-03/rvc-with-level",),
        "takes a CTCLevel on an RVC Item",
        _says("RVC with CTCLevel"),
    ),
    _clause(
        "percent-ignored-on-other-codes",
        ("RBR-03/wo-with-percent", "RBR-03/pe-with-percent", "RBR-03/cr-with-percent"),
        "takes a Percent on a WO, PE or CR Item",
        _says("only RVC takes a Percent"),
    ),
    _clause(
        "level-ignored-on-other-codes",
        ("RBR-03/wo-with-level", "RBR-03/pe-with-level", "RBR-03/cr-with-level"),
        "takes a CTCLevel on a WO, PE or CR Item",
        _says("only CTC takes a CTCLevel"),
    ),
    _clause(
        "fob-value-on-first-rvc-item-only",
        ("RBR-04/every-rvc-item",),
        "asks for a FOBValue on the first RVC Item only",
        lambda finding, doc, ctx: _not_first_rvc(finding, doc),
    ),
    _clause(
        "origin-party-unchecked",
        ("RBR-05/not-a-party",),
        "takes an RCEPCountryOfOrigin that is no RCEP party",
        _says("is not an RCEP party"),
    ),
    _clause(
        "origin-any-party",
        ("RBR-05/not-issuing-country",),
        "takes any party as RCEPCountryOfOrigin of a CO that is not back-to-back",
        _says("but IssuingCountry is"),
    ),
    _clause(
        "back-to-back-origin-unchecked",
        ("RBR-05/back-to-back-origin",),
        "takes any RCEPCountryOfOrigin on a back-to-back CO",
        _says("OriginalProof/RCEPCountryOfOrigin is"),
    ),
    _clause(
        "future-issue-date-taken",
        ("RBR-06/future",),
        "takes an IssueDate after the day of receipt",
        _says("after the day of receipt"),
    ),
    _clause(
        "old-issue-date-taken",
        ("RBR-06/too-old",),
        "takes an IssueDate more than 12 months before the day of receipt",
        _says("more than 12 months before the day of receipt"),
    ),
    _clause(
        "retroactive-flag-optional",
        ("RBR-07/not-flagged",),
        "takes a CO issued more than 3 days after departure without the IssuedRetroactively flag",
        _says("IssuedRetroactively is", "needs true"),
    ),
    _clause(
        "retroactive-flag-any-time",
        ("RBR-07/wrongly-flagged",),
        "takes the IssuedRetroactively flag on a CO issued within 3 days of departure",
        _says("IssuedRetroactively is", "needs false"),
    ),
    _clause(
        "departure-window-unchecked",
        ("RBR-07/over-twelve-months-after-departure",),
        "takes a CO issued any time after departure",
        _says("more than 12 months after DepartureDate"),
    ),
    _clause(
        "back-to-back-flag-alone-taken",
        ("RBR-08/flag-without-proof",),
        "checks that an OriginalProof is flagged, not that the flag comes with one",
        lambda finding, doc, ctx: "BackToBack is true" in finding.text,
    ),
    _clause(
        "original-proof-without-flag-taken",
        ("RBR-08/proof-without-flag",),
        "checks that a BackToBack CO has its OriginalProof, not that an OriginalProof comes with the flag",
        lambda finding, doc, ctx: "BackToBack is false" in finding.text,
    ),
    _clause(
        "original-proof-of-own-country-taken",
        ("RBR-08/same-issuing-country",),
        "takes an OriginalProof issued by the IssuingCountry itself",
        _says("the IssuingCountry itself"),
    ),
    _clause(
        "third-party-flag-alone-taken",
        ("RBR-09/flag-without-invoice",),
        "checks that a ThirdPartyInvoice is flagged, not that the flag comes with the invoice",
        lambda finding, doc, ctx: "ThirdPartyInvoicing is true" in finding.text,
    ),
    _clause(
        "third-party-invoice-without-flag-taken",
        ("RBR-09/invoice-without-flag",),
        "checks that a ThirdPartyInvoicing CO has its invoice, not that an invoice comes with the flag",
        lambda finding, doc, ctx: "ThirdPartyInvoicing is false" in finding.text,
    ),
    _clause(
        "item-number-gaps-taken",
        ("RBR-10/gap",),
        "looks for repeats and order in the ItemNumbers only: 1, 2, 4 passes",
        lambda finding, doc, ctx: gaps_only(item_numbers(doc)),
    ),
    _clause(
        "repeated-item-numbers-taken",
        ("RBR-10/repeat",),
        "looks for gaps in the ItemNumbers only: 1, 2, 2 passes",
        lambda finding, doc, ctx: no_gap(item_numbers(doc)),
    ),
    _clause(
        "item-numbers-from-any-start",
        ("RBR-10/not-from-one",),
        "takes consecutive ItemNumbers from any start (2, 3, 4)",
        lambda finding, doc, ctx: consecutive(item_numbers(doc)),
    ),
    _clause(
        "item-numbers-in-any-order",
        ("RBR-10/document-order",),
        "takes every number of 1..n in any document order (2, 1, 3)",
        lambda finding, doc, ctx: permutation(item_numbers(doc)),
    ),
    _clause(
        "hs-chapter-77-taken", ("RBR-13/chapter-77",), "takes the reserved HS chapter 77", _says("chapter 77")
    ),
    _clause("hs-chapter-00-taken", ("RBR-13/chapter-00",), "takes HS chapter 00", _says("chapter 00")),
    _clause(
        "hs-chapters-98-99-taken",
        ("RBR-13/chapter-above-97",),
        "takes the national chapters 98 and 99 as HS chapters",
        lambda finding, doc, ctx: "chapter 98" in finding.text or "chapter 99" in finding.text,
    ),
    _clause(
        "unknown-co-cancel-taken",
        ("RBR-14/cancel-unknown",),
        "acknowledges a CancelCO of a CO it never accepted",
        lambda finding, doc, ctx: ctx.action == "CancelCO" and "was not accepted before" in finding.text,
    ),
    _clause(
        "unknown-co-replace-taken",
        ("RBR-14/replace-unknown",),
        "takes a ReplaceCO of a CO it never accepted",
        lambda finding, doc, ctx: ctx.action == "ReplaceCO" and "was not accepted before" in finding.text,
    ),
    _clause(
        "replace-without-replaces-taken",
        ("RBR-14/replace-without-replaces",),
        "takes a ReplaceCO without Replaces as a new CO",
        _says("ReplaceCO without Replaces"),
    ),
    _clause(
        "cancel-of-cancelled-taken",
        ("RBR-14/cancel-cancelled",),
        "acknowledges a CancelCO of a CO already cancelled",
        lambda finding, doc, ctx: ctx.action == "CancelCO" and named_state(doc, ctx) == "CANCELLED",
    ),
    _clause(
        "cancel-of-superseded-taken",
        ("RBR-14/cancel-superseded",),
        "acknowledges a CancelCO of a superseded CO",
        lambda finding, doc, ctx: ctx.action == "CancelCO" and named_state(doc, ctx) == "SUPERSEDED",
    ),
    _clause(
        "replace-of-superseded-taken",
        ("RBR-14/replace-superseded",),
        "takes a ReplaceCO of a CO already superseded",
        lambda finding, doc, ctx: ctx.action == "ReplaceCO" and named_state(doc, ctx) == "SUPERSEDED",
    ),
)


def _not_first_rvc(finding: Any, doc: etree._Element) -> bool:
    """The finding is about an RVC Item after the first one."""
    rvc = [
        n
        for n, item in enumerate(doc.iterfind("{*}Item"), start=1)
        if item.findtext("{*}OriginCriterion/{*}Code") == "RVC"
    ]
    return bool(rvc) and finding.location != f"Item[{rvc[0]}]"


def _proof_sorts_before_issuer(co: etree._Element) -> bool:
    proof, issuing = co.findtext("{*}OriginalProof/{*}IssuingCountry"), co.findtext("{*}IssuingCountry")
    return proof is not None and issuing is not None and proof.strip() < issuing.strip()


def _foreign_invoice_issuer(co: etree._Element, today: date, history: Any) -> bool:
    issuer = co.findtext("{*}ThirdPartyInvoice/{*}IssuerCountry")
    return issuer is not None and issuer.strip() not in codes.PARTIES


# issue 17: each stateless rule applied to IssueCO only (RBR-03, RBR-10 and RBR-12 have EFDX's), and
# RBR-06's bounds on the day of receipt and one day past 12 months.
ISSUE_17_FAULTS = (
    *(
        _clause(
            f"{rule.lower().replace('-', '')}-on-issue-only",
            (f"{rule}/replace-co",),
            f"applies {rule} to IssueCO only, not to ReplaceCO",
            lambda finding, doc, ctx: ctx.action == "ReplaceCO",
        )
        for rule in ("RBR-01", "RBR-02", "RBR-04", "RBR-05", "RBR-06", "RBR-07", "RBR-08", "RBR-09", "RBR-13")
    ),
    Fault(
        "issued-on-day-of-receipt-refused",
        "RBR-06/day-of-receipt",
        "rejects a CO issued on the day of receipt (IssueDate < day of receipt, not <=)",
        rejects=("RBR-06", lambda co, today, history: issued_on(co, today)),
    ),
    _clause(
        "rbr06-window-a-day-long",
        ("RBR-06/one-day-over-12-months",),
        "takes an IssueDate one day before the 12-month window's first day (12 months and a day)",
        lambda finding, doc, ctx: a_day_before_the_window(doc, ctx.received_on),
    ),
)


@functools.cache
def faults() -> tuple[Fault, ...]:
    rule_ids = [req.id for req in catalogue().by_layer("RBR") if req.id != codes.SIGNATURE_RULE]
    return (
        *_shared(),
        *(_ignoring(rule) for rule in rule_ids),
        *CLAUSE_FAULTS,
        *BOUNDARY_FAULTS,
        *_field_faults(),
        *ISSUE_17_FAULTS,
    )
