"""The status group's waits end, and its probes record what they found (family/suite/status_group.py).

Only a first status about a message is progress. A broken candidate that sends one message's status
again and again, and never the other's, must not keep a test waiting for good (``settle`` and
``drain`` run before every next step of a test in the group, so a wait without end would hang the
run with no verdict). A probe's finding is its lone CO's status, not a later step's answer: a
utilisation probe whose IssueCO got ACCEPTED but whose notice never came must not fail the other
ACCEPTED tests."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timezone
from types import SimpleNamespace

from lxml import etree

from conformance.family.suite import status_group
from conformance.family.suite.steps import NoAnswer
from conformance.profiles.efdx.dialect import EFDX

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


# --- what a probe records ---------------------------------------------------------------------------


class QuietInbox:
    """An inbox holding what the candidate sent; nothing more comes."""

    def __init__(self, *arrivals: SimpleNamespace) -> None:
        self.arrivals = list(arrivals)

    def matching(self, predicate, *, pending: bool = False) -> list:
        return [arrival for arrival in self.arrivals if predicate(arrival)]

    def wait_for(self, predicate, timeout: float, *, pending: bool = False):
        return next((arrival for arrival in self.arrivals if predicate(arrival)), None)


def envelope(message_id: str) -> bytes:
    e = EFDX.e
    root = etree.Element(e("Envelope"))
    etree.SubElement(etree.SubElement(root, e("Header")), e("MessageId")).text = message_id
    return etree.tostring(root)


def a_probe(message_ids: list[str], statuses_for: list[str]):
    """A lone run of a probe that sends ``message_ids`` (recorded as its exchanges) and gets the
    statuses of ``statuses_for``, then ends on NoAnswer (its later step got nothing)."""
    record = SimpleNamespace(exchanges=[])
    harness = SimpleNamespace(
        inbox=QuietInbox(status_about("G"), *(status_about(ref) for ref in statuses_for)),
        kept={},
        config=SimpleNamespace(windows=SimpleNamespace(status_s=WINDOW_S), party="KH"),
        waiting_for=lambda what, seconds: contextlib.nullcontext(),
        note=lambda text: None,
        current=record,
        profile=SimpleNamespace(extras={"dialect": EFDX}, title="EFDX 1.0"),
    )
    member = status_group.waiting(harness, sent("G"), "ACCEPTED")

    def lone_run() -> None:
        for message_id in message_ids:
            record.exchanges.append(SimpleNamespace(request_body=envelope(message_id)))
        raise NoAnswer("A-07", "a notice within 1 s", "none arrived")

    why = status_group.RunAlone("a probe of ACCEPTED", probe=True)
    with contextlib.suppress(NoAnswer):
        status_group.run_alone(harness, why, lone_run, member, "utilisation-UTILISED")
    return member.group.probed


def test_a_probe_whose_co_got_its_status_records_that_it_came_though_a_later_step_got_nothing():
    """The utilisation probe: its lone IssueCO got ACCEPTED, the notice asked for after it never came.
    Its finding for ACCEPTED is ``came``: the other ACCEPTED tests run alone, none fails by it."""
    assert a_probe(["co-1", "trigger-1"], statuses_for=["co-1"]) == {"ACCEPTED": "came"}


def test_a_probe_whose_co_got_no_status_records_itself():
    assert a_probe(["co-1"], statuses_for=[]) == {"ACCEPTED": "utilisation-UTILISED"}
