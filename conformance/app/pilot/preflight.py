"""Before traffic (exit 4, one line, never a false disagreement): every party's inbox accepts a
connection, every trigger is enabled and takes its token, and every ordered pair routes through the
gateway: each party with a trigger is asked for a Ping to every other party (errata 2), which must
arrive at the gateway within the sender's status window (at most 120 s)."""

from __future__ import annotations

import time
from collections.abc import Callable

from conformance.app.run import check_egress, connect_problem
from conformance.core.egress import EgressPolicy
from conformance.harness.config import ConfigError

from .setup import PilotSetup
from .traffic import Seen, Traffic
from .triggers import Triggers

PING_WAIT_MAX_S = 120.0


def check(
    setup: PilotSetup, traffic: Traffic, triggers: Triggers, egress: EgressPolicy | None = None
) -> list[str]:
    """Raise ConfigError naming the first problem; return lines to say (what to check by hand).
    Under an egress policy, every party's inbox and trigger URL is checked against it first, without
    connecting (run.check_egress)."""
    said: list[str] = []
    if egress is not None:
        for party in setup.parties:
            try:
                check_egress(party.config, setup.profile, party.config, egress)
            except ConfigError as exc:
                raise ConfigError(f"party {party.party}: {exc}") from None
    for party in setup.parties:
        problem = connect_problem(party.config.inbox_url, egress=egress)
        if problem is not None:
            raise ConfigError(f"party {party.party}: candidate.inbox_url: cannot connect to {problem}")
    for party in setup.parties:
        if not party.has_trigger:
            said.append(
                f"pre-flight: {party.party} has no test trigger: check by hand that its peer inbox for "
                "every other party is the gateway's"
            )
            continue
        asked = triggers.ask(party, {})
        if asked.status in (401, 403):
            raise ConfigError(f"party {party.party}: candidate.trigger.token: refused ({asked.said})")
        if asked.status in (404, 405) or asked.status is None:
            raise ConfigError(
                f"party {party.party}: candidate.trigger.url: no test trigger there ({asked.said})"
            )
    pings: list[tuple[str, str, str, float]] = []
    for a in setup.parties:
        if not a.has_trigger:
            continue
        for b in setup.parties:
            if a is b:
                continue
            asked = triggers.ask(a, {"action": "Ping", "to": b.party})
            if not asked.taken:
                raise ConfigError(
                    f"party {a.party}: its test trigger did not send a Ping to {b.party} ({asked.said}): "
                    f"is {b.party} among its peers?"
                )
            assert asked.message_id is not None
            pings.append((a.party, b.party, asked.message_id, min(a.windows.status_s, PING_WAIT_MAX_S)))
    started = time.monotonic()
    for sender, receiver, message_id, wait in pings:
        left = max(0.0, started + wait - time.monotonic())
        arrived = traffic.wait_for(_the_ping(sender, message_id), left)
        if arrived is None:
            raise ConfigError(
                f"party {sender}: its Ping to {receiver} did not reach the gateway within {wait:g} s: "
                f"its peer inbox for {receiver} must be the gateway's ({setup.profile.inbox_path} with "
                f"{receiver} before the last step)"
            )
        if arrived.receiver != receiver:
            raise ConfigError(
                f"party {sender}: its Ping to {receiver} came to the gateway inbox of {arrived.receiver}: "
                f"its peer entry for {receiver} names the wrong gateway inbox"
            )
    return said


def _the_ping(sender: str, message_id: str) -> Callable[[Seen], bool]:
    return lambda seen: seen.fields.message_id == message_id and seen.sender == sender
