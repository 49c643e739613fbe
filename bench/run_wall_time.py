"""Wall time of `conformance run`, as a user starts it, against the embedded reference NSW and against
a candidate that declares the real [5, 30, 120] s retry schedule.

Each round is the command in a child process, timed from its start to its exit; its output is
captured and not shown. A round that does not exit 0 (conformant) prints its output's tail and no
figures, and the script exits 1.

* ``embedded``: ``conformance run`` (every installed profile: EFDX and RCPX side by side, a process
  each), ``conformance run --serial`` (the same two one after the other), ``conformance run --profile
  efdx`` and ``--profile rcpx``, ``--rounds`` times each (median, min, max), the rounds of the four
  interleaved (a busy machine's load then weighs on each alike); then the ratio of the side-by-side
  median to the slower single profile's (the aim: at most 1.15) and of --serial's. The embedded
  reference declares short windows (``REFERENCE_WINDOWS``). Rounds run as in a user's install,
  compiled modules kept (``as_installed``), after one untimed round of each command.
* ``--real-schedule``: one round of ``conformance run --config ICS --profile efdx`` against
  ``conformance reference serve`` (KH, plain HTTP) whose outbox retries after 5, 30 and 120 s and
  waits 30 s for an answer; the ICS declares those and the harness's default windows otherwise
  (grace 1 s, peer timeout 30 s). M-21's six tests then watch minutes each; this is the figure that
  says whether their waits overlap.

  With ``--both`` the candidate claims EFDX and RCPX (the reference serves both on one endpoint) and
  each profile's harness inbox has a port of its own (``[harness.profiles.rcpx] listen``), so the two
  run side by side: the issue's aim is within 5 minutes.

    python bench/run_wall_time.py [--rounds 3] [--real-schedule [--both]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from loopback import free_port  # noqa: E402

CLI = [sys.executable, "-m", "conformance.app.cli"]
TOKEN = "bench-real-schedule-token"
ICS = """[candidate]
party = "KH"
profiles = {profiles}
inbox_url = "{inbox}"
capabilities = ["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]

[candidate.windows]
retry_schedule_s = [5, 30, 120]
peer_timeout_s = 30

[candidate.trigger]
url = "{trigger}"
token = "{token}"

[harness]
party = "{harness_party}"
listen = "127.0.0.1:{harness_port}"
url = "http://127.0.0.1:{harness_port}/efdx/1/messages"
"""
RCPX_INBOX = """
[harness.profiles.rcpx]
listen = "127.0.0.1:{rcpx_port}"
url = "http://127.0.0.1:{rcpx_port}/rcpx/1/messages"
"""


def as_installed() -> dict[str, str]:
    """The environment of a round: Python keeps compiled modules (``__pycache__``), as in a user's
    install, where ``pip install .`` compiles the package and pytest keeps its rewritten suite
    modules from the first run on. A machine that sets PYTHONDONTWRITEBYTECODE (this sandbox does)
    would otherwise compile the whole package in every process of every round: five processes side
    by side (the run, two profiles, two reference NSWs) against two for one profile."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(command: list[str], workdir: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=as_installed())
    spent = time.perf_counter() - began
    if done.returncode != 0:
        print(f"{' '.join(command[2:])}: exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        raise SystemExit(1)
    return spent


EMBEDDED = {
    "conformance run": [],
    "conformance run --serial": ["--serial"],
    "conformance run --profile efdx": ["--profile", "efdx"],
    "conformance run --profile rcpx": ["--profile", "rcpx"],
}


def embedded(rounds: int) -> None:
    times: dict[str, list[float]] = {label: [] for label in EMBEDDED}
    for extra in EMBEDDED.values():  # a first round, not timed: the compiled modules written
        with tempfile.TemporaryDirectory() as workdir:
            timed([*CLI, "run", *extra, "--report-dir", "reports"], Path(workdir))
    for _ in range(rounds):
        for label, extra in EMBEDDED.items():
            with tempfile.TemporaryDirectory() as workdir:
                times[label].append(timed([*CLI, "run", *extra, "--report-dir", "reports"], Path(workdir)))
    for label, spent in times.items():
        print(
            f"{label:<40} median {statistics.median(spent):6.1f} s   "
            f"min {min(spent):6.1f}   max {max(spent):6.1f}   ({rounds} rounds)"
        )
    slower = max(statistics.median(times[label]) for label in list(EMBEDDED)[2:])
    for label in list(EMBEDDED)[:2]:
        ratio = statistics.median(times[label]) / slower
        print(f"{label:<40} {ratio:.2f} x the slower single profile (median)")


def real_schedule(both: bool) -> None:
    """One round against the [5, 30, 120] s reference; ``both``: EFDX and RCPX, each profile's
    harness inbox on a port of its own (``[harness.profiles.rcpx]``), so that they run side by side."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        harness_port, rcpx_port = free_port(), free_port()
        profiles = ["efdx", "rcpx"] if both else ["efdx"]
        peers = [f"SG=http://127.0.0.1:{harness_port}/efdx/1/messages"]
        if both:
            peers.append(f"JP=http://127.0.0.1:{rcpx_port}/rcpx/1/messages")
        serve = [
            *CLI,
            *("reference", "serve", "--party", "KH", "--host", "127.0.0.1"),
            *(argument for key in profiles for argument in ("--profile", key)),
            *("--port", "0", "--db", str(workdir / "kh.sqlite")),
            *(argument for peer in peers for argument in ("--peer", peer)),
            *("--retry-schedule", "5,30,120", "--outbound-timeout", "30"),
        ]
        env = dict(os.environ, EFDX_TEST_TOKEN=TOKEN, RCPX_TEST_TOKEN=TOKEN)
        log = open(workdir / "reference.log", "wb")  # noqa: SIM115 (closed below)
        reference = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        try:
            inbox, trigger = (reference.stdout.readline().split(" at ")[1].strip() for _ in range(2))
            ics = workdir / "kh.toml"
            text = ICS.format(
                inbox=inbox,
                trigger=trigger,
                token=TOKEN,
                harness_port=harness_port,
                profiles=json.dumps(profiles),
                harness_party="JP" if both else "SG",
            )
            ics.write_text(text + (RCPX_INBOX.format(rcpx_port=rcpx_port) if both else ""))
            spent = timed([*CLI, "run", "--config", str(ics), "--report-dir", "reports"], workdir)
        finally:
            reference.terminate()
            reference.wait(30)
            log.close()
    label = "EFDX + RCPX side by side" if both else "EFDX"
    print(f"{f'conformance run --config ({label}, [5, 30, 120] s)':<40} {spent:6.1f} s   (1 round)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real-schedule", action="store_true", help="the [5, 30, 120] s candidate only")
    parser.add_argument(
        "--both", action="store_true", help="with --real-schedule: the candidate claims EFDX and RCPX"
    )
    args = parser.parse_args()
    python = platform.python_version()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} cores; Python {python}")
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    real_schedule(args.both) if args.real_schedule else embedded(args.rounds)
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
