"""What a pilot shows while its traffic runs: on a terminal, one line rewritten in place twice a
second (relays seen, conversations open, time left: a passive pilot's ``--duration``, or the time
the script has run); in a pipe, no line in place, a plain line as the traffic starts and one as it
ends. It reads the record (``Traffic.snapshot``) and changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TextIO

from .traffic import Seen, Traffic

TICK_S = 0.5
_ASKS = {"IssueCO", "ReplaceCO", "CancelCO", "VerificationRequest"}
_ANSWERS = {"StatusNotification", "VerificationResponse"}


def open_conversations(seen: Sequence[Seen]) -> int:
    """Requests their receiver took (200) whose status or verification answer has not passed yet."""
    taken = {
        (s.sender, s.fields.message_id)
        for s in seen
        if s.fields.action in _ASKS and s.relay.status == 200 and s.relay.originated is None
    }
    answered = {(s.receiver, s.fields.ref_to) for s in seen if s.fields.action in _ANSWERS}
    return len(taken - answered)


def counts(traffic: Traffic) -> str:
    seen = traffic.snapshot()
    return f"{len(seen)} relays seen, {open_conversations(seen)} conversations open"


class Live:
    """``with Live(traffic, out, mode, duration):`` around the traffic."""

    def __init__(self, traffic: Traffic, out: TextIO, mode: str, duration: float | None) -> None:
        self.traffic, self.out, self.mode, self.duration = traffic, out, mode, duration
        self.terminal = _is_terminal(out)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        if self.duration is not None:
            when = f"{max(0.0, self.duration - elapsed):.0f} s left"
        elif self.mode == "passive":
            when = f"{elapsed:.0f} s, until Ctrl-C"
        else:
            when = f"{elapsed:.0f} s into the script"
        return f"{self.mode}: {counts(self.traffic)}, {when}"

    def __enter__(self) -> Live:
        self._started = time.monotonic()
        if self.terminal:
            self._thread = threading.Thread(target=self._run, name="pilot-live", daemon=True)
            self._thread.start()
        else:
            print(f"traffic started ({self.mode})", file=self.out, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            print("\r\x1b[K", end="", file=self.out, flush=True)
        print(f"traffic ended: {counts(self.traffic)}", file=self.out, flush=True)

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            print(f"\r\x1b[K{self.line()}", end="", file=self.out, flush=True)


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
