"""Several profiles of one `conformance run` side by side: each profile's share in a process of its own.

pytest is not thread-safe, so profiles that run at the same time need a process each. They are
``multiprocessing`` processes, not subprocesses of the CLI: a child is
handed the run's options and its share as they are (already parsed, already checked by the
pre-flight: nothing is parsed or checked twice, and a caller of ``run()`` in-process, a test or an
embedder, gets the same path as the CLI), and hands back Python objects (records, its part's fields)
over the queue, with no second serialisation format. How a child starts (``start_method``): by
``fork`` where that is safe, on Linux when the run's process has no thread but its main one (the
usual case: the shares start before the display's refresh thread, and the pre-flight's harnesses have
stopped): the child then begins with the modules the run's process has imported, about 0.6 s of
imports per child less than a fresh interpreter (issue 19 item 8: side by side within 1.15x the
slower profile). Otherwise by ``spawn``: a fork would copy another thread's lock or socket mid-step
(a harness inbox of the pre-flight still closing a connection, an embedder's threads, pytest-xdist's),
and a spawned child starts clean and imports what it needs.

Each child runs ``run._run_profile`` exactly as a serial run does (its harness inbox, its candidate
or reference NSW, its pytest session with the SuiteRun plugin) and tells the run's process, over one
queue, what a serial run tells its display (begin_profile, started, finished, announce, operator,
wait), then its part: the records (arrivals as plain ``Received`` data: their parsed trees do not
pickle, and the results read only their bytes, codes and times), sut, ics, interrupted, partial,
purpose gaps and extra notes (harness_inbox counts, halt notes). The run's process builds the same
RunSet and reports as a serial run.

The terminal: in a pipe each profile's block is printed as a serial run prints it: the first
profile's lines as they come, the next profile's kept until the one before it has ended, so that a
pipe holds the same lines in the same order. On a live terminal every event is shown as it comes:
the display shows a block for each profile (Progress lanes), and every line that does not pass,
every wait and every announcement is shown at once.

Kept serial (``chosen`` says no): a single profile; ``--serial``; ``--maxfail`` (it counts across
the whole run); an interactive run with a profile in manual mode (one operator, one stdin); a
``--config`` run in which two profiles' harness inboxes would listen on one fixed port
(``harness.listen``, unless ``[harness.profiles.<key>] listen`` gives a profile a port of its own:
two inboxes at once cannot share a port, and the candidate's peer entries point there); a profile
that is not an installed pack (a child finds profiles in the registry).

Ctrl-C or SIGTERM: the run's process forwards one SIGTERM to each child, which stops as a serial
run's profile does (the test in flight inconclusive, the part interrupted) and hands back its part;
a child that does not end within STOP_BOUND_S is killed. A child that crashes or is killed gives its
profile a part of the records it reported, interrupted, with a note: never a traceback or a lost
report. A child whose parent went away (SIGKILL) stops itself.

Delivery order (EFDX errata 2): see delivery_order.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import Any, Literal

from conformance.app import run as run_module
from conformance.app.delivery_order import DeliveryOrder
from conformance.app.progress import Progress
from conformance.core.records import TestRecord, portable
from conformance.core.trust import Credential
from conformance.harness import registry
from conformance.harness.config import Config, ConfigError
from conformance.harness.session import Harness, Wait
from conformance.results.results import RunResult

STOP_BOUND_S = 60.0  # from the forwarded SIGTERM to SIGKILL of a child that has not ended
POLL_S = 0.1
PARENT_WATCH_S = 1.0
SHARE_FIELDS = ("requirements", "layers", "purposes", "rerun", "fault")  # a Share but its profile


def chosen(options: run_module.RunOptions, plan: list[run_module.Share]) -> bool:
    """Whether the plan's shares run side by side (see the module's docstring for when not)."""
    if len(plan) < 2 or options.serial or options.maxfail:
        return False
    installed = registry.installed()
    if any(installed.get(share.profile.key) is not share.profile for share in plan):
        return False
    if options.config is not None and _share_a_fixed_port(options.config, plan):
        return False  # two profiles' harness inboxes listen on one port: they take turns
    if options.config is not None and not options.non_interactive:
        for share in plan:
            config = options.config.for_profile(share.profile.key)
            if not (config.claims("trigger") and config.trigger_url):  # manual mode: an operator's prompts
                return False
    return True


def _share_a_fixed_port(config: Config, plan: list[run_module.Share]) -> bool:
    """Whether two shares' harness inboxes would listen on one fixed port (``harness.listen``, or a
    profile's own ``[harness.profiles.<key>] listen``); port 0 is a free port each."""
    ports = [config.harness_listen_of(share.profile.key).rpartition(":")[2] for share in plan]
    fixed = [port for port in ports if int(port or 0)]
    return len(fixed) != len(set(fixed))


