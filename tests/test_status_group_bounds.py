"""The status group's waits end (family/suite/status_group.py): only a first status about a message
is progress. A broken candidate that sends one message's status again and again, and never the
other's, must not keep a test waiting for good (``settle`` and ``drain`` run before every next step
of a test in the group, so a wait without end would hang the run with no verdict)."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timezone
from types import SimpleNamespace

from conformance.family.suite import status_group

WINDOW_S = 0.3


def status_about(message_id: str) -> SimpleNamespace:
    header = SimpleNamespace(action=status_group.STATUS, ref_to_message_id=message_id)
    return SimpleNamespace(header=header, received_at=datetime.now(timezone.utc))


class RepeatingInbox:
    """An inbox where the candidate sends A's status again at every look, and never B's."""

    def __init__(self) -> None:
        self.arrivals = [status_about("A")]

    def matching(self, predicate, *, pending: bool = False) -> list:
        return [arrival for arrival in self.arrivals if predicate(arrival)]

    def wait_for(self, predicate, timeout: float, *, pending: bool = False):
        time.sleep(min(timeout, WINDOW_S * 0.5))
        self.arrivals.append(status_about("A"))
        return next((arrival for arrival in self.arrivals if predicate(arrival)), None)


def a_harness() -> SimpleNamespace:
    return SimpleNamespace(
        inbox=RepeatingInbox(),
        kept={},
        config=SimpleNamespace(windows=SimpleNamespace(status_s=WINDOW_S), party="KH"),
        waiting_for=lambda what, seconds: contextlib.nullcontext(),
    )


def sent(message_id: str) -> SimpleNamespace:
    return SimpleNamespace(message_id=message_id)


def test_drain_ends_though_one_status_keeps_coming_again():
    harness = a_harness()
    status_group.waiting(harness, sent("A"), "ACCEPTED")
    member = status_group.waiting(harness, sent("B"), "ACCEPTED")
    started = time.monotonic()
    waiting = threading.Thread(target=status_group.settle, args=(harness, member), daemon=True)
    waiting.start()
    waiting.join(timeout=10 * WINDOW_S)
    assert not waiting.is_alive(), "settle kept waiting while only A's status came again"
    assert time.monotonic() - started < 3 * WINDOW_S
    assert len(harness.inbox.arrivals) > 2  # A's status did keep coming meanwhile
