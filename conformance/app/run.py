"""`conformance run`: set up the candidate (the embedded reference NSW by default), run a profile's
suite through pytest with the plugin attached, and write the report folder.

Against the reference NSW everything lives on free loopback ports of this process: the harness
inbox (playing the partner party) first, then the reference NSW with the inbox as its peer. The
folder holds results.json, junit.xml, report.html and evidence.zip; Ctrl-C still writes them,
marked incomplete.

What would only show after the tests is checked before them, so that a run is not wasted: the
report folder must be writable and a configured trigger must take the token (both exit 4). A
candidate that goes away mid-run ends the run with one line instead of a fail for every test left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import secrets
import socket
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conformance import __version__
from conformance.app.progress import Progress
from conformance.core.profile import Profile, ReferenceSettings
from conformance.core.trust import Credential
from conformance.core.verdicts import INCONCLUSIVE, NOT_APPLICABLE, PASS
from conformance.harness import registry
from conformance.harness import session as harness_module
from conformance.harness.config import Config, ConfigError, Tls, Windows
from conformance.harness.control import TokenRefused, check_trigger_token
from conformance.harness.plugin import Selection, SuiteRun
from conformance.harness.session import Harness, TestRecord
from conformance.results import certificate, history
from conformance.results.evidence import (
    SiteKeyError,
    is_test_only,
    load_site_signer,
    signer_json,
    write_evidence,
)
from conformance.results.html import write_html
from conformance.results.results import RunResult, write_ctrf, write_json, write_junit
from conformance.results.view import ProfileText

# The reference NSW answers at once; short windows keep the run fast without making it flaky.
REFERENCE_WINDOWS = Windows(
    status_s=5.0,
    verification_s=5.0,
    retry_schedule_s=(0.2, 0.4, 0.8),
    request_timeout_s=15.0,
    grace_s=0.3,
    peer_timeout_s=1.0,
    operator_s=10.0,
)
# The harness's own operator printer writes to sys.__stderr__, which pytest's capture swallows while a
# test runs; a run replaces it by the progress display's (one an embedder or a test set is kept).
_STOCK_OPERATOR = harness_module._print_for_operator
# A candidate is taken as gone after this many tests in a row lost their connection before any answer
# and a TCP connect to its inbox then kept failing for CONFIRM_S (a restart in between is forgiven).
UNREACHABLE_TESTS = 2
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
    profile: Profile | None = None  # None: the default profile (EFDX 1.0)

    @property
    def pack(self) -> Profile:
        return self.profile or registry.default()


def reference_config(profile: Profile, url: str, trigger_url: str, token: str, tls: bool) -> Config:
    """The reference NSW's ICS: its profile's party, every capability the profile knows."""
    return Config(
        party=profile.reference_party,
        profiles=(profile.key,),
        inbox_url=url,
        capabilities=frozenset(profile.capabilities),
        windows=REFERENCE_WINDOWS,
        trigger_url=trigger_url,
        trigger_token=token,
        tls=Tls(enabled=tls),
    )


@contextlib.contextmanager
def candidate(options: RunOptions) -> Iterator[tuple[Harness, dict]]:
    """A started harness and, for reference runs, a started reference NSW; both stopped after."""
    profile = options.pack
    if options.config is not None:
        reachable(options.config.inbox_url)
        harness = Harness(options.config, profile=profile).start()
        try:
            yield (
                harness,
                {"url": options.config.inbox_url, "party": options.config.party, "reference": False},
            )
        finally:
            harness.stop()
        return
    token = secrets.token_hex(16)
    party = profile.reference_party
    placeholder = reference_config(profile, "http://127.0.0.1:1/", "http://127.0.0.1:1/", token, options.tls)
    harness = Harness(placeholder, profile=profile).start()
    with tempfile.TemporaryDirectory(prefix=f"{profile.key}-reference-") as workdir:
        settings = ReferenceSettings(
            party=party,
            db=Path(workdir) / "reference.sqlite",
            peers={harness.party: harness.inbox_url},
            fault=options.reference_fault,
            retry_schedule=REFERENCE_WINDOWS.retry_schedule_s,
            outbound_timeout=REFERENCE_WINDOWS.peer_timeout_s,
            trigger_token=token,
            tls=options.tls,
        )
        try:
            with profile.start_reference(settings) as reference:
                harness.config = reference_config(
                    profile, reference.url, reference.trigger_url, token, options.tls
                )
                yield (
                    harness,
                    {
                        "url": reference.url,
                        "party": party,
                        "reference": True,
                        "fault": options.reference_fault,
                    },
                )
        finally:
            harness.stop()


def reachable(url: str, timeout: float = 5.0) -> None:
    """Pre-flight: a candidate nobody can connect to is a setup problem (exit 4), not a verdict."""
    problem = connect_problem(url, timeout)
    if problem is not None:
        raise ConfigError(f"candidate.inbox_url: cannot connect to {problem}") from None


def connect_problem(url: str, timeout: float = 2.0) -> str | None:
    """None when a TCP connection to ``url``'s host and port opens, else ``host:port: why``."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
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

    Gone means: UNREACHABLE_TESTS tests in a row did not pass and their last exchange got no answer
    at all, a TCP connect to the inbox failed after each, and kept failing for UNREACHABLE_CONFIRM_S.
    A candidate that accepts connections and resets them is still there, and is judged as before.
    """

    def __init__(self, url: str, plugin: SuiteRun, progress: Progress) -> None:
        self.url, self.plugin, self.progress = url, plugin, progress
        self.streak: list[TestRecord] = []
        self.line = ""

    def finished(self, record: TestRecord) -> None:
        if self.plugin.halt_reason or record.verdict == NOT_APPLICABLE or not record.exchanges:
            return  # nothing said about the candidate's presence
        last = record.exchanges[-1]
        if record.verdict == PASS or last.status is not None or not last.error or not self._down():
            self.streak.clear()
            return
        self.streak.append(record)
        if len(self.streak) < UNREACHABLE_TESTS:
            return
        problem = self._still_down()
        if problem is None:
            self.streak.clear()
            return
        self._halt(problem)

    def _down(self) -> bool:
        return connect_problem(self.url) is not None

    def _still_down(self) -> str | None:
        """Why the candidate cannot be reached, after UNREACHABLE_CONFIRM_S of trying; None if it can."""
        deadline = time.monotonic() + UNREACHABLE_CONFIRM_S
        while True:
            problem = connect_problem(self.url)
            if problem is None or time.monotonic() >= deadline:
                return problem
            time.sleep(0.25)

    def _halt(self, problem: str) -> None:
        gone = f"the candidate became unreachable ({problem})"
        for record in self.streak:  # they failed on its absence, not on anything it did
            self.progress.recount(record.verdict, INCONCLUSIVE)
            record.verdict, record.failed_requirements = INCONCLUSIVE, ()
            record.reason = f"{gone}; this test saw: {record.reason}"
        self.plugin.halt_reason = f"not run: {gone}"
        left = max(self.plugin.total - len(self.plugin.records), 0)
        line = (
            f"candidate unreachable: {problem} ({len(self.streak)} tests in a row, then "
            f"{UNREACHABLE_CONFIRM_S:g} s of retries); those and the {left} tests left are inconclusive"
        )
        self.line = line
        self.progress.announce(line, quiet_reason=self.plugin.halt_reason)


def ics_of(config: Config) -> dict:
    return {
        "party": config.party,
        "roles": list(config.roles),
        "capabilities": sorted(config.capabilities),
        "windows": dataclasses.asdict(config.windows),
        "trigger": config.claims("trigger") and config.trigger_url is not None,
        "tls": config.tls.enabled,
        "harness_party": config.harness_party,
    }


def certification_record(options: RunOptions, config: Config) -> dict:
    """Who and what was judged, by which harness, how chosen: what a partner state reads first."""
    return {
        "profile": options.pack.title,
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
    }


def pytest_args(options: RunOptions, profile: Profile | None = None) -> list[str]:
    """The pytest command line of the profile's suite (every test, or those of ``--rerun-failed``)."""
    suite = importlib.import_module((profile or options.pack).suite_package)
    suite_dir = Path(suite.__file__ or ".").parent
    targets = [str(suite_dir / test_id) for test_id in options.rerun] or [str(suite_dir)]
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
    """Run the suite; return the exit code (0 all applicable passed, 1 otherwise) and the report folder."""
    check_report_dir(options.report_dir)
    progress = Progress(live=sys.stdout.isatty() if options.live is None else options.live)
    try:
        return _run(options, progress)
    finally:
        progress.close()


