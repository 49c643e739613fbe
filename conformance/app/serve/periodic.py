"""A chore done every few seconds in a daemon thread until stopped: the reaper of runs whose worker
died (lease.py), the pruner of old run folders (retention.py), the resender of queued runs a broker
may have lost (requeue.py). One failure (a database hiccup) is logged and the next round tries
again: a chore never stops the service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    """Call ``chore`` every ``every_s`` seconds (first at once when ``at_once``) until ``stop``."""

    def __init__(self, name: str, every_s: float, chore: Callable[[], object], at_once: bool = False) -> None:
        self.name, self.every_s, self.chore, self.at_once = name, every_s, chore, at_once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Every:
        self._thread.start()
        return self

    def _loop(self) -> None:
        if self.at_once:
            self._round()
        while not self._stop.wait(self.every_s):
            self._round()

    def _round(self) -> None:
        try:
            self.chore()
        except Exception:  # noqa: BLE001 - a database hiccup: the next round tries again
            log.warning("%s failed", self.name, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
