"""M-21's conversations: one IssueCO each, sent by the candidate through a flaky gateway, watched for
the whole retry schedule it declares.

With a real schedule ([5, 30, 120] s) each conversation lasts minutes, and they are independent, so
the suite starts them together (the plugin's ``starts_early``) and their waits overlap. The spec
does not ask a candidate to deliver several messages at once, though: a candidate may send one at a
time, and a message being retried then holds up the next. A wait for a conversation's first try
is therefore counted from when the candidate was last busy with another conversation of the group,
not from its trigger. A conversation fails for want of a first try only when the candidate sent
nothing of it for a whole window while it had no other conversation of ours in hand. Later tries are
counted from the first, as the declared schedule is. A candidate that sends at once is judged in
about the time of the longest conversation, and one that sends in turn in about their sum, as
before; both get the verdicts they would get alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from conformance.family.inbox import Arrival, HarnessInbox, Reaction
from conformance.family.suite.steps import inbox_of
from conformance.harness.control import ask_to_send
from conformance.harness.session import Harness

POLL_S = 1.0  # how often a wait for a first try looks again at the other conversations


@dataclass(eq=False)
class Delivery:
    """One conversation of the group: what its tries match, how many are due, and its windows."""

    inbox: HarnessInbox
    conversation: str
    matches: Callable[[Arrival], bool]
    window: float  # for the first try: the status window with a trigger, the operator's without
    tries: int  # the tries a conforming candidate makes (1 when it must not retry)
    retry_budget: float  # from the first try: the declared schedule with slack
    group: list[Delivery] = field(default_factory=list)  # the conversations started together

    def __post_init__(self) -> None:
        self.group.append(self)

    def arrivals(self) -> list[Arrival]:
        return self.inbox.matching(self.matches, pending=True)

    def busy_until(self) -> float | None:
        """Until when (epoch seconds, as arrivals are stamped) the candidate may be busy with this
        conversation: its last try once all due came, else the end of its retry budget, never later
        (a candidate sending one message without end holds up nothing past its budget); None before
        its first try."""
        arrivals = self.arrivals()
        if not arrivals:
            return None
        budget_over = arrivals[0].received_at.timestamp() + self.retry_budget
        if len(arrivals) >= self.tries:
            return min(arrivals[-1].received_at.timestamp(), budget_over)
        return budget_over


def start(
    harness: Harness,
    conversation: str,
    matches: Callable[[Arrival], bool],
    document: etree._Element,
    reactions: list[Reaction],
    tries: int,
    retry_budget: float,
) -> Delivery:
    """Script the gateway's answers to the conversation's first tries, and have the candidate send."""
    inbox = inbox_of(harness)
    inbox.plan(matches, reactions)
    reference = conversation.split(":", 1)[1]
    window = ask_to_send(harness, "IssueCO", document, f"issue the e-Form D {reference}")
    group: list[Delivery] = harness.kept.setdefault("deliveries", [])
    return Delivery(inbox, conversation, matches, window, tries, retry_budget, group)


def _unsaid(seconds: float) -> None:
    """Nobody is told how long a wait has left."""


def first_try(delivery: Delivery, left: Callable[[float], None] = _unsaid) -> Arrival | None:
    """The conversation's first try, or None when none came in its window after the candidate was
    last busy with another conversation of the group, or at the latest when a candidate sending the
    whole group one conversation after the other would have come to it. ``left`` is told the
    seconds left each time the window moves (another conversation kept the candidate busy)."""
    began = time.time()
    others = [other for other in delivery.group if other is not delivery]
    latest = began + delivery.window + sum(other.window + other.retry_budget for other in others)
    while True:
        arrivals = delivery.arrivals()
        if arrivals:
            return arrivals[0]
        busy = max((until for until in (other.busy_until() for other in others) if until), default=began)
        remaining = min(max(began, busy) + delivery.window, latest) - time.time()
        if remaining <= 0:
            return None
        left(remaining)
        delivery.inbox.wait_for(delivery.matches, min(remaining, POLL_S), pending=True)


def tries_after(
    delivery: Delivery, first: Arrival, count: int, seconds: float, left: Callable[[float], None] = _unsaid
) -> list[Arrival]:
    """The conversation's tries once ``count`` came, or when ``seconds`` after the first are over
    (``left`` is told how many seconds that is from now)."""
    remaining = first.received_at.timestamp() + seconds - time.time()
    if remaining > 0:
        left(remaining)
        delivery.inbox.wait_for_count(delivery.matches, count, remaining)
    return delivery.arrivals()
