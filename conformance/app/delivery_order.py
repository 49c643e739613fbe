"""Delivery order across profiles run side by side (EFDX-1.0 section 7, "Delivery order", errata 2).

A candidate may deliver one message at a time to a partner: a message in retry holds up the rest. The
M-21 tests (the ``starts_early`` group of a suite module: the harness inbox answers 5xx, times out or
answers 4xx, and watches the candidate's retries) would then hold up, or be disturbed by, another
profile's test that waits for a message from the candidate at the same harness party. Profiles run
side by side (app/side_by_side.py) keep them apart with a readers-writer lock per harness party, across
processes: ``fcntl.flock`` on a file per party in a folder the run's process makes.

- Every test holds its party's lock shared while it runs (setup to teardown), and so does a
  profile's pre-flight Ping.
- A starts_early group holds it exclusive from its first test's setup (where the conversations of
  the whole group start early) until the end of the group's last test (of that module, or of the
  named group: its tests run one after another, the plugin's ``gathered``).

So no test of another profile runs at that party while a group is under way, and a group starts
only when no test of another profile is at that party. Profiles whose harness parties differ use
different files and overlap freely.

flock locks belong to an open file description: one process holds one description of each file and
never asks again for what it holds (within a group its tests ask nothing), so it never waits for
itself. A waiting writer must not starve behind a stream of readers (Linux flock grants a shared
lock while an exclusive one waits): every taker first takes a gate file exclusive, then the party's
lock, then lets the gate go. A writer waiting for the party's lock holds the gate, so no new reader
gets in; a reader holds the party's lock for one test at most, so the writer waits for at most the
test under way in each other process. Nobody holding a party lock asks for the gate, so there is no
deadlock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.harness.plugin import early_group


def _file_name(party: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", party) or "_"


class DeliveryOrder:
    """One profile's side of the lock (see the module's docstring); a pytest plugin once ``bind``-ed."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._gate: int | None = None
        self._party: int | None = None
        self._held = 0  # 0, fcntl.LOCK_SH or fcntl.LOCK_EX
        self._group_ends: str | None = None  # the nodeid whose end lets the exclusive lock go
        self._last_early: dict[object, str] = {}  # starts_early group -> its last test in the session
        self.waited_s = 0.0

    def bind(self, party: str) -> None:
        """The harness party this profile plays (its files are opened now, once)."""
        if self._party is not None:
            return
        name = _file_name(party)
        self._gate = os.open(self.folder / f"{name}.gate", os.O_RDWR | os.O_CREAT, 0o600)
        self._party = os.open(self.folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        for fd in (self._party, self._gate):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)  # releases what it held
        self._party = self._gate = None
        self._held = 0

    def _take(self, mode: int) -> None:
        if self._party is None or self._gate is None or self._held:
            return
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._party, mode)
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        self._held = mode

    def _release(self) -> None:
        if self._party is not None and self._held:
            fcntl.flock(self._party, fcntl.LOCK_UN)
        self._held = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the party's lock shared for a while (a pre-flight Ping waits for the candidate)."""
        if self._held:
            yield
            return
        self._take(fcntl.LOCK_SH)
        try:
            yield
        finally:
            self._release()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if (group := early_group(item)) is not None:
                self._last_early[group] = item.nodeid

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self._before(item)
        try:
            yield
        finally:
            self._after(item)

    def _before(self, item: pytest.Item) -> None:
        if self._group_ends is not None:
            return  # within a group: its exclusive lock covers every test until the group ends
        if (group := early_group(item)) is not None:
            self._take(fcntl.LOCK_EX)
            self._group_ends = self._last_early.get(group, item.nodeid)
            return
        self._take(fcntl.LOCK_SH)

    def _after(self, item: pytest.Item) -> None:
        if self._group_ends is not None and item.nodeid != self._group_ends:
            return
        self._group_ends = None
        self._release()
