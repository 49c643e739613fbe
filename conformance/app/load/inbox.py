"""The harness inbox's load-run parts that know no profile: bounded tables for a soak, and a flaky
gateway on request (P-03).

The inbox is the pack's (adapter.py ``LoadAdapter.inbox``: the suite's inbox, same judging, same
signed answers); it keeps no arrivals (each goes to the ledger once answered) and remembers
MessageIds for duplicate detection in the bounded table given here. With a fault share, that share
of the candidate's messages get a 503, a reset or no answer within the candidate's peer timeout on
their first delivery, so that the candidate retries (M-21); the retry is answered normally, and the
ledger counts it as a redelivery, not a second status.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict

REMEMBERED = 200_000  # MessageIds kept for duplicate detection (the oldest go first)


class BoundedLog(OrderedDict):
    """The inbox's MessageLog, forgetting the oldest entries past ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
            while len(self) > self.limit:
                self.popitem(last=False)
        return self[key]


class GatewayFaults:
    """A share of first deliveries answered 503, reset, or held past the candidate's peer timeout."""

    def __init__(self, share: float, peer_timeout_s: float, seed: int | None = None) -> None:
        self.share, self.hold_s = share, peer_timeout_s + 0.5
        self.rng = random.Random(seed)
        self.first_seen = BoundedLog(REMEMBERED)
        self.played = {"503": 0, "reset": 0, "timeout": 0}
        self._lock = threading.Lock()

    def decide(self, message_id: str | None, accepted: bool) -> str | None:
        """The fault to play on this arrival ("503", "reset", "timeout": held ``hold_s``), or None."""
        if message_id is None or not accepted:
            return None
        with self._lock:
            if message_id in self.first_seen:
                return None
            self.first_seen.setdefault(message_id, True)
            if self.rng.random() >= self.share:
                return None
            kind = self.rng.choice(("503", "reset", "timeout"))
            self.played[kind] += 1
        return kind
