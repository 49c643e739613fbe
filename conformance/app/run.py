"""`conformance run`: set up the candidate (the embedded reference NSW by default), run each chosen
profile's suite through pytest with the plugin attached, and write one report folder holding them
all. Several profiles run side by side, a process each (side_by_side.py), unless that cannot work or
could change a verdict (``side_by_side.chosen``; ``--serial``): then one profile after another, in
this process (``_run_serially``).

Which profiles (RCPX section 4): those of ``--profile``, else every profile the ICS claims (with
``--config``), else every installed pack against its reference NSW. A selection narrows them: a
profile none of whose requirements, layers, purposes, seeded fault or rerun tests was chosen is not
run. Each profile gets its own harness, candidate endpoint (or reference NSW) and pytest session.

Against the reference NSW everything lives on free loopback ports of the profile's process: the harness
inbox (playing the partner party) first, then the reference NSW with the inbox as its peer. The
folder holds results.json, junit.xml, report.html and evidence.zip; Ctrl-C still writes them,
marked incomplete.

What would only show after the tests is checked before them, so that a run is not wasted (exit 4,
one line naming the key; see preflight): the report folder must be writable, the TLS files load and
pair, each inbox answers in its profile's form, a claimed trigger is enabled and takes the token, and
the candidate's Ping reaches the harness inbox. A candidate that goes away mid-run ends the run with
one line instead of a fail for every test left (CandidateWatch); a fail while the harness inbox
turned connections away is inconclusive (plugin).

Egress (a run of the shared test bed): ``RunOptions.egress``, the policy the app read for this run
(egress_setting.py), guards every connection towards a configured candidate: its clients, the
pre-flight's and CandidateWatch's TCP probes. The pre-flight first checks each profile's inbox and
trigger URL against it without connecting: a denied one is one line (exit 4) before any test, never
a run of false fails. A run against the embedded reference NSW connects only to the loopback ports
it started itself, taken from no configuration: the policy does not apply to it (a service's demo
system is the reference NSW, and the service denies loopback).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import re
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from lxml import etree

from conformance import __version__
from conformance.app import coverage, operator_files, reference_process
from conformance.app.delivery_order import DeliveryOrder
from conformance.app.progress import Display, Progress
from conformance.app.site_pki import SitePkiError, passphrase_from, signer_test_material
from conformance.app.suite_ids import is_suite_test, suite_tests
from conformance.core import safexml
from conformance.core.egress import EgressPolicy
from conformance.core.egress_transport import EgressConnectFailed, EgressRefused, probe, resolve_checked
from conformance.core.profile import PingInbox, Profile, ReferenceSettings
from conformance.core.records import TestRecord
from conformance.core.terminal_text import printable
from conformance.core.trust import Credential
from conformance.core.verdicts import INCONCLUSIVE, NOT_APPLICABLE, PASS
from conformance.core.violations import Violation
from conformance.harness import registry
from conformance.harness import session as harness_module
from conformance.harness.config import TLS_PAIRS, Capacity, Config, ConfigError, Tls, Windows
from conformance.harness.control import TokenRefused, ask_for_ping, check_trigger_token
from conformance.harness.plugin import TROUBLE_WORDS, Selection, SuiteRun, inbox_trouble
from conformance.harness.session import Harness
from conformance.results import attestation, certificate, history, safe_write
from conformance.results.evidence import (
    SiteKeyError,
    load_site_signer,
    signer_json,
    write_evidence,
)
from conformance.results.html import write_html
from conformance.results.results import RunResult, RunSet, write_ctrf, write_json, write_junit
from conformance.results.view import ProfileText

# The reference NSW answers at once; short windows keep the run fast without making it flaky.
REFERENCE_WINDOWS = Windows(
    status_s=5.0,
    verification_s=5.0,
    retry_schedule_s=(0.1, 0.2, 0.4),
    request_timeout_s=15.0,
    grace_s=0.3,
    peer_timeout_s=1.0,
    operator_s=10.0,
)
# The harness's own operator printer writes to sys.__stderr__, which pytest's capture swallows while a
# test runs; a run replaces it by the progress display's (one an embedder or a test set is kept).
_STOCK_OPERATOR = harness_module._print_for_operator
_STOCK_WAITING = harness_module._not_shown  # likewise the waits, which only a live display shows
# A candidate is taken as gone when, at the end of a test that did not pass, a TCP connect to its inbox
# fails and keeps failing for CONFIRM_S (a restart in between is forgiven).
UNREACHABLE_CONFIRM_S = 3.0


@dataclass
class RunOptions:
    config: Config | None = None  # None: the embedded reference NSW
    reference_fault: str | None = None
    tls: bool = False
    requirements: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()  # test purposes (the fault kill matrix selects by purpose)
    rerun: tuple[str, ...] = ()  # test IDs of an earlier run (--rerun-failed): only these
    command: tuple[str, ...] = ()  # the command line, for the certification record
    keyword: str | None = None
    maxfail: int = 0  # stop after this many tests did not pass (0: run them all)
    report_dir: Path = Path("reports")
    live: bool | None = None  # None: a live display when stdout is a terminal
    non_interactive: bool = False  # manual mode: inconclusive instead of waiting for an operator
    non_interactive_said: str = ""  # why, when it was the default (CI, no terminal): said as tests start
    operator_dir: Path | None = None  # manual mode's operator through files (the test bed's browser)
    profile: Profile | None = None  # one profile to run (kept for callers of one; see ``profiles``)
    profiles: tuple[Profile, ...] = ()  # to run, in order; none given: claimed (--config) or installed
    serial: bool = False  # several profiles one after the other, in this process (see side_by_side)
    egress: EgressPolicy | None = None  # where a configured candidate's run may connect (None: anywhere)

    @property
    def asked(self) -> tuple[Profile, ...]:
        """The profiles named by the caller (``--profile``), in order, or ()."""
        named = (*self.profiles, *((self.profile,) if self.profile else ()))
        return tuple(dict.fromkeys(named))

    @property
    def claimed(self) -> tuple[Profile, ...]:
        """What the candidate claims: the ICS's candidate.profiles; the embedded reference NSW
        implements, and so claims, every installed profile (EFDX errata 2): a run of fewer is
        incomplete."""
        if self.config is not None:
            return tuple(registry.get(key) for key in self.config.profiles)
        return tuple(registry.installed().values()) or (registry.default(),)

    @property
    def pack(self) -> Profile:
        """The first profile to run (for callers that know of one)."""
        return (self.asked or self.claimed)[0]


@dataclass(frozen=True)
class Share:
    """One profile's share of a run: what of its suite is selected (bare IDs), against what."""

    profile: Profile
    requirements: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    rerun: tuple[str, ...] = ()  # node IDs relative to the profile's suite
    fault: str | None = None


