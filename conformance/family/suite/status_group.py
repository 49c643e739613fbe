"""The status waits of the single-message tests and of each sequence's first message, overlapped
(issue 19 item 8; test_sequences' early_co).

Most single-message tests send one CO and wait up to the status window for its StatusNotification.
In series, a candidate that never sends a status (a broken outbox, a fault member states meet often)
costs a whole window per test: with a 60 s window, over an hour for one fault. So the suite sends
those tests' messages one after another when the first of them is set up (the plugin's
``starts_early`` with ``group=GROUP``, each message recorded into its own test), and each test then
waits for its own status: the waits overlap. The group is one across the suite's modules (the
single-message tests, each sequence's first CO, the utilisation notices' IssueCOs, the status through
the gateway, the CO as text/xml): its tests run one after another, from where its first one stands,
so no other test waits for a message from the candidate while the group's statuses are owed, and
M-21's and G-03's failing-inbox groups never overlap it (errata 2's delivery order).

A test that goes on after its status (a sequence's next step, a notice asked for, a ReplaceCO after
its setup's IssueCO) first lets the candidate send the group's statuses (``settle``): a candidate
delivering one message at a time would otherwise hold the next step's answer behind them.

Sending together must never change a verdict: a candidate owes no capacity it does not claim
(section 8), and one may deliver one message at a time (errata 2). So each test's status is judged
as follows; the window always counts from the Receipt of the test's own message, as in series:

- it came within the window: judged as in series (the same checks, A-01's "exactly one" too);
- it came later, or has not come while the candidate was still sending the group's statuses (it
  sent one within the last window): the group may have slowed the candidate, so the test **runs
  again alone** (a fresh message, as in series) and that run decides;
- it has not come and the candidate sent none of the group's statuses for a whole window: the first
  such test of each expected Status (ACCEPTED, REJECTED) is a **probe** and runs again alone. If the
  probe gets its status alone, every later such test of that Status runs again alone too; if no
  status came to the probe either, the candidate does not send that Status even to one CO at a
  time, and those tests fail as they would in series (no answer within the window), each naming the
  probe.

A candidate that answers in time is judged in the time of a passing run; one that never sends a
status in about the group's window plus one window per probe (two Statuses: about three windows,
not one per test); a slow one, in about what it would take in series. The assumption the probe
makes (one lone test of a Status stands for the others of that Status) is the only one, said here
and in the README: a candidate that drops some ACCEPTED statuses only when many are owed, and
never sends one to the probe, is judged by the probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from conformance.family import dialect as dialects
from conformance.family.inbox import Arrival
from conformance.family.suite import steps
from conformance.family.suite.steps import NoAnswer, Sent
from conformance.harness.session import Harness

STATUS = "StatusNotification"
GROUP = "status"  # the starts_early group of every test whose status wait overlaps the others'


def starts_with_the_group(start: Callable[..., object]) -> pytest.MarkDecorator:
    """The mark of a test whose ``start`` enters its first message in the group (``waiting``)."""
    return pytest.mark.starts_early(start=start, group=GROUP)


class RunAlone(Exception):
    """The overlapped wait cannot tell this test's verdict: run it again alone, for ``why``."""

    def __init__(self, why: str, probe: bool = False) -> None:
        super().__init__(why)
        self.why, self.probe = why, probe


@dataclass(eq=False)
class Waiting:
    """One message of the group whose status a test awaits: the window counts from its Receipt."""

    sent: Sent
    status: str  # the Status a conforming candidate sends for it
    answered_at: float  # epoch seconds, when its synchronous answer was judged
    group: Group
    then: bytes | None = None  # a setup's: the test's own message, sent once the setup's status came


@dataclass
class Group:
    """The messages sent together for one harness, and what the probes found per expected Status."""

    members: list[Waiting] = field(default_factory=list)
    probed: dict[str, str] = field(default_factory=dict)  # Status -> "came" | the probe's test name

    def message_ids(self) -> set[str]:
        return {member.sent.message_id for member in self.members if member.sent.message_id}

    def __repr__(self) -> str:  # short: pytest shows a failed test's arguments (a member's group)
        return f"Group({len(self.members)} messages, probed={self.probed!r})"


def waiting(harness: Harness, sent: Sent, status: str, body: bytes | None = None) -> Waiting:
    """Enter ``sent`` (its synchronous answer judged just now) in the harness's group; ``body``: the
    test's own message, for a setup that must be ACCEPTED first."""
    group: Group = harness.kept.setdefault("status_group", Group())
    member = Waiting(sent, status, time.time(), group, body)
    group.members.append(member)
    return member


