"""RCPX 1.0 business rules of the RCEP CO (RCPX section 3, RBR-01..RBR-14) as small pure functions.

As in EFDX: one implementation shared by the offline validator, the harness and the reference NSW; a
function of (payload element, ``Context``) with no I/O and no clock; the day of receipt, the history
of accepted COs and the admitted parties come in through ``Context`` (``core/business_rules.py``).
The harness's expectations come from the spec and the vector manifest, never from these functions.

Input is a parsed, schema-valid ``RCEPCertificateOfOrigin`` (or, for CancelCO, ``Cancellation``) in
the ``urn:rcpx:co:1`` namespace. The functions do not re-validate the schema but do not crash on a
missing element either: they report what they cannot find.

Each rule returns a list of ``Finding`` (empty when it holds), located by an XPath relative to the
payload element (``Item[2]/OriginCriterion/CTCLevel``). Where one clause is the business of another
rule, a rule stays silent rather than blame itself too: RBR-05 does not judge a back-to-back CO that
lacks its OriginalProof (RBR-08 does), so that every negative vector breaks exactly one rule.

Stateful rules (RBR-11, RBR-14) need ``Context.history``; with ``history=None`` they are skipped,
except RBR-14's one stateless clause (a ReplaceCO that names no CO at all). RBR-12 (the CO signature)
is judged by the signature verifier, which holds the trust store and the CRLs (``SIGNATURE_RULES``).
"""

from __future__ import annotations

from datetime import date as date_type
from decimal import Decimal

from lxml import etree

from conformance.core import business_rules as kit
from conformance.core.business_rules import (
    Context,
    Finding,
    Reader,
    Rule,
    add_months,
    as_bool,
    as_date,
    as_decimal,
    failed_rules,
    months_before,
    shown,
)
from conformance.profiles.rcpx.codes import CO_ELEMENT, CO_NS, PARTIES

__all__ = [
    "Context",
    "Finding",
    "failed_rules",
    "check_certificate",
    "check_cancellation",
    "RULES",
    "STATEFUL_RULES",
]

_read = Reader(CO_NS)
_CO_TAG = f"{{{CO_NS}}}{CO_ELEMENT}"
_CANCELLATION_TAG = f"{{{CO_NS}}}Cancellation"

RVC_MIN_PERCENT = Decimal("40")  # RBR-03
RETROACTIVE_AFTER_DAYS = 3  # RBR-07: more than 3 calendar days after departure
LATEST_AFTER_DEPARTURE_MONTHS = 12  # RBR-07
VALIDITY_MONTHS = 12  # RBR-06


def _items(co: etree._Element) -> list[etree._Element]:
    return _read.all(co, "Item")


def earliest_issue_date(received_on: date_type) -> date_type:
    """RBR-06: the earliest IssueDate still valid on ``received_on`` (12 calendar months earlier,
    same day of the month, clamped at the month's end: EFDX section 7)."""
    return months_before(received_on, VALIDITY_MONTHS)


def latest_issue_date(departure: date_type) -> date_type:
    """RBR-07: the latest IssueDate for a departure (12 calendar months later, same day of the month,
    clamped at the month's end)."""
    return add_months(departure, LATEST_AFTER_DEPARTURE_MONTHS)


# --- the rules ---------------------------------------------------------------------------------------