# --- the child: one profile's share -------------------------------------------------------------


class _Relay:
    """The display of a profile's process: each call goes to the run's process as an event."""

    def __init__(self, index: int, events: Any) -> None:
        self.index, self.events = index, events

    def _send(self, name: str, *args: object) -> None:
        self.events.put((self.index, name, args))

    def begin_profile(self, key: str, title: str, several: bool = True) -> None:
        self._send("begin_profile", key, title, several)

    def started(self, nodeid: str, total: int) -> None:
        self._send("started", nodeid, total)

    def finished(self, record: TestRecord) -> None:
        self._send("finished", portable(record))

    def announce(self, line: str, quiet_reason: str | None = None) -> None:
        self._send("announce", line, quiet_reason)

    def operator(self, instruction: str) -> None:
        self._send("operator", instruction)

    def wait(self, wait: Wait | None) -> None:
        self._send("wait", tuple(wait) if wait is not None else None)

    def __enter__(self) -> _Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _stop_on_first_signal() -> None:
    """SIGINT (Ctrl-C on the terminal reaches every process of its group) or SIGTERM (forwarded by
    the run's process) ends the share as Ctrl-C ends a serial run's profile; the second is ignored,
    so that the share's own ending is not cut short."""
    said = threading.Event()

    def stop(signum: int, frame: object) -> None:
        if said.is_set():
            return
        said.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _watch_parent() -> None:
    """A share whose run's process went away (killed) stops itself, as if interrupted."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child(
    index: int,
    key: str,
    options: run_module.RunOptions,
    share_fields: dict,
    lock_folder: str,
    events: Any,
) -> None:
    """One profile's share, in a process of its own (the target of the spawned process)."""
    _stop_on_first_signal()
    _watch_parent()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    share = run_module.Share(registry.get(key), **share_fields)
    relay = _Relay(index, events)
    order = DeliveryOrder(lock_folder)

    def started(harness: Harness, sut: dict) -> None:
        events.put((index, "candidate", (sut, run_module.ics_of(harness.config))))

    try:
        try:
            part, harness = run_module._run_profile(options, share, relay, True, order, started)
        finally:
            order.close()
    except ConfigError as exc:
        events.put((index, "config_error", (str(exc),)))
        return
    except KeyboardInterrupt:  # before its tests (they catch their own)
        events.put((index, "stopped", ()))
        return
    except Exception as exc:  # noqa: BLE001 - said in its part's note, not as a traceback
        events.put((index, "failed", (f"{type(exc).__name__}: {exc}",)))
        return
    fields = {
        "sut": part.sut,
        "ics": part.ics,
        "started": part.started,
        "finished": part.finished,
        "records": [portable(record) for record in part.records],
        "interrupted": part.interrupted,
        "partial": part.partial,
        "extra": part.extra,
        "purpose_gaps": part.purpose_gaps,
    }
    config: Config | None = harness.config
    try:
        import pickle

        pickle.dumps(config)
    except Exception:  # noqa: BLE001 - the parent falls back on the placeholder configuration
        config = None
    events.put((index, "result", (fields, config)))


# --- the run's process ----------------------------------------------------------------------------


