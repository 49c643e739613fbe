"""One `conformance load` run: candidate, harness inbox, Locust processes, progress, verdict, report.

Against the embedded reference NSW (no --config) the reference runs as `conformance reference
serve` in a process of its own, as a candidate would, with the harness inbox as its peer (the
profile's partner party). What is sent and judged is the profile's, through its load adapter. The
Locust side runs in child processes (child.py): one ``local`` process, or a master and N workers
on loopback (--workers N), or a master that waits for workers on other machines (--master-bind).
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from conformance import __version__
from conformance.app.load import certify, verdict
from conformance.app.load.adapter import LoadAdapter
from conformance.app.load.inbox import REMEMBERED, BoundedLog, GatewayFaults
from conformance.app.load.ledger import Ledger
from conformance.app.site_pki import signer_test_material
from conformance.core.client import DEFAULT_MAX_ANSWER
from conformance.core.profile import Profile
from conformance.harness import registry
from conformance.harness.config import Capacity, Config, ConfigError, Tls, Windows
from conformance.harness.session import candidate_pins
from conformance.results import safe_write
from conformance.results.evidence import signer_json

CHILD = [sys.executable, "-m", "conformance.app.load.child"]
REFERENCE_STATUS_WINDOW_S = 10.0  # the reference sends at once; a status later than this is lost
REFERENCE_PEER_TIMEOUT_S = 1.0


class LoadError(Exception):
    """Something that stops the run before it starts (exit 4), said in one line."""


def adapter_of(profile: Profile) -> LoadAdapter:
    """The profile's load adapter; LoadError when its pack cannot be load-tested."""
    if profile.load is None:
        raise LoadError(f"{profile.title} cannot be load-tested: its pack gives no load adapter")
    return profile.load()


@dataclass
class LoadOptions:
    config: Config | None = None  # None: the embedded reference NSW
    profile: Profile | None = None  # None: the default profile
    rate: float | None = None  # override the claimed rate
    duration_s: float | None = None  # override the claimed duration
    ramp_s: float = 2.0
    users: int | None = None
    workers: int = 0  # Locust workers on this machine (0: one local process)
    master_bind: str | None = None  # host:port for workers on other machines
    expect_workers: int = 0  # how many remote workers to wait for (with master_bind)
    gateway_faults: float | None = None  # share of first deliveries failed (default: the claim's)
    weights: dict[str, int] | None = None
    reference_fault: str | None = None
    tls: bool = False
    report_dir: Path = Path("reports")
    live: bool | None = None  # progress line rewritten in place (default: when stdout is a terminal)
    seed: int | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)


@dataclass
class Target:
    config: Config
    capacity: Capacity | None
    status_window_s: float
    sut: dict


def reference_capacity(adapter: LoadAdapter) -> Capacity:
    return Capacity(**adapter.declared_capacity())


