"""Throughput of the reference NSW on loopback: signed COs per second end to end, and receipt latency.

Starts SG's inbox (the harness's ``HarnessInbox``, playing the partner) in this process and KH's
reference NSW on 127.0.0.1 with a fresh SQLite file in a temporary folder. By default the reference
runs in a separate process (``python -m conformance.app.cli reference serve``), so that it has its own
interpreter and GIL; ``--in-process`` runs it in this process instead (``RunningReference``), next
to the inbox and the clients. Then:

* builds and signs N distinct valid IssueCOs (SG to KH) before timing (signing is client work);
* sends one untimed warm-up IssueCO per client and waits for its status (first-call costs);
* sends the N messages from C client threads, one ``requests`` session each, recording each
  request's receipt latency (POST to the answer read). The reference and the harness inbox playing
  SG both keep connections alive, so each client, and each of the reference's outbox workers, makes
  one connection (over TLS one mutual-TLS handshake);
* waits, event-driven and bounded by ``--timeout``, until the inbox has recorded all N
  StatusNotifications.

Figures: wall time from the first send to the last status, COs/s end to end (with statuses),
receipts/s, p50/p95/max receipt latency, how long each status came after its receipt, and the CPU
time per CO of this process and of the server process. If an answer is not 200, or a status is missing, not
accepted by the inbox or not ACCEPTED, it prints what went wrong and no figures, and exits 1.
Figures are printed, never asserted: this is a benchmark, not a test.

By default it measures plain HTTP, then mutual TLS, and prints both side by side with the machine's
load average before and after (``--transport http|tls`` for one of them).

    python bench/reference_throughput.py [--messages N] [--clients C] [--transport both|http|tls]
                                         [--in-process] [--outbox-workers N] [--processes N]

``--outbox-workers N`` runs the reference with N outbox workers instead of its default
(``nsw.OUTBOX_WORKERS``), through `reference serve --outbox-workers N`. ``--processes N`` serves it
from N processes (`reference serve --processes N`); the server's CPU is then theirs together.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import requests

from conformance.family.inbox import Arrival, HarnessInbox
from conformance.family.reference.nsw import OUTBOX_WORKERS, Settings
from conformance.family.reference.runner import RunningReference
from conformance.family.vectors import Build
from conformance.profiles.efdx import messages
from conformance.profiles.efdx.codes import EFORMD_NS, ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

RETRY_SCHEDULE = (0.05, 0.1)
ANNOUNCE = re.compile(r"reference NSW KH at (https?://\S+)")
ACCESS_200 = re.compile(r'"POST /efdx/1/messages HTTP/1\.1" 200 -$')
STARTUP_TIMEOUT = 30.0
# requests lets these override a Session's ``verify`` (psf/requests#3829). The reference NSW's outbox
# sets only ``session.verify`` to the test CAs, so with either of them set (as on the machine of the
# first run) it fails to verify SG's inbox and no status is delivered over TLS. --tls unsets them.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class Sent:
    message_id: str
    status: int | None  # None: no answer (the exception is in ``error``)
    started: float  # perf_counter
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    body: bytes


def build_messages(count: int, pki: TestPki, label: str) -> list[Outgoing]:
    """``count`` signed valid IssueCOs SG to KH, each with its own MessageId and CO reference."""
    now = datetime.now(UTC)
    built = []
    for index in range(count):
        build = Build(
            vector_id=f"bench-{label}-{index:05d}", day=now.date(), pki=pki, moment=now, dialect=EFDX
        )
        root = build.envelope()
        message_id = root.findtext(f"{{{ENVELOPE_NS}}}Header/{{{ENVELOPE_NS}}}MessageId")
        built.append(Outgoing(message_id, messages.serialize(root)))
    return built


class Server:
    """KH's reference NSW, in a child process (default) or in this process."""

    def __init__(
        self,
        *,
        in_process: bool,
        db: Path,
        inbox_url: str,
        tls: bool,
        workers: int | None = None,
        processes: int = 1,
    ) -> None:
        self.in_process = in_process
        self.log = db.with_name("server.log")
        self._running: RunningReference | None = None
        self._process: subprocess.Popen | None = None
        if in_process:
            settings = Settings(
                party="KH",
                db=db,
                peers={"SG": inbox_url},
                retry_schedule=RETRY_SCHEDULE,
                tls=tls,
                outbox_workers=workers,
                dialect=EFDX,
            )
            self._running = RunningReference(settings).start()
            self.url = self._running.url
            return
        command = [
            sys.executable,
            "-m",
            "conformance.app.cli",
            "reference",
            "serve",
            "--party",
            "KH",
            "--port",
            "0",
            "--db",
            str(db),
            "--peer",
            f"SG={inbox_url}",
            "--retry-schedule",
            ",".join(str(delay) for delay in RETRY_SCHEDULE),
            *(["--tls"] if tls else []),
            *([] if workers is None else ["--outbox-workers", str(workers)]),
            "--processes",
            str(processes),
        ]
        with open(self.log, "wb") as log:  # werkzeug's access log and anything else it says
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        self.url = self._announced_url()

    def _announced_url(self) -> str:
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in self._process.stdout:
                lines.put(line)
            lines.put("")  # end of output: the server has exited

        threading.Thread(target=read, name="server-stdout", daemon=True).start()
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise SystemExit(
                f"the reference NSW did not announce itself within {STARTUP_TIMEOUT:.0f} s"
            ) from None
        match = ANNOUNCE.search(line)
        if match is None:
            self.stop()
            said = self.log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"the reference NSW did not start (first line {line!r}); it said:\n{said}")
        return match.group(1)

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
        if self._process is not None:
            self._process.terminate()  # SIGTERM: the server shuts down cleanly
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all threads) of the server's processes so far (with --processes,
        the first and the others it started); None in-process."""
        if self._process is None:
            return None
        pid = self._process.pid
        try:
            pids = [
                pid,
                *(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()),
            ]
            stats = [Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split() for each in pids]
        except OSError:  # not Linux
            return None
        return sum(int(fields[11]) + int(fields[12]) for fields in stats) / os.sysconf("SC_CLK_TCK")

    def unusual_log_lines(self) -> list[str]:
        """What the server process wrote to stderr besides one access-log line per 200 answer."""
        if self._process is None or not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if not ACCESS_200.search(line)]


def send_all(
    url: str, batches: list[list[Outgoing]], sessions: list[requests.Session]
) -> tuple[float, list[Sent]]:
    """Send each batch from its own thread and session, all starting at once; (start, results)."""
    results: list[Sent] = []
    lock = threading.Lock()
    go = threading.Event()

    def client(session: requests.Session, batch: list[Outgoing]) -> None:
        go.wait()
        mine = []
        for item in batch:
            started = time.perf_counter()
            try:
                # verify per request: requests lets REQUESTS_CA_BUNDLE override session.verify
                answer = session.post(
                    url,
                    data=item.body,
                    headers={"Content-Type": "application/xml"},
                    timeout=30,
                    verify=session.verify,
                )
                answer.content  # noqa: B018 - read the whole answer before stopping the clock
                status, error = answer.status_code, None
            except requests.RequestException as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            mine.append(Sent(item.message_id, status, started, time.perf_counter() - started, error))
        with lock:
            results.extend(mine)

    threads = [
        threading.Thread(target=client, args=(session, batch), name=f"client-{index}")
        for index, (session, batch) in enumerate(zip(sessions, batches, strict=True))
    ]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    return start, results


def wait_for_statuses(inbox: HarnessInbox, message_ids: set[str], timeout: float) -> bool:
    """Block until the inbox has recorded a StatusNotification for every id (event-driven)."""
    pending = set(message_ids)

    def all_in(arrival: Arrival) -> bool:
        if arrival.header is not None and arrival.header.action == "StatusNotification":
            pending.discard(arrival.header.ref_to_message_id)
        return not pending

    return inbox.wait_for(all_in, timeout) is not None


def problems(sent: list[Sent], arrivals: list[Arrival], message_ids: set[str]) -> list[str]:
    """What is wrong with the answers and the statuses; empty when every answer and status is right."""
    found = []
    for item in sent:
        if item.status != 200:
            found.append(f"{item.message_id}: answer {item.status or item.error}, not 200")
    statuses: dict[str, list[Arrival]] = {}
    for arrival in arrivals:
        header = arrival.header
        if header is None or header.action != "StatusNotification":
            found.append(f"inbox got something other than a status: {arrival.judgement.codes}")
            continue
        statuses.setdefault(header.ref_to_message_id, []).append(arrival)
    for message_id in sorted(message_ids):
        got = statuses.get(message_id, [])
        if not got:
            found.append(f"{message_id}: no StatusNotification")
        for arrival in got:
            status = arrival.judgement.payload.findtext(f"{{{EFORMD_NS}}}Status")
            if not arrival.judgement.accepted or status != "ACCEPTED":
                found.append(f"{message_id}: status {status}, judged {arrival.judgement.codes}, not ACCEPTED")
    return found


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (``statistics.quantiles``, inclusive)."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def client_session(pki: TestPki, ca_file: str | None) -> requests.Session:
    session = requests.Session()
    if ca_file is not None:  # mutual TLS: present SG's NSW certificate, trust the test CAs only
        credential = pki.nsw("SG")
        session.cert = (str(credential.cert_path), str(credential.key_path))
        session.verify = ca_file
    return session


@dataclass
class Measured:
    """One transport's run: its figures (name, value) in table order, or the problems instead."""

    transport: str
    rows: list[tuple[str, str]]
    problems: list[str]
    unusual: list[str]
    cos_per_s: float = 0.0


