"""The embedded reference NSW of a run, in a process of its own (``conformance reference serve``).

Why a process: a Python process runs one thread's Python at a time, so a reference NSW in the
harness's process judged and signed in turn with the harness. In its own process it works on the
machine's other core while the harness builds, sends and judges: a run against it takes about a
third less time. It is also the reference as users start it by hand.

The trigger token goes in the environment, not the command line (where any local user could read
it). Its store and log (one line per request) go in a temporary folder, removed once it has stopped;
one that fails to start, or ends during the run, keeps its log, and the run names it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from conformance.core.profile import Profile, ReferenceSettings
from conformance.harness.config import ConfigError

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TRIGGER_LINE = "test trigger at "  # what `reference serve` prints once it listens, after its inbox
PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None  # libc's prctl(option, arg2, ...)
try:  # Linux: prctl, to have the child signalled when the harness ends, however it ends
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _end_with_the_harness() -> None:
    """In the child, before it runs: SIGTERM when the harness dies, even killed (SIGKILL, the OOM
    killer), so that no reference outlives its run holding a port and a folder. A parent that died
    before the prctl is seen (its pid, noted before the fork, is no longer the parent's): the child
    ends at once."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != _PARENT[0]:
            os._exit(1)


_PARENT = [os.getpid()]  # noted again before each start


class ReferenceDidNotStart(ConfigError):
    """The reference NSW's process ended, or said nothing, before it listened (a setup problem)."""


@dataclass(frozen=True)
class ReferenceProcess:
    url: str  # its inbox
    trigger_url: str | None
    pid: int


def command(profile: Profile, settings: ReferenceSettings) -> list[str]:
    """``conformance reference serve`` with the run's settings, on a free loopback port."""
    # -P: not the current folder first on the path. From a checkout, `-m` would import the checkout's
    # source (without the data an install maps in) instead of the installed harness.
    args = [sys.executable, "-P", "-m", "conformance.app.cli", "reference", "serve", "--profile", profile.key]
    args += ["--party", settings.party, "--host", "127.0.0.1", "--port", "0", "--db", str(settings.db)]
    args += ["--retry-schedule", ",".join(f"{delay:g}" for delay in settings.retry_schedule)]
    args += ["--outbound-timeout", f"{settings.outbound_timeout:g}"]
    if settings.status_delay:
        args += ["--status-delay", f"{settings.status_delay:g}"]
    for party, url in settings.peers.items():
        args += ["--peer", f"{party}={url}"]
    for party, url in (settings.direct_peers or direct_peers_beside_gateways(profile, settings)).items():
        args += ["--direct-peer", f"{party}={url}"]
    if settings.fault:
        args += ["--fault", settings.fault]
    if settings.tls:
        args.append("--tls")
    return args


def direct_peers_beside_gateways(profile: Profile, settings: ReferenceSettings) -> dict[str, str]:
    """The partners' own inboxes where a gateway peer's host serves them too: a peer that is the
    gateway inbox of its party (``{base}/efdx/1/SG/messages``, EFDX section 9) gets ``{base}/efdx/1/
    messages`` as its direct peer. The harness inbox listens on both when the reference claims
    ``gateway`` (the harness is its gateway in `conformance run`), so the seeded fault
    gateway-bypassed, which alone reads direct peers, is seen arriving around the gateway (G-01)."""
    if not settings.gateway:
        return {}
    direct = {}
    for party, url in settings.peers.items():
        path = profile.gateway_path(party)
        if url.rstrip("/").endswith(path):
            direct[party] = url.rstrip("/")[: -len(path)] + profile.inbox_path
    return direct


@contextlib.contextmanager
def serving(profile: Profile, settings: ReferenceSettings, workdir: Path) -> Iterator[ReferenceProcess]:
    """Start the reference NSW, its log in ``workdir``; yield where it listens once it says so. After,
    it is stopped while the run goes on (a clean stop takes up to half a second), and ``workdir``
    (its store, its log) is removed once it has ended; ``stopped()`` waits for that."""
    env = dict(os.environ)
    env.pop("EFDX_TEST_TOKEN", None)
    if settings.trigger_token:
        env["EFDX_TEST_TOKEN"] = settings.trigger_token
    log = workdir / "reference.log"
    _PARENT[0] = os.getpid()
    try:
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                command(profile, settings),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=env,
                preexec_fn=_end_with_the_harness,  # the main thread starts it: the signal follows the run
            )
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ReferenceDidNotStart(f"the reference NSW could not be started: {exc}") from None
    reference = _announced(process, log, bool(settings.trigger_token))  # its folder stays if it fails
    try:
        yield reference
    finally:
        _stop_later(process, workdir)


