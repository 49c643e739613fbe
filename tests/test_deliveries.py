"""M-21's conversations started together and judged in turn (profiles/efdx/deliveries.py): a
candidate that delivers one message at a time, each retried through its schedule before the next,
still has every first try found; one that sends nothing is still refused after its window.

The candidate is played by a thread posting to a real harness inbox on loopback; the times it posts
at are relative to what already arrived, so a busy machine shifts them all alike."""

from __future__ import annotations

import threading

import requests

from conformance.profiles.efdx import deliveries
from conformance.profiles.efdx.deliveries import Delivery
from conformance.profiles.efdx.inbox import HarnessInbox

WINDOW_S = 1.0  # for a first try
STEP_S = 1.0  # between the tries of the first conversation: it lasts longer than a window


class StubHarness:
    """What a Delivery needs of the harness: its inbox (and to be weakly referable)."""

    def __init__(self, inbox: HarnessInbox) -> None:
        self.inbox = inbox


def conversation(harness, marker: str, tries: int) -> Delivery:
    token = marker.encode()
    return deliveries.watched(
        Delivery(harness, f"KH:{marker}", lambda arrival: token in arrival.body, WINDOW_S, tries, 3 * STEP_S)
    )


def post(inbox: HarnessInbox, marker: str) -> None:
    requests.post(inbox.url, data=f"<x>{marker}</x>".encode(), timeout=5)


def candidate_in_turn(inbox: HarnessInbox, stop: threading.Event) -> None:
    """A's three tries STEP_S apart, then B's only try 0.3 s after A's last: never C."""
    for pause in (STEP_S, STEP_S, 0.3):
        post(inbox, "conv-A")
        if stop.wait(pause):
            return
    post(inbox, "conv-B")


def test_a_candidate_delivering_in_turn_has_each_first_try_found(pki) -> None:
    with HarnessInbox("SG", pki=pki) as inbox:
        harness = StubHarness(inbox)
        first, second, never = (
            conversation(harness, marker, tries)
            for marker, tries in (("conv-A", 3), ("conv-B", 1), ("conv-C", 1))
        )
        stop = threading.Event()
        candidate = threading.Thread(target=candidate_in_turn, args=(inbox, stop), daemon=True)
        candidate.start()
        try:
            assert deliveries.first_try(first) is not None
            # B's first try comes after A's schedule, later than a window from now: found all the same
            found = deliveries.first_try(second)
            assert found is not None and b"conv-B" in found.body
            assert len(first.arrivals()) == 3
            assert deliveries.first_try(never) is None  # nothing else in hand, and none came
        finally:
            stop.set()
            candidate.join(timeout=10)


def test_a_first_try_that_never_comes_is_none_after_the_window(pki) -> None:
    with HarnessInbox("SG", pki=pki) as inbox:
        alone = conversation(StubHarness(inbox), "conv-D", 1)
        assert deliveries.first_try(alone) is None
