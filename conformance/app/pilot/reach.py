"""A party that stops answering mid-pilot (issue 20: ``incomplete``, a party unreachable).

A party is **unreachable** when the gateway reached it at least once (its own answer came back) and,
from some relay on, every forward to it failed at the gateway: connection refused, reset or no
answer (the gateway's own 502 or 504 after trying to forward, never an injected one). What follows
from that is no one's fault the pilot can judge: in the pairs it takes part in, a lost or late
answer, a sender's retries that ended without taking, and any finding whose relays came after it
stopped answering are set aside as notes (the pair is ``incomplete``, naming the party and why),
never ``not-interoperable`` for its innocent partner. Findings from before it stopped stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .findings import LATE, LOST, RETRY, Finding, Note
from .traffic import Seen


@dataclass(frozen=True)
class Unreachable:
    party: str
    since: datetime  # when the first failed forward reached the gateway
    relay: int  # its number
    why: str  # what the gateway said of it

    @property
    def reason(self) -> str:
        return f"{self.party} unreachable from relay {self.relay} on ({self.why})"


def _failed_forward(item: Seen) -> bool:
    relay = item.relay
    return relay.forwarded_to is not None and relay.gateway is not None and relay.status in (502, 504)


def unreachable(seen: Sequence[Seen]) -> dict[str, Unreachable]:
    """party -> since when it stopped answering, for every party that did (see the module's words)."""
    found: dict[str, Unreachable] = {}
    by_party: dict[str, list[Seen]] = {}
    for item in seen:
        if item.receiver and item.relay.forwarded_to is not None:
            by_party.setdefault(item.receiver, []).append(item)
    for party, forwards in by_party.items():
        forwards.sort(key=lambda s: (s.started, s.index))
        answered = [i for i, item in enumerate(forwards) if not _failed_forward(item)]
        if not answered or answered[-1] == len(forwards) - 1:
            continue  # never reached, or its last forward was answered
        first = forwards[answered[-1] + 1]
        found[party] = Unreachable(party, first.started, first.index, first.relay.gateway or "")
    return found


def set_aside(findings: Sequence[Finding], gone: dict[str, Unreachable]) -> tuple[list[Finding], list[Note]]:
    """The findings that stand, and notes for those set aside because a party stopped answering."""
    kept: list[Finding] = []
    notes: list[Note] = []
    for finding in findings:
        party = next((gone[p] for p in finding.pair if p in gone), None)
        after = party is not None and any(
            datetime.fromisoformat(e["at"]) >= party.since for e in finding.evidence if "at" in e
        )
        if party is not None and (finding.category in (LOST, LATE, RETRY) or after):
            notes.append(
                Note(
                    finding.pair,
                    finding.kind,
                    f"not judged, {party.party} unreachable: {finding.party} {finding.requirement} "
                    f"({finding.text})",
                )
            )
        else:
            kept.append(finding)
    return kept, notes