def locate(item: str, profiles: tuple[Profile, ...], what: str) -> tuple[Profile, str]:
    """An ID in any form the outputs print (``EFDX 1.0 M-06``, ``efdx:M-06``, ``M-06``, ``m-06``, a
    purpose ``M-10/revoked``) -> its profile and its ID as that catalogue writes it. A bare ID
    belongs to the first of ``profiles`` that has it (RCPX's ``RBR-03`` to RCPX, ``M-06`` to the first)."""
    named, bare = _split(item, profiles, what)
    for profile in [named] if named else profiles:
        found = profile.catalogue().canonical(bare)
        if found is not None:
            return profile, found
    where = named.title if named else ", ".join(p.title for p in profiles)
    raise ConfigError(f"{what} {item}: not a requirement or test purpose of {where}")


def _split(item: str, profiles: tuple[Profile, ...], what: str) -> tuple[Profile | None, str]:
    """``efdx:M-06`` or ``EFDX 1.0 M-06`` -> (EFDX 1.0, ``M-06``); a bare ``M-06`` -> (None, ``M-06``)."""
    text = item.strip()
    for profile in profiles:
        for prefix in (f"{profile.key}:", f"{profile.title} "):
            if text.lower().startswith(prefix.lower()):
                return profile, text[len(prefix) :].strip()
    name, sep, rest = text.partition(":")
    if sep and name and rest and " " not in name:
        try:
            named = registry.get(name)
        except registry.ProfileError as exc:
            raise ConfigError(f"{what} {item}: {exc}") from None
        raise ConfigError(f"{what} {item}: {named.title} is not among the profiles of this run")
    return None, text


def _per_profile(items: tuple[str, ...], profiles: tuple[Profile, ...], what: str, known) -> dict:
    """Each profile's bare IDs out of ``items`` (qualified, or bare: then every profile that knows it)."""
    chosen: dict[Profile, list[str]] = {profile: [] for profile in profiles}
    for item in items:
        profile, bare = _split(item, profiles, what)
        owners = [profile] if profile else [p for p in profiles if known(p, bare)]
        if profile and not known(profile, bare):
            raise ConfigError(f"{what} {item}: {profile.title} has no {bare!r}")
        if not owners:
            titles = ", ".join(p.title for p in profiles)
            raise ConfigError(f"{what} {item}: not an ID of {titles}")
        for owner in owners:
            chosen[owner].append(owner.catalogue().canonical(bare) or bare)  # as the tests declare it
    return chosen


def _knows(kind: str) -> Callable[[Profile, str], bool]:
    """Whether a profile's catalogue has a ``kind`` ("requirement", "purpose") of that ID."""

    def knows(profile: Profile, item_id: str) -> bool:
        catalogue = profile.catalogue()
        try:
            getattr(catalogue, kind)(catalogue.canonical(item_id) or item_id)  # m-06 is M-06
        except KeyError:
            return False
        return True

    return knows


def _rerun_tests(test_ids: tuple[str, ...], profiles: tuple[Profile, ...]) -> dict[Profile, tuple[str, ...]]:
    """Each profile's tests out of ``--rerun-failed``'s IDs (read from a results.json that may come
    from anywhere): only IDs of the installed suites' tests; the others are named on one line and
    ignored, never imported (an ID may name any Python file: ``efdx//tmp/x.py::t``, ``efdx/../..``)."""
    chosen: dict[Profile, tuple[str, ...]] = {}
    ignored: list[str] = []
    for profile in profiles:
        known = suite_tests(profile.suite_package)
        mine = [t.removeprefix(f"{profile.key}/") for t in test_ids if t.startswith(f"{profile.key}/")]
        chosen[profile] = tuple(t for t in mine if is_suite_test(t, known))
        ignored += [f"{profile.key}/{t}" for t in mine if not is_suite_test(t, known)]
    if ignored:
        shown = ", ".join(ignored[:5]) + (f" and {len(ignored) - 5} more" if len(ignored) > 5 else "")
        print(
            printable(f"--rerun-failed: ignored, not a test of the installed suites: {shown}"),
            file=sys.stderr,
        )
    return chosen


def _judged_by_load(asked: str, profile: Profile) -> bool:
    """Whether a requirement, purpose or layer the run is asked for is one only a load run judges
    (the capacity rows, EFDX errata 2)."""
    catalogue = profile.catalogue()
    if asked.upper() in catalogue.layers:
        rows = catalogue.by_layer(asked.upper())
        return bool(rows) and all(req.judged_by == "load" for req in rows)
    try:
        return catalogue.requirement(asked.split("/")[0]).judged_by == "load"
    except KeyError:
        return False


