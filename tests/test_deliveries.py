"""M-21's conversations started together and judged in turn (conformance/family/suite/deliveries.py): a
candidate that delivers one message at a time, each retried through its schedule before the next,
still has every first try found; one that sends nothing is still refused after its window.

The candidate is played by a thread posting to a real harness inbox on loopback; the times it posts
at are relative to what already arrived, so a busy machine shifts them all alike."""

from __future__ import annotations

import threading

import requests

from conformance.family.inbox import HarnessInbox
from conformance.family.suite import deliveries
from conformance.family.suite.deliveries import Delivery
from conformance.profiles.efdx.dialect import EFDX

WINDOW_S = 1.0  # for a first try
STEP_S = 1.0  # between the tries of the first conversation: it lasts longer than a window


def conversation(inbox: HarnessInbox, group: list[Delivery], marker: str, tries: int) -> Delivery:
    token = marker.encode()
    matches = lambda arrival: token in arrival.body  # noqa: E731
    return Delivery(inbox, f"KH:{marker}", matches, WINDOW_S, tries, 3 * STEP_S, group)


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
    with HarnessInbox("SG", pki=pki, dialect=EFDX) as inbox:
        group: list[Delivery] = []
        first, second, never = (
            conversation(inbox, group, marker, tries)
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
    with HarnessInbox("SG", pki=pki, dialect=EFDX) as inbox:
        alone = conversation(inbox, [], "conv-D", 1)
        assert deliveries.first_try(alone) is None


def test_a_conversation_sent_without_end_holds_up_the_others_no_longer_than_its_budget(pki) -> None:
    """A broken candidate re-sending one message forever does not make the others wait forever."""
    with HarnessInbox("SG", pki=pki, dialect=EFDX) as inbox:
        group: list[Delivery] = []
        endless = Delivery(inbox, "KH:conv-E", lambda a: b"conv-E" in a.body, 0.5, 1, 1.0, group)
        waiting = Delivery(inbox, "KH:conv-F", lambda a: b"conv-F" in a.body, 0.5, 1, 1.0, group)
        stop = threading.Event()

        def resend() -> None:
            while not stop.wait(0.2):
                post(inbox, "conv-E")

        sender = threading.Thread(target=resend, daemon=True)
        sender.start()
        try:
            assert deliveries.first_try(endless) is not None
            found: list = []
            wait = threading.Thread(target=lambda: found.append(deliveries.first_try(waiting)), daemon=True)
            wait.start()
            wait.join(timeout=30)  # a bound far above its budget: a wait that follows conv-E never ends
            assert not wait.is_alive() and found == [None]
            assert sender.is_alive()  # it gave up while conv-E was still being sent
        finally:
            stop.set()
            sender.join(timeout=10)
