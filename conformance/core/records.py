"""What one test did and concluded, as plain data: the harness fills it in while a test runs, and
the results (results.json, the report, junit, CTRF) are made from it, without reaching back into the
live harness that made it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from conformance.core.client import Exchange


@dataclass
class TestRecord:
    """What one test did and concluded: the raw material of results.json and the report."""

    nodeid: str
    name: str
    requirements: tuple[str, ...]
    title: str = ""
    purposes: tuple[str, ...] = ()  # the test purposes (clauses) the test covers
    verdict: str = ""  # set by the plugin: pass, fail, inconclusive, error, not-applicable
    reason: str = ""
    expected: str = ""
    observed: str = ""
    failed_requirements: tuple[str, ...] = ()  # what the failing check named
    location: str | None = None  # the failing check's XPath of the offending node, where it gave one
    description: str = ""  # what a parametrized case is (a test vector's description), where it says
    duration_s: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    arrivals: list[Any] = field(default_factory=list)  # what the candidate sent to the harness inbox
    notes: list[str] = field(default_factory=list)  # e.g. the instructions given to an operator
    # What the harness inbox turned away while the test ran (connections refused at its limit, timed
    # out, bodies over its budget): then a fail is not the candidate's to carry (see plugin).
    harness_trouble: str = ""

    def verdict_for(self, requirement_id: str) -> str | None:
        """This test's verdict on one requirement: a fail counts against the requirement whose check
        failed; the test's other requirements were not (all) judged, so for them it is inconclusive."""
        if requirement_id not in self.requirements and requirement_id not in self.failed_requirements:
            return None
        if (
            self.verdict == "fail"
            and self.failed_requirements
            and requirement_id not in self.failed_requirements
        ):
            return "inconclusive"
        return self.verdict or "inconclusive"  # no verdict: the test never finished


@dataclass(frozen=True)
class ReceivedJudgement:
    """What the results read of an arrival's judgement: its codes."""

    codes: list[str]


@dataclass
class Received:
    """An arrival at the harness inbox as plain data: what the results (results.json, evidence) read
    of it, and no more. A profile run in a process of its own (profiles side by side) hands its
    records to the run's process with these in place of the inbox's Arrivals, whose judgement holds
    parsed XML trees that do not cross a process boundary."""

    body: bytes  # what the inbox kept of the body (all of it, or the first bytes: see size)
    content_type: str
    received_at: datetime
    answered: int
    size: int  # of the whole body received
    judgement: ReceivedJudgement

    @classmethod
    def of(cls, arrival: Any) -> Received:
        return cls(
            body=bytes(arrival.body),
            content_type=arrival.content_type,
            received_at=arrival.received_at,
            answered=arrival.answered,
            size=arrival.size,
            judgement=ReceivedJudgement(list(arrival.judgement.codes)),
        )


def portable(record: TestRecord) -> TestRecord:
    """A copy of ``record`` that pickles: its arrivals as Received (its exchanges are plain data)."""
    return replace(
        record,
        exchanges=list(record.exchanges),
        arrivals=[a if isinstance(a, Received) else Received.of(a) for a in record.arrivals],
        notes=list(record.notes),
    )