def shares(options: RunOptions) -> list[Share]:
    """What each profile of this run runs, in order; ConfigError (exit 4) for what names nothing."""
    claimed = options.claimed
    base = options.asked or claimed
    if options.config is not None:
        stray = [p for p in base if p not in claimed]
        if stray:
            raise ConfigError(
                f"--profile {stray[0].key}: the ICS does not claim {stray[0].title} "
                f"(candidate.profiles: {', '.join(p.key for p in claimed)})"
            )
    for asked in (*options.requirements, *options.purposes, *options.layers):
        if any(_judged_by_load(asked, profile) for profile in base):
            raise ConfigError(
                f"{asked}: judged and certified by a load run (`conformance load`), not by `conformance run`"
            )
    requirements = _per_profile(options.requirements, base, "--requirement", _knows("requirement"))
    purposes = _per_profile(options.purposes, base, "purpose", _knows("purpose"))
    layers: dict[Profile, list[str]] = {
        p: [x.upper() for x in options.layers if x.upper() in p.catalogue().layers] for p in base
    }
    for layer in options.layers:
        if not any(layer.upper() in p.catalogue().layers for p in base):
            known = "; ".join(f"{p.title}: {' '.join(p.catalogue().layers)}" for p in base)
            raise ConfigError(f"--layer {layer}: not a layer of the profiles run ({known})")
    faults: dict[Profile, str | None] = {}
    for profile in base:
        try:
            faults[profile] = options.reference_fault if profile.fault(options.reference_fault) else None
        except KeyError:
            continue
    if options.reference_fault and not faults:
        raise ConfigError(
            f"--reference-fault {options.reference_fault}: no seeded fault of that name in "
            f"{', '.join(p.title for p in base)}; `conformance reference faults` lists them"
        )
    rerun = _rerun_tests(options.rerun, base)
    selecting = bool(options.requirements or options.layers or options.purposes)
    found = []
    for profile in base:
        if selecting and not (requirements[profile] or layers[profile] or purposes[profile]):
            continue
        if options.reference_fault and profile not in faults:
            continue
        if options.rerun and not rerun[profile]:
            continue
        found.append(
            Share(
                profile,
                tuple(requirements[profile]),
                tuple(layers[profile]),
                tuple(purposes[profile]),
                rerun[profile],
                faults.get(profile),
            )
        )
    if options.rerun and not found:
        raise ConfigError("--rerun-failed: none of its tests is of a profile of this run")
    if not found:
        raise ConfigError("the selection names nothing in the profiles of this run")
    return found


def reference_config(profile: Profile, url: str, trigger_url: str, token: str, tls: bool) -> Config:
    """The reference NSW's ICS: its profile's party, every capability the profile knows (capacity
    with the figures it declares, where its pack can load-test it: a load run judges those)."""
    capacity = Capacity(**profile.load().declared_capacity()) if profile.load is not None else None
    return Config(
        party=profile.reference_party,
        profiles=(profile.key,),
        inbox_url=url,
        capabilities=frozenset(c for c in profile.capabilities if c != "capacity" or capacity),
        capacity=capacity,
        windows=REFERENCE_WINDOWS,
        trigger_url=trigger_url,
        trigger_token=token,
        tls=Tls(enabled=tls),
        harness_party=profile.partner_party,
    )


@contextlib.contextmanager
def candidate(options: RunOptions, share: Share | None = None) -> Iterator[tuple[Harness, dict]]:
    """A started harness and, for reference runs, a started reference NSW; both stopped after."""
    profile = share.profile if share else options.pack
    fault = share.fault if share else options.reference_fault
    if options.config is not None:
        config = options.config.for_profile(profile.key)
        # the one check of a run of one; after preflight, it may have gone
        reachable(config.inbox_url, egress=options.egress)
        harness = Harness(config, profile=profile, egress=options.egress).start()
        try:
            yield (
                harness,
                {"url": config.inbox_url, "party": config.party, "reference": False},
            )
        finally:
            harness.stop()
        return
    token = secrets.token_hex(16)
    party = profile.reference_party
    placeholder = reference_config(profile, "http://127.0.0.1:1/", "http://127.0.0.1:1/", token, options.tls)
    harness = Harness(placeholder, profile=profile).start()
    workdir = Path(tempfile.mkdtemp(prefix=f"{profile.key}-reference-"))  # removed once it has stopped
    settings = ReferenceSettings(
        party=party,
        db=workdir / "reference.sqlite",
        peers={harness.party: harness.inbox_url},
        fault=fault,
        retry_schedule=REFERENCE_WINDOWS.retry_schedule_s,
        outbound_timeout=REFERENCE_WINDOWS.peer_timeout_s,
        trigger_token=token,
        tls=options.tls,
    )
    try:
        with reference_process.serving(profile, settings, workdir) as reference:
            assert reference.trigger_url is not None  # started with a token: serving waited for its trigger
            harness.config = reference_config(
                profile, reference.url, reference.trigger_url, token, options.tls
            )
            harness.reserve_for_candidate()
            yield (
                harness,
                {
                    "url": reference.url,
                    "party": party,
                    "reference": True,
                    "fault": fault,
                },
            )
    finally:
        harness.stop()


def reachable(url: str, timeout: float = 5.0, egress: EgressPolicy | None = None) -> None:
    """Pre-flight: a candidate nobody can connect to is a setup problem (exit 4), not a verdict."""
    problem = connect_problem(url, timeout, egress)
    if problem is not None:
        raise ConfigError(f"candidate.inbox_url: cannot connect to {problem}") from None