def _run(options: RunOptions, progress: Progress) -> tuple[int, Path]:
    started = datetime.now(timezone.utc)
    folder = options.report_dir / started.strftime("%Y%m%dT%H%M%SZ")
    interrupted, code = False, None
    site = site_signer(options.config)
    with candidate(options) as (harness, sut):
        harness.non_interactive = options.non_interactive
        if harness.tell_operator is _STOCK_OPERATOR:
            harness.tell_operator = progress.operator
        if options.config is not None:
            try:
                check_trigger_token(harness)
            except TokenRefused as exc:
                raise ConfigError(str(exc)) from None
        plugin = SuiteRun(
            harness,
            Selection(list(options.requirements), list(options.layers), list(options.purposes)),
            on_test_start=progress.started,
        )
        watch = CandidateWatch(harness.config.inbox_url, plugin, progress)

        def test_ended(record: TestRecord) -> None:
            progress.finished(record)
            watch.finished(record)

        plugin.on_test_end = test_ended
        try:
            with progress:
                code = pytest.main(pytest_args(options, harness.profile), plugins=[plugin])
            interrupted = plugin.interrupted or code == pytest.ExitCode.INTERRUPTED
        except KeyboardInterrupt:
            interrupted = True
        if options.keyword and not plugin.total and code == pytest.ExitCode.NO_TESTS_COLLECTED:
            also = " together with --requirement/--layer" if options.requirements or options.layers else ""
            raise ConfigError(f"-k {options.keyword!r}{also}: matches no test (nothing was run)")
        result = RunResult(
            profile=harness.profile,
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
        )
        result.extra["harness_inbox"] = inbox_counts(harness.inbox)
        result.extra["record"] = certification_record(options, harness.config)
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            result.extra["note"] = f"the suite could not run (pytest exit {int(code)}); see the output above"
            result.interrupted = True
        elif not plugin.records:
            result.extra["note"] = "no test was selected"
        elif plugin.halt_reason:
            result.extra["note"] = watch.line
    previous = history.previous_run(options.report_dir, folder)
    if previous is not None:
        result.extra["since_previous"] = history.since_previous(previous, result.verdicts())
    write_reports(result, folder, site or harness.pki.nsw(harness.party), profile_text(harness.profile))
    history.write_index(options.report_dir)
    progress.summary(result, folder)
    return (0 if result.all_applicable_passed else 1), folder


