"""EFDX 1.0 business rules of the CO (spec section 5, BR-01..BR-16) as small pure functions.

Why pure functions: one implementation of the rules is shared by the offline validator
(``conformance validate``), the harness (which judges what a candidate sends) and the reference NSW
(which decides ACCEPTED or REJECTED). A function of (payload element, context) with no I/O, no clock
and no store of its own gives the same answer in all three, can be tested at its boundaries in
isolation, and cannot drift with the state of whoever calls it: the day of receipt and the history
of accepted COs come in through ``Context``. The harness's *expectations*, on the other hand, come
from the spec and the vector manifest, never from running these functions on a vector; otherwise a
bug here would make the suite and the reference NSW agree on a wrong answer and nothing would notice.

Input is a parsed, schema-valid ``CertificateOfOrigin`` (or, for CancelCO, ``Cancellation``)
element in the ``urn:efdx:eformd:1`` namespace. The functions do not re-validate the schema but do
not crash on a missing element either: they report what they cannot find.

Every rule returns a list of ``Finding`` (empty when the rule holds). A rule may return several
findings (one per item, say); whoever turns findings into StatusNotification reasons reports each
BR ID once (``failed_rules``). ``Finding.location`` is an XPath relative to the payload element
(``Item[2]/OriginCriterion/Percent``); prefix it with ``/Envelope/Payload/CertificateOfOrigin/`` for a
location in the envelope.

Stateful rules (BR-11, BR-14, BR-15) need ``Context.history``; with ``history=None`` (a stateless
judgement, e.g. the offline validator) they are skipped and return no findings.

BR-12 (the CO signature is valid and by the issuing authority of IssuingCountry) is not here: it is
judged by the signature verifier, which holds the trust store and the CRLs (see ``SIGNATURE_RULES``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from conformance.core import business_rules as kit
from conformance.core.business_rules import (  # noqa: F401 (History, failed_rules: this module's API)
    Context,
    Finding,
    History,
    Reader,
    Rule,
    as_bool,
    as_decimal,
    failed_rules,
    months_before,
    shown,
)
from conformance.profiles.efdx.codes import EFORMD_NS

_CO_TAG = f"{{{EFORMD_NS}}}CertificateOfOrigin"
_CANCELLATION_TAG = f"{{{EFORMD_NS}}}Cancellation"

RVC_MIN_PERCENT = Decimal("40")  # BR-03
PC_MIN_PERCENT = Decimal("20")  # BR-03: 20 <= Percent < 40
RETROACTIVE_AFTER_DAYS = 3  # BR-05: more than 3 calendar days after departure
VALIDITY_MONTHS = 12  # BR-06


# --- reading the payload (the core's rule kit, in EFDX's namespace) ------------------------------------

_read = Reader(EFORMD_NS)


def _items(co: etree._Element) -> list[etree._Element]:
    return _read.all(co, "Item")


def earliest_issue_date(received_on: date) -> date:
    """BR-06: the earliest IssueDate still valid on ``received_on`` (12 calendar months earlier)."""
    return months_before(received_on, VALIDITY_MONTHS)


# --- the rules ---------------------------------------------------------------------------------------


def br01_exporting_country(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-01: IssuingCountry = envelope From = Exporter/Country = Declaration/ProducingCountry."""
    return kit.exporting_country(
        "BR-01", _read, co, ctx, ("Exporter/Country", "Declaration/ProducingCountry")
    )