class _Terminal:
    """Applies the children's events to the run's display: on a live terminal as they come (a lane
    each); in a pipe in the order a serial run prints them (a profile's, then the next one's)."""

    def __init__(self, progress: Progress, plan: list[run_module.Share]) -> None:
        self.progress, self.keys = progress, [share.profile.key for share in plan]
        self.turn = 0
        self.kept: dict[int, list[tuple[str, tuple]]] = {index: [] for index in range(len(plan))}
        self.ended: set[int] = set()
        self.dropped: set[int] = set()

    def event(self, index: int, name: str, args: tuple) -> None:
        if index in self.dropped:
            return
        if self.progress.live_enabled or index == self.turn:
            self._apply(index, name, args)
        else:
            self.kept[index].append((name, args))

    def end(self, index: int) -> None:
        self.ended.add(index)
        while self.turn in self.ended and self.turn + 1 < len(self.keys):
            self.turn += 1
            for name, args in self.kept.pop(self.turn, []):
                self._apply(self.turn, name, args)

    def drop(self, index: int) -> None:
        """``index``'s events are not shown (its share is left out of the run, as serially)."""
        self.dropped.add(index)
        self.kept[index] = []

    def _apply(self, index: int, name: str, args: tuple) -> None:
        self.progress.lane(self.keys[index])
        if name == "wait":
            self.progress.wait(Wait(*args[0]) if args[0] is not None else None)
        else:
            getattr(self.progress, name)(*args)


@dataclasses.dataclass
class _Share:
    """What the run's process knows of one child."""

    share: run_module.Share
    process: Any
    records: list[TestRecord] = dataclasses.field(default_factory=list)
    candidate: tuple[dict, dict] | None = None
    result: tuple[dict, Config | None] | None = None
    config_error: str | None = None
    stopped: bool = False  # interrupted before its tests
    failed: str = ""  # what went wrong in its process, when it did not end as a share ends
    ended: bool = False


def start_method() -> Literal["fork", "spawn"]:
    """``fork`` when it is safe (Linux, and no thread in this process but the main one), else
    ``spawn`` (see the module's docstring)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def run_shares(
    options: run_module.RunOptions, plan: list[run_module.Share], progress: Progress
) -> tuple[list[RunResult], Credential | None, Config | None, str]:
    """Every share of ``plan`` at once, a process each; returns what run._run_serially returns."""
    context: Any = multiprocessing.get_context(start_method())  # fork's or spawn's: both make Process
    for stream in (sys.stdout, sys.stderr):  # a forked child must not print this process's buffer again
        with contextlib.suppress(Exception):
            stream.flush()
    events = context.Queue()
    lock_folder = tempfile.mkdtemp(prefix="conformance-delivery-order-")
    child_options = dataclasses.replace(options, profile=None, profiles=())  # profiles go by key
    children: list[_Share] = []
    terminal = _Terminal(progress, plan)
    try:
        for index, share in enumerate(plan):
            fields = {name: getattr(share, name) for name in SHARE_FIELDS}
            process = context.Process(
                target=_child,
                args=(index, share.profile.key, child_options, fields, lock_folder, events),
                name=f"conformance-run-{share.profile.key}",
            )
            children.append(_Share(share, process))
        stopping_since = _start(children)  # before the display's refresh thread: a fork copies none
        with progress:
            _follow(children, events, terminal, stopping_since)
    finally:
        ending = [child.process for child in children if child.result is not None]
        for child in children:
            if child.result is None and child.process.is_alive():  # only after an error of this process
                child.process.kill()
            if child.result is None:
                with contextlib.suppress(ValueError, AssertionError):
                    child.process.join(timeout=10)
        _join_later(ending)
        events.close()
        shutil.rmtree(lock_folder, ignore_errors=True)
    return _parts(options, children, progress)


def _start(children: list[_Share]) -> float | None:
    """Start the children; on Ctrl-C or SIGTERM meanwhile, when the stopping began (the started ones
    are told; one not started yet is not started: its share counts as interrupted before its tests)."""
    try:
        for child in children:
            child.process.start()
    except KeyboardInterrupt:
        _signal(children, signal.SIGTERM)
        return time.monotonic()
    return None


def _join_later(processes: list[Any]) -> None:
    """Wait for processes that handed their part back in a thread of their own, which the
    interpreter waits for at exit (not a daemon): such a process is still stopping its reference NSW
    (a second or so), which the run need not wait for before it writes the report, as a serial run's
    process does not (reference_process._stop_later)."""

    def join() -> None:
        for process in processes:
            with contextlib.suppress(ValueError, AssertionError):
                process.join(STOP_BOUND_S)
                if process.is_alive():  # its reference's own stop is bounded: this is a hang
                    process.kill()
                    process.join(10)

    if processes:
        threading.Thread(target=join, name="shares-ending").start()


def _follow(children: list[_Share], events: Any, terminal: _Terminal, stopping_since: float | None) -> None:
    """Take the children's events until every child has ended; Ctrl-C or SIGTERM is forwarded."""
    for index, child in enumerate(children):
        if child.process.pid is None:
            child.stopped = child.ended = True
            terminal.end(index)
    while not all(child.ended for child in children):
        try:
            _take(children, events, terminal, block=True)
            for index, child in enumerate(children):
                if not child.ended and not child.process.is_alive():
                    _take(children, events, terminal, block=False)  # what it put before it ended
                    child.ended = True
                    terminal.end(index)
            if stopping_since is not None and time.monotonic() - stopping_since > STOP_BOUND_S:
                for child in children:
                    if child.process.is_alive():
                        child.process.kill()
        except KeyboardInterrupt:
            if stopping_since is None:
                stopping_since = time.monotonic()
                _signal(children, signal.SIGTERM)
            else:  # a second Ctrl-C: stop now
                _signal(children, signal.SIGKILL)