@contextlib.contextmanager
def siblings(argv: list[str], port: int, count: int, with_trigger: bool) -> Iterator[list[int]]:
    """``count`` more processes of the `reference serve` command ``argv`` on ``port`` (SO_REUSEPORT:
    the kernel spreads connections over every process on it; outbox claims keep them apart in the
    store). Yields their pids once each listens; stops them after. Each ends with this one, however
    this one ends; their log (stderr) is this one's."""
    command = [sys.executable, "-P", "-m", "conformance.app.cli", *argv]
    command += ["--port", str(port), "--processes", "1", "--reuse-port"]  # the last of each counts
    started: list[subprocess.Popen] = []
    _PARENT[0] = os.getpid()
    try:
        for _ in range(count):
            started.append(
                subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    preexec_fn=_end_with_the_harness,
                )
            )
        pids = [_announced(process, None, with_trigger).pid for process in started]
        yield pids
    except OSError as exc:
        raise ReferenceDidNotStart(f"a reference NSW process could not be started: {exc}") from None
    finally:
        for process in started:  # all told at once, then each awaited
            if process.poll() is None:
                process.terminate()
        for process in started:
            _stop(process)


def _announced(process: subprocess.Popen[bytes], log: Path | None, with_trigger: bool) -> ReferenceProcess:
    """Read the lines ``reference serve`` prints once it listens: its inbox, then its trigger."""
    stdout = process.stdout
    assert stdout is not None  # started with stdout=PIPE
    last = TRIGGER_LINE if with_trigger else "reference NSW "
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for raw in stdout:
            lines.append(raw.decode("utf-8", errors="replace").strip())
            if lines[-1].startswith(last):
                break
        done.set()

    reader = threading.Thread(target=read, name="reference-announce", daemon=True)
    reader.start()
    said = done.wait(START_TIMEOUT_S)
    inbox = next((line.rpartition(" at ")[2] for line in lines if line.startswith("reference NSW ")), None)
    said_trigger = [line for line in lines if line.startswith(TRIGGER_LINE)]
    trigger = said_trigger[0].removeprefix(TRIGGER_LINE) if said_trigger else None
    if inbox is None or (with_trigger and trigger is None) or process.poll() is not None:
        _stop(process)
        why = f"exit {process.returncode}" if said else f"it said nothing within {START_TIMEOUT_S:g} s"
        if log is None:  # its stderr is ours: the error is above
            raise ReferenceDidNotStart(f"a reference NSW process did not start ({why})")
        written = log.read_bytes()[-4000:].decode("utf-8", errors="replace").strip().splitlines()
        last = written[-1].strip() if written else "no output"  # the error, after its traceback
        raise ReferenceDidNotStart(f"the reference NSW did not start ({why}): {last} (its log: {log})")
    threading.Thread(target=_drain, args=(process,), name="reference-stdout", daemon=True).start()
    return ReferenceProcess(inbox, trigger, process.pid)


def _drain(process: subprocess.Popen[bytes]) -> None:
    """Keep reading what it prints, so that a full pipe never blocks it."""
    assert process.stdout is not None  # started with stdout=PIPE
    for _ in process.stdout:
        pass


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (it shuts down cleanly: server, outbox, store), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_STOPPING: list[threading.Thread] = []


def _stop_later(process: subprocess.Popen, workdir: Path) -> None:
    """Stop it in a thread of its own, which the interpreter waits for at exit (not a daemon)."""

    failed = process.poll()  # it ended before we stopped it, and not cleanly (Ctrl-C reaches it too: 0)

    def stop() -> None:
        _stop(process)
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(
                f"the embedded reference NSW ended during the run (exit {failed}); "
                f"its log: {workdir / 'reference.log'}",
                file=sys.stderr,
            )

    stopping = threading.Thread(target=stop, name=f"reference-stop-{process.pid}")
    stopping.start()
    _STOPPING[:] = [*(thread for thread in _STOPPING if thread.is_alive()), stopping]


def stopped() -> None:
    """Wait until every reference NSW this process started has ended and its folder is gone."""
    while _STOPPING:
        _STOPPING.pop().join()
