"""The typed failure that every check raises: which requirement, what the spec demands, what was seen.

One type serves the offline validator, the harness inbox and the reference NSW, so that a verdict,
a profile's error code (its pack maps requirement to wire code) and a report line all come from the
same object.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Violation(Exception):
    """A requirement was not met. ``location`` is an XPath of the offending node where known;
    ``also`` names further requirements the same observation breaks (a wrong status after a
    CancelCO breaks BR-14 and A-03 at once)."""

    requirement: str
    expected: str
    observed: str
    location: str | None = None
    also: tuple[str, ...] = ()

    @property
    def requirements(self) -> tuple[str, ...]:
        return (self.requirement, *(rid for rid in self.also if rid != self.requirement))

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.requirement}{where}: expected {self.expected}; observed {self.observed}"
