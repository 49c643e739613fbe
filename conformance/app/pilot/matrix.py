"""The pilot's result: a matrix of ordered pairs (sender -> receiver) by message kind, a verdict
per pair, and per party the requirements it broke as sender and as receiver.

A pair is ``not-interoperable`` when either party broke any requirement in its traffic (a
disagreement, an invalid message, a lost, late or duplicate status, a retry gone wrong);
``incomplete`` when nothing was broken but something could not be judged (a party unreachable, a
kind the script sent never exchanged, a conversation still open, a time too close to its bound, no
traffic at all); ``interoperable`` otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .findings import DISAGREEMENT, DUPLICATE, INVALID, LATE, LOST, RECEIVER, SENDER, Finding, Note
from .traffic import Seen

INTEROPERABLE, NOT_INTEROPERABLE, INCOMPLETE = "interoperable", "not-interoperable", "incomplete"
COLUMNS = ("messages", "retries", "disagreements", "invalid", "lost", "late", "duplicates")
_CATEGORY_COLUMN = {
    DISAGREEMENT: "disagreements",
    INVALID: "invalid",
    LOST: "lost",
    LATE: "late",
    DUPLICATE: "duplicates",
}


@dataclass
class Matrix:
    parties: tuple[str, ...]
    cells: dict[tuple[str, str], dict[str, dict[str, int]]]  # pair -> kind -> column -> count
    verdicts: dict[tuple[str, str], str]
    reasons: dict[tuple[str, str], list[str]]  # pair -> why not interoperable, or why incomplete
    findings: list[Finding]
    notes: list[Note]
    broke: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # party -> role -> requirements

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(a, b) for a in self.parties for b in self.parties if a != b]

    @property
    def all_interoperable(self) -> bool:
        return all(self.verdicts[pair] == INTEROPERABLE for pair in self.pairs)

    def as_json(self, qualify) -> dict:
        return {
            "parties": list(self.parties),
            "pairs": [
                {
                    "sender": pair[0],
                    "receiver": pair[1],
                    "verdict": self.verdicts[pair],
                    "reasons": self.reasons[pair],
                    "kinds": self.cells.get(pair, {}),
                    "requirements": sorted({qualify(f.requirement) for f in self.findings if f.pair == pair}),
                }
                for pair in self.pairs
            ],
            "parties_broke": {
                party: {role: [qualify(rid) for rid in rids] for role, rids in roles.items()}
                for party, roles in self.broke.items()
            },
            "findings": [finding.as_json() for finding in self.findings],
            "notes": [note.as_json() for note in self.notes],
        }


def build(
    parties: Sequence[str],
    seen: Iterable[Seen],
    findings: Sequence[Finding],
    notes: Sequence[Note],
    retries: Mapping[tuple[str, str, str], int],
    *,
    expected_kinds: Mapping[tuple[str, str], Sequence[str]] | None = None,
    unreachable: Mapping[str, str] | None = None,  # party -> why it is unreachable
) -> Matrix:
    parties = tuple(parties)
    cells: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(dict)

    def cell(pair: tuple[str, str], kind: str) -> dict[str, int]:
        return cells[pair].setdefault(kind, dict.fromkeys(COLUMNS, 0))

    messages: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for item in seen:
        if item.sender and item.receiver and item.fields.message_id:
            messages[(item.sender, item.receiver, item.fields.action or "?")].add(item.fields.message_id)
    for (sender, receiver, kind), ids in messages.items():
        cell((sender, receiver), kind)["messages"] = len(ids)
    for (sender, receiver, kind), count in retries.items():
        cell((sender, receiver), kind)["retries"] = count
    for finding in findings:
        column = _CATEGORY_COLUMN.get(finding.category)
        if column:
            cell(finding.pair, finding.kind)[column] += 1
    out = dict(unreachable or {})
    verdicts: dict[tuple[str, str], str] = {}
    reasons: dict[tuple[str, str], list[str]] = {}
    for pair in [(a, b) for a in parties for b in parties if a != b]:
        broken = sorted({f"{f.party} as {f.role}: {f.requirement}" for f in findings if f.pair == pair})
        if broken:
            verdicts[pair], reasons[pair] = NOT_INTEROPERABLE, broken
            continue
        why = [out[party] for party in pair if party in out]
        exchanged = set(cells.get(pair, {}))
        for kind in (expected_kinds or {}).get(pair, ()):
            if kind not in exchanged:
                why.append(f"no {kind} exchanged")
        why += [note.text for note in notes if note.pair == pair]
        if not exchanged and not why:
            why.append("no message exchanged")
        verdicts[pair], reasons[pair] = (INCOMPLETE, why) if why else (INTEROPERABLE, [])
    broke: dict[str, dict[str, list[str]]] = {}
    for party in parties:
        broke[party] = {
            role: sorted({f.requirement for f in findings if f.party == party and f.role == role})
            for role in (SENDER, RECEIVER)
        }
    return Matrix(parties, dict(cells), verdicts, reasons, list(findings), list(notes), broke)
