"""What every profile's business rules share: the context a rule is judged in, its findings, and
reading a payload's text, dates, decimals and booleans without crashing on what is missing.

A profile's rules are small pure functions of (payload element, ``Context``) that return a list of
``Finding`` (empty when the rule holds): no I/O, no clock, no store of their own, so that the offline
validator, the harness and the reference NSW get the same answer, and the day of receipt and the
history of accepted COs come in through ``Context``. The rules themselves are the pack's.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from lxml import etree


class History(Protocol):
    """What the receiving NSW knows about COs received earlier (the stateful rules' only input)."""

    def accepted(self, issuing_country: str, reference: str) -> bool:
        """A CO with this reference from this issuing country was accepted before (IssueCO or ReplaceCO)."""
        ...

    def superseded_or_cancelled(self, issuing_country: str, reference: str) -> bool:
        """That CO has since been replaced by a ReplaceCO or cancelled by a CancelCO."""
        ...


@dataclass(frozen=True)
class Context:
    """What a rule needs besides the payload: the envelope, the day of receipt, the history, and the
    parties the receiver admits (None: the profile's default list; configuration may add one)."""

    action: str  # envelope Action: "IssueCO" | "ReplaceCO" | "CancelCO" ...
    sender: str  # envelope From
    receiver: str  # envelope To
    received_on: date  # the day of receipt (UTC)
    history: History | None = None  # None: stateless judgement, stateful rules are skipped
    parties: frozenset[str] | None = None


@dataclass(frozen=True)
class Finding:
    """One way in which a rule does not hold: what was observed and what the rule demands."""

    rule: str  # "RBR-03"
    text: str  # "Item 2: CTC without CTCLevel; CTC needs a CTCLevel"
    location: str | None = None  # XPath relative to the payload element: "Item[2]/OriginCriterion"

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.rule}{where}: {self.text}"


Rule = Callable[[etree._Element, Context], list[Finding]]


def rule_order(rule: str) -> tuple[str, int, str]:
    """The one order of rule IDs: by prefix, then by number (``BR-9`` before ``BR-10``, padded or
    not); an ID that does not end in ``-<digits>`` sorts by its text."""
    prefix, _, number = rule.rpartition("-")
    if prefix and number.isascii() and number.isdigit():
        return prefix, int(number), rule
    return rule, -1, rule


def failed_rules(findings: Iterable[Finding]) -> tuple[str, ...]:
    """The rule IDs that failed, each once, in rule order (a StatusNotification's Reason codes)."""
    return tuple(sorted({f.rule for f in findings}, key=rule_order))


class Reader:
    """Namespaced lookups on a payload by relative path (``Item[2]/OriginCriterion``)."""

    def __init__(self, namespace: str) -> None:
        self._ns = {"p": namespace}

    def path(self, path: str) -> str:
        return "/".join(f"p:{step}" for step in path.split("/"))

    def el(self, node: etree._Element, path: str) -> etree._Element | None:
        return node.find(self.path(path), self._ns)

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return node.findall(self.path(path), self._ns)

    def text(self, node: etree._Element, path: str) -> str | None:
        """The whitespace-stripped text at ``path``; None when the element is absent."""
        el = self.el(node, path)
        if el is None:
            return None
        return (el.text or "").strip()


def as_bool(value: str | None) -> bool | None:
    """xs:boolean: true/1, false/0; None when absent or not a boolean."""
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def as_decimal(value: str | None) -> Decimal | None:
    """A finite decimal (never a float: 39.999999999999999999 stays below 40); None otherwise."""
    if value is None:
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


_INTEGER = re.compile(r"^\+?[0-9]+$")
_XS_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?$")


def as_int(value: str | None) -> int | None:
    return int(value) if value is not None and _INTEGER.match(value) else None


