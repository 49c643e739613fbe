"""The harness inbox for a load run, as the family's suite has it (same judging, same signed
answers), fitted to the engine's load run: no arrival kept (each goes to the ledger once answered,
read by statuses.read), MessageIds for duplicate detection in the table the engine gives (bounded
for a soak), and the engine's gateway-fault decisions played as the inbox's Reactions (P-03)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from conformance.core.inbox_server import Limits
from conformance.family.dialect import Dialect
from conformance.family.inbox import Arrival, HarnessInbox, Reaction, Script
from conformance.family.load.statuses import Incoming, read


class GatewayFaults(Protocol):
    """The engine's gateway-fault decisions (the engine's GatewayDecisions)."""

    hold_s: float

    def decide(self, message_id: str | None, accepted: bool) -> str | None: ...  # "503" | "reset" | "timeout"


def _reaction(kind: str, hold_s: float) -> Reaction:
    """A gateway fault the engine decided ("503", "reset", "timeout"), as the inbox plays it."""
    if kind == "503":
        return Reaction(status=503)
    if kind == "reset":
        return Reaction(drop=True)
    return Reaction(delay=hold_s)  # no answer within the candidate's peer timeout


def load_inbox(
    party: str,
    pki: Any,
    listener: Callable[[Incoming], None],
    *,
    tls: bool,
    host: str,
    port: int,
    faults: GatewayFaults | None,
    message_log: MutableMapping,
    server_cert: tuple[str, str] | None = None,
    client_pins: frozenset[str] = frozenset(),
    dialect: Dialect,
) -> HarnessInbox:
    return HarnessInbox(
        party,
        pki=pki,
        tls=tls,
        host=host,
        port=port,
        script=_script(faults) if faults is not None else None,
        server_cert=server_cert,
        client_pins=client_pins,
        limits=Limits(max_connections=256),
        listener=lambda arrival: listener(read(arrival)),
        keep_arrivals=False,
        message_log=message_log,  # bounded for a soak
        dialect=dialect,
    )


def _script(faults: GatewayFaults) -> Script:
    def script(arrival: Arrival) -> Reaction | None:
        kind = faults.decide(arrival.message_id, arrival.judgement.accepted)
        if kind is None:
            return None
        return _reaction(kind, faults.hold_s)

    return script
