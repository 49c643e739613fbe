"""What `conformance run` shows while it works: a live display on a terminal, plain lines otherwise.

The live display (rich) shows tests done of total, verdict counts, the current test and, while it
waits for the candidate, what for and the seconds left (the harness tells it: Harness.waiting_for);
in CI or a pipe each finished test is one line, and a wait prints nothing. Both end with a summary
table and the report's path.

The suite runs inside pytest, whose output capture points file descriptors 1 and 2 at temporary
files while a test runs. The live display and the operator's instructions are written while a test
runs, so they go to copies of the terminal's descriptors taken before pytest starts.

Whatever came from the candidate (reasons, test ids, instructions built from its configuration) is
printed through ``terminal_text.printable``: its bytes never reach the terminal raw.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Protocol, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from conformance.core.terminal_text import printable, printable_lines, printable_markup
from conformance.core.verdicts import BY_LOAD_RUN
from conformance.harness.session import Wait

NOT_PASSED = ("fail", "error", "inconclusive")  # each gets its line on a terminal too
COLOURS = {
    "pass": "green",
    "fail": "red",
    "error": "magenta",
    "inconclusive": "yellow",
    "not-applicable": "dim",
}


WIDE_TABLE = 110  # columns the layer-a-row table needs for every verdict's header uncut


def by_profile(ids: list[str]) -> str:
    """``EFDX 1.0 T-01, EFDX 1.0 T-03`` shown as ``EFDX 1.0 T-01, T-03``: each ID still under its
    profile's title, without repeating it for every one."""
    from conformance.results.results import split_qualified

    groups: dict[str, list[str]] = {}
    for item in ids:
        title, bare = split_qualified(item)
        groups.setdefault(title, []).append(bare)
    return "; ".join(f"{title} {', '.join(bares)}".strip() for title, bares in groups.items())


class _Countdown:
    """The wait line, rendered at each refresh (on rich's thread, which reads only the current
    Wait): its seconds count down between the run's own events."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if line := self.progress.wait_line():
            yield Text(line, style="yellow")


class _LaneCountdown:
    """A lane's wait line (profiles side by side): its Wait as of the last event, counted down at
    each of rich's refreshes."""

    def __init__(self, wait: Wait | None) -> None:
        self.wait = wait

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if line := _wait_text(self.wait):
            yield Text(line, style="yellow")


def _wait_text(wait: Wait | None) -> str:
    if wait is None:
        return ""
    left = max(0, math.ceil(wait.until - time.monotonic()))
    return f"waiting for {printable(wait.what)}: {left} s left"


# What the display keeps of each profile's share (a lane): with profiles side by side
# (app/side_by_side.py) each event is applied to its profile's lane, and a live display shows
# every lane at once.
LANE_FIELDS = (
    "done",
    "total",
    "current",
    "waiting",
    "prefix",
    "profile_line",
    "_header",
    "_quiet_reason",
    "_wait",
)


class Display(Protocol):
    """What a profile's run tells the display (Progress here; a relay in a profile's own process)."""

    def begin_profile(self, key: str, title: str, several: bool = True) -> None: ...
    def started(self, nodeid: str, total: int) -> None: ...
    def finished(self, record) -> None: ...
    def announce(self, line: str, quiet_reason: str | None = None) -> None: ...
    def operator(self, instruction: str) -> None: ...
    def wait(self, wait: Wait | None) -> None: ...
    def __enter__(self) -> Display: ...
    def __exit__(self, *exc) -> None: ...