def connect_problem(url: str, timeout: float = 2.0, egress: EgressPolicy | None = None) -> str | None:
    """None when a TCP connection to ``url``'s host and port opens, else ``host:port: why`` (under
    an egress policy, checked against it and coarse: see egress_transport)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if egress is not None:
        problem = probe(parts.hostname or "", port, egress, timeout)
        return None if problem is None else f"{parts.hostname}:{port}: {problem}"
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"{parts.hostname}:{port}: {exc}"
    return None


def check_report_dir(report_dir: Path) -> None:
    """Pre-flight: the reports are written after the tests, so an unwritable folder must be found now."""
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=report_dir, prefix=".conformance-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--report-dir: cannot write to {report_dir}: {exc.strerror or exc}") from None


class CandidateWatch:
    """Notices a candidate that went away mid-run, so that its absence is said once (not as a T-01
    fail for every test left) and the run ends incomplete rather than not-conformant.

    Each test that did not pass (fail or error) is looked at before its verdict is shown or kept: if a
    TCP connect to the candidate's inbox fails then, and keeps failing for UNREACHABLE_CONFIRM_S (a
    restart in between is forgiven), the candidate went away while the test was in flight (an M-21
    waiting for retries that never come, a T-01 whose connection was refused): the test is
    inconclusive, and every test left is not run. A candidate that accepts connections and resets
    them is still there, and is judged as before.
    """

    def __init__(
        self, url: str, plugin: SuiteRun, progress: Display, egress: EgressPolicy | None = None
    ) -> None:
        self.url, self.plugin, self.progress, self.egress = url, plugin, progress, egress
        self.line = ""

    def finished(self, record: TestRecord) -> None:
        """Called as a test ends, before its verdict is shown: the terminal and results.json agree."""
        if self.plugin.halt_reason or record.verdict in (PASS, NOT_APPLICABLE, INCONCLUSIVE):
            return
        if not self._down():
            return
        problem = self._still_down()
        if problem is None:
            return
        self._halt(record, problem)

    def _down(self) -> bool:
        return connect_problem(self.url, egress=self.egress) is not None

    def _still_down(self) -> str | None:
        """Why the candidate cannot be reached, after UNREACHABLE_CONFIRM_S of trying; None if it can."""
        deadline = time.monotonic() + UNREACHABLE_CONFIRM_S
        while True:
            problem = connect_problem(self.url, egress=self.egress)
            if problem is None or time.monotonic() >= deadline:
                return problem
            time.sleep(0.25)

    def _halt(self, record: TestRecord, problem: str) -> None:
        gone = f"the candidate became unreachable ({problem})"
        # it was in flight when the candidate went: nothing it saw is the candidate's to carry
        record.verdict, record.failed_requirements = INCONCLUSIVE, ()
        record.reason = f"{gone}; this test saw: {record.reason}"
        self.plugin.halt_reason = f"not run: {gone}"
        left = max(self.plugin.total - len(self.plugin.records), 0)
        line = (
            f"candidate unreachable: {problem} (at the end of a test, then {UNREACHABLE_CONFIRM_S:g} s of "
            f"retries); that test and the {left} tests left are inconclusive"
        )
        self.line = line
        self.progress.announce(line, quiet_reason=self.plugin.halt_reason)


def ics_of(config: Config) -> dict:
    return {
        "party": config.party,
        "profiles": [registry.get(key).title for key in config.profiles],
        "roles": list(config.roles),
        "capabilities": sorted(config.capabilities),
        "capacity": dataclasses.asdict(config.capacity) if config.capacity else None,
        "declarations": list(config.declarations),
        "windows": dataclasses.asdict(config.windows),
        "trigger": config.claims("trigger") and config.trigger_url is not None,
        "tls": config.tls.enabled,
        "harness_party": config.harness_party,
    }


def certification_record(
    options: RunOptions, config: Config, profiles: tuple[Profile, ...] | None = None
) -> dict:
    """Who and what was judged, by which harness, how chosen: what a partner state reads first."""
    ran = profiles or options.asked or options.claimed
    return {
        "profile": " + ".join(p.title for p in ran),
        "profiles": [p.title for p in ran],
        "claimed": [p.title for p in options.claimed],
        "harness_version": __version__,
        "candidate_build": config.build,
        "site": config.site,
        "operator": config.operator,
        "command": list(options.command),
        "selection": {
            "requirements": list(options.requirements),
            "layers": list(options.layers),
            "purposes": list(options.purposes),
            "keyword": options.keyword,
            "maxfail": options.maxfail,
            "rerun": len(options.rerun),
        },
        "config_sha256": config.sha256,
    }


def inbox_counts(inbox) -> dict[str, int]:
    """What the harness inbox turned away or did not keep whole: an attack or a flood shows here."""
    connections = inbox.connections
    return {
        "arrivals": len(inbox.arrivals),
        "bodies_cut": inbox.bodies_cut,
        "bytes_dropped": inbox.bytes_dropped,
        "connections_refused": connections.refused,
        "connections_timed_out": connections.timed_out,
        "connections_failed": connections.failed,
        "unregistered_client_certs": getattr(inbox, "unregistered", 0),
    }


def pytest_args(
    options: RunOptions, profile: Profile | None = None, rerun: tuple[str, ...] = ()
) -> list[str]:
    """The pytest command line of the profile's suite (every test, or ``rerun``: node IDs of its suite
    from ``--rerun-failed``)."""
    suite = importlib.import_module((profile or options.pack).suite_package)
    suite_dir = Path(suite.__file__ or ".").parent
    targets = [str(suite_dir / test_id) for test_id in rerun] or [str(suite_dir)]
    args = [
        *targets,
        "--rootdir",
        str(suite_dir),
        "-c",
        os.devnull,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "-p",
        "no:randomly",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if options.keyword:
        args += ["-k", options.keyword]
    if options.maxfail:
        args += ["--maxfail", str(options.maxfail)]
    return args


def run(options: RunOptions) -> tuple[int, Path]:
    """Run the suite; return the exit code (0 all applicable passed, 1 otherwise) and the report folder.
    A selection that names nothing is told first (ConfigError), before anything is made or started."""
    plan = shares(options)
    check_report_dir(options.report_dir)
    # the harness inboxes run on werkzeug, whose access log (a line per request) would reach stderr
    # from the pre-flight's inbox, started before pytest captures logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    progress = Progress(live=sys.stdout.isatty() if options.live is None else options.live)
    try:
        with _terminate_as_interrupt():
            return _run(options, plan, progress)
    finally:
        progress.close()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job's timeout, `docker stop`) ends a run as Ctrl-C does: the test under way is
    inconclusive, the rest are not run, the report is written and the reference NSW stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _new_folder(report_dir: Path, started: datetime) -> Path:
    """The run's folder, named by its start to the second; a second run started in the same second
    gets ``-2`` (then ``-3``...) instead of writing over the first (names still sort by start)."""
    name = started.strftime("%Y%m%dT%H%M%SZ")
    folder, number = report_dir / name, 2
    while folder.exists() or folder.is_symlink():
        folder, number = report_dir / f"{name}-{number}", number + 1
    return folder


def _run(options: RunOptions, plan: list[Share], progress: Progress) -> tuple[int, Path]:
    from conformance.app import side_by_side  # it runs each share through this module's _run_profile

    started = datetime.now(timezone.utc)
    folder = _new_folder(options.report_dir, started)
    site = site_signer(options.config)
    if options.config is not None:
        preflight(options, plan, progress)
    if options.non_interactive_said:
        progress.announce(options.non_interactive_said)
    if side_by_side.chosen(options, plan):
        parts, signer, config, stopped = side_by_side.run_shares(options, plan, progress)
    else:
        parts, signer, config, stopped = _run_serially(options, plan, progress)
    if (
        options.keyword
        and parts
        and not any(part.records for part in parts)
        and all(part.extra.get("no_tests_collected") for part in parts)
    ):
        also = " together with --requirement/--layer" if options.requirements or options.layers else ""
        raise ConfigError(f"-k {options.keyword!r}{also}: matches no test (nothing was run)")
    for part in parts:
        part.extra.pop("no_tests_collected", None)
    if not parts:  # interrupted before the first profile's tests: the report still says so
        parts = [not_started(options, plan[0], "the run was interrupted before its first test")]
    result = RunSet(
        parts, options.claimed, started=started, finished=datetime.now(timezone.utc), stopped=stopped
    )
    result.extra["record"] = certification_record(
        options, options.config or config or _placeholder(plan[0].profile), tuple(s.profile for s in plan)
    )
    notes = _since_previous(options.report_dir, folder, result)
    if signer is None:  # interrupted before the first profile's harness started
        signer = plan[0].profile.load_pki().nsw(plan[0].profile.reference_party)
    write_reports(result, folder, site or signer, profile_texts(tuple(part.profile for part in parts)))
    try:  # this run's report is written: now what reads the other folders, which never stops it
        history.write_index(options.report_dir)
    except Exception as exc:  # noqa: BLE001
        notes.append(f"reports index not written: {type(exc).__name__}: {exc}")
    for note in notes:
        print(printable(note), file=sys.stderr)
    progress.summary(result, folder)
    return (0 if result.all_applicable_passed else 1), folder


def not_started(options: RunOptions, share: Share, note: str) -> RunResult:
    """The part of a share that has no record to give (interrupted before its tests, or its process
    lost before it said its candidate): the candidate as configured, no test, interrupted."""
    profile = share.profile
    config = options.config.for_profile(profile.key) if options.config else None
    if config is not None:
        sut: dict = {"url": config.inbox_url, "party": config.party, "reference": False}
    else:
        sut = {"url": None, "party": profile.reference_party, "reference": True, "fault": share.fault}
    now = datetime.now(timezone.utc)
    part = RunResult(
        profile=profile,
        sut=sut,
        ics=ics_of(config or _placeholder(profile)),
        started=now,
        finished=now,
        records=[],
        interrupted=True,
        partial=True,
        purpose_gaps=coverage.gap_rows(profile),
    )
    part.extra["note"] = f"{profile.title}: {note}"
    return part


def _run_serially(
    options: RunOptions, plan: list[Share], progress: Progress
) -> tuple[list[RunResult], Credential | None, Config | None, str]:
    """Each profile's share in turn, in this process: the parts run, the first one's signer and
    configuration, and why the run stopped early ('' when it did not)."""
    parts: list[RunResult] = []
    signer: Credential | None = None
    config: Config | None = None
    stopped = ""
    for share in plan:
        left = options.maxfail - sum(not_passed(part) for part in parts) if options.maxfail else 0
        try:
            part, harness = _run_profile(
                dataclasses.replace(options, maxfail=left), share, progress, several=len(plan) > 1
            )
        except KeyboardInterrupt:  # between two profiles (their tests catch their own)
            stopped = "the run was interrupted"
            break
        except ConfigError as exc:
            if not parts:
                raise  # nothing run yet: a setup error (exit 4)
            stopped = f"{share.profile.title} not run: {exc}"  # its candidate went after preflight
            progress.announce(stopped)
            break
        parts.append(part)
        signer = signer or harness.pki.nsw(harness.party)
        config = config or harness.config
        if part.interrupted or (options.maxfail and not_passed(part) >= left):
            break  # --maxfail counts over the whole run: the profiles left are not run
    return parts, signer, config, stopped


def _since_previous(report_dir: Path, folder: Path, result: RunSet) -> list[str]:
    """Set ``since_previous`` from the latest readable earlier run of ``report_dir`` (other folders
    are untrusted: read under caps, a corrupt one skipped); the notes of what was skipped. Nothing
    found there can keep this run's report from being written."""
    try:
        since, notes = history.since_latest_readable(report_dir, folder, result.verdicts())
    except Exception as exc:  # noqa: BLE001 - the run's own report is written whatever the others hold
        return [f"since the previous run: not compared ({type(exc).__name__})"]
    if since is not None:
        result.extra["since_previous"] = since
    return notes