def site_signer(config: Config | None) -> Credential | None:
    """Pre-flight: the site's evidence key and certificate ([site] key_file, cert_file), or None for a
    rehearsal (the TEST ONLY key signs then); a key that cannot sign is found before the tests."""
    if config is None or config.site_cert is None or config.site_key is None:
        return None
    try:
        return load_site_signer(config.site_cert, config.site_key)
    except SiteKeyError as exc:
        raise ConfigError(str(exc)) from None


def profile_text(profile: Profile) -> ProfileText:
    """The profile's words for the report: requirement texts, and where its specification ships."""
    describe = profile.extras.get("test_description")
    return ProfileText(
        requirement=profile.spec_text,
        test_description=describe if callable(describe) else (lambda test_id: None),
        spec_file=profile.extras.get("spec_file"),
    )


def write_reports(
    result: RunResult, folder: Path, signer: Credential, text: ProfileText | None = None
) -> list[Path]:
    """results.json, junit.xml, ctrf.json, report.html, evidence.zip signed by ``signer``, and for a
    certifying conformant run the certificate; returns the certificate files written."""
    folder.mkdir(parents=True, exist_ok=True)
    result.test_only_signer = is_test_only(signer.cert)
    result.extra["signer"] = signer_json(signer)
    data = write_json(result, folder / "results.json")
    write_junit(result, folder / "junit.xml")
    write_ctrf(result, folder / "ctrf.json")
    write_html(data, result.counts(), folder / "report.html", text)
    digest = write_evidence(folder, data, folder / "evidence.zip", signer, result.records)
    return certificate.write(folder, data, digest)
