"""What `conformance load` needs from a profile pack: the object its ``Profile.load()`` returns.

The engine's part (this package) is the pack-free machinery: Locust processes and rate shape,
the ledger's counting and matching by MessageId, figures, verdict and report. What a message is,
what its answer must be, which inbox arrivals answer what and whether they say the right thing is
the pack's, behind these protocols (the EFDX family's: conformance/family/load/).
A profile whose ``load`` is None cannot be load-tested.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from conformance.core.violations import Violation


class Planned(Protocol):
    """One message a partner sends next, and what must come back at once and later."""

    kind: str  # its kind in the mix (reported: sent by kind)
    body: bytes
    status: str | None  # the asynchronous answer due (None: none)
    conversation: str | None

    @property
    def message_id(self) -> str | None: ...

    @property
    def receipt(self) -> bool: ...  # the answer due is a Receipt: its latency is the receipt latency


class Partner(Protocol):
    """One simulated partner NSW (a Locust user)."""

    rng: random.Random

    def next(self, now: float) -> Planned: ...

    def answered(self, planned: Any, ok: bool, now: float) -> None: ...


class Traffic(Protocol):
    """What every user of one Locust process shares, built once from the run's spec."""

    def partner(self, name: str, weights: dict[str, int], settle_s: float) -> Partner: ...

    def judge(self, planned: Any, status: int, content_type: str, body: bytes) -> Violation | None: ...


class Incoming(Protocol):
    """An arrival at the harness inbox, once answered, as the pack reads it."""

    at: float  # epoch seconds
    refused: bool  # not answered 200 (a gateway fault played, or refused)
    accepted: bool
    answer: bool  # an asynchronous answer to match to what it answers
    message_id: str | None
    ref: str | None  # the MessageId it answers
    wrong: tuple[str, str] | None  # (requirement, detail): neither an answer nor taken


class GatewayDecisions(Protocol):
    """The engine's gateway faults, as the pack's inbox plays them."""

    hold_s: float

    def decide(self, message_id: str | None, accepted: bool) -> str | None: ...  # "503" | "reset" | "timeout"


class LoadAdapter(Protocol):
    reference_claims: frozenset[str]  # capabilities the embedded reference NSW claims

    def declared_capacity(self) -> dict[str, float]: ...  # the reference NSW's (Capacity fields)

    def weights_for(self, claims: set[str], weights: dict[str, int] | None = None) -> dict[str, int]: ...

    def traffic(self, pki_dir: str | None, sender: str, candidate: str) -> Traffic: ...

    def inbox(
        self,
        party: str,
        pki: Any,
        listener: Callable[[Any], None],
        *,
        tls: bool,
        host: str,
        port: int,
        faults: GatewayDecisions | None,
        message_log: MutableMapping,
        server_cert: tuple[str, str] | None = None,
        client_pins: frozenset[str] = frozenset(),  # core.pins of tls.candidate_cert: only those admitted
    ) -> Any: ...  # a context manager with url and connections (refused, timed_out, failed)

    def check_answer(self, incoming: Any, awaited: Any) -> None: ...  # raises the Violation