def not_passed(part: RunResult) -> int:
    """Tests of ``part`` that count towards --maxfail (neither passed nor not-applicable)."""
    return sum(1 for record in part.records if record.verdict not in (PASS, NOT_APPLICABLE))


def _placeholder(profile: Profile) -> Config:
    return reference_config(profile, "http://127.0.0.1:1/", "http://127.0.0.1:1/", "", False)


def preflight(options: RunOptions, plan: list[Share], progress: Progress) -> None:
    """Before any test of a run against a configured candidate, find what is no candidate behaviour
    at all but a wrong configuration (exit 4, one line naming the key), for every profile of the run
    before the first one's tests: the TLS files load and pair; each profile's inbox takes connections
    and its trigger (when claimed) is enabled and takes the token; then each inbox answers in its
    profile's form (check_inbox) and the candidate reaches the harness inbox (check_reached). Each
    profile gets a harness of its own for it, stopped before the tests start theirs. (Each inbox is
    tried again as its profile starts, in candidate(): the candidate may have gone.)"""
    assert options.config is not None
    check_tls_files(options.config.tls)
    configs = [(share.profile, options.config.for_profile(share.profile.key)) for share in plan]
    if options.egress is not None:  # before any connection: a denied URL is never tried
        for profile, config in configs:
            check_egress(options.config, profile, config, options.egress)
    for profile, config in configs:  # the cheap checks of every profile first
        reachable(config.inbox_url, egress=options.egress)
        with _harness_for(config, profile, options.egress) as harness:
            check_token(harness)
    for profile, config in configs:
        with _harness_for(config, profile, options.egress) as harness:
            check_inbox(harness, _inbox_key(options.config, profile))
            check_reached(harness, progress)