class Progress:
    def __init__(self, live: bool) -> None:
        self.live_enabled = live
        self._owned: list[TextIO] = []
        width = None
        if live:
            out = self._own(sys.stdout)
            with contextlib.suppress(OSError, ValueError):
                # measured now: under pytest's capture fds 0-2 are files; 0 is a pty nobody sized (then 80)
                width = os.get_terminal_size(out.fileno()).columns or None
        else:
            out = sys.stdout
            width = 120  # in a pipe or CI the width is unknown (rich assumes 80): room for the summary
        self.console = Console(file=out, highlight=False, force_terminal=live or None, width=width)
        self._operator_stream = self._own(sys.stderr)
        self.done, self.total, self.current, self.waiting = 0, 0, "", ""
        self.prefix, self.profile_line = "", ""  # the profile's key/ before test IDs; "EFDX 1.0 (1 of 2)"
        self._header: str | None = None  # a profile's header line, said at its first test
        self.counts: dict[str, int] = {}
        self._quiet_reason: str | None = None
        self._wait: Wait | None = None  # what the current test waits for from the candidate, until when
        self._live: Live | None = None
        self._lane_key: str | None = None  # the lane the fields above are of (None: one lane, serial)
        self._lanes: dict[str, dict] = {}  # the other lanes' fields, by key, in the order they began

    def lane(self, key: str) -> None:
        """Apply what follows to ``key``'s lane (a profile run side by side): the fields of the lane
        in use are put away and ``key``'s taken out (a new lane starts empty)."""
        if key == self._lane_key:
            return
        if self._lane_key is not None:
            self._lanes[self._lane_key] = {name: getattr(self, name) for name in LANE_FIELDS}
        fresh = dict.fromkeys(LANE_FIELDS, None) | {"done": 0, "total": 0, "current": "", "waiting": ""}
        fresh |= {"prefix": "", "profile_line": ""}
        for name, value in self._lanes.pop(key, fresh).items():
            setattr(self, name, value)
        self._lanes[key] = {}  # its place in the order; its fields are on self while it is in use
        self._lane_key = key

    def _own(self, stream: TextIO) -> TextIO:
        """A stream on a copy of ``stream``'s descriptor (pytest's capture cannot redirect a copy);
        ``stream`` itself when it has none (an in-memory stream, e.g. under a test's capsys)."""
        try:
            fd = os.dup(stream.fileno())
        except (AttributeError, OSError, ValueError):
            return stream
        copy = os.fdopen(fd, "w", encoding=stream.encoding or "utf-8", errors="replace", buffering=1)
        self._owned.append(copy)
        return copy

    def close(self) -> None:
        for stream in self._owned:
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        self._owned.clear()

    def __enter__(self) -> Progress:
        if self.live_enabled:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render(), refresh=True)

    def begin_profile(self, key: str, title: str, several: bool = True) -> None:
        """The next profile's tests follow: their IDs are qualified by its key; counts start again."""
        self.prefix = f"{key}/"
        self.done, self.total, self.current, self.waiting = 0, 0, "", ""
        # said when its first test starts, in both modes (a pipe's [n/N] starts again with it); a
        # profile none of whose tests is selected prints nothing
        self._header = f"{title}: running its suite"
        if several:
            self.profile_line = title

    def started(self, nodeid: str, total: int) -> None:
        if self._header is not None and self._live is not None:
            header, self._header = self._header, None
            self.announce(header)
        self.total, self.current, self.waiting = total, self.prefix + nodeid, ""
        self._refresh()

    def finished(self, record) -> None:
        """One test is done: a line in a pipe; on a terminal the live count moves, and a test that did
        not pass gets its line (verdict, test, reason) above the display, where it stays."""
        self.done += 1
        self.counts[record.verdict] = self.counts.get(record.verdict, 0) + 1
        self.waiting = ""
        if self._header is not None:  # in a pipe, said before the profile's first line: a test's start
            header, self._header = self._header, None  # is under pytest's capture, its end is not
            self.announce(header)
        quiet = self._quiet_reason is not None and record.reason == self._quiet_reason
        line = f"[{self.done}/{self.total}] {record.verdict:<14} {printable(self.prefix + record.nodeid)}"
        if record.verdict not in ("pass", "not-applicable"):
            line += f"\n    {printable(record.reason)}"
        if self._live is not None:
            if record.verdict in NOT_PASSED and not quiet:
                self._live.console.print(Text(line, style=COLOURS[record.verdict]), soft_wrap=True)
            self._refresh()
        elif not quiet:
            print(line, flush=True)

    def recount(self, old: str, new: str) -> None:
        """A finished test's verdict changed afterwards (the candidate was found gone)."""
        self.counts[old] = self.counts.get(old, 1) - 1
        self.counts[new] = self.counts.get(new, 0) + 1
        self.counts = {verdict: count for verdict, count in self.counts.items() if count}

    def announce(self, line: str, quiet_reason: str | None = None) -> None:
        """One line about the run itself (e.g. the candidate went away); later tests whose reason is
        ``quiet_reason`` get no line of their own in plain output, only their count."""
        self._quiet_reason = quiet_reason
        if self._live is not None:
            self._live.console.print(Text(printable(line)), soft_wrap=True)
        else:
            print(printable(line), flush=True)

    def operator(self, instruction: str) -> None:
        """Tell the operator, on the terminal, now: the test waits for them after this returns."""
        shown = printable_lines(instruction)
        if self._live is not None:  # above the live display, unwrapped so that the path can be copied
            self.waiting = "waiting for the operator (instruction above)"
            self._live.console.print(Text(f"\n{shown}\n"), soft_wrap=True)
            self._refresh()
        else:
            print(f"\n{shown}\n", file=self._operator_stream, flush=True)

    def wait(self, wait: Wait | None) -> None:
        """The current test waits for the candidate (or no longer): on a terminal the display says
        for what and counts the seconds left; in a pipe nothing is said (its lines stay as they are)."""
        self._wait = wait
        self._refresh()

    def wait_line(self) -> str:
        """``waiting for a StatusNotification from KH: 42 s left``, or nothing when no test waits."""
        return _wait_text(self._wait)

    def _render(self) -> RenderableType:
        """The display as of now; its wait line is worked out again at each of rich's refreshes."""
        if self._lane_key is None:
            return Group(self._counts(), _Countdown(self))
        parts: list[RenderableType] = []  # profiles side by side: a block of each, in the order begun
        for key, fields in self._lanes.items():
            lane = {name: getattr(self, name) for name in LANE_FIELDS} if key == self._lane_key else fields
            parts += [self._counts(lane, verdicts=False), _LaneCountdown(lane["_wait"])]
        verdicts = Text("all profiles: ")
        for verdict, count in self.counts.items():
            verdicts.append(f"{verdict} {count}  ", style=COLOURS.get(verdict, ""))
        return Group(*parts, verdicts)

    def _counts(self, lane: dict | None = None, verdicts: bool = True) -> Text:
        side_by_side = lane is not None
        lane = lane if lane is not None else {name: getattr(self, name) for name in LANE_FIELDS}
        done, total, profile_line = lane["done"], lane["total"], lane["profile_line"]
        if not total and not done:
            before = f"{profile_line}: " if side_by_side and profile_line else ""
            return Text(f"{before}collecting tests…", style="dim")
        text = Text(f"{profile_line + ': ' if profile_line else ''}{done}/{total} tests  ")
        if verdicts:
            for verdict, count in self.counts.items():
                text.append(f"{verdict} {count}  ", style=COLOURS.get(verdict, ""))
        text.append(f"\n{printable(lane['current'])}", style="dim")
        if lane["waiting"]:
            text.append(f"\n{lane['waiting']}", style="bold yellow")
        return text

    def summary(self, result, folder: Path) -> None:
        """Per profile: a table of its requirements by layer and its verdict; then the run's verdict, what
        was not passed (qualified IDs), the test counts, whether it can certify, and the report."""
        from conformance.results.results import RunSet

        run = RunSet.of(result)
        for part in run.parts:
            self._profile_table(part)
        if len(run.parts) > 1 or run.unrun:
            verdicts = "; ".join(f"{row['title']} {row['verdict']}" for row in run.profile_rows())
            self.console.print(f"run: {run.verdict} ({printable_markup(verdicts)})")
        if run.unrun:
            titles = ", ".join(p.title for p in run.unrun)
            self.console.print(f"claimed and not run: {printable_markup(titles)}")
        if not_tested := run.not_tested():
            self.console.print(f"MUST requirements no test of this run judged: {by_profile(not_tested)}")
        failed = [
            row["id"] for row in run.requirement_rows() if row["verdict"] in ("fail", "error", "inconclusive")
        ]
        if failed:
            self.console.print(f"requirements not passed: {by_profile(failed)}")
        self.console.print(f"tests: {', '.join(f'{v} {c}' for v, c in run.counts().items())}")
        certification = run.certification()
        if certification["can_certify"]:
            self.console.print("certifying run: the whole suite, over mutual TLS, signed with the site's key")
        else:
            reasons = "; ".join(certification["reasons"])
            self.console.print(f"rehearsal: cannot certify ({printable_markup(reasons)})")
        self.console.print(f"report: {printable_markup(folder / 'report.html')}")

    def _profile_table(self, part) -> None:
        """The profile's requirements counted by layer and verdict: a layer a row where the terminal is
        wide enough for every verdict's column, else a verdict a row (it fits 80 columns)."""
        rows = part.requirement_rows()
        verdicts: tuple[str, ...] = ("pass", "fail", "error", "inconclusive", "not-applicable", "not-tested")
        if any(row["verdict"] == BY_LOAD_RUN for row in rows):  # capacity claimed: a load run's to judge
            verdicts += (BY_LOAD_RUN,)
        layers = part.profile.catalogue().layers
        count = {
            (layer, verdict): sum(1 for row in rows if row["layer"] == layer and row["verdict"] == verdict)
            for layer in layers
            for verdict in verdicts
        }
        title = f"{part.profile.title} conformance: {part.verdict}"
        if self.console.width >= WIDE_TABLE:
            table = Table(title=title)
            for column in ("layer", "requirements", *verdicts):
                table.add_column(column)
            for layer in layers:
                mine = sum(1 for row in rows if row["layer"] == layer)
                table.add_row(layer, str(mine), *(str(count[layer, v]) for v in verdicts))
        else:
            table = Table(title=title)
            for column in ("requirements", *layers, "all"):
                table.add_column(column, justify="left" if column == "requirements" else "right")
            for verdict in verdicts:
                by_layer = [count[layer, verdict] for layer in layers]
                table.add_row(verdict, *(str(n) for n in by_layer), str(sum(by_layer)))
            by_layer = [sum(1 for row in rows if row["layer"] == layer) for layer in layers]
            table.add_row("all", *(str(n) for n in by_layer), str(sum(by_layer)), style="bold")
        self.console.print(table)
