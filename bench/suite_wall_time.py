"""Wall time of the full suite against the embedded reference NSW, and the share of it spent waiting.

Runs ``conformance.app.run.run(RunOptions(report_dir=..., live=False))`` N times in this process, as
``conformance run`` does with no candidate file: the harness inbox (SG) and KH's reference NSW on
loopback ports of this process, the whole suite through pytest, then the report folder. Each round
writes into its own temporary folder. The per-test progress lines that ``run()`` prints are
captured and not shown.

For each round the script measures:

* wall: the wall time of the ``run()`` call, from the call to its return;
* setup: from the call until the candidate (harness inbox and reference NSW) is up;
* reports: the time of ``write_reports`` (results.json, junit.xml, report.html, evidence.zip);
* tests and verdict counts, from the round's results.json;
* HTTP: the sum of the exchanges' durations (request sent to answer read), from results.json
  (``tests[].exchanges[].duration_s``);
* inbox wait: the time the suite was blocked in ``HarnessInbox.wait_for`` or ``settle``
  (``inbox.waited_s``), waiting for an asynchronous message or sitting out a grace period; the
  ``settle`` part (grace periods in which nothing may arrive) is also shown on its own;
* waiting: HTTP + inbox wait; the share is waiting / wall. The suite runs its tests one at a time
  in one thread, so these intervals do not overlap;
* CPU: the CPU time of this process (all threads: harness, inbox and reference NSW) over the round.

To read the harness, the script wraps ``conformance.app.run.candidate`` and ``conformance.app.run.
write_reports`` for the duration of the call; package code is unchanged. If a round does not exit 0
with every test passed, the script prints what went wrong and no figures, and exits 1. Figures are
printed, never asserted: this is a benchmark, not a test.

    python bench/suite_wall_time.py [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import conformance.app.run as conformance_run
from conformance.app.run import REFERENCE_WINDOWS, RunOptions


@dataclass(frozen=True)
class Round:
    wall_s: float
    setup_s: float
    reports_s: float
    cpu_s: float
    tests: int
    verdicts: dict[str, int]
    exchanges: int
    http_s: float
    inbox_wait_s: float
    settles: int
    settle_s: float

    @property
    def waiting_s(self) -> float:
        return self.http_s + self.inbox_wait_s

    @property
    def share(self) -> float:
        return self.waiting_s / self.wall_s


def one_round(report_dir: Path) -> tuple[Round | None, list[str]]:
    """Run the suite once; the round's figures, or None and what went wrong."""
    seen: dict = {}
    original_candidate, original_write = conformance_run.candidate, conformance_run.write_reports

    @contextlib.contextmanager
    def watched_candidate(options: RunOptions):
        with original_candidate(options) as (harness, sut):
            seen["harness"] = harness
            seen["up"] = time.perf_counter()
            settle = harness.inbox.settle

            def timed_settle(seconds: float) -> None:
                start = time.perf_counter()
                try:
                    settle(seconds)
                finally:
                    seen["settles"] = seen.get("settles", 0) + 1
                    seen["settle_s"] = seen.get("settle_s", 0.0) + time.perf_counter() - start

            harness.inbox.settle = timed_settle  # this harness only, for this round
            yield harness, sut

    def timed_write(result, folder: Path, *rest) -> None:
        start = time.perf_counter()
        try:
            original_write(result, folder, *rest)
        finally:
            seen["reports_s"] = time.perf_counter() - start

    conformance_run.candidate, conformance_run.write_reports = watched_candidate, timed_write
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            cpu_start, start = time.process_time(), time.perf_counter()
            code, folder = conformance_run.run(RunOptions(report_dir=report_dir, live=False))
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        conformance_run.candidate, conformance_run.write_reports = original_candidate, original_write

    results = folder / "results.json"
    if not results.is_file():
        last_lines = output.getvalue().splitlines()[-20:]
        return None, [f"no results.json in {folder} (exit code {code})", *last_lines]
    data = json.loads(results.read_text(encoding="utf-8"))
    tests = data["tests"]
    verdicts = Counter(test["verdict"] for test in tests)
    failed = [test for test in tests if test["verdict"] not in ("pass", "not-applicable")]
    wrong = [f"{test['verdict']}: {test['id']}: {test['reason']}" for test in failed]
    if code != 0:
        wrong.insert(0, f"run() exited {code}")
    if not tests:
        wrong.insert(0, "no test ran")
    if data.get("interrupted"):
        wrong.insert(0, "the run was interrupted")
    if wrong:
        return None, wrong
    exchanges = [exchange for test in tests for exchange in test["exchanges"]]
    return (
        Round(
            wall_s=wall,
            setup_s=seen["up"] - start,
            reports_s=seen["reports_s"],
            cpu_s=cpu,
            tests=len(tests),
            verdicts=dict(verdicts),
            exchanges=len(exchanges),
            http_s=sum(exchange["duration_s"] for exchange in exchanges),
            inbox_wait_s=seen["harness"].inbox.waited_s,
            settles=seen.get("settles", 0),
            settle_s=seen.get("settle_s", 0.0),
        ),
        [],
    )