def check_egress(whole: Config, profile: Profile, config: Config, egress: EgressPolicy) -> None:
    """Pre-flight: the profile's inbox and (claimed) trigger URLs are ones the run may connect to,
    every address their hosts resolve to now allowed by ``egress``; else one line naming the key
    (exit 4). Nothing is sent: the answer says nothing of what listens there. A host that does not
    resolve is left to ``reachable``."""
    urls = [(_inbox_key(whole, profile), config.inbox_url)]
    if config.claims("trigger") and config.trigger_url:
        urls.append((_trigger_key(whole, profile), config.trigger_url))
    for key, url in urls:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            resolve_checked(parts.hostname or "", port, egress)
        except EgressRefused as exc:
            raise ConfigError(
                f"{key}: {url}: {exc} (its host or network is not allow-listed for runs)"
            ) from None
        except EgressConnectFailed:
            continue


@contextlib.contextmanager
def _harness_for(config: Config, profile: Profile, egress: EgressPolicy | None = None) -> Iterator[Harness]:
    harness = Harness(config, profile=profile, egress=egress).start()
    try:
        yield harness
    finally:
        harness.stop()


def _inbox_key(config: Config, profile: Profile) -> str:
    """The configuration key a profile's inbox URL comes from."""
    if profile.key in config.endpoints:
        return f"candidate.endpoints.{profile.key}.inbox_url"
    return "candidate.inbox_url"


def _trigger_key(config: Config, profile: Profile) -> str:
    """The configuration key a profile's trigger URL comes from."""
    if profile.key in config.endpoints:
        return f"candidate.endpoints.{profile.key}.trigger_url"
    return "candidate.trigger.url"


def check_token(harness: Harness) -> None:
    """Pre-flight: a trigger that refuses the token, or is not enabled, is a setup problem (exit 4),
    not an error of every test that would ask it."""
    try:
        check_trigger_token(harness)
    except TokenRefused as exc:
        raise ConfigError(str(exc)) from None


# What a profile's inbox answers an empty POST: in the profile's form (an Error, 400, in its
# namespaces) whatever is wrong with it; 5xx is the spec's transient answer ("anything"). What
# answers 404 or 405, or something that is not XML of the profile, is not its inbox at all.
INBOX_NOT_THERE = (404, 405)


def check_inbox(harness: Harness, key: str = "candidate.inbox_url") -> None:
    """Pre-flight: the candidate's inbox of the harness's profile answers in that profile's form.

    An empty body is POSTed (no message, nothing a candidate could take). Connection refused, a TLS
    failure, 404 or 405, or an answer (not 5xx) whose body is not XML in one of the profile's
    namespaces is a wrong URL or path, or wrong TLS files: ConfigError naming ``key``. Any answer in
    the profile's form, however wrong, and a reset or a timeout, goes on to the tests, which judge
    it."""
    url, profile = harness.config.inbox_url, harness.profile
    exchange = harness.client.post(url, b"", label="inbox check (pre-flight)")
    if exchange.status is None:
        error = exchange.error or "no answer"
        if error.startswith("TLS failure"):
            raise ConfigError(f"{key}: {url}: {error} (check it and the tls.* files)")
        problem = (
            connect_problem(url, egress=harness.egress) if error.startswith("connection failed") else None
        )
        if problem is not None:
            raise ConfigError(f"{key}: cannot connect to {problem}")
        return  # a reset or no answer in time: the candidate's behaviour (T-01), judged by the tests
    if exchange.status in INBOX_NOT_THERE:
        raise ConfigError(
            f"{key}: {url} answered a POST with HTTP {exchange.status}: no {profile.title} inbox there "
            f"(a wrong URL or path? its inbox path is {profile.inbox_path})"
        )
    if exchange.status >= 500 or not profile.namespaces:
        return  # a pack that names no XML namespaces says nothing of its answers' form
    problem = _outside(exchange.response_body, profile.namespaces)
    if problem:
        raise ConfigError(
            f"{key}: {url} answered HTTP {exchange.status} with {problem}: not a {profile.title} inbox "
            f"(a wrong URL or path? its inbox path is {profile.inbox_path})"
        )


def _outside(body: bytes, namespaces: tuple[str, ...]) -> str:
    """Why ``body`` is not XML in one of ``namespaces`` ('' when it is)."""
    if not body.strip():
        return "an empty body"
    try:
        root = safexml.parse_untrusted(body)
    except Violation:  # broken XML of the profile (a bad character in an Error) is the tests' to judge
        start = _ROOT_TAG.search(body[:4096])
        if start is not None and any(f'"{ns}"'.encode() in start.group() for ns in namespaces):
            return ""
        return f"a body that is not XML ({printable(body[:60].decode('utf-8', 'replace'))!r})"
    namespace = etree.QName(root).namespace
    if namespace not in namespaces:
        return f"XML outside its namespaces (root {printable(str(root.tag))[:120]})"
    return ""


