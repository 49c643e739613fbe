"""Scripted traffic (``--script``): through each party's test trigger, every ordered pair (A -> B)
goes through a short scenario, the pairs at once, each step waiting for its message to pass the
gateway and for its answer (bounded by the declared windows), so that the next one does not
overtake it:

1. A issues a CO to B (IssueCO; B's status is due); once B's status has come (or its window
   passed), the gateway delivers that IssueCO's exact bytes to B a second time (a duplicate
   delivery, as a real network produces one: the only message the gateway itself originates, only
   under ``--script``, byte-identical):
   B must answer a Receipt with Duplicate=true and send no second status (M-16), watched for B's
   ``grace_s`` after its answer, at the end of the pair's scenario;
2. where both claim ``verification``: B asks A to verify it (VerificationRequest; A answers);
3. where both claim ``replace``: A replaces it by a second CO (ReplaceCO);
4. where both claim ``cancel``: A cancels the CO in force (CancelCO);
5. A issues a CO that breaks BR-10 (item numbers with a gap): B must reject it with that reason.
   That CO is a stimulus: its rejection is no finding against A.

A trigger that does not take a step leaves that kind unexchanged (the pair incomplete), never a
finding, and a duplicate delivery that could not be made leaves the pair incomplete too. Gateway
faults (``--faults``) make the senders retry, which the receivers must take as duplicates or first
copies.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lxml import etree

from conformance.family.gateway import Relay

from .conversations import TOLERANCE_S, retry_bound_s
from .setup import PilotParty, PilotSetup
from .traffic import Seen, Traffic
from .triggers import Triggers

Redeliver = Callable[[Relay, str], Relay]  # Gateway.redeliver
BROKEN_RULE = "BR-10"  # the rule the must-be-rejected CO breaks (the family's base words)


@dataclass
class Scripted:
    """What the script did: MessageIds of the stimuli, the kinds it sent per pair, what it could not."""

    stimuli: set[str] = field(default_factory=set)
    kinds: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped: list[str] = field(default_factory=list)
    # pair -> the MessageId of the IssueCO delivered twice, or None when it could not be
    duplicates: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, pair: tuple[str, str], kind: str) -> None:
        with self._lock:
            if kind not in self.kinds[pair]:
                self.kinds[pair].append(kind)


def run(setup: PilotSetup, traffic: Traffic, triggers: Triggers, redeliver: Redeliver) -> Scripted:
    scripted = Scripted()
    threads = [
        threading.Thread(
            target=_pair,
            args=(setup, traffic, triggers, a, b, scripted, redeliver),
            name=f"pilot-{a.party}-{b.party}",
        )
        for a in setup.parties
        for b in setup.parties
        if a is not b
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return scripted


def claimed_kinds(setup: PilotSetup) -> dict[tuple[str, str], list[str]]:
    """pair -> the kinds the script must exchange in it, from the parties' ICS (roles, triggers and the
    capabilities ``verification``, ``replace``, ``cancel``): one never exchanged leaves it incomplete."""
    kinds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in setup.parties:
        for b in setup.parties:
            if a is b or not a.has_trigger:
                continue
            if "exporting" not in a.config.roles or "importing" not in b.config.roles:
                continue
            kinds[(a.party, b.party)].append("IssueCO")
            if _both(a, b, "verification") and b.has_trigger:
                kinds[(b.party, a.party)].append("VerificationRequest")
            kinds[(a.party, b.party)] += [
                kind
                for kind, claim in (("ReplaceCO", "replace"), ("CancelCO", "cancel"))
                if _both(a, b, claim)
            ]
    return dict(kinds)


def _both(a: PilotParty, b: PilotParty, capability: str) -> bool:
    return a.claims(capability) and b.claims(capability)


def _pair(
    setup: PilotSetup,
    traffic: Traffic,
    triggers: Triggers,
    a: PilotParty,
    b: PilotParty,
    scripted: Scripted,
    redeliver: Redeliver,
) -> None:
    if not a.has_trigger or "exporting" not in a.config.roles or "importing" not in b.config.roles:
        return
    step = _Step(setup, traffic, triggers, scripted)
    messages = setup.dialect.messages
    first = f"{a.party}{b.party}-{uuid.uuid4().hex[:10].upper()}"
    issued = step.send(a, b, "IssueCO", _co(setup, a, b, first), "StatusNotification")
    if issued is None:
        return
    watch_until = _duplicate(issued, b, scripted, redeliver)
    if _both(a, b, "verification") and b.has_trigger:
        today = _today()
        request = messages.payload(
            "VerificationRequest",
            {
                "reference_number": first,
                "issuing_country": a.party,
                "request_date": today,
                "reply_by": today,
                "reason": "Pilot: verification of an issued CO",
            },
        )
        step.send(b, a, "VerificationRequest", request, "VerificationResponse")
    in_force = first
    if _both(a, b, "replace"):
        second = f"{a.party}{b.party}-{uuid.uuid4().hex[:10].upper()}"
        if step.send(a, b, "ReplaceCO", _co(setup, a, b, second, replaces=first), "StatusNotification"):
            in_force = second
    if _both(a, b, "cancel"):
        cancellation = messages.payload(
            "CancelCO",
            {
                "reference_number": in_force,
                "issuing_country": a.party,
                "cancel_date": _today(),
                "reason": "Pilot: issued in error",
            },
        )
        step.send(a, b, "CancelCO", cancellation, "StatusNotification")
    broken = f"{a.party}{b.party}-{uuid.uuid4().hex[:10].upper()}"
    step.send(a, b, "IssueCO", _co(setup, a, b, broken, gap=True), "StatusNotification", stimulus=True)
    time.sleep(max(0.0, watch_until - time.monotonic()))  # a second status to the duplicate


def _duplicate(issued: Seen, b: PilotParty, scripted: Scripted, redeliver: Redeliver) -> float:
    """The gateway delivers ``issued``'s bytes to B again; when (monotonic) B's ``grace_s`` for a
    second status ends."""
    pair = (issued.sender or "?", b.party)
    try:
        again = redeliver(
            issued.relay, f"duplicate delivery of relay {issued.index} (byte-identical, scripted: M-16)"
        )
    except (ValueError, OSError) as exc:
        scripted.duplicates[pair] = None
        scripted.skipped.append(f"the duplicate delivery to {b.party} could not be made: {exc}")
        return 0.0
    scripted.duplicates[pair] = issued.fields.message_id if again.gateway is None else None
    if again.gateway is not None:
        scripted.skipped.append(f"the duplicate delivery to {b.party} did not reach it: {again.gateway}")
    return time.monotonic() + b.windows.grace_s


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _co(
    setup: PilotSetup,
    a: PilotParty,
    b: PilotParty,
    reference: str,
    *,
    replaces: str | None = None,
    gap: bool = False,
) -> etree._Element:
    """An unsigned CO of A's to B (A's trigger signs it); ``gap``: item numbers 1, 3 (BR-10)."""
    messages = setup.dialect.messages
    data: dict[str, Any] = messages.sample_certificate(
        issuing_country=a.party,
        importing_country=b.party,
        issue_date=datetime.now(timezone.utc).date(),
        reference_number=reference,
    )
    if replaces:
        data["replaces"] = replaces
    if gap:
        items = data["items"]
        items[-1]["number"] = len(items) + 1  # 1, 3 (or 2 for one item): a gap
    return messages.certificate(data)


@dataclass
class _Step:
    setup: PilotSetup
    traffic: Traffic
    triggers: Triggers
    scripted: Scripted

    def send(
        self,
        a: PilotParty,
        b: PilotParty,
        action: str,
        document: etree._Element,
        answer: str,
        *,
        stimulus: bool = False,
    ) -> Seen | None:
        """Ask A's trigger to send ``action`` to B; wait for it to be taken at the gateway, then for
        B's ``answer``. The message's Seen once B took it (200), else None."""
        pair = (a.party, b.party)
        self.scripted.expect(pair, action)
        asked = self.triggers.ask(
            a, {"action": action, "to": b.party, "document": etree.tostring(document, encoding="unicode")}
        )
        if not asked.taken:
            self.scripted.skipped.append(
                f"{a.party}'s trigger did not take {action} to {b.party}: {asked.said}"
            )
            return None
        message_id = asked.message_id
        if stimulus:
            self.scripted.stimuli.add(message_id or "")
        window = a.windows.status_s + retry_bound_s(a.windows)
        taken = self.traffic.wait_for(
            lambda s: (
                s.fields.message_id == message_id
                and s.sender == a.party
                and s.relay.relayed
                and (s.relay.status == 200 or 400 <= s.relay.status < 500)
            ),
            window,
        )
        if taken is None or taken.relay.status != 200:
            return None
        due = (
            b.windows.verification_s if answer == "VerificationResponse" else b.windows.status_s
        ) + TOLERANCE_S
        self.traffic.wait_for(
            lambda s: s.fields.action == answer and s.fields.ref_to == message_id and s.sender == b.party,
            due,
        )
        return taken
