"""Capacity of `conformance serve` (issue 21 item 9): ten organisations each start a whole-suite run
against their own embedded reference NSW at once, on the embedded default (SQLite, in-process
workers), while a separate process measures the web UI's pages and the API.

What it does:

1. starts `conformance serve --workers W` in a child process, on 127.0.0.1 and a free port, with a
   fresh data folder (the first start's admin password is read from its output);
2. as admin, makes N organisations, a tester in each, and in each an embedded-reference system (the
   same kind as the demo system: each run is `conformance run` against a reference NSW of its own);
3. each tester starts a whole-suite run of their organisation's system, all within a second;
4. meanwhile a separate process (multiprocessing, spawn) logs in as one tester and, every 0.2 s,
   GETs a page (`/systems`, the system's page, a run's page) and an API route (`/api/systems`,
   `/api/runs/ID`), recording each answer's latency;
5. reports the time from the first start to each verdict (the tenth is the figure), every run's
   verdict and counts (each must equal a whole-suite run alone: `conformant`, pass 658,
   not-applicable 20), and the latencies' median, p95 and maximum (the aim: p95 under 200 ms).

    python bench/serve_capacity.py [--organisations 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.loopback import free_port  # noqa: E402
from tests.serve_helpers import Client, add_member, login  # noqa: E402

ALONE = {"verdict": "conformant", "counts": {"pass": 658, "not-applicable": 20}}
PROBE_EVERY_S = 0.2


def start_service(data: Path, port: int, workers: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "conformance.app.cli", "serve", "--port", str(port), "--data", str(data)]
    service = subprocess.Popen(
        [*command, "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    password = None
    assert service.stdout is not None
    for line in service.stdout:
        found = re.search(r"password (\S+)", line)
        password = found.group(1) if found else password
        if line.startswith("conformance serve:"):
            break
    if password is None:
        raise SystemExit("the service printed no admin password")
    return service, password


def embedded_system(data: Path, organisation_id: int, name: str) -> int:
    """An embedded-reference system of the organisation, written straight into the database (the
    API registers candidates from their TOML; the demo system is the only embedded one it makes)."""
    from conformance.app.serve.db import Store, engine_for
    from conformance.app.serve.models import System

    store = Store(engine_for(f"sqlite:///{data / 'serve.sqlite'}"))
    with store.session() as db:
        system = System(organisation_id=organisation_id, name=name, embedded=True)
        db.add(system)
        db.flush()
        return system.id


def probe(base: str, name: str, password: str, system_id: int, run_id: int, stop, out) -> None:
    """In a process of its own: GET pages and API routes until ``stop`` is set; sends the latencies."""
    client = login(base, name, password)
    routes = ["/systems", f"/systems/{system_id}", f"/runs/{run_id}", "/api/systems", f"/api/runs/{run_id}"]
    latencies: dict[str, list[float]] = {route: [] for route in routes}
    errors = 0
    while not stop.is_set():
        for route in routes:
            began = time.perf_counter()
            try:
                ok = client.get(route, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            latencies[route].append(time.perf_counter() - began)
            errors += 0 if ok else 1
        stop.wait(PROBE_EVERY_S)
    out.send((latencies, errors))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else max(values, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"{args.organisations} organisations, --workers {args.workers} (runs at once)")
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        data, port = Path(folder) / "testbed", free_port()
        service, password = start_service(data, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            admin = login(base, "admin", password)
            members: list[tuple[Client, int]] = []
            first_organisation = 0
            for number in range(1, args.organisations + 1):
                organisation_id, tester = add_member(admin, f"Member state {number}", f"tester{number}")
                system_id = embedded_system(data, organisation_id, f"Reference NSW of member state {number}")
                members.append((tester, system_id))
                first_organisation = first_organisation or organisation_id
            viewer = admin.post(
                "/api/users", json={"name": "probe", "organisation": first_organisation, "role": "viewer"}
            ).json()
            began = time.time()
            runs: list[tuple[Client, int]] = []
            for tester, system_id in members:
                answer = tester.post("/api/runs", json={"system": system_id})
                assert answer.status_code == 202, answer.text
                runs.append((tester, answer.json()["id"]))
            print(f"{len(runs)} runs started within {time.time() - began:.2f} s")
            receiver, sender = context.Pipe(duplex=False)
            stop = context.Event()
            prober = context.Process(
                target=probe,
                args=(base, "probe", viewer["password"], members[0][1], runs[0][1], stop, sender),
            )
            prober.start()
            ended: dict[int, tuple[float, dict]] = {}
            while len(ended) < len(runs) and time.time() - began < 3600:
                for tester, run_id in runs:
                    state = tester.get(f"/api/runs/{run_id}").json()
                    if run_id not in ended and state["state"] in ("finished", "incomplete"):
                        ended[run_id] = (time.time() - began, state)
                time.sleep(1)
            stop.set()
            latencies, errors = receiver.recv()
            prober.join(30)
        finally:
            service.terminate()
            service.wait(60)
    times = sorted(at for at, _ in ended.values())
    print(f"verdicts at (s from the first start): {', '.join(f'{at:.0f}' for at in times)}")
    last = f"{times[-1]:.1f} s" if times else "none came"
    print(f"time to the last verdict ({len(times)} of {len(runs)}): {last}")
    same = [
        run_id
        for run_id, (_, state) in ended.items()
        if state.get("verdict") == ALONE["verdict"] and state.get("counts") == ALONE["counts"]
    ]
    print(f"runs whose verdict and counts equal a run alone: {len(same)} of {len(runs)}")
    for run_id, (_, state) in sorted(ended.items()):
        if run_id not in same:
            what = " ".join(str(state.get(key)) for key in ("state", "verdict", "counts", "reason"))
            print(f"  run {run_id}: {what}")
    everything = [value for values in latencies.values() for value in values]
    print(f"web, from a separate process: {len(everything)} requests, {errors} not 200")
    for route, values in [("all", everything), *latencies.items()]:
        print(
            f"  {route:<24} median {statistics.median(values) * 1000:6.1f} ms   "
            f"p95 {p95(values) * 1000:6.1f} ms   max {max(values) * 1000:6.1f} ms"
        )
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
