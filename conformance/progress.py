"""What `conformance run` shows while it works: a live display on a terminal, plain lines otherwise.

The live display (rich) shows tests done of total, verdict counts and the current test; in CI or
a pipe each finished test is one line. Both end with a summary table and the report's path.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

COLOURS = {
    "pass": "green",
    "fail": "red",
    "error": "magenta",
    "inconclusive": "yellow",
    "not-applicable": "dim",
}


class Progress:
    def __init__(self, live: bool) -> None:
        self.live_enabled = live
        # In a pipe or CI the width is unknown (rich assumes 80): wide enough for the summary table.
        self.console = Console(
            file=sys.stdout, highlight=False, force_terminal=live or None, width=None if live else 120
        )
        self.done, self.total, self.current = 0, 0, ""
        self.counts: dict[str, int] = {}
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live_enabled:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def started(self, nodeid: str, total: int) -> None:
        self.total, self.current = total, nodeid
        if self._live is not None:
            self._live.update(self._render())

    def finished(self, record) -> None:
        self.done += 1
        self.counts[record.verdict] = self.counts.get(record.verdict, 0) + 1
        if self._live is not None:
            self._live.update(self._render())
        else:
            line = f"[{self.done}/{self.total}] {record.verdict:<14} {record.nodeid}"
            if record.verdict not in ("pass", "not-applicable"):
                line += f"\n    {record.reason}"
            print(line, flush=True)

    def _render(self) -> Text:
        text = Text(f"{self.done}/{self.total} tests  ")
        for verdict, count in self.counts.items():
            text.append(f"{verdict} {count}  ", style=COLOURS.get(verdict, ""))
        text.append(f"\n{self.current}", style="dim")
        return text

    def summary(self, result, folder: Path) -> None:
        table = Table(title=f"EFDX 1.0 conformance: {result.verdict}", show_lines=False)
        for column in (
            "layer",
            "requirements",
            "pass",
            "fail",
            "error",
            "inconclusive",
            "not-applicable",
            "not-tested",
        ):
            table.add_column(column)
        rows = result.requirement_rows()
        for layer in ("T", "M", "A", "BR"):
            mine = [row for row in rows if row["layer"] == layer]
            counts = {
                verdict: sum(1 for row in mine if row["verdict"] == verdict)
                for verdict in ("pass", "fail", "error", "inconclusive", "not-applicable", "not-tested")
            }
            table.add_row(layer, str(len(mine)), *(str(counts[v]) for v in counts))
        self.console.print(table)
        if not_tested := result.not_tested():
            self.console.print(f"MUST requirements no test of this run judged: {', '.join(not_tested)}")
        failed = [row["id"] for row in rows if row["verdict"] in ("fail", "error", "inconclusive")]
        if failed:
            self.console.print(f"requirements not passed: {', '.join(failed)}")
        self.console.print(f"tests: {', '.join(f'{v} {c}' for v, c in result.counts().items())}")
        self.console.print(f"report: {folder / 'report.html'}")