COLUMNS = (
    ("round", 6),
    ("tests", 5),
    ("wall s", 7),
    ("setup s", 7),
    ("reports s", 9),
    ("HTTP s", 7),
    ("inbox wait s", 12),
    ("of it settle s", 14),
    ("waiting s", 9),
    ("waiting share", 13),
    ("CPU s", 6),
    ("CPU/wall", 8),
)


def row(name: str, tests: int, seconds: list[float], share: float, cpu_s: float, cpu_ratio: float) -> str:
    """One table line; ``seconds``: wall, setup, reports, HTTP, inbox wait, settle, waiting."""
    cells = [name, str(tests), *(f"{value:.3f}" for value in seconds)]
    cells += [f"{share:.1%}", f"{cpu_s:.2f}", f"{cpu_ratio:.0%}"]
    widths = [width for _, width in COLUMNS]
    return "| " + " | ".join(f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=True)) + " |"


SECONDS = ("wall_s", "setup_s", "reports_s", "http_s", "inbox_wait_s", "settle_s", "waiting_s")


def table_row(name: str, item: Round) -> str:
    seconds = [getattr(item, field) for field in SECONDS]
    return row(name, item.tests, seconds, item.share, item.cpu_s, item.cpu_s / item.wall_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of the whole suite (default 3)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as folder:
        for number in range(1, args.rounds + 1):
            item, wrong = one_round(Path(folder) / f"round-{number}")
            if item is None:
                print(f"round {number}: {len(wrong)} problem(s); no figures:", *wrong[:20], sep="\n  ")
                if len(wrong) > 20:
                    print(f"  ... and {len(wrong) - 20} more")
                return 1
            rounds.append(item)

    print("full suite against the embedded reference NSW (KH), harness inbox SG, all in this process")
    windows = REFERENCE_WINDOWS
    print(
        f"reference windows: status {windows.status_s} s, grace {windows.grace_s} s, "
        f"retry schedule {windows.retry_schedule_s}"
    )
    libraries = ("pytest", "werkzeug", "requests", "lxml", "cryptography")
    print(
        f"Python {platform.python_version()}, " + ", ".join(f"{name} {version(name)}" for name in libraries)
    )
    first = rounds[0]
    verdicts = ", ".join(f"{name} {count}" for name, count in sorted(first.verdicts.items()))
    print(
        f"{args.rounds} round(s); every round: exit 0, {first.tests} tests ({verdicts}), "
        f"{first.exchanges} HTTP exchanges, {first.settles} grace periods (settle)"
    )
    print()
    print("| " + " | ".join(f"{name:>{width}}" for name, width in COLUMNS) + " |")
    print("|" + "|".join("-" * (width + 1) + ":" for _, width in COLUMNS) + "|")
    for number, item in enumerate(rounds, 1):
        print(table_row(str(number), item))
    if len(rounds) > 1:
        seconds = [statistics.median(getattr(item, field) for item in rounds) for field in SECONDS]
        share = statistics.median(item.share for item in rounds)
        cpu_s = statistics.median(item.cpu_s for item in rounds)
        cpu_ratio = statistics.median(item.cpu_s / item.wall_s for item in rounds)
        print(row("median", first.tests, seconds, share, cpu_s, cpu_ratio))
    wall = statistics.median(item.wall_s for item in rounds)
    share = statistics.median(item.share for item in rounds)
    print()
    print(f"median wall time {wall:.2f} s for {first.tests} tests; median waiting share {share:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