# The first element's start tag, past an XML declaration, comments and a DOCTYPE.
_ROOT_TAG = re.compile(rb"<(?![?!])[^>]*>")


# The longest wait for the candidate's Ping (its status window, at most this).
PING_WAIT_MAX_S = 120.0


def check_reached(harness: Harness, progress: Display | None, forget: bool = False) -> None:
    """Pre-flight: the candidate reaches the harness inbox. With a trigger, it is asked to send a
    Ping to the harness party (errata 2) and the Ping must arrive within the status window (at most
    PING_WAIT_MAX_S): else ConfigError naming the candidate's peer entry to check. A trigger that does
    not take a Ping (an implementation before errata 2) leaves it to the operator, as does a
    candidate without a trigger: a line says what to check. ``forget``: the Ping is not kept among
    the harness inbox's arrivals (the run's own harness: its tests see only their own)."""
    where = "harness.url" if harness.config.harness_url else "harness.listen"
    peer = f"the candidate's peer entry for {harness.party} must be {harness.inbox_url}"
    if harness.manual_mode:
        _say(progress, f"pre-flight: no test trigger, so the harness cannot see that it is reached: {peer}")
        return
    before = {id(arrival) for arrival in list(harness.inbox.arrivals)}
    trouble = inbox_trouble(harness)
    exchange = ask_for_ping(harness)
    if exchange.status != 202:
        observed = exchange.error or f"HTTP {exchange.status}"
        _say(
            progress, f"pre-flight: the test trigger did not take a Ping ({observed}), check yourself: {peer}"
        )
        return
    window = min(harness.config.windows.status_s, PING_WAIT_MAX_S)
    inbox = cast(PingInbox, harness.inbox)  # a trigger's profile: registry.check_made saw both methods
    arrival = inbox.wait_for(lambda arrival: id(arrival) not in before, window, pending=True)
    if arrival is None:
        turned = {what: count - trouble.get(what, 0) for what, count in inbox_trouble(harness).items()}
        if turned.get("unregistered", 0) > 0:
            raise ConfigError(
                f"tls.candidate_cert: the candidate took a Ping for {harness.party} (trigger HTTP 202) and "
                f"connected with a client certificate other than {harness.config.tls.candidate_cert}, "
                "which the harness inbox answered 403: name the certificate the candidate presents"
            )
        meanwhile = ", ".join(f"{TROUBLE_WORDS[what]} {count}" for what, count in turned.items() if count > 0)
        raise ConfigError(
            f"{where}: the candidate took a Ping for {harness.party} (trigger HTTP 202) but nothing reached "
            f"the harness inbox within {window:g} s: {peer}, and reach this host"
            + (f" (meanwhile the harness inbox turned away: {meanwhile})" if meanwhile else "")
        )
    if forget:
        inbox.forget(arrival)


def _say(progress: Display | None, line: str) -> None:
    if progress is not None:
        progress.announce(line)
    else:
        print(printable(line), flush=True)


# What a TLS file of the configuration may hold at most (it is read whole).
TLS_FILE_MAX = 1024 * 1024


