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