@contextmanager
def _reference(profile: Profile, inbox_url: str, workdir: Path, options: LoadOptions):
    """The reference NSW as `conformance reference serve` in its own process; yields its inbox URL."""
    command = [
        sys.executable,
        "-m",
        "conformance.app.cli",
        "reference",
        "serve",
        "--profile",
        profile.key,
        "--party",
        profile.reference_party,
        "--port",
        "0",
        "--db",
        str(workdir / "reference.sqlite"),
        "--peer",
        f"{profile.partner_party}={inbox_url}",
        "--retry-schedule",
        "0.2,0.4,0.8",
        "--outbound-timeout",
        str(REFERENCE_PEER_TIMEOUT_S),
    ]
    command += ["--fault", options.reference_fault] if options.reference_fault else []
    command += ["--tls"] if options.tls else []
    with open(workdir / "reference.log", "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=_child_env())
        try:
            assert process.stdout is not None  # stdout=PIPE
            line = process.stdout.readline().decode("utf-8", "replace").strip()
            if " at " not in line:
                tail = (workdir / "reference.log").read_text()[-500:]
                raise LoadError(f"the reference NSW did not start: {tail}")
            yield line.rsplit(" at ", 1)[1]
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _child_env() -> dict:
    env = dict(os.environ)
    env.pop("REQUESTS_CA_BUNDLE", None)  # requests#3829: they would override the test trust
    env.pop("CURL_CA_BUNDLE", None)
    return env


def _reference_config(profile: Profile, adapter: LoadAdapter, url: str, tls: bool) -> Config:
    return Config(
        party=profile.reference_party,
        inbox_url=url,
        capabilities=adapter.reference_claims,
        harness_party=profile.partner_party,
        capacity=reference_capacity(adapter),
        tls=Tls(enabled=tls),
        profiles=(profile.key,),
    )


def run_name() -> str:
    """A short, unique prefix for one run's reference numbers."""
    return "LD" + uuid.uuid4().hex[:6].upper()


def _spec(
    profile: Profile,
    adapter: LoadAdapter,
    target: Target,
    options: LoadOptions,
    pki,
    workdir: Path,
    rate: float,
    duration: float,
) -> dict:
    config = target.config
    base, _, rest = config.inbox_url.partition("://")[2].partition("/")
    scheme = config.inbox_url.split("://")[0]
    claims = set(config.capabilities) | set(config.roles)
    bound = target.capacity.receipt_p95_s if target.capacity else 0.25
    # Each user sends one message at a time: enough of them to keep the rate while answers take up
    # to the bound (at most 0.5 s counted: more users than that only make bursts).
    users = options.users or max(2, min(2000, math.ceil(rate * min(0.5, max(0.05, bound)) * 2) + 1))
    spec = {
        "profile": profile.key,
        "base": f"{scheme}://{base}",
        "path": "/" + rest,
        "sender": config.harness_party,
        "candidate": config.party,
        "rate": rate,
        "users": users,
        "duration_s": duration,
        "ramp_s": options.ramp_s,
        "weights": adapter.weights_for(claims, options.weights),
        "settle_s": max(1.0, target.capacity.status_p95_s * 2 if target.capacity else 1.0),
        "request_timeout_s": config.windows.request_timeout_s,
        "max_answer": DEFAULT_MAX_ANSWER,  # the functional suite's answer cap (core/client.py)
        "run": run_name(),
        "pki_dir": str(pki.directory),
        "tls": None,
    }
    if config.tls.enabled:
        bundle = workdir / "trust.pem"
        bundle.write_bytes(pki.trust_store().ca_pem())
        credential = pki.nsw(config.harness_party)
        spec["tls"] = {
            "cert": str(config.tls.client_cert or credential.cert_path),
            "key": str(config.tls.client_key or credential.key_path),
            "ca": str(config.tls.ca_bundle or bundle),
        }
    return spec


class Children:
    """The Locust processes; reads the records the local process or the master writes."""

    def __init__(self, spec_file: Path, options: LoadOptions, ledger: Ledger, workdir: Path) -> None:
        self.ledger, self.ready = ledger, threading.Event()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.end: dict[str, Any] | None = None  # the child's closing "end" message (JSON)
        self.records = 0
        self.failure: str | None = None
        stderr = self._stderr = open(workdir / "locust.log", "ab")  # noqa: SIM115 (closed in stop())
        self.log = workdir / "locust.log"
        env = _child_env()
        if options.workers or options.master_bind:
            bind = options.master_bind or f"127.0.0.1:{_free_port()}"
            expect = options.workers + options.expect_workers
            master = [
                *CHILD,
                "master",
                "--spec",
                str(spec_file),
                "--bind",
                bind,
                "--expect-workers",
                str(expect),
            ]
            self.main = subprocess.Popen(master, stdout=subprocess.PIPE, stderr=stderr, env=env)
            connect = "127.0.0.1:" + bind.rsplit(":", 1)[1]
            for _ in range(options.workers):
                worker = [*CHILD, "worker", "--master", connect]
                self.processes.append(
                    subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
                )
        else:
            local = [*CHILD, "local", "--spec", str(spec_file)]
            self.main = subprocess.Popen(local, stdout=subprocess.PIPE, stderr=stderr, env=env)
        self.processes.insert(0, self.main)
        self.reader = threading.Thread(target=self._read, name="load-records", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.main.stdout is not None  # stdout=PIPE
        for line in self.main.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            for record in message.get("r", ()):
                self.records += 1
                self.ledger.record(record)
            if "ready" in message:
                self.ready.set()
            if "end" in message:
                self.end = message["end"]
        self.ready.set()

    def running(self) -> bool:
        return self.main.poll() is None or self.reader.is_alive()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.reader.join(timeout=5)
        self._stderr.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_load(options: LoadOptions) -> tuple[int, Path | None]:
    """Run; return the exit code (0 held, 1 not held or inconclusive) and the report folder."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per status
    profile = options.profile or registry.default()
    adapter = adapter_of(profile)
    pki = profile.load_pki()
    site = _site_signer(options.config)  # a key that cannot sign stops the run before it starts
    started_at = datetime.now(UTC)
    folder = _report_folder(options.report_dir, started_at)
    target, harness_party, load = _measure(profile, adapter, pki, options)
    results = _results(profile, target, started_at, load, options)
    signer = site or pki.nsw(harness_party)
    _add_signer_and_certification(results, signer, profile, options)
    write_results(folder, results)
    certify.write_evidence_and_certificate(folder, results, signer)
    _summary(options.out, results, folder)
    return (0 if load["verdict"] == "held" else 1), folder


def _report_folder(report_dir: Path, started_at: datetime) -> Path:
    """The run's report folder, made before anything starts: a report that could not be written
    would make the whole run for nothing."""
    folder = report_dir / (started_at.strftime("%Y%m%dT%H%M%SZ") + "-load")
    try:  # a folder of its own: one that is a link is refused, nothing is written through it
        safe_write.real_folder(folder)
    except OSError as exc:
        raise LoadError(f"--report-dir: cannot write to {report_dir}: {exc.strerror or exc}") from None
    return folder


def _measure(
    profile: Profile, adapter: LoadAdapter, pki: Any, options: LoadOptions
) -> tuple[Target, str, dict]:
    """The run itself: the target, the party the harness played, and the load block of the results.
    Whatever it starts (a temporary folder, the harness inbox, the reference, the Locust processes)
    is stopped before it returns, however it ends."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{profile.key}-load-")))
        config = options.config.for_profile(profile.key) if options.config else None
        capacity = config.capacity if config else reference_capacity(adapter)
        rate, duration = _rate_and_duration(options, capacity)
        windows = config.windows if config else None
        status_window = windows.status_s if windows else REFERENCE_STATUS_WINDOW_S
        ledger = Ledger(time.time(), options.ramp_s + duration, status_window, adapter.check_answer)
        faults = _gateway_faults(options, capacity, windows)
        harness_party = config.harness_party if config else profile.partner_party
        inbox = _harness_inbox(stack, adapter, pki, config, options, harness_party, ledger, faults)
        config, sut = _candidate(stack, profile, adapter, config, options, inbox.url, workdir)
        target = Target(config, capacity, status_window, sut)
        spec = _spec(profile, adapter, target, options, pki, workdir, rate, duration)
        children = _start_children(stack, spec, options, ledger, workdir)
        grace_s = windows.grace_s if windows else 0.5
        interrupted = _watch(children, ledger, options, rate, duration, status_window, grace_s)
        figures = ledger.figures()
        end = children.end or {}
        load = _load_block(
            target, options, spec, figures, end, children, faults, rate, duration, inbox, interrupted
        )
    return target, harness_party, load


