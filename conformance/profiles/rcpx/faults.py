"""RCPX 1.0's seeded faults: the reference NSW's deliberate defects, one test purpose each.

The reference NSW's code is EFDX's, run with RCPX's dialect, so its faults of the transport, message
and application layers (and of the CO signature, BR-12 there, RBR-12 here) are EFDX's, named by the
same purposes. Each business rule gets a fault that switches it off (the purposes it breaks are all
of the rule's), and the one behaviour fault on a rule's boundary (the 12-month window) is mapped.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from decimal import Decimal

from lxml import etree

from conformance.core.business_rules import as_date
from conformance.profiles.efdx.reference.faults import FAULTS as EFDX_FAULTS
from conformance.profiles.efdx.reference.faults import Fault
from conformance.profiles.efdx.reference.lax import dropping
from conformance.profiles.rcpx import codes, rules
from conformance.profiles.rcpx.catalogue import catalogue

# Purposes whose right answer is acceptance, judged by RCPX's own sequences (not by a vector).
ACCEPTED_IN_SEQUENCES = frozenset({"RBR-11/per-issuing-country"})


def _shared() -> list[Fault]:
    """EFDX's faults whose purposes RCPX has too (T, M, A and the CO signature's), renamed to RCPX's."""
    found = []
    for fault in EFDX_FAULTS:
        if fault.policy.dropped_rules:  # switches an EFDX rule off: RCPX's rules get their own below
            continue
        if fault.name in {own.name for own in BOUNDARY_FAULTS}:  # RCPX's own of that name stands
            continue
        purpose = _ours(fault.purpose)
        if purpose is None:
            continue
        also = tuple(p for p in map(_ours, fault.also) if p is not None)
        rejects = fault.rejects and (catalogue().resolve(fault.rejects[0]), fault.rejects[1])  # RBR-06
        forgives = fault.forgives and (catalogue().resolve(fault.forgives[0]), fault.forgives[1])
        found.append(
            dataclasses.replace(fault, purpose=purpose, also=also, rejects=rejects, forgives=forgives)
        )
    return found


def _ours(purpose: str) -> str | None:
    """An EFDX purpose as RCPX names it, if RCPX has it."""
    found = catalogue().resolve(purpose)
    return found if found is not None and found in {item.id for item in catalogue().purposes()} else None


@functools.cache
def _acceptances() -> frozenset[str]:
    """Purposes whose vectors must be ACCEPTED (a rule's boundary): switching the rule off breaks none."""
    from conformance.profiles.efdx.vectors import load_manifest
    from conformance.profiles.rcpx.dialect import RCPX

    accepted, rejected = set(), set()
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


def _rvc_at_40(co: etree._Element, today: date, history) -> bool:
    items = co.iterfind("{*}Item/{*}OriginCriterion")
    return any(
        item.findtext("{*}Code") == "RVC" and Decimal(item.findtext("{*}Percent") or "0") == 40
        for item in items
    )


def _departure_plus_12_months(co: etree._Element, today: date, history) -> bool:
    departure = as_date(co.findtext("{*}Transport/{*}DepartureDate"))  # an xs:date: maybe "...Z"
    issued = as_date(co.findtext("{*}IssueDate"))
    return departure is not None and rules.latest_issue_date(departure) == issued


def _reference_used_anywhere(co: etree._Element, today: date, history) -> bool:
    """RBR-11 keyed by ReferenceNumber alone: another party's CO with it counts (the fault)."""
    reference, country = co.findtext("{*}ReferenceNumber"), co.findtext("{*}IssuingCountry")
    return any(history.accepted(party, reference) for party in codes.PARTIES if party != country)


# Boundaries made exclusive: each rejects, under the rule, the case the rule accepts.
BOUNDARY_FAULTS = (
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


@functools.cache
def faults() -> tuple[Fault, ...]:
    rule_ids = [req.id for req in catalogue().by_layer("RBR") if req.id != codes.SIGNATURE_RULE]
    return (*_shared(), *(_ignoring(rule) for rule in rule_ids), *BOUNDARY_FAULTS)