def measure(args: argparse.Namespace, pki: TestPki, tls: bool) -> Measured:
    """Start the inbox and the reference, send warm-up then timed COs, wait for every status."""
    transport = "mutual TLS" if tls else "HTTP"
    label = "tls" if tls else "http"
    warm_up = build_messages(args.clients, pki, f"warm-up-{label}")
    timed = build_messages(args.messages, pki, f"timed-{label}")
    timed_ids = {item.message_id for item in timed}
    if len(timed_ids) != args.messages:
        raise SystemExit("the built messages do not have distinct MessageIds")

    with tempfile.TemporaryDirectory(prefix="bench-reference-") as folder:
        ca_file = None
        if tls:
            ca_file = str(Path(folder) / "test-cas.pem")
            Path(ca_file).write_bytes(pki.trust_store().ca_pem())
        status_seen: dict[str, float] = {}  # MessageId of the IssueCO: when its first status was judged

        def stamp(arrival: Arrival) -> None:
            if arrival.header is not None and arrival.header.action == "StatusNotification":
                status_seen.setdefault(arrival.header.ref_to_message_id, time.perf_counter())

        with HarnessInbox("SG", pki=pki, tls=tls, script=stamp, dialect=EFDX) as inbox:
            server = Server(
                in_process=args.in_process,
                db=Path(folder) / "kh.sqlite",
                inbox_url=inbox.url,
                tls=tls,
                workers=args.outbox_workers,
                processes=args.processes,
            )
            try:
                sessions = [client_session(pki, ca_file) for _ in range(args.clients)]
                _, warm_sent = send_all(server.url, [[item] for item in warm_up], sessions)
                warm_ids = {item.message_id for item in warm_up}
                wait_for_statuses(inbox, warm_ids, args.timeout)
                wrong = problems(warm_sent, inbox.matching(lambda _: True), warm_ids)
                if wrong:
                    return Measured(transport, [], ["warm-up failed", *wrong], [])

                batches = [timed[index :: args.clients] for index in range(args.clients)]
                cpu_before = time.process_time(), server.cpu_seconds()
                start, sent = send_all(server.url, batches, sessions)
                complete = wait_for_statuses(inbox, timed_ids, args.timeout)
                end = time.perf_counter()
                cpu_after = time.process_time(), server.cpu_seconds()
                arrivals = inbox.matching(
                    lambda a: a.header is None or a.header.ref_to_message_id not in warm_ids
                )
            finally:
                server.stop()
                inbox.stop()
            unusual = server.unusual_log_lines()

    wrong = problems(sent, arrivals, timed_ids)
    if not complete:
        wrong.insert(0, f"not all statuses arrived within {args.timeout:.0f} s of the last send")
    if wrong:
        return Measured(transport, [], wrong, unusual)

    latencies_ms = sorted(item.seconds * 1000 for item in sent)
    lags_ms = sorted((status_seen[item.message_id] - item.started - item.seconds) * 1000 for item in sent)
    last_receipt = max(item.started + item.seconds for item in sent)
    wall = end - start
    extra = Counter(arrival.header.ref_to_message_id for arrival in arrivals)
    repeats = sum(count - 1 for count in extra.values())
    rows: list[tuple[str, str]] = [
        ("messages (signed IssueCO)", f"{args.messages}"),
        ("clients", f"{args.clients}"),
        ("wall time, first send to last status (s)", f"{wall:.3f}"),
        ("**COs/s end to end (with statuses)**", f"**{args.messages / wall:.1f}**"),
        ("receipts/s (first send to last receipt)", f"{args.messages / (last_receipt - start):.1f}"),
        ("statuses in by the last receipt", f"{sum(status_seen[i] <= last_receipt for i in timed_ids)}"),
        ("time from the last receipt to the last status (s)", f"{end - last_receipt:.3f}"),
        ("**receipt latency p50 (ms)**", f"**{percentile(latencies_ms, 0.50):.1f}**"),
        ("**receipt latency p95 (ms)**", f"**{percentile(latencies_ms, 0.95):.1f}**"),
        ("receipt latency max (ms)", f"{latencies_ms[-1]:.1f}"),
        ("status after receipt p50 (ms)", f"{percentile(lags_ms, 0.50):.1f}"),
        ("**status after receipt p95 (ms)**", f"**{percentile(lags_ms, 0.95):.1f}**"),
        ("status after receipt max (ms)", f"{lags_ms[-1]:.1f}"),
        ("statuses delivered more than once", f"{repeats}"),
    ]
    here = "this process (server, inbox, clients)" if args.in_process else "this process (inbox, clients)"
    rows.append((f"CPU ms per CO, {here}", f"{(cpu_after[0] - cpu_before[0]) * 1000 / args.messages:.2f}"))
    if cpu_before[1] is not None and cpu_after[1] is not None:
        rows.append(
            ("CPU ms per CO, server process", f"{(cpu_after[1] - cpu_before[1]) * 1000 / args.messages:.2f}")
        )
    return Measured(transport, rows, [], unusual, args.messages / wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400, help="timed IssueCOs (default 400)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--transport",
        choices=("both", "http", "tls"),
        default="both",
        help="plain HTTP, mutual TLS on both legs (test PKI), or both one after the other (default)",
    )
    parser.add_argument("--tls", action="store_true", help="the same as --transport tls")
    parser.add_argument("--in-process", action="store_true", help="run the reference NSW in this process")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for statuses at most S s (60)")
    parser.add_argument(
        "--outbox-workers",
        type=int,
        metavar="N",
        help=f"the reference's outbox workers (default: the reference's own, {OUTBOX_WORKERS})",
    )
    parser.add_argument(
        "--processes", type=int, default=1, metavar="N", help="reference serve --processes N (default 1)"
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or args.clients < 1 or (args.outbox_workers is not None and args.outbox_workers < 1):
        parser.error("--messages, --clients and --outbox-workers must be at least 1")
    if args.processes < 1 or (args.processes > 1 and args.in_process):
        parser.error("--processes must be at least 1, and 1 with --in-process")
    transports = {"both": (False, True), "http": (False,), "tls": (True,)}[
        "tls" if args.tls else args.transport
    ]

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log in this process
    unset = [
        name for name in CA_BUNDLE_VARIABLES if True in transports and os.environ.pop(name, None) is not None
    ]
    pki = TestPki.load()
    load_before = os.getloadavg()
    runs = [measure(args, pki, tls) for tls in transports]
    load_after = os.getloadavg()
    failed = [run for run in runs if run.problems]
    for run in failed:
        more = f"\n  ... and {len(run.problems) - 20} more" if len(run.problems) > 20 else ""
        print(
            f"{run.transport}: {len(run.problems)} problem(s); no figures:",
            *run.problems[:20],
            sep="\n  ",
            end=more + "\n",
        )
    if failed:
        return 1

    where = "in this process" if args.in_process else "in a separate process"
    print(f"reference NSW KH {where}, partner inbox SG and {args.clients} client thread(s) in this one")
    print(f"{' then '.join(run.transport for run in runs)} on 127.0.0.1; SQLite in a temporary folder;")
    workers = args.outbox_workers or OUTBOX_WORKERS
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"retry schedule {RETRY_SCHEDULE}; {workers} outbox worker(s); {when}")
    libraries = ("werkzeug", "requests", "lxml", "cryptography", "signxml")
    print(
        f"Python {platform.python_version()}, " + ", ".join(f"{name} {version(name)}" for name in libraries)
    )
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs"
    )
    print()
    names = [name for name, _ in runs[0].rows]
    width = max(len(name) for name in names)
    print(f"| {'figure':<{width}} | " + " | ".join(f"{run.transport:>12}" for run in runs) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * 13 + ":" for _ in runs) + "|")
    for index, name in enumerate(names):
        print(f"| {name:<{width}} | " + " | ".join(f"{run.rows[index][1]:>12}" for run in runs) + " |")
    if len(runs) == 2:
        print(f"\nmutual TLS / HTTP, COs/s end to end: {runs[1].cos_per_s / runs[0].cos_per_s:.2f}")
    if unset:
        print(f"\nunset for this run (this process and the server's): {', '.join(unset)}")
    for run in runs:
        if run.unusual:
            print(f"\n{run.transport}: the server wrote {len(run.unusual)} line(s) besides its access log:")
            print(*run.unusual[:10], sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