def await_status(harness: Harness, member: Waiting) -> Arrival:
    """The member's status if it came in its window, or RunAlone (NoAnswer once a probe said the
    candidate does not send this Status even alone)."""
    inbox = steps.inbox_of(harness)
    sent, window = member.sent, harness.config.windows.status_s
    about = steps.answer_to(harness, sent, STATUS)
    deadline = member.answered_at + window
    with harness.waiting_for(f"a StatusNotification from {harness.config.party}", deadline - time.time()):
        arrival = inbox.wait_for(about, max(0.0, deadline - time.time()))
    if arrival is not None and arrival.received_at.timestamp() <= deadline:
        harness.note_arrival(arrival)
        return arrival
    if arrival is not None:
        raise RunAlone(
            f"its status came {arrival.received_at.timestamp() - member.answered_at:.1f} s after "
            f"the Receipt, beyond the {window:g} s window, while other statuses were owed"
        )
    # none in the window: wait while the candidate is still sending the group's statuses
    while True:
        quiet_from = max(member.answered_at, _last_group_status(harness, member.group))
        left = quiet_from + window - time.time()
        if left <= 0:
            break
        with harness.waiting_for("the candidate's statuses to other messages sent together", left):
            arrival = inbox.wait_for(about, left)
        if arrival is not None:
            raise RunAlone("its status came after the window, while the candidate was sending others")
    verdict = member.group.probed.get(member.status)
    if verdict is None:
        raise RunAlone(
            f"no status came and the candidate sent none for {window:g} s: a probe of {member.status}",
            probe=True,
        )
    if verdict == "came":
        raise RunAlone(f"no status came while others were owed, and a lone {member.status} got one")
    due = steps.status_blame(sent)
    raise NoAnswer(
        due[0],
        f"a StatusNotification for {sent.message_id} within {window:g} s",
        f"none arrived; nor to {verdict}, run alone (a probe)",
        also=due[1:],
    )


def status_or_alone(
    harness: Harness, member: Waiting, alone: Callable[[], None], name: str
) -> Arrival | None:
    """The member's status if it came in its window; None once the test ran again alone (``alone``,
    the serial test, which then judged it all)."""
    try:
        return await_status(harness, member)
    except RunAlone as why:
        run_alone(harness, why, alone, member, name)
        return None


def settle(harness: Harness, member: Waiting) -> None:
    """Before a test goes on after its status: the group's statuses sent first (``drain``)."""
    drain(harness, member.group)


def drain(harness: Harness, group: Group) -> None:
    """Wait until the candidate has sent every status of the group, or none for a whole window: a
    test run again alone must not queue behind the group's statuses (one delivery at a time)."""
    inbox = steps.inbox_of(harness)
    window = harness.config.windows.status_s
    ids = group.message_ids()
    while True:
        firsts = _first_statuses(harness, group)
        if ids <= set(firsts):
            return
        last = max(firsts.values(), default=0.0)
        quiet_from = max([last, *(member.answered_at for member in group.members)])
        left = quiet_from + window - time.time()
        if left <= 0:
            return
        with harness.waiting_for("the candidate's statuses to the messages sent together", left):
            inbox.wait_for(_status_about(ids - set(firsts)), left)


def _status_about(ids: set[str]) -> Callable[[Arrival], bool]:
    """A StatusNotification about one of ``ids``."""

    def about(arrival: Arrival) -> bool:
        header = arrival.header
        return header is not None and header.action == STATUS and header.ref_to_message_id in ids

    return about


def _first_statuses(harness: Harness, group: Group) -> dict[str, float]:
    """When the first status about each of the group's messages came (epoch seconds), by message:
    only a first one is progress (a candidate sending one status again and again, and never the
    others, must not keep a wait going; each wait is then bounded by a window per message)."""
    firsts: dict[str, float] = {}
    for arrival in steps.inbox_of(harness).matching(_status_about(group.message_ids())):
        ref = arrival.header.ref_to_message_id if arrival.header else None
        at = arrival.received_at.timestamp()
        if ref is not None and (ref not in firsts or at < firsts[ref]):
            firsts[ref] = at
    return firsts


def _last_group_status(harness: Harness, group: Group) -> float:
    """When the candidate last sent a first status about one of the group's messages (epoch seconds)."""
    return max(_first_statuses(harness, group).values(), default=0.0)


def run_alone(harness: Harness, why: RunAlone, run: Callable[[], None], member: Waiting, name: str) -> None:
    """Run the test again alone (``run``: the serial test), noting why. A probe records what it found
    for the member's Status, from the first message the lone run sent (the fresh counterpart of the
    member's): that its status came (``came``), or, when the run ended on NoAnswer with none for it,
    the probe's ``name``. A NoAnswer for a later step (a utilisation notice asked for after the
    ACCEPTED came) is not the Status's finding."""
    harness.note(f"run again alone: {why.why}")
    drain(harness, member.group)
    if not why.probe:
        run()
        return
    record = harness.current
    before = len(record.exchanges) if record is not None else 0
    try:
        run()
    except NoAnswer:
        first = _first_sent_since(harness, before)
        came = first is not None and bool(steps.inbox_of(harness).matching(_status_about({first})))
        member.group.probed.setdefault(member.status, "came" if came else name)
        raise
    member.group.probed.setdefault(member.status, "came")


def _first_sent_since(harness: Harness, before: int) -> str | None:
    """The MessageId of the first message the current test sent after its first ``before`` exchanges."""
    record = harness.current
    exchanges = record.exchanges[before:] if record is not None else []
    for exchange in exchanges:
        message_id = steps.own_message_facts(exchange.request_body, dialects.of(harness)).message_id
        if message_id:
            return message_id
    return None


# What a test's start sent ahead for a later step of the test to take (test_sequences' first CO
# message): by the test's record (the harness records into it while the start runs) and a name.
def _started(harness: Harness) -> dict[tuple[int, str], object]:
    started: dict[tuple[int, str], object] = harness.kept.setdefault("status_group.started", {})
    return started


def keep(harness: Harness, name: str, value: object) -> None:
    """Keep ``value`` for the test the harness records into now, under ``name``."""
    _started(harness)[(id(harness.current), name)] = value


def take(harness: Harness, name: str) -> object | None:
    """What the current test's start kept under ``name`` (once), or None."""
    return _started(harness).pop((id(harness.current), name), None)
