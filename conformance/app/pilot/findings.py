"""What a pilot finds: one requirement broken by one party, as sender or as receiver, in the traffic
of one ordered pair (sender -> receiver of the message the finding is about; a status's finding is
about the CO it answers, so it sits in the CO's pair), with the relays that show it."""

from __future__ import annotations

from dataclasses import dataclass, field

# What kind of finding it is: the matrix counts each kind in a column of its own.
DISAGREEMENT = "disagreement"  # the receiver's answer or status differs from what the profile demands
INVALID = "invalid-message"  # the sender sent what the profile refuses (M-22)
LOST = "lost-status"  # a status (or verification answer) that never came
LATE = "late-status"  # one that came after the receiver's declared window
# a duplicate mishandled: more than one status for one CO message, or the gateway's duplicate delivery
# answered other than with a Receipt with Duplicate=true (M-16)
DUPLICATE = "duplicate-status"
RETRY = "retry"  # a sender's retries after a 5xx or a relayed 4xx (M-21, G-03)
REFUSED_HOP = "refused-first-hop"  # the gateway refused the first hop (T-05)
KINDS = (DISAGREEMENT, INVALID, LOST, LATE, DUPLICATE, RETRY, REFUSED_HOP)

SENDER, RECEIVER = "sender", "receiver"


@dataclass(frozen=True)
class Finding:
    requirement: str  # the bare requirement ID it names first ("A-01", "BR-10", "M-22")
    party: str  # who broke it
    role: str  # SENDER or RECEIVER (of the message the pair is named by)
    pair: tuple[str, str]  # (sender, receiver)
    kind: str  # the message kind (Action) of the pair's message: IssueCO, Ping ...
    category: str  # one of KINDS
    text: str  # expected and observed, in words
    evidence: tuple[dict, ...] = ()  # the relays (Seen.evidence())
    also: tuple[str, ...] = field(default=())  # further requirements it breaks

    def as_json(self) -> dict:
        return {
            "requirement": self.requirement,
            "also": list(self.also),
            "party": self.party,
            "role": self.role,
            "pair": f"{self.pair[0]}->{self.pair[1]}",
            "kind": self.kind,
            "category": self.category,
            "text": self.text,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class Note:
    """Something that leaves a pair incomplete (never a requirement broken): a scripted kind never
    exchanged, a conversation still open when the pilot ended, a time too close to its bound."""

    pair: tuple[str, str]
    kind: str
    text: str

    def as_json(self) -> dict:
        return {"pair": f"{self.pair[0]}->{self.pair[1]}", "kind": self.kind, "text": self.text}
