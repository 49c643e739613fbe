"""Regenerate the README's two screenshots of report.html ("Reading the report"):

    .venv/bin/python tools/screenshots.py [--out docs]

docs/report-conformant.png is the first screen of a whole run against the embedded reference NSW
(both profiles: conformant); docs/report-wrong-error-code.png that of the whole EFDX suite against
the reference with the seeded fault wrong-error-code (one wrong error-code mapping, many failed
requirements). Each is headless Chromium's 1280 x 1000 view of the page as a person opens it. The
runs go to a temporary folder; Chromium is kept off every network, as in tests/test_report_browser.py.
Times, ports and message IDs differ from one regeneration to the next.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from conformance.app.run import RunOptions, run
from conformance.harness import registry
from conformance.results.pdf import offline_flags

WIDTH, HEIGHT = 1280, 1000  # the "first screen" the README and issue 19 speak of
CHROMIUM_BOUND_S = 120.0
SHOTS = {
    "report-conformant.png": RunOptions(live=False),
    "report-wrong-error-code.png": RunOptions(live=False, reference_fault="wrong-error-code"),
}


def report_of(options: RunOptions, folder: Path) -> Path:
    """Run against the embedded reference into ``folder``; the report.html it wrote."""
    profile = registry.get("efdx") if options.reference_fault else None  # the fault is EFDX's: its suite
    _, run_folder = run(dataclasses.replace(options, report_dir=folder, profile=profile))
    return run_folder / "report.html"


def screenshot(chromium: str, page: Path, out: Path, home: Path) -> None:
    """Chromium's first screen of ``page`` at WIDTH x HEIGHT, written to ``out`` (PNG)."""
    environment = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    command = [
        chromium,
        *offline_flags(home / "profile"),
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        process.wait(timeout=CHROMIUM_BOUND_S)
    finally:  # its helpers share its process group: none outlives the shot
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if not out.is_file():
        raise SystemExit(f"chromium wrote no screenshot of {page}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args(argv)
    chromium = os.environ.get("CONFORMANCE_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 4
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as scratch:
        for name, options in SHOTS.items():
            work = Path(scratch) / name.removesuffix(".png")
            page = report_of(options, work / "reports")
            screenshot(chromium, page, args.out / name, work / "chromium")
            print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