def as_date(value: str | None) -> date | None:
    """xs:date -> date. A time zone, if given, is ignored: the rules compare calendar days."""
    if value is None:
        return None
    match = _XS_DATE.match(value)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def shown(value: str | None) -> str:
    """An observed value for a finding's text."""
    return "absent" if value is None else value or "empty"


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` calendar months later (earlier when negative), clamped at
    the end of a shorter month: 2024-02-29 + 12 -> 2025-02-28; 2025-05-31 - 3 -> 2025-02-28."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_before(day: date, months: int) -> date:
    """``add_months(day, -months)``: 2025-03-15 -> 2024-03-15 for 12 months."""
    return add_months(day, -months)


# --- clauses that more than one profile's rules share -------------------------------------------------
# Each takes the rule ID (its findings carry it, and their texts name it) and the pack's ``Reader`` (the
# payload's namespace), so that one implementation, and one wording, serves every pack.


def judge_all(
    rules: Iterable[Rule], element: etree._Element, ctx: Context, tag: str, caller: str
) -> list[Finding]:
    """A pack's entry point (``check_certificate``, ``check_cancellation``): the findings of ``rules``
    in their order on an element that must be a ``tag``; any other element is the caller's bug."""
    if element.tag != tag:
        raise ValueError(f"{caller} needs a {tag} element, got {element.tag}")
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule(element, ctx))
    return findings


def must_equal(
    rule: str, read: Reader, node: etree._Element, path: str, expected: str | None, said: str, short: str
) -> list[Finding]:
    """The value at ``path`` equals ``expected`` (``said``: how the finding shows the expected side,
    ``short``: how the rule names it); one finding located at ``path`` otherwise."""
    value = read.text(node, path)
    if value == expected:
        return []
    return [Finding(rule, f"{path} is {shown(value)} but {said}; {rule} needs {path} = {short}", path)]


def exporting_country(
    rule: str, read: Reader, co: etree._Element, ctx: Context, paths: Iterable[str]
) -> list[Finding]:
    """IssuingCountry = envelope From, and each of ``paths`` (the exporter's country, ...) =
    IssuingCountry."""
    issuing = read.text(co, "IssuingCountry")
    findings = must_equal(
        rule, read, co, "IssuingCountry", ctx.sender, f"the envelope From is {ctx.sender}", "From"
    )
    for path in paths:
        findings += must_equal(
            rule, read, co, path, issuing, f"IssuingCountry is {shown(issuing)}", "IssuingCountry"
        )
    return findings


def importing_country(
    rule: str, read: Reader, co: etree._Element, ctx: Context, paths: Iterable[str]
) -> list[Finding]:
    """Each of ``paths`` (the consignee's or importer's country, ...) = envelope To."""
    findings: list[Finding] = []
    for path in paths:
        findings += must_equal(rule, read, co, path, ctx.receiver, f"the envelope To is {ctx.receiver}", "To")
    return findings


def issue_date_window(
    rule: str, read: Reader, co: etree._Element, ctx: Context, earliest: date
) -> list[Finding]:
    """``earliest <= IssueDate <= day of receipt`` (calendar days, both ends inclusive; ``earliest`` is
    the pack's validity window, 12 months before receipt in both EFDX and RCPX)."""
    raw = read.text(co, "IssueDate")
    issue = as_date(raw)
    if issue is None:
        return [Finding(rule, f"IssueDate is {shown(raw)}; {rule} needs an xs:date", "IssueDate")]
    if issue > ctx.received_on:
        return [
            Finding(
                rule,
                f"IssueDate {raw} is after the day of receipt {ctx.received_on.isoformat()}; "
                f"{rule} needs IssueDate <= day of receipt",
                "IssueDate",
            )
        ]
    if issue < earliest:
        return [
            Finding(
                rule,
                f"IssueDate {raw} is more than 12 months before the day of receipt "
                f"{ctx.received_on.isoformat()}; {rule} needs IssueDate >= {earliest.isoformat()}",
                "IssueDate",
            )
        ]
    return []


def retroactive_flag(
    rule: str, read: Reader, co: etree._Element, flag_path: str, after_days: int
) -> list[Finding]:
    """The flag at ``flag_path`` (IssuedRetroactively) is true exactly when IssueDate is more than
    ``after_days`` calendar days after Transport/DepartureDate; a date that is not an xs:date is one
    finding (the flag is then not judged)."""
    issue_raw, departure_raw = read.text(co, "IssueDate"), read.text(co, "Transport/DepartureDate")
    issue, departure = as_date(issue_raw), as_date(departure_raw)
    if issue is None or departure is None:
        return [
            Finding(
                rule,
                f"cannot compare IssueDate {shown(issue_raw)} with DepartureDate {shown(departure_raw)}; "
                f"{rule} needs both as xs:date",
                "IssueDate" if issue is None else "Transport/DepartureDate",
            )
        ]
    days = (issue - departure).days
    retroactive = days > after_days
    flag_raw = read.text(co, flag_path)
    if as_bool(flag_raw) is retroactive:
        return []
    if days >= 0:
        unit = "day" if days == 1 else "days"
        gap = f"IssueDate {issue_raw} is {days} {unit} after DepartureDate {departure_raw}"
    else:
        gap = f"IssueDate {issue_raw} is before DepartureDate {departure_raw}"
    return [
        Finding(
            rule,
            f"{gap} and IssuedRetroactively is {shown(flag_raw)}; {rule} needs "
            f"{'true' if retroactive else 'false'} "
            f"(true exactly when more than {after_days} days after departure)",
            flag_path,
        )
    ]


def flag_matches_presence(
    rule: str, read: Reader, co: etree._Element, flags: str, flag: str, element: str
) -> list[Finding]:
    """``flags/flag`` (EFDX's Flags, RCPX's Remarks) is true exactly when ``element`` is present."""
    raw = read.text(co, f"{flags}/{flag}")
    present = read.el(co, element) is not None
    if as_bool(raw) is present:
        return []
    return [
        Finding(
            rule,
            f"{flags}/{flag} is {shown(raw)} and {element} is {'present' if present else 'absent'}; "
            f"{rule} needs {flag} true exactly when {element} is present",
            f"{flags}/{flag}",
        )
    ]


def item_numbers(rule: str, read: Reader, co: etree._Element) -> list[Finding]:
    """ItemNumber runs 1..n in document order without gaps or repeats (one finding, located at the
    first Item whose number is out of sequence)."""
    observed = [read.text(item, "ItemNumber") for item in read.all(co, "Item")]
    if [as_int(v) for v in observed] == list(range(1, len(observed) + 1)):
        return []
    first = next(n for n, v in enumerate(observed, start=1) if as_int(v) != n)
    expected = ", ".join(str(n) for n in range(1, len(observed) + 1))
    seen = ", ".join(shown(v) for v in observed)
    return [
        Finding(
            rule,
            f"ItemNumbers are {seen}; {rule} needs {expected} in document order",
            f"Item[{first}]/ItemNumber",
        )
    ]


def hs_chapters(rule: str, read: Reader, co: etree._Element) -> list[Finding]:
    """Every Item's HSCode starts with an HS chapter: 01..97, not 77 (reserved); one finding per Item."""
    findings: list[Finding] = []
    for n, item in enumerate(read.all(co, "Item"), start=1):
        hs = read.text(item, "HSCode")
        head = (hs or "")[:2]
        if len(head) == 2 and head.isascii() and head.isdigit() and 1 <= int(head) <= 97 and head != "77":
            continue
        findings.append(
            Finding(
                rule,
                f"Item {n}: HSCode {shown(hs)} starts with chapter {head or 'nothing'}; "
                f"{rule} needs an HS chapter 01-97 other than 77",
                f"Item[{n}]/HSCode",
            )
        )
    return findings


def reference_unused(rule: str, read: Reader, co: etree._Element, ctx: Context) -> list[Finding]:
    """Stateful: for IssueCO and ReplaceCO, no CO with this ReferenceNumber from this IssuingCountry
    was accepted before (skipped without a history)."""
    if ctx.history is None or ctx.action not in ("IssueCO", "ReplaceCO"):
        return []
    country, reference = read.text(co, "IssuingCountry"), read.text(co, "ReferenceNumber")
    if country is None or reference is None or not ctx.history.accepted(country, reference):
        return []
    return [
        Finding(
            rule,
            f"a CO {reference} from {country} was accepted before; {rule} needs a ReferenceNumber not "
            "used by an accepted CO of the same IssuingCountry",
            "ReferenceNumber",
        )
    ]


@dataclass(frozen=True)
class NamedCO:
    """The CO that a Cancellation, or a ReplaceCO's Replaces, names, and where the payload names it."""

    country: str
    reference: str
    location: str  # "ReferenceNumber" (a Cancellation) or "Replaces"
    by_cancellation: bool

    @property
    def what(self) -> str:
        return "the Cancellation names" if self.by_cancellation else "Replaces names"


def named_co(
    read: Reader, doc: etree._Element, ctx: Context, co_tag: str, cancellation_tag: str
) -> NamedCO | None:
    """The CO that a Cancellation (its own IssuingCountry and ReferenceNumber) or a ReplaceCO (the
    replacing CO's IssuingCountry, Replaces) names; None when the payload names none."""
    if doc.tag == cancellation_tag:
        country, reference = read.text(doc, "IssuingCountry"), read.text(doc, "ReferenceNumber")
        location = "ReferenceNumber"
    elif doc.tag == co_tag and ctx.action == "ReplaceCO":
        country, reference = read.text(doc, "IssuingCountry"), read.text(doc, "Replaces")
        location = "Replaces"
    else:
        return None
    if country is None or reference is None:
        return None
    return NamedCO(country, reference, location, doc.tag == cancellation_tag)


def named_co_accepted(rule: str, named: NamedCO, ctx: Context, history: History) -> list[Finding]:
    """The named CO was accepted earlier from the same IssuingCountry; a Cancellation's named country
    must be the sender's (a party cannot cancel a CO that another party issued)."""
    if named.by_cancellation and named.country != ctx.sender:
        return [
            Finding(
                rule,
                f"the Cancellation names CO {named.reference} of IssuingCountry {named.country} "
                f"but comes from {ctx.sender}; "
                f"{rule} needs a CO accepted earlier from the same IssuingCountry",
                "IssuingCountry",
            )
        ]
    if history.accepted(named.country, named.reference):
        return []
    return [
        Finding(
            rule,
            f"{named.what} CO {named.reference} of {named.country}, which was not accepted before; "
            f"{rule} needs a CO accepted earlier from the same IssuingCountry",
            named.location,
        )
    ]


def named_co_current(rule: str, named: NamedCO, history: History) -> list[Finding]:
    """The named CO is not superseded (by a ReplaceCO) or cancelled."""
    if not history.superseded_or_cancelled(named.country, named.reference):
        return []
    return [
        Finding(
            rule,
            f"{named.what} CO {named.reference} of {named.country}, "
            f"which is already superseded or cancelled; {rule} needs a CO that is neither",
            named.location,
        )
    ]
