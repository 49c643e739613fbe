"""The traffic mix: what one simulated partner sends next, and what the candidate must answer.

A partner issues new COs, replaces and cancels COs of its own that were taken a while ago, asks for
verification of a CO the candidate never issued (NOT_CONFIRMED, A-05), resends earlier messages
byte for byte (a Receipt with Duplicate=true and no second status, M-16) and sends invalid
vectors that must be refused with the manifest's code. Its memory is bounded (the last few COs).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conformance.core.testpki import PkiFolder as TestPki  # a pack's TEST ONLY PKI
from conformance.family import vectors
from conformance.family.dialect import Dialect
from conformance.family.load.answers import Expected
from conformance.family.load.generator import Generator
from conformance.family.suite import steps

# Invalid vectors refused synchronously; each keeps its code for as long as a soak runs (every
# check they fail comes before M-15 in section 5's order, or is M-15 itself on a stale Timestamp).
# Every profile of the family has them, under the same ids, with its own codes in its manifest.
INVALID_VECTORS = (
    "m01-not-well-formed",
    "m03-missing-conversation-id",
    "m04-co-bad-hs-code",
    "m05-unsigned",
    "m06-tampered-header",
    "m13-wrong-receiver",
    "m15-stale-timestamp",
    "m18-unsupported-version",
)
DEFAULT_WEIGHTS = {"issue": 60, "replace": 8, "cancel": 7, "verify": 5, "duplicate": 10, "invalid": 10}
# What each kind needs the candidate to claim (a kind not claimed is left out of the mix).
NEEDS = {"replace": ("replace",), "cancel": ("cancel",), "verify": ("verification", "exporting")}


def weights_for(claims: set[str], weights: dict[str, int] | None = None) -> dict[str, int]:
    """The mix for a candidate claiming ``claims`` (capabilities and roles)."""
    chosen = dict(weights or DEFAULT_WEIGHTS)
    return {kind: w for kind, w in chosen.items() if w > 0 and set(NEEDS.get(kind, ())) <= claims}


class KindSchedule:
    """Which kind of message comes next, for every partner of one Locust process: smooth weighted
    round robin (as nginx weighs its upstreams). Each kind gets its share of every run of messages,
    spread evenly, so even a short rehearsal sends every kind it weighs; a random draw for each
    message left the 10 % of invalid messages out of about one run in ten of 20 messages.
    (Locust's users are greenlets of one thread: ``next`` is never entered twice at once.)"""

    def __init__(self, weights: dict[str, int]) -> None:
        self.weights = dict(weights)
        self.total = sum(self.weights.values())
        self.credit = dict.fromkeys(self.weights, 0)

    def next(self) -> str:
        for kind, weight in self.weights.items():
            self.credit[kind] += weight
        kind = max(self.credit, key=self.credit.__getitem__)
        self.credit[kind] -= self.total
        return kind


@dataclass(frozen=True)
class Planned:
    """One message to send and what must come back, at once and later."""

    kind: str
    body: bytes
    expected: Expected
    co: str | None = None  # the CO reference the message is about (a ReplaceCO: the new one)
    replaced: str | None = None
    status: str | None = None  # the StatusNotification due (or "NOT_CONFIRMED": a VerificationResponse)
    vector: str | None = None
    conversation: str | None = None

    @property
    def message_id(self) -> str | None:
        return self.expected.message_id

    @property
    def receipt(self) -> bool:
        """Whether the answer due is a Receipt (its latency is the receipt latency of P-02)."""
        return self.expected.code is None


@dataclass
class Invalid:
    vector: str
    body: bytes
    expected: Expected


def invalid_messages(
    pki: TestPki, sender: str, receiver: str, at: datetime, dialect: Dialect
) -> list[Invalid]:
    """The invalid vectors, built once for the run, with the manifest's code."""
    manifest = {vector.id: vector for vector in vectors.load_manifest(dialect=dialect)}
    made = []
    for vector_id in INVALID_VECTORS:
        body = vectors.build_vector(
            vector_id, at.date(), pki, at, sender=sender, receiver=receiver, dialect=dialect
        )
        facts = steps.own_message_facts(body, dialect)
        code = manifest[vector_id].expect_code
        made.append(Invalid(vector_id, body, Expected(facts.message_id, facts.action, code=code)))
    return made


@dataclass
class Partner:
    """One simulated partner NSW (a Locust user): its own COs, its own sequence of messages."""

    generator: Generator
    invalid: list[Invalid]
    weights: dict[str, int]
    sender: str
    name: str  # unique in the run: reference numbers derive from it
    dialect: Dialect = field(kw_only=True)
    settle_s: float = 1.0  # a CO is replaced or cancelled only this long after its Receipt
    kinds: KindSchedule | None = None  # shared by the partners of one process; None: one of its own
    rng: random.Random = field(default_factory=random.Random)
    taken: deque = field(default_factory=lambda: deque(maxlen=64))  # (reference, receipt time)
    sent: deque = field(default_factory=lambda: deque(maxlen=16))  # Planned, resendable as duplicates
    count: int = 0

    def __post_init__(self) -> None:
        self.kinds = self.kinds or KindSchedule(self.weights)

    def next(self, now: float) -> Planned:
        assert self.kinds is not None
        kind = self.kinds.next()
        if kind in ("replace", "cancel"):
            settled = [item for item in self.taken if now - item[1] >= self.settle_s]
            if settled:
                reference = self.rng.choice(settled)[0]
                self.taken.remove(next(item for item in self.taken if item[0] == reference))
                return self._co_message(kind, reference)
            kind = "issue"
        if kind == "duplicate" and self.sent:
            original = self.rng.choice(self.sent)
            expected = Expected(
                original.expected.message_id,
                original.expected.action,
                original.expected.digests,
                duplicate=True,
            )
            return Planned("duplicate", original.body, expected, co=original.co)
        if kind == "invalid" and self.invalid:
            item = self.rng.choice(self.invalid)
            return Planned("invalid", item.body, item.expected, vector=item.vector)
        if kind == "verify":
            return self._make("verify", "VerificationRequest", self._reference(), status="NOT_CONFIRMED")
        return self._make("issue", "IssueCO", self._reference(), status="ACCEPTED")

    def _co_message(self, kind: str, reference: str) -> Planned:
        if kind == "cancel":
            return self._make("cancel", "CancelCO", reference, status="CANCELLATION_ACKNOWLEDGED")
        return self._make("replace", "ReplaceCO", self._reference(), replaced=reference, status="ACCEPTED")

    def _reference(self) -> str:
        self.count += 1
        return f"{self.name}-{self.count:06d}"

    def _make(
        self, kind: str, action: str, reference: str, *, status: str, replaced: str | None = None
    ) -> Planned:
        made = self.generator.make(
            action,
            reference,
            self.dialect.messages.message_id(self.sender),
            datetime.now(UTC),
            replaces=replaced,
        )
        expected = Expected(made.message_id, action, made.digests)
        return Planned(
            kind,
            made.body,
            expected,
            co=reference,
            replaced=replaced,
            status=status,
            conversation=made.conversation_id,
        )

    def answered(self, planned: Planned, ok: bool, now: float) -> None:
        """Remember what was taken: COs to replace or cancel later, messages to resend."""
        if not ok or planned.kind in ("duplicate", "invalid"):
            return
        self.sent.append(planned)
        if planned.kind in ("issue", "replace"):
            self.taken.append((planned.co, now))