def _signal(children: list[_Share], signum: int) -> None:
    for child in children:
        if child.process.is_alive() and child.process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.process.pid, signum)


def _take(children: list[_Share], events: Any, terminal: _Terminal, block: bool) -> None:
    """One event (block: waiting up to POLL_S), or every event there is (not block)."""
    while True:
        try:
            index, name, args = events.get(timeout=POLL_S) if block else events.get_nowait()
        except queue.Empty:
            return
        except (EOFError, OSError, ValueError):  # a child killed mid-message: what came is kept
            return
        child = children[index]
        if name == "candidate":
            child.candidate = args
        elif name == "result":  # its last event: the share is done, its process is still ending
            child.result = args
            child.ended = True
            terminal.end(index)
        elif name == "config_error":
            child.config_error = args[0]
            _leave_out_after(children, index, terminal)
        elif name == "stopped":
            child.stopped = True
        elif name == "failed":
            child.failed = args[0]
        else:
            if name == "finished":
                child.records.append(args[0])
            terminal.event(index, name, args)
        if block:
            return


def _leave_out_after(children: list[_Share], index: int, terminal: _Terminal) -> None:
    """A share whose candidate cannot be reached ends a serial run there: the shares after it are
    not run, so here they are stopped and left out (their lines too), and the run's verdicts are
    those of a serial run."""
    for later in range(index + 1, len(children)):
        terminal.drop(later)
        process = children[later].process
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    if index == 0:  # nothing would have run: every other share is stopped too
        for other in children[1:]:
            other.config_error = other.config_error or ""


def _parts(
    options: run_module.RunOptions, children: list[_Share], progress: Progress
) -> tuple[list[RunResult], Credential | None, Config | None, str]:
    """The parts in the plan's order, as a serial run would have them."""
    parts: list[RunResult] = []
    signer: Credential | None = None
    config: Config | None = None
    stopped = ""
    for child in children:
        profile = child.share.profile
        if child.config_error is not None:
            if not parts:
                raise ConfigError(child.config_error)  # nothing run before it: a setup error (exit 4)
            stopped = f"{profile.title} not run: {child.config_error}"
            progress.announce(stopped)
            break
        if child.stopped and child.result is None:
            stopped = stopped or "the run was interrupted"
            continue
        if child.result is not None:
            fields, child_config = child.result
            part = RunResult(profile=profile, **fields)
            config = config or child_config
        else:
            part = _lost(options, child)
        parts.append(part)
        if signer is None:
            signer = profile.load_pki().nsw(part.ics.get("harness_party") or profile.partner_party)
    return parts, signer, config, stopped


def _lost(options: run_module.RunOptions, child: _Share) -> RunResult:
    """The part of a share whose process ended without handing its part back (crashed, killed)."""
    code = child.process.exitcode
    how = child.failed or (
        f"killed by signal {-code}" if isinstance(code, int) and code < 0 else f"exit code {code}"
    )
    part = run_module.not_started(
        options,
        child.share,
        f"its process ended unexpectedly ({how}) after {len(child.records)} tests; "
        "the tests it had not finished are not in this report",
    )
    if child.candidate is not None:
        part.sut, part.ics = child.candidate
    part.records = child.records
    return part
