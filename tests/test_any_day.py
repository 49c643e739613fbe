"""The suite passes on any day: the tests marked ``date_sensitive`` (vectors, rules, the generator, the
reference NSW) run again under a shifted clock.

Debian's ``faketime`` moves the clock of the pytest process and, with ``FAKETIME_DONT_RESET=1``, of
every child it starts (xdist workers, reference NSW processes) to the same start; the clock then
ticks on. The dates: a leap day, a year's last day (a CO issued then crosses into the next year
within its window) and a day a year after the run's own day. Skipped where faketime is missing,
except under CI, where .ci/run installs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]


def _a_year_ahead() -> date:
    today = datetime.now(UTC).date()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


DAYS = {"leap-day": date(2028, 2, 29), "year-end": date(2030, 12, 31), "a-year-ahead": _a_year_ahead()}


def _run_marked_tests_on(day: date, faketime: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAKETIME_DONT_RESET": "1", "CONFORMANCE_SHIFTED_CLOCK": day.isoformat()}
    command = [
        faketime, "-f", f"@{day.isoformat()} 12:00:00",
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "date_sensitive",
        "-n", "2", "tests",
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(bool(os.environ.get("CONFORMANCE_SHIFTED_CLOCK")), reason="already under a shifted clock")
@pytest.mark.parametrize("day", list(DAYS.values()), ids=list(DAYS))
def test_date_sensitive_tests_pass_on(day: date) -> None:
    faketime = require_tool("faketime")
    finished = _run_marked_tests_on(day, faketime)
    tail = "\n".join((finished.stdout + finished.stderr).splitlines()[-30:])
    assert finished.returncode == 0, f"under faketime at {day}:\n{tail}"
    assert " passed" in finished.stdout, tail


def test_the_clock_is_shifted_for_children_too(tmp_path: Path) -> None:
    """Without FAKETIME_DONT_RESET a child would start its own clock: this is what the reruns rely on."""
    faketime = require_tool("faketime")
    script = (
        "import subprocess, sys, datetime; print(datetime.date.today()); sys.stdout.flush(); "
        "subprocess.run([sys.executable, '-c', 'import datetime; print(datetime.date.today())'])"
    )
    env = {**os.environ, "FAKETIME_DONT_RESET": "1"}
    out = subprocess.run(
        [faketime, "-f", "@2028-02-29 12:00:00", sys.executable, "-c", script],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["2028-02-29", "2028-02-29"]
