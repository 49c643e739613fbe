"""The load adapter of one profile of the family: ``Profile.load()`` returns it to the engine.

The engine's side (session, Locust children, ledger) reaches the pack only through this object;
a Locust process finds it again by profile key (conformance.harness.registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.core.violations import Violation
from conformance.family.dialect import Dialect
from conformance.family.load import answers, mix, statuses
from conformance.family.load.generator import Generator
from conformance.family.load.inbox import load_inbox


class Traffic:
    """What every Locust user of one process shares: generator, invalid vectors, trust (built once)."""

    def __init__(self, dialect: Dialect, pki: Any, sender: str, candidate: str) -> None:
        self.dialect, self.sender, self.candidate = dialect, sender, candidate
        self.trust = pki.trust_store()
        self.generator = Generator(pki, sender, candidate, dialect=dialect)
        self.invalid = mix.invalid_messages(pki, sender, candidate, datetime.now(UTC), dialect)
        self.kinds: dict[tuple, mix.KindSchedule] = {}  # one schedule for the run's weights

    def partner(self, name: str, weights: dict[str, int], settle_s: float) -> mix.Partner:
        """One simulated partner NSW (a Locust user): ``next(now)``, ``answered(planned, ok, now)``."""
        return mix.Partner(
            self.generator,
            self.invalid,
            weights,
            self.sender,
            name=name,
            settle_s=settle_s,
            dialect=self.dialect,
            kinds=self.kinds.setdefault(tuple(weights.items()), mix.KindSchedule(weights)),
        )

    def judge(self, planned: mix.Planned, status: int, content_type: str, body: bytes) -> Violation | None:
        """The synchronous answer to ``planned``: None when right, else the Violation."""
        return answers.judge(
            planned.expected,
            answers.Answer(status, content_type, body),
            sender=self.sender,
            candidate=self.candidate,
            trust=self.trust,
            at=datetime.now(UTC),
            dialect=self.dialect,
        )


@dataclass(frozen=True)
class FamilyLoad:
    """`conformance load` for one profile of the family."""

    dialect: Dialect
    # What the embedded reference NSW claims for the run (it serves every profile of the family).
    reference_claims: frozenset[str] = frozenset({"replace", "cancel", "verification"})

    def declared_capacity(self) -> dict[str, float]:
        """The capacity the reference NSW declares (spec section 8), for a run without --config."""
        from conformance.family.reference.nsw import DECLARED_CAPACITY

        return dict(DECLARED_CAPACITY)

    def weights_for(self, claims: set[str], weights: dict[str, int] | None = None) -> dict[str, int]:
        """The traffic mix for a candidate claiming ``claims`` (capabilities and roles), by kind."""
        return mix.weights_for(claims, weights)

    def traffic(self, pki_dir: str | None, sender: str, candidate: str) -> Traffic:
        """Built once in each Locust process, from the run's spec."""
        pki = self.dialect.load_pki()  # the committed TEST ONLY PKI, or the one at the spec's folder:
        pki = self.dialect.load_pki(Path(pki_dir)) if pki_dir else pki  # its pack's TestPki.load
        return Traffic(self.dialect, pki, sender, candidate)

    def inbox(self, *args: Any, **kwargs: Any) -> Any:
        """The harness inbox: each arrival, once answered, goes to the listener as statuses.Incoming.
        The parameters are ``LoadAdapter.inbox``'s (app/load/adapter.py) and ``load_inbox``'s
        (load/inbox.py), which is typed; written once there, handed on here with this pack's dialect."""
        return load_inbox(*args, **kwargs, dialect=self.dialect)

    check_answer = staticmethod(statuses.check)  # (incoming, awaited): raises the Violation