def br02_importing_country(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-02: Consignee/Country = Declaration/ImportingCountry = envelope To."""
    return kit.importing_country(
        "BR-02", _read, co, ctx, ("Consignee/Country", "Declaration/ImportingCountry")
    )


def br03_origin_percent(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-03: RVC needs Percent >= 40; PC needs 20 <= Percent < 40 and the PartialCumulation flag;
    other codes take no Percent."""
    findings: list[Finding] = []
    partial_cumulation = _read.text(co, "Flags/PartialCumulation")
    for n, item in enumerate(_items(co), start=1):
        code = _read.text(item, "OriginCriterion/Code")
        raw = _read.text(item, "OriginCriterion/Percent")
        percent = as_decimal(raw)
        at = f"Item[{n}]/OriginCriterion/Percent"
        if code == "RVC":
            if raw is None:
                findings.append(
                    Finding(
                        "BR-03",
                        f"Item {n}: RVC without Percent; RVC needs Percent >= 40",
                        f"Item[{n}]/OriginCriterion",
                    )
                )
            elif percent is None or percent < RVC_MIN_PERCENT:
                findings.append(
                    Finding("BR-03", f"Item {n}: RVC with Percent {raw}; RVC needs Percent >= 40", at)
                )
        elif code == "PC":
            if raw is None:
                findings.append(
                    Finding(
                        "BR-03",
                        f"Item {n}: PC without Percent; PC needs 20 <= Percent < 40",
                        f"Item[{n}]/OriginCriterion",
                    )
                )
            elif percent is None or not PC_MIN_PERCENT <= percent < RVC_MIN_PERCENT:
                findings.append(
                    Finding("BR-03", f"Item {n}: PC with Percent {raw}; PC needs 20 <= Percent < 40", at)
                )
            if as_bool(partial_cumulation) is not True:
                findings.append(
                    Finding(
                        "BR-03",
                        f"Item {n}: PC with Flags/PartialCumulation {shown(partial_cumulation)}; "
                        "PC needs PartialCumulation true",
                        "Flags/PartialCumulation",
                    )
                )
        elif raw is not None:
            findings.append(
                Finding(
                    "BR-03",
                    f"Item {n}: {shown(code)} with Percent {raw}; only RVC and PC take a Percent",
                    at,
                )
            )
    return findings


def br04_fob_value(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-04: FOBValue on every Item with RVC or PC."""
    findings: list[Finding] = []
    for n, item in enumerate(_items(co), start=1):
        code = _read.text(item, "OriginCriterion/Code")
        if code in ("RVC", "PC") and _read.el(item, "FOBValue") is None:
            findings.append(
                Finding(
                    "BR-04", f"Item {n}: {code} without FOBValue; RVC and PC need a FOBValue", f"Item[{n}]"
                )
            )
    return findings


def br05_retroactive_flag(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-05: IssuedRetroactively is true exactly when IssueDate is more than 3 calendar days after
    Transport/DepartureDate (3 days after: not retroactive; 4 days after: retroactive)."""
    return kit.retroactive_flag("BR-05", _read, co, "Flags/IssuedRetroactively", RETROACTIVE_AFTER_DAYS)


def br06_issue_date(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-06: IssueDate is not after the day of receipt and not more than 12 months before it.

    Precisely: ``earliest_issue_date(received_on) <= IssueDate <= received_on``, where the earliest
    date is the same day-of-month 12 calendar months before the day of receipt, clamped at the end of
    the month (received 2025-03-15: 2024-03-15 passes, 2024-03-14 fails; received 2024-02-29:
    2023-02-28 passes). Both ends are inclusive; dates are calendar days, a time zone is ignored.
    """
    return kit.issue_date_window("BR-06", _read, co, ctx, earliest_issue_date(ctx.received_on))


def br07_back_to_back(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-07: BackToBack is true exactly when OriginalCO is present."""
    return kit.flag_matches_presence("BR-07", _read, co, "Flags", "BackToBack", "OriginalCO")


def br08_third_country_invoicing(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-08: ThirdCountryInvoicing is true exactly when ThirdCountryInvoice is present."""
    return kit.flag_matches_presence(
        "BR-08", _read, co, "Flags", "ThirdCountryInvoicing", "ThirdCountryInvoice"
    )


def br09_exhibition(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-09: Exhibition is true exactly when ExhibitionDetails is present."""
    return kit.flag_matches_presence("BR-09", _read, co, "Flags", "Exhibition", "ExhibitionDetails")


def br10_item_numbers(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-10: ItemNumber runs 1..n in document order (the kit's ``item_numbers``)."""
    return kit.item_numbers("BR-10", _read, co)


def br11_reference_unused(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-11 (stateful): the ReferenceNumber is not an accepted CO's (the kit's ``reference_unused``)."""
    return kit.reference_unused("BR-11", _read, co, ctx)


# BR-12 (the CO signature is valid, section 4, and by the issuing authority of IssuingCountry) is
# judged by the signature verifier, which holds the trust store and the CRLs; it has no function here.


def br13_hs_chapter(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-13: every HSCode starts with an HS chapter (the kit's ``hs_chapters``)."""
    return kit.hs_chapters("BR-13", _read, co)


def br14_named_co_accepted(doc: etree._Element, ctx: Context) -> list[Finding]:
    """BR-14 (stateful): the CO that a CancelCO names, or a ReplaceCO's Replaces names, was accepted
    earlier from the same IssuingCountry.

    ``doc`` is a ``Cancellation`` or a ``CertificateOfOrigin``. A ReplaceCO's named CO is looked up
    under the replacing CO's IssuingCountry (Replaces carries only a ReferenceNumber). A Cancellation
    names its CO's IssuingCountry itself; "from the same IssuingCountry" then means that country is
    the sender's: a party cannot cancel a CO that another party issued.
    """
    named = kit.named_co(_read, doc, ctx, _CO_TAG, _CANCELLATION_TAG)
    if ctx.history is None or named is None:
        return []
    return kit.named_co_accepted("BR-14", named, ctx, ctx.history)


def br15_named_co_current(doc: etree._Element, ctx: Context) -> list[Finding]:
    """BR-15 (stateful): the CO named by CancelCO or ReplaceCO is not superseded or cancelled."""
    named = kit.named_co(_read, doc, ctx, _CO_TAG, _CANCELLATION_TAG)
    if ctx.history is None or named is None:
        return []
    return kit.named_co_current("BR-15", named, ctx.history)


def br16_replaces_on_replace(co: etree._Element, ctx: Context) -> list[Finding]:
    """BR-16: Replaces is present exactly when the Action is ReplaceCO."""
    present = _read.el(co, "Replaces") is not None
    if present == (ctx.action == "ReplaceCO"):
        return []
    if present:
        text = f"Replaces is present on {ctx.action}; BR-16 allows Replaces only on ReplaceCO"
    else:
        text = "Replaces is absent on ReplaceCO; BR-16 needs Replaces on every ReplaceCO"
    return [Finding("BR-16", text, "Replaces" if present else None)]


# --- enumerations and entry points -------------------------------------------------------------------

RULES: dict[str, Rule] = {
    "BR-01": br01_exporting_country,
    "BR-02": br02_importing_country,
    "BR-03": br03_origin_percent,
    "BR-04": br04_fob_value,
    "BR-05": br05_retroactive_flag,
    "BR-06": br06_issue_date,
    "BR-07": br07_back_to_back,
    "BR-08": br08_third_country_invoicing,
    "BR-09": br09_exhibition,
    "BR-10": br10_item_numbers,
    "BR-11": br11_reference_unused,
    "BR-13": br13_hs_chapter,
    "BR-14": br14_named_co_accepted,
    "BR-15": br15_named_co_current,
    "BR-16": br16_replaces_on_replace,
}
STATEFUL_RULES: tuple[str, ...] = ("BR-11", "BR-14", "BR-15")
STATELESS_RULES: tuple[str, ...] = tuple(rid for rid in RULES if rid not in STATEFUL_RULES)
SIGNATURE_RULES: tuple[str, ...] = ("BR-12",)  # judged by the signature verifier, not here
CANCELLATION_RULES: tuple[str, ...] = ("BR-14", "BR-15")


def check_certificate(co: etree._Element, ctx: Context) -> list[Finding]:
    """All CO rules but BR-12, in BR order; stateful ones only when ``ctx.history`` is given."""
    return kit.judge_all(RULES.values(), co, ctx, _CO_TAG, "check_certificate")


def check_cancellation(cancellation: etree._Element, ctx: Context) -> list[Finding]:
    """A CancelCO's Cancellation payload: BR-14 and BR-15 (both stateful), nothing else."""
    return kit.judge_all(
        [RULES[rid] for rid in CANCELLATION_RULES], cancellation, ctx, _CANCELLATION_TAG, "check_cancellation"
    )
