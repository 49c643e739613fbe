"""The ledger of a load run: what was sent and answered, and every status matched to its CO.

Records of sent messages come from the Locust processes (batched, so a status often reaches the
harness inbox before the record of the CO it answers: it waits in ``early`` until then). Memory is
bounded by time, not by the run's length: a CO waits for its status at most the status window
(then it is lost), a matched CO is remembered for duplicate statuses for two windows, and every
figure is a counter or a histogram (stats.py).

What an arrival is (an answer to match, or not) and whether a matched answer says the right thing
are the profile's: the pack's inbox gives each arrival read (adapter.py ``Incoming``), and its
``check_answer`` judges an answer against the message it answers.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from conformance.app.load.adapter import Incoming
from conformance.app.load.stats import Histogram, Series
from conformance.core.violations import Violation

MAX_EXAMPLES = 5  # kept per requirement or error kind


@dataclass
class Awaited:
    """A message taken with a Receipt whose asynchronous answer is due."""

    message_id: str
    conversation_id: str
    kind: str
    status: str
    receipt_at: float  # epoch seconds


class Ledger:
    def __init__(
        self,
        started: float,
        planned_s: float,
        status_window_s: float,
        check: Callable[[Incoming, Awaited], None],  # the pack's: raises the Violation of a wrong answer
    ) -> None:
        self.started, self.window_s, self.check = started, status_window_s, check
        self.series = Series(planned_s)
        self.receipt, self.status_lag = Histogram(), Histogram()
        self.counts: Counter = Counter()
        self.wrong: Counter = Counter()  # by requirement
        self.errors: Counter = Counter()  # by kind
        self.kinds: Counter = Counter()  # sent, by kind of message
        self.examples: dict[str, list[str]] = {}
        self.workers: Counter = Counter()  # records received, by Locust worker
        self.awaiting: OrderedDict[str, Awaited] = OrderedDict()  # by MessageId, oldest first
        # MessageId -> (status id, when)
        # what answered each MessageId: (the answer's MessageId, when, the conversation), for a while
        self.matched: OrderedDict[str, tuple[str | None, float, str]] = OrderedDict()
        self.early: OrderedDict[str, list[Incoming]] = OrderedDict()
        self.status_ids: OrderedDict[str, float] = OrderedDict()  # status MessageIds seen (retries)
        # Messages whose synchronous answer was wrong (counted under P-01): a status may still come for
        # them (a wrong Receipt of a message taken) and is neither awaited nor unexpected (P-03).
        self.answered_wrong: OrderedDict[str, float] = OrderedDict()
        self.last_receipt = started
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ records

    def record(self, rec: dict) -> None:
        """One message sent by a Locust user, with the judgement of its synchronous answer."""
        with self._lock:
            window = self.series.at(rec["t"] - self.started)
            self.counts["sent"] += 1
            self.kinds[rec["k"]] += 1
            self.workers[rec.get("w", "local")] += 1
            window.counts["sent"] += 1
            if rec.get("e"):
                self.counts["errors"] += 1
                self.errors[rec["e"]] += 1
                window.counts["errors"] += 1
                self._example(rec["e"], rec.get("x", ""))
                return
            if not rec.get("rf"):  # an answer, right or wrong (a 5xx refuses the message: none)
                window.counts["answered"] += 1
            if rec.get("v"):
                self._wrong(rec["v"], rec.get("x", ""), window)
                if rec.get("id"):
                    self.answered_wrong[rec["id"]] = rec["t"]
                    self.counts["after_wrong_answer"] += len(self.early.pop(rec["id"], ()))
                return
            self.counts["right"] += 1
            window.counts["right"] += 1
            if not rec.get("nr"):  # the answer due was a Receipt (not an Error)
                self.receipt.add(rec["l"])
                window.receipt.add(rec["l"])
            if rec.get("st"):  # an asynchronous answer is due
                receipt_at = rec["t"] + rec["l"]
                self.last_receipt = max(self.last_receipt, receipt_at)
                awaited = Awaited(rec["id"], rec["cv"], rec["k"], rec["st"], receipt_at)
                self.awaiting[rec["id"]] = awaited
                for incoming in self.early.pop(rec["id"], ()):
                    self._match(incoming, rec["id"])

    def _wrong(self, requirement: str, detail: str, window) -> None:
        self.counts["wrong"] += 1
        self.wrong[requirement] += 1
        window.counts["wrong"] += 1
        self._example(requirement, detail)

    def _example(self, key: str, detail: str) -> None:
        kept = self.examples.setdefault(key, [])
        if len(kept) < MAX_EXAMPLES and detail:
            kept.append(detail[:500])

    # ------------------------------------------------------------------------------ the inbox

    def arrival(self, incoming: Incoming) -> None:
        """A message the candidate sent to the harness inbox, once answered (read by the pack)."""
        at = incoming.at
        with self._lock:
            if incoming.refused:
                self.counts["gateway_refused"] += 1  # a fault we played, or refused (wrong below)
                if incoming.accepted:
                    return
            if not incoming.answer:
                if incoming.wrong is not None:
                    self._wrong(*incoming.wrong, self.series.at(at - self.started))
                return
            if incoming.message_id is not None:  # statuses without one are not retries of one another
                if incoming.message_id in self.status_ids:
                    self.counts["redelivered"] += 1  # the same status again: a retry (M-21), not a second one
                    return
                self.status_ids[incoming.message_id] = at
            ref = incoming.ref
            if ref in self.answered_wrong:
                self.counts["after_wrong_answer"] += 1
                return
            if ref is not None and (ref in self.awaiting or ref in self.matched):
                self._match(incoming, ref)
            else:
                self.early.setdefault(ref or "", []).append(incoming)

    def _match(self, incoming: Incoming, ref: str) -> None:
        """``incoming`` answers ``ref``, a MessageId awaiting its answer or already answered."""
        at = incoming.at
        window = self.series.at(at - self.started)
        if ref in self.matched:
            self.counts["duplicate_statuses"] += 1
            window.counts["duplicate_statuses"] += 1
            conversation = self.matched[ref][2]
            self._example(
                "duplicate status",
                f"a second answer {incoming.message_id} to {ref} (conversation {conversation})",
            )
            return
        awaited = self.awaiting.pop(ref)
        self.matched[ref] = (incoming.message_id, at, awaited.conversation_id)
        self.counts["statuses"] += 1
        window.counts["statuses"] += 1
        lag = max(0.0, at - awaited.receipt_at)
        self.status_lag.add(lag)
        self.series.at(awaited.receipt_at - self.started).status_lag.add(lag)
        try:
            self.check(incoming, awaited)  # the pack's checks (EFDX: M-22, A-02, A-01/A-03/A-04, A-05)
        except Violation as violation:
            self._wrong(violation.requirement, str(violation), window)

    # ------------------------------------------------------------------------------ time

    def sweep(self, now: float | None = None, *, final: bool = False) -> None:
        """Declare lost what waited past the status window; forget what is past any use."""
        now = time.time() if now is None else now
        with self._lock:
            while self.awaiting:
                awaited = next(iter(self.awaiting.values()))
                if not final and now - awaited.receipt_at <= self.window_s:
                    break
                self.awaiting.popitem(last=False)
                self.counts["lost"] += 1
                self.series.at(awaited.receipt_at - self.started).counts["lost"] += 1
                detail = f"{awaited.kind}, conversation {awaited.conversation_id}"
                self._example("lost status", f"no answer to {awaited.message_id} ({detail})")
            for table in (self.matched, self.status_ids, self.answered_wrong):
                while table and now - _when(next(iter(table.values()))) > 2 * self.window_s:
                    table.popitem(last=False)
            while self.early:
                ref, arrivals = next(iter(self.early.items()))
                if not final and now - arrivals[0].at <= max(30.0, self.window_s):
                    break
                self.early.popitem(last=False)
                self.counts["unexpected"] += len(arrivals)
                self._example(
                    "unexpected", f"an answer to {ref or 'no message'}, which the harness did not send"
                )

    def pending(self) -> int:
        with self._lock:
            return len(self.awaiting)

    def figures(self) -> dict:
        with self._lock:
            return {
                "counts": dict(self.counts),
                "sent_by_kind": dict(self.kinds),
                "receipt_latency": self.receipt.summary(),
                "status_lag": self.status_lag.summary(),
                "wrong_answers": dict(self.wrong),
                "errors": dict(self.errors),
                "examples": {key: list(value) for key, value in self.examples.items()},
                "by_worker": dict(self.workers),
                "over_time": self.series.as_json(),
                "window_s": self.series.width,
            }


def _when(value) -> float:
    return value[1] if isinstance(value, tuple) else value