def rbr01_exporting_party(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-01: IssuingCountry = envelope From = Exporter/Country."""
    return kit.exporting_country("RBR-01", _read, co, ctx, ("Exporter/Country",))


def rbr02_importing_party(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-02: Importer/Country = envelope To."""
    return kit.importing_country("RBR-02", _read, co, ctx, ("Importer/Country",))


def _criterion_findings(n: int, item: etree._Element) -> list[Finding]:
    """RBR-03 for one Item."""
    code = _read.text(item, "OriginCriterion/Code")
    level = _read.text(item, "OriginCriterion/CTCLevel")
    raw = _read.text(item, "OriginCriterion/Percent")
    at = f"Item[{n}]/OriginCriterion"
    findings: list[Finding] = []
    if code == "CTC":
        if level is None:
            findings.append(Finding("RBR-03", f"Item {n}: CTC without CTCLevel; CTC needs a CTCLevel", at))
        if raw is not None:
            findings.append(
                Finding("RBR-03", f"Item {n}: CTC with Percent {raw}; CTC takes no Percent", f"{at}/Percent")
            )
        return findings
    if code == "RVC":
        percent = as_decimal(raw)
        if raw is None:
            findings.append(Finding("RBR-03", f"Item {n}: RVC without Percent; RVC needs Percent >= 40", at))
        elif percent is None or percent < RVC_MIN_PERCENT:
            findings.append(
                Finding(
                    "RBR-03", f"Item {n}: RVC with Percent {raw}; RVC needs Percent >= 40", f"{at}/Percent"
                )
            )
        if level is not None:
            findings.append(
                Finding(
                    "RBR-03", f"Item {n}: RVC with CTCLevel {level}; RVC takes no CTCLevel", f"{at}/CTCLevel"
                )
            )
        return findings
    if level is not None:
        findings.append(
            Finding(
                "RBR-03",
                f"Item {n}: {shown(code)} with CTCLevel {level}; only CTC takes a CTCLevel",
                f"{at}/CTCLevel",
            )
        )
    if raw is not None:
        findings.append(
            Finding(
                "RBR-03",
                f"Item {n}: {shown(code)} with Percent {raw}; only RVC takes a Percent",
                f"{at}/Percent",
            )
        )
    return findings


def rbr03_origin_criterion(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-03: CTC needs CTCLevel and no Percent; RVC needs Percent >= 40 and no CTCLevel; WO, PE and
    CR take neither. One finding per broken clause per Item."""
    findings: list[Finding] = []
    for n, item in enumerate(_items(co), start=1):
        findings.extend(_criterion_findings(n, item))
    return findings


def rbr04_fob_value(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-04: FOBValue on every Item whose criterion is RVC."""
    return [
        Finding("RBR-04", f"Item {n}: RVC without FOBValue; RVC needs a FOBValue", f"Item[{n}]")
        for n, item in enumerate(_items(co), start=1)
        if _read.text(item, "OriginCriterion/Code") == "RVC" and _read.el(item, "FOBValue") is None
    ]


def rbr05_country_of_origin(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-05: RCEPCountryOfOrigin is a party; it is IssuingCountry unless BackToBack, where it is
    OriginalProof/RCEPCountryOfOrigin. A back-to-back CO without OriginalProof is RBR-08's alone."""
    parties = ctx.parties if ctx.parties is not None else frozenset(PARTIES)
    issuing = _read.text(co, "IssuingCountry")
    back_to_back = as_bool(_read.text(co, "Remarks/BackToBack")) is True
    proof_origin = _read.text(co, "OriginalProof/RCEPCountryOfOrigin")
    if back_to_back and _read.el(co, "OriginalProof") is None:
        expected, whose = None, ""
    elif back_to_back:
        expected, whose = proof_origin, "OriginalProof/RCEPCountryOfOrigin"
    else:
        expected, whose = issuing, "IssuingCountry"
    findings: list[Finding] = []
    for n, item in enumerate(_items(co), start=1):
        origin = _read.text(item, "RCEPCountryOfOrigin")
        at = f"Item[{n}]/RCEPCountryOfOrigin"
        if origin not in parties:
            findings.append(
                Finding(
                    "RBR-05",
                    f"Item {n}: RCEPCountryOfOrigin {shown(origin)} is not an RCEP party; "
                    "RBR-05 needs a party",
                    at,
                )
            )
        elif whose and origin != expected:
            findings.append(
                Finding(
                    "RBR-05",
                    f"Item {n}: RCEPCountryOfOrigin is {origin} but {whose} is {shown(expected)}; "
                    f"RBR-05 needs RCEPCountryOfOrigin = {whose}"
                    + (" on a back-to-back CO" if back_to_back else " unless BackToBack"),
                    at,
                )
            )
    return findings


def rbr06_issue_date(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-06: ``earliest_issue_date(received_on) <= IssueDate <= received_on`` (both ends inclusive,
    calendar days, a time zone ignored)."""
    return kit.issue_date_window("RBR-06", _read, co, ctx, earliest_issue_date(ctx.received_on))


def rbr07_retroactive_issue(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-07: IssuedRetroactively is true exactly when IssueDate is more than 3 calendar days after
    Transport/DepartureDate (3 days after: not retroactive; 4 days: retroactive), and IssueDate is at
    most 12 months after DepartureDate (``latest_issue_date``, inclusive)."""
    findings = kit.retroactive_flag(
        "RBR-07", _read, co, "Remarks/IssuedRetroactively", RETROACTIVE_AFTER_DAYS
    )
    issue_raw, departure_raw = _read.text(co, "IssueDate"), _read.text(co, "Transport/DepartureDate")
    issue, departure = as_date(issue_raw), as_date(departure_raw)
    if issue is None or departure is None:  # the one finding ``retroactive_flag`` gave
        return findings
    latest = latest_issue_date(departure)
    if issue > latest:
        findings.append(
            Finding(
                "RBR-07",
                f"IssueDate {issue_raw} is more than 12 months after DepartureDate {departure_raw}; "
                f"RBR-07 needs IssueDate <= {latest.isoformat()}",
                "IssueDate",
            )
        )
    return findings


def rbr08_back_to_back(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-08: BackToBack is true exactly when OriginalProof is present, and OriginalProof/IssuingCountry
    is not IssuingCountry (an intermediate party issues a back-to-back CO)."""
    findings = kit.flag_matches_presence("RBR-08", _read, co, "Remarks", "BackToBack", "OriginalProof")
    original = _read.text(co, "OriginalProof/IssuingCountry")
    issuing = _read.text(co, "IssuingCountry")
    if original is not None and original == issuing:
        findings.append(
            Finding(
                "RBR-08",
                f"OriginalProof/IssuingCountry is {original}, the IssuingCountry itself; RBR-08 needs the "
                "original proof from another party (an intermediate party issues a back-to-back CO)",
                "OriginalProof/IssuingCountry",
            )
        )
    return findings


def rbr09_third_party_invoicing(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-09: ThirdPartyInvoicing is true exactly when ThirdPartyInvoice is present."""
    return kit.flag_matches_presence(
        "RBR-09", _read, co, "Remarks", "ThirdPartyInvoicing", "ThirdPartyInvoice"
    )


def rbr10_item_numbers(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-10: ItemNumber runs 1..n in document order (the kit's ``item_numbers``)."""
    return kit.item_numbers("RBR-10", _read, co)


def rbr11_reference_unused(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-11 (stateful): the ReferenceNumber is not an accepted CO's (the kit's ``reference_unused``)."""
    return kit.reference_unused("RBR-11", _read, co, ctx)


# RBR-12 (the CO signature is valid, EFDX section 4, by the issuing authority of IssuingCountry, valid
# and not revoked at receipt) is judged by the signature verifier; it has no function here.


def rbr13_hs_chapter(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-13: every HSCode starts with an HS chapter (the kit's ``hs_chapters``)."""
    return kit.hs_chapters("RBR-13", _read, co)


def rbr14_named_co(doc: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-14: CancelCO and ReplaceCO name a CO accepted earlier from the same IssuingCountry and not
    superseded or cancelled (EFDX BR-14 and BR-15 in one).

    ``doc`` is a ``Cancellation`` or an ``RCEPCertificateOfOrigin``. A ReplaceCO's named CO is looked up
    under the replacing CO's IssuingCountry (Replaces carries only a ReferenceNumber); a ReplaceCO
    without Replaces names no CO and fails even without a history. A Cancellation names its CO's
    IssuingCountry itself, which must be the sender's: a party cannot cancel another party's CO.
    One finding at most: the first clause broken.
    """
    if doc.tag == _CO_TAG and ctx.action == "ReplaceCO" and _read.text(doc, "Replaces") is None:
        return [Finding("RBR-14", "ReplaceCO without Replaces; RBR-14 needs the CO it replaces named", None)]
    named = kit.named_co(_read, doc, ctx, _CO_TAG, _CANCELLATION_TAG)
    if ctx.history is None or named is None:
        return []
    return kit.named_co_accepted("RBR-14", named, ctx, ctx.history) or kit.named_co_current(
        "RBR-14", named, ctx.history
    )


# --- enumerations and entry points -------------------------------------------------------------------

RULES: dict[str, Rule] = {
    "RBR-01": rbr01_exporting_party,
    "RBR-02": rbr02_importing_party,
    "RBR-03": rbr03_origin_criterion,
    "RBR-04": rbr04_fob_value,
    "RBR-05": rbr05_country_of_origin,
    "RBR-06": rbr06_issue_date,
    "RBR-07": rbr07_retroactive_issue,
    "RBR-08": rbr08_back_to_back,
    "RBR-09": rbr09_third_party_invoicing,
    "RBR-10": rbr10_item_numbers,
    "RBR-11": rbr11_reference_unused,
    "RBR-13": rbr13_hs_chapter,
    "RBR-14": rbr14_named_co,
}
STATEFUL_RULES: tuple[str, ...] = ("RBR-11", "RBR-14")
STATELESS_RULES: tuple[str, ...] = tuple(rid for rid in RULES if rid not in STATEFUL_RULES)
SIGNATURE_RULES: tuple[str, ...] = ("RBR-12",)  # judged by the signature verifier, not here
CANCELLATION_RULES: tuple[str, ...] = ("RBR-14",)


def check_certificate(co: etree._Element, ctx: Context) -> list[Finding]:
    """All CO rules but RBR-12, in RBR order; stateful ones only when ``ctx.history`` is given."""
    return kit.judge_all(RULES.values(), co, ctx, _CO_TAG, "check_certificate")


def check_cancellation(cancellation: etree._Element, ctx: Context) -> list[Finding]:
    """A CancelCO's Cancellation payload: RBR-14 (stateful), nothing else."""
    return kit.judge_all(
        [RULES[rid] for rid in CANCELLATION_RULES], cancellation, ctx, _CANCELLATION_TAG, "check_cancellation"
    )
