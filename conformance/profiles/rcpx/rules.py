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

from conformance.core.business_rules import (
    Context,
    Finding,
    Reader,
    Rule,
    add_months,
    as_bool,
    as_date,
    as_decimal,
    as_int,
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
HS_CHAPTERS = range(1, 98)  # RBR-13: 01..97
HS_RESERVED_CHAPTER = 77


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
    issuing = _read.text(co, "IssuingCountry")
    findings: list[Finding] = []
    if issuing != ctx.sender:
        findings.append(
            Finding(
                "RBR-01",
                f"IssuingCountry is {shown(issuing)} but the envelope From is {ctx.sender}; "
                "RBR-01 needs IssuingCountry = From",
                "IssuingCountry",
            )
        )
    exporter = _read.text(co, "Exporter/Country")
    if exporter != issuing:
        findings.append(
            Finding(
                "RBR-01",
                f"Exporter/Country is {shown(exporter)} but IssuingCountry is {shown(issuing)}; "
                "RBR-01 needs Exporter/Country = IssuingCountry",
                "Exporter/Country",
            )
        )
    return findings


def rbr02_importing_party(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-02: Importer/Country = envelope To."""
    importer = _read.text(co, "Importer/Country")
    if importer == ctx.receiver:
        return []
    return [
        Finding(
            "RBR-02",
            f"Importer/Country is {shown(importer)} but the envelope To is {ctx.receiver}; "
            "RBR-02 needs Importer/Country = To",
            "Importer/Country",
        )
    ]


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
    raw = _read.text(co, "IssueDate")
    issue = as_date(raw)
    if issue is None:
        return [Finding("RBR-06", f"IssueDate is {shown(raw)}; RBR-06 needs an xs:date", "IssueDate")]
    if issue > ctx.received_on:
        return [
            Finding(
                "RBR-06",
                f"IssueDate {raw} is after the day of receipt {ctx.received_on.isoformat()}; "
                "RBR-06 needs IssueDate <= day of receipt",
                "IssueDate",
            )
        ]
    earliest = earliest_issue_date(ctx.received_on)
    if issue < earliest:
        return [
            Finding(
                "RBR-06",
                f"IssueDate {raw} is more than 12 months before the day of receipt "
                f"{ctx.received_on.isoformat()}; RBR-06 needs IssueDate >= {earliest.isoformat()}",
                "IssueDate",
            )
        ]
    return []


def rbr07_retroactive_issue(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-07: IssuedRetroactively is true exactly when IssueDate is more than 3 calendar days after
    Transport/DepartureDate (3 days after: not retroactive; 4 days: retroactive), and IssueDate is at
    most 12 months after DepartureDate (``latest_issue_date``, inclusive)."""
    issue_raw, departure_raw = _read.text(co, "IssueDate"), _read.text(co, "Transport/DepartureDate")
    issue, departure = as_date(issue_raw), as_date(departure_raw)
    if issue is None or departure is None:
        return [
            Finding(
                "RBR-07",
                f"cannot compare IssueDate {shown(issue_raw)} with DepartureDate {shown(departure_raw)}; "
                "RBR-07 needs both as xs:date",
                "IssueDate" if issue is None else "Transport/DepartureDate",
            )
        ]
    findings: list[Finding] = []
    days = (issue - departure).days
    retroactive = days > RETROACTIVE_AFTER_DAYS
    flag_raw = _read.text(co, "Remarks/IssuedRetroactively")
    if as_bool(flag_raw) is not retroactive:
        if days >= 0:
            unit = "day" if days == 1 else "days"
            gap = f"IssueDate {issue_raw} is {days} {unit} after DepartureDate {departure_raw}"
        else:
            gap = f"IssueDate {issue_raw} is before DepartureDate {departure_raw}"
        findings.append(
            Finding(
                "RBR-07",
                f"{gap} and IssuedRetroactively is {shown(flag_raw)}; RBR-07 needs "
                f"{'true' if retroactive else 'false'} (true exactly when more than 3 days after departure)",
                "Remarks/IssuedRetroactively",
            )
        )
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


def _flag_matches_presence(rule: str, co: etree._Element, flag: str, element: str) -> list[Finding]:
    raw = _read.text(co, f"Remarks/{flag}")
    present = _read.el(co, element) is not None
    if as_bool(raw) is present:
        return []
    return [
        Finding(
            rule,
            f"Remarks/{flag} is {shown(raw)} and {element} is {'present' if present else 'absent'}; "
            f"{rule} needs {flag} true exactly when {element} is present",
            f"Remarks/{flag}",
        )
    ]


def rbr08_back_to_back(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-08: BackToBack is true exactly when OriginalProof is present, and OriginalProof/IssuingCountry
    is not IssuingCountry (an intermediate party issues a back-to-back CO)."""
    findings = _flag_matches_presence("RBR-08", co, "BackToBack", "OriginalProof")
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
    return _flag_matches_presence("RBR-09", co, "ThirdPartyInvoicing", "ThirdPartyInvoice")


def rbr10_item_numbers(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-10: ItemNumber runs 1..n in document order without gaps or repeats (one finding, located at
    the first Item whose number is out of sequence)."""
    observed = [_read.text(item, "ItemNumber") for item in _items(co)]
    if [as_int(v) for v in observed] == list(range(1, len(observed) + 1)):
        return []
    first = next(n for n, v in enumerate(observed, start=1) if as_int(v) != n)
    expected = ", ".join(str(n) for n in range(1, len(observed) + 1))
    seen = ", ".join(shown(v) for v in observed)
    return [
        Finding(
            "RBR-10",
            f"ItemNumbers are {seen}; RBR-10 needs {expected} in document order",
            f"Item[{first}]/ItemNumber",
        )
    ]


def rbr11_reference_unused(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-11 (stateful): for IssueCO and ReplaceCO, no CO with this ReferenceNumber from this
    IssuingCountry was accepted before."""
    if ctx.history is None or ctx.action not in ("IssueCO", "ReplaceCO"):
        return []
    country, reference = _read.text(co, "IssuingCountry"), _read.text(co, "ReferenceNumber")
    if country is None or reference is None or not ctx.history.accepted(country, reference):
        return []
    return [
        Finding(
            "RBR-11",
            f"a CO {reference} from {country} was accepted before; RBR-11 needs a ReferenceNumber not "
            "used by an accepted CO of the same IssuingCountry",
            "ReferenceNumber",
        )
    ]


# RBR-12 (the CO signature is valid, EFDX section 4, by the issuing authority of IssuingCountry, valid
# and not revoked at receipt) is judged by the signature verifier; it has no function here.


def rbr13_hs_chapter(co: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-13: HSCode's first two digits are an HS chapter: 01..97, not 77 (reserved)."""
    findings: list[Finding] = []
    for n, item in enumerate(_items(co), start=1):
        hs = _read.text(item, "HSCode")
        head = (hs or "")[:2]
        chapter = as_int(head) if len(head) == 2 and head.isascii() and head.isdigit() else None
        if chapter in HS_CHAPTERS and chapter != HS_RESERVED_CHAPTER:
            continue
        findings.append(
            Finding(
                "RBR-13",
                f"Item {n}: HSCode {shown(hs)} starts with chapter {head or 'nothing'}; "
                "RBR-13 needs an HS chapter 01-97 other than 77",
                f"Item[{n}]/HSCode",
            )
        )
    return findings


def rbr14_named_co(doc: etree._Element, ctx: Context) -> list[Finding]:
    """RBR-14: CancelCO and ReplaceCO name a CO accepted earlier from the same IssuingCountry and not
    superseded or cancelled (EFDX BR-14 and BR-15 in one).

    ``doc`` is a ``Cancellation`` or an ``RCEPCertificateOfOrigin``. A ReplaceCO's named CO is looked up
    under the replacing CO's IssuingCountry (Replaces carries only a ReferenceNumber); a ReplaceCO
    without Replaces names no CO and fails even without a history. A Cancellation names its CO's
    IssuingCountry itself, which must be the sender's: a party cannot cancel another party's CO.
    One finding at most: the first clause broken.
    """
    if doc.tag == _CO_TAG:
        if ctx.action != "ReplaceCO":
            return []
        country, reference, location = (
            _read.text(doc, "IssuingCountry"),
            _read.text(doc, "Replaces"),
            "Replaces",
        )
        what = "Replaces names"
        if reference is None:
            return [
                Finding("RBR-14", "ReplaceCO without Replaces; RBR-14 needs the CO it replaces named", None)
            ]
    elif doc.tag == _CANCELLATION_TAG:
        country, reference = _read.text(doc, "IssuingCountry"), _read.text(doc, "ReferenceNumber")
        location, what = "ReferenceNumber", "the Cancellation names"
    else:
        return []
    if ctx.history is None or country is None or reference is None:
        return []
    if doc.tag == _CANCELLATION_TAG and country != ctx.sender:
        return [
            Finding(
                "RBR-14",
                f"the Cancellation names CO {reference} of IssuingCountry {country} but comes from "
                f"{ctx.sender}; RBR-14 needs a CO accepted earlier from the same IssuingCountry",
                "IssuingCountry",
            )
        ]
    if not ctx.history.accepted(country, reference):
        return [
            Finding(
                "RBR-14",
                f"{what} CO {reference} of {country}, which was not accepted before; "
                "RBR-14 needs a CO accepted earlier from the same IssuingCountry",
                location,
            )
        ]
    if ctx.history.superseded_or_cancelled(country, reference):
        return [
            Finding(
                "RBR-14",
                f"{what} CO {reference} of {country}, which is already superseded or cancelled; "
                "RBR-14 needs a CO that is neither",
                location,
            )
        ]
    return []


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
    if co.tag != _CO_TAG:
        raise ValueError(f"check_certificate needs a {_CO_TAG} element, got {co.tag}")
    findings: list[Finding] = []
    for rule in RULES.values():
        findings.extend(rule(co, ctx))
    return findings


def check_cancellation(cancellation: etree._Element, ctx: Context) -> list[Finding]:
    """A CancelCO's Cancellation payload: RBR-14 (stateful), nothing else."""
    if cancellation.tag != _CANCELLATION_TAG:
        raise ValueError(f"check_cancellation needs a {_CANCELLATION_TAG} element, got {cancellation.tag}")
    findings: list[Finding] = []
    for rid in CANCELLATION_RULES:
        findings.extend(RULES[rid](cancellation, ctx))
    return findings