def _rate_and_duration(options: LoadOptions, capacity: Capacity | None) -> tuple[float, float]:
    """The rate and duration to run at: the options', else the claim's; a run needs both."""
    rate = options.rate or (capacity.rate_per_s if capacity else None)
    duration = options.duration_s or (capacity.duration_s if capacity else None)
    if not rate or not duration:
        raise LoadError("--rate and --duration: needed when the candidate claims no capacity")
    return rate, duration


def _gateway_faults(
    options: LoadOptions, capacity: Capacity | None, windows: Windows | None
) -> GatewayFaults | None:
    """The harness inbox's failing of the candidate's first deliveries (the options' share, else the
    claim's); None when no share is to fail, so that a plain run's inbox fails nothing."""
    share = (
        options.gateway_faults
        if options.gateway_faults is not None
        else (capacity.gateway_fault_share if capacity else 0.0)
    )
    peer_timeout = windows.peer_timeout_s if windows else REFERENCE_PEER_TIMEOUT_S
    return GatewayFaults(share, peer_timeout, options.seed) if share else None


def _harness_inbox(
    stack: ExitStack,
    adapter: LoadAdapter,
    pki: Any,
    config: Config | None,
    options: LoadOptions,
    harness_party: str,
    ledger: Ledger,
    faults: GatewayFaults | None,
) -> Any:
    """The harness inbox, listening before anything is sent, so that no status arrives at a closed
    port; what arrives goes to the ledger."""
    tls = config.tls.enabled if config else options.tls
    host, port = (config.harness_listen if config else "127.0.0.1:0").rsplit(":", 1)
    server_cert = None
    if config and config.tls.inbox_cert:
        server_cert = (str(config.tls.inbox_cert), str(config.tls.inbox_key))
    inbox = adapter.inbox(
        harness_party,
        pki,
        ledger.arrival,
        tls=tls,
        host=host,
        port=int(port),
        faults=faults,
        message_log=BoundedLog(REMEMBERED),
        server_cert=server_cert,
        client_pins=candidate_pins(config.tls.candidate_cert)
        if config and config.tls.candidate_cert
        else frozenset(),
    )
    try:
        stack.enter_context(inbox)
    except OSError as exc:
        raise LoadError(f"harness.listen: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return inbox


def _candidate(
    stack: ExitStack,
    profile: Profile,
    adapter: LoadAdapter,
    config: Config | None,
    options: LoadOptions,
    inbox_url: str,
    workdir: Path,
) -> tuple[Config, dict]:
    """The candidate under load and how the report names it: the one configured, or (no
    configuration) the embedded reference, started now, as only now is there a harness inbox to
    be its peer."""
    if config is None:
        url = stack.enter_context(_reference(profile, inbox_url, workdir, options))
        config = _reference_config(profile, adapter, url, options.tls)
        sut = {
            "url": url,
            "party": profile.reference_party,
            "reference": True,
            "fault": options.reference_fault,
        }
    else:
        sut = {"url": config.inbox_url, "party": config.party, "reference": False}
    return config, sut


def _start_children(
    stack: ExitStack, spec: dict, options: LoadOptions, ledger: Ledger, workdir: Path
) -> Children:
    """The Locust processes, given the spec in a file; stopped with the stack however the run ends."""
    spec_file = workdir / "spec.json"
    spec_file.write_text(json.dumps(spec))
    children = Children(spec_file, options, ledger, workdir)
    stack.callback(children.stop)
    return children


def _watch(
    children: Children,
    ledger: Ledger,
    options: LoadOptions,
    rate: float,
    duration: float,
    status_window: float,
    grace_s: float,
) -> bool:
    """Follow the run until the Locust processes end and the statuses due have come, showing
    progress; whether Ctrl-C ended it (the figures so far are still reported)."""
    progress = Progress(options, ledger, rate, options.ramp_s + duration)
    interrupted = False
    try:
        children.ready.wait(timeout=180)
        ledger.started = time.time()
        progress.start = ledger.started
        while children.running():
            time.sleep(0.5)
            ledger.sweep()
            progress.tick()
        _drain(ledger, status_window, grace_s)
    except KeyboardInterrupt:
        interrupted = True
    ledger.sweep(final=True)
    progress.done()
    return interrupted


def _results(
    profile: Profile, target: Target, started_at: datetime, load: dict, options: LoadOptions
) -> dict:
    """The run's results.json, finished now: what was loaded, what it claimed, the verdict and the
    record the certificate draws on (site, operator, build: the configuration's, if one was given)."""
    finished_at = datetime.now(UTC)
    capacity = target.capacity
    return {
        "kind": "load",
        "profile": profile.title,
        "harness_version": __version__,
        "sut": target.sut,
        "ics": {"party": target.config.party, "capacity": vars(capacity) if capacity else None},
        "started": started_at.isoformat(),
        "finished": finished_at.isoformat(),
        "verdict": load["verdict"],
        "load": load,
        "record": {
            "site": options.config.site if options.config else None,
            "operator": options.config.operator if options.config else None,
            "candidate_build": options.config.build if options.config else None,
        },
    }


def _add_signer_and_certification(results: dict, signer: Any, profile: Profile, options: LoadOptions) -> None:
    """Who signs the evidence, and whether the run can certify: a rehearsal (the reference as the
    candidate, less than the claim, plain HTTP, a TEST ONLY signer) says why it cannot."""
    material = signer_test_material(signer, (profile,))
    results["signer"] = signer_json(signer, material)
    why_not = certify.reasons(results, config_given=options.config is not None, signer_problem=material)
    results["certification"] = {"can_certify": not why_not, "reasons": why_not}


def _site_signer(config: Config | None):
    from conformance.app.run import site_signer

    try:
        return site_signer(config)
    except ConfigError as exc:
        raise LoadError(str(exc)) from None


def _drain(ledger: Ledger, status_window: float, grace_s: float) -> None:
    """Wait for the statuses still due (at most the status window after the last Receipt), then a
    grace period for a second status that must not come."""
    while ledger.pending() and time.time() < ledger.last_receipt + status_window:
        time.sleep(0.1)
    time.sleep(grace_s)


def _load_block(
    target, options, spec, figures, end, children, faults, rate, duration, inbox, interrupted
) -> dict:
    offered, achieved = verdict.steady_rates(
        figures["over_time"], figures["window_s"], options.ramp_s, options.ramp_s + duration
    )
    outcome, checks, notes = verdict.judge(
        target.capacity,
        figures,
        rate=rate,
        offered=offered,
        achieved=achieved,
        duration_s=duration,
        share=faults.share if faults else 0.0,
        played=sum(faults.played.values()) if faults else 0,
    )
    workers = end.get("workers", {})
    merged_complete = bool(workers) and sum(workers.values()) == children.records
    if end.get("error"):
        notes.append(end["error"])
    if not merged_complete:
        made = sum(workers.values()) if workers else "?"
        notes.append(f"records merged {children.records}, made by the workers {made}")
        outcome = "inconclusive" if outcome == "held" else outcome
    if interrupted:
        notes.append("interrupted (Ctrl-C): the figures cover the run so far")
        outcome = "inconclusive" if outcome == "held" else outcome
    counts = figures["counts"]
    return {
        "verdict": outcome,
        "capacity": vars(target.capacity) if target.capacity else None,
        "checks": [check.as_json() for check in checks],
        "notes": notes,
        "offered": {
            "rate_per_s": rate,
            "duration_s": duration,
            "ramp_s": options.ramp_s,
            "users": spec["users"],
            "workers": options.workers + options.expect_workers,
            "mix": spec["weights"],
            "gateway_fault_share": faults.share if faults else 0.0,
            "tls": bool(spec["tls"]),
        },
        "achieved": {"offered_per_s": round(offered, 2), "answered_per_s": round(achieved, 2)},
        "receipt_latency": figures["receipt_latency"],
        "status_lag": figures["status_lag"],
        "lost_statuses": counts.get("lost", 0),
        "duplicate_statuses": counts.get("duplicate_statuses", 0),
        "unexpected_statuses": counts.get("unexpected", 0),
        "redelivered_statuses": counts.get("redelivered", 0),
        "wrong_answers": figures["wrong_answers"],
        "errors": figures["errors"],
        "examples": figures["examples"],
        "counts": counts,
        "sent_by_kind": figures["sent_by_kind"],
        "merged": {
            "records": children.records,
            "by_worker": figures["by_worker"],
            "made_by_worker": workers,
            "complete": merged_complete,
        },
        "gateway_faults": faults.played if faults else {},
        "locust": end.get("locust", {}),
        "harness": _harness_resources(inbox),
        "window_s": figures["window_s"],
        "over_time": figures["over_time"],
    }


def _harness_resources(inbox) -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = None
    return {
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "open_files": fds,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "inbox_connections": {
            key: getattr(inbox.connections, key) for key in ("refused", "timed_out", "failed")
        },
    }


def write_results(folder: Path, results: dict) -> None:
    from conformance.results import load_report

    safe_write.real_folder(folder)
    safe_write.write_text(folder / "results.json", json.dumps(results, indent=2))
    safe_write.write_text(folder / "report.html", load_report.page(results))


class Progress:
    """One line on the terminal while the run goes (rewritten in place on a terminal)."""

    def __init__(self, options: LoadOptions, ledger: Ledger, rate: float, planned_s: float) -> None:
        self.out, self.ledger, self.rate, self.planned_s = options.out, ledger, rate, planned_s
        self.live = options.live if options.live is not None else getattr(self.out, "isatty", lambda: False)()
        self.start, self.last_line, self.last_sent = time.time(), 0.0, (time.time(), 0)

    def line(self) -> str:
        f = self.ledger
        now = time.time()
        with f._lock:
            sent, right = f.counts["sent"], f.counts["right"]
            receipt95, lag95 = f.receipt.percentile(0.95), f.status_lag.percentile(0.95)
            counts = dict(f.counts)
        then, before = self.last_sent
        self.last_sent = (now, sent)
        rate = (sent - before) / max(0.001, now - then)

        def ms(value):
            return "-" if value is None else f"{value * 1000:.0f} ms"

        return (
            f"load {min(now - self.start, self.planned_s):5.0f}/{self.planned_s:.0f} s  sent {sent} "
            f"({rate:.0f}/s of {self.rate:g}/s)  right {right}  receipt p95 {ms(receipt95)}  "
            f"status lag p95 {ms(lag95)}  lost {counts.get('lost', 0)}  "
            f"twice {counts.get('duplicate_statuses', 0)}  wrong {counts.get('wrong', 0)}  "
            f"errors {counts.get('errors', 0)}"
        )

    def tick(self) -> None:
        now = time.time()
        if self.live:
            print("\r" + self.line()[:200] + "\x1b[K", end="", file=self.out, flush=True)
        elif now - self.last_line >= 10:
            self.last_line = now
            print(self.line(), file=self.out, flush=True)

    def done(self) -> None:
        if self.live:
            print(file=self.out)


def _summary(out, results: dict, folder: Path) -> None:
    load = results["load"]
    print(f"{results['profile']} capacity: {load['verdict']}", file=out)
    for check in load["checks"]:
        mark = "held" if check["held"] else ("inconclusive" if check.get("inconclusive") else "NOT held")
        print(
            f"  {check.get('purpose') or check['requirement']}  {mark}: "
            f"expected {check['expected']}; observed {check['observed']}",
            file=out,
        )
    for note in load["notes"]:
        print(f"  note: {note}", file=out)
    r, s = load["receipt_latency"], load["status_lag"]
    print(
        f"  offered {load['achieved']['offered_per_s']}/s, answered {load['achieved']['answered_per_s']}/s; "
        f"receipt p50/p95/p99 {r['p50_ms']}/{r['p95_ms']}/{r['p99_ms']} ms; "
        f"status lag p50/p95/p99 {s['p50_ms']}/{s['p95_ms']}/{s['p99_ms']} ms",
        file=out,
    )
    certification = results["certification"]
    if certification["can_certify"]:
        print("certifying run" + (": certificate.html" if results["verdict"] == "held" else ""), file=out)
    else:
        print(f"rehearsal: cannot certify ({'; '.join(certification['reasons'])})", file=out)
    print(f"report: {folder / 'report.html'}", file=out)


__all__ = ["ConfigError", "LoadError", "LoadOptions", "run_load"]