def check_tls_files(tls: Tls) -> None:
    """Pre-flight: the configured TLS files load (PEM), and each key goes with its certificate; the
    first that does not is one line naming its key (a key that is not PEM showed only as a T-01 'TLS
    failure' of the first test)."""
    if tls.ca_bundle is not None:
        _pem_certificates(tls.ca_bundle, "tls.ca_bundle")
    if tls.candidate_cert is not None:
        _pem_certificates(tls.candidate_cert, "tls.candidate_cert")
    for cert_key, key_key in TLS_PAIRS:
        cert_path, key_path = getattr(tls, cert_key), getattr(tls, key_key)
        if cert_path is None or key_path is None:
            continue
        leaf = _pem_certificates(cert_path, f"tls.{cert_key}")[0]
        try:
            key = serialization.load_pem_private_key(_tls_file(key_path, f"tls.{key_key}"), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ConfigError(
                f"tls.{key_key}: {key_path} is not an unencrypted PEM private key ({_first_line(exc)})"
            ) from None
        if _spki(key.public_key()) != _spki(leaf.public_key()):
            raise ConfigError(
                f"tls.{key_key}: {key_path} does not go with tls.{cert_key} {cert_path} (another key pair)"
            )


def _tls_file(path: Path, where: str) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(TLS_FILE_MAX + 1)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > TLS_FILE_MAX:
        raise ConfigError(f"{where}: {path} is larger than {TLS_FILE_MAX} bytes: not a PEM file")
    return data


def _pem_certificates(path: Path, where: str) -> list:
    try:
        found = x509.load_pem_x509_certificates(_tls_file(path, where))
    except ValueError as exc:
        raise ConfigError(f"{where}: {path} holds no PEM certificate ({_first_line(exc)})") from None
    return found


def _spki(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def _run_profile(
    options: RunOptions,
    share: Share,
    progress: Display,
    several: bool,
    order: DeliveryOrder | None = None,
    on_started: Callable[[Harness, dict], None] | None = None,
) -> tuple[RunResult, Harness]:
    """One profile's share: its harness and candidate (or reference NSW), its own pytest session.
    ``order``: the delivery-order lock of profiles run side by side (a process of its own each);
    ``on_started``: told the harness and the candidate once both are up."""
    profile = share.profile
    started = datetime.now(timezone.utc)
    interrupted, code = False, None
    preflight_order = order.shared if order is not None else contextlib.nullcontext
    with candidate(options, share) as (harness, sut):
        if order is not None:
            order.bind(harness.party)
        if on_started is not None:
            on_started(harness, sut)
        harness.non_interactive = options.non_interactive
        if options.operator_dir is not None:  # the test bed: prompts and answers as files
            harness.tell_operator = operator_files.FileChannel(options.operator_dir, also=progress.operator)
        elif harness.tell_operator is _STOCK_OPERATOR:
            harness.tell_operator = operator_files.shown_by(progress.operator)
        if harness.tell_waiting is _STOCK_WAITING:
            harness.tell_waiting = progress.wait
        if options.config is None:  # the reference NSW is checked as a candidate is (preflight)
            check_token(harness)
            check_inbox(harness)
            with preflight_order():  # its Ping waits for the candidate at the harness party
                check_reached(harness, progress, forget=True)
        progress.begin_profile(profile.key, profile.title, several)
        plugin = SuiteRun(
            harness,
            Selection(list(share.requirements), list(share.layers), list(share.purposes)),
            on_test_start=progress.started,
        )
        watch = CandidateWatch(harness.config.inbox_url, plugin, progress, harness.egress)

        def test_ended(record: TestRecord) -> None:
            watch.finished(record)  # first: a test in flight when the candidate went is inconclusive
            progress.finished(record)

        plugin.on_test_end = test_ended
        try:
            with progress:
                plugins: list[object] = [plugin, *([order] if order is not None else [])]
                code = pytest.main(pytest_args(options, profile, share.rerun), plugins=plugins)
            interrupted = plugin.interrupted or code == pytest.ExitCode.INTERRUPTED
        except KeyboardInterrupt:
            interrupted = True
        if plugin.collected and not share.rerun:  # the whole suite: its coverage needs no collection
            coverage.remember(profile, coverage.declared(plugin.collected, plugin.catalogue))
        result = RunResult(
            profile=profile,
            sut=sut,
            ics=ics_of(harness.config),
            started=started,
            finished=datetime.now(timezone.utc),
            records=plugin.records,
            interrupted=interrupted,
            partial=bool(
                options.requirements or options.layers or options.purposes or options.keyword or options.rerun
            )
            or len(plugin.records) < plugin.total,
            purpose_gaps=coverage.gap_rows(profile),
        )
        result.extra["harness_inbox"] = inbox_counts(harness.inbox)
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            result.extra["note"] = f"the suite could not run (pytest exit {int(code)}); see the output above"
            result.interrupted = True
        elif not plugin.records:
            result.extra["note"] = "no test was selected"
            if code == pytest.ExitCode.NO_TESTS_COLLECTED and not plugin.total:
                result.extra["no_tests_collected"] = True
        elif plugin.halt_reason:
            result.extra["note"] = watch.line
    return result, harness


def site_signer(config: Config | None) -> Credential | None:
    """Pre-flight: the site's evidence key and certificate ([site] key_file, cert_file, and the
    passphrase in the environment variable passphrase_env names), or None for a rehearsal (the TEST
    ONLY key signs then); a key that cannot sign is found before the tests (ConfigError, exit 4)."""
    if config is None or config.site_cert is None or config.site_key is None:
        return None
    return site_key_signer(config.site_cert, config.site_key, config.site_passphrase_env)


def site_key_signer(cert: Path, key: Path, passphrase_env: str | None) -> Credential:
    """A ``[site]`` key and certificate loaded to sign (the passphrase from ``passphrase_env``), or
    ConfigError, one line, naming why it cannot: `conformance run`'s and the pilot's alike."""
    try:
        passphrase = (
            passphrase_from(passphrase_env, "site.passphrase_env", minimum=1) if passphrase_env else None
        )
        return load_site_signer(cert, key, passphrase)
    except (SiteKeyError, SitePkiError) as exc:
        raise ConfigError(str(exc)) from None


def profile_texts(profiles: tuple[Profile, ...]) -> ProfileText:
    """The words of every profile of a run, each under its title (one profile's own, for one)."""
    if len(profiles) == 1:
        return profile_text(profiles[0])
    texts = {profile.title: profile_text(profile) for profile in profiles}
    first = next(iter(texts.values()), ProfileText())
    return ProfileText(spec_file=first.spec_file, profiles=texts)


def profile_text(profile: Profile) -> ProfileText:
    """The profile's words for the report: requirement texts, and where its specification ships."""
    describe = profile.extras.get("test_description")
    return ProfileText(
        requirement=profile.spec_text,
        test_description=describe if callable(describe) else (lambda test_id: None),
        spec_file=profile.extras.get("spec_file"),
    )


REPORT_FILES = (
    "results.json",
    "junit.xml",
    "ctrf.json",
    "report.html",
    "evidence.zip",
    attestation.FILE_NAME,
    "certificate.html",
    "certificate.pdf",
    "report.pdf",
)


def write_reports(
    result: RunResult | RunSet, folder: Path, signer: Credential, text: ProfileText | None = None
) -> list[Path]:
    """results.json, junit.xml, ctrf.json, report.html, evidence.zip signed by ``signer``; for a run
    that can certify its in-toto attestation (evidence.zip.intoto.jsonl, whatever its verdict), and
    for a certifying conformant run the certificate; returns the certificate files written."""
    result = RunSet.of(result)
    safe_write.real_folder(folder)  # a run folder that is a link is refused: nothing written through it
    safe_write.unlink_links(folder, REPORT_FILES)  # a link planted at a report's name is not followed
    # Whether the signer may certify is the app's to find (every installed pack declares its TEST
    # ONLY material); the results are told, as data.
    material = signer_test_material(signer, (part.profile for part in result.parts))
    result.test_only_signer = material is not None
    result.test_only_reason = (material or "") if signer.name == "site" else ""  # else: no site key
    result.extra["signer"] = signer_json(signer, material)
    data = write_json(result, folder / "results.json")
    write_junit(result, folder / "junit.xml")
    write_ctrf(result, folder / "ctrf.json")
    write_html(data, result.counts(), folder / "report.html", text)
    digest = write_evidence(folder, data, folder / "evidence.zip", signer, result.records)
    if data["certification"]["can_certify"]:  # a rehearsal's would attest nothing anyone may rely on
        safe_write.write_bytes(folder / attestation.FILE_NAME, attestation.issue(data, digest, signer))
    return certificate.write(folder, data, digest)
