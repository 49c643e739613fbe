"""Verdicts as ISO/IEC 9646 has them, and how they combine.

A test's verdict only gets worse while it runs; a requirement's verdict is the worst of its tests';
the run is ``conformant`` only when every applicable MUST requirement passed. Not-applicable (a
capability the ICS does not claim) is never counted as a pass.
"""

from __future__ import annotations

from collections.abc import Iterable

PASS, INCONCLUSIVE, FAIL, ERROR, NOT_APPLICABLE = "pass", "inconclusive", "fail", "error", "not-applicable"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, ERROR, NOT_APPLICABLE)
_BADNESS = {NOT_APPLICABLE: -1, PASS: 0, INCONCLUSIVE: 1, FAIL: 2, ERROR: 3}

CONFORMANT, NOT_CONFORMANT, INCOMPLETE = "conformant", "not-conformant", "incomplete"
# A requirement a functional run leaves to a load run (capacity, claimed): neither run nor unrun here
BY_LOAD_RUN = "by-load-run"


class Inconclusive(Exception):
    """Neither pass nor fail can be said (e.g. manual mode without an operator); carries why."""


class NotApplicable(Exception):
    """The test does not apply to this candidate (a capability or role it does not claim)."""


def worse(first: str, second: str) -> str:
    return first if _BADNESS[first] >= _BADNESS[second] else second


def worst(verdicts: Iterable[str]) -> str:
    result = NOT_APPLICABLE
    for verdict in verdicts:
        result = worse(result, verdict)
    return result


def run_verdict(requirement_verdicts: dict[str, str], levels: dict[str, str], interrupted: bool) -> str:
    """``conformant`` only when every applicable MUST requirement passed and nothing was cut short."""
    must = [verdict for rid, verdict in requirement_verdicts.items() if levels.get(rid, "MUST") == "MUST"]
    if any(verdict == FAIL for verdict in must):
        return NOT_CONFORMANT
    if interrupted or any(verdict in (ERROR, INCONCLUSIVE) for verdict in must):
        return INCOMPLETE
    if not any(verdict == PASS for verdict in must):
        return INCOMPLETE
    return CONFORMANT
