"""`conformance run`: set up the candidate (the embedded reference NSW by default), run the suite
through pytest with the EFDX plugin attached, and write the report folder.

Against the reference NSW everything lives on free loopback ports of this process: the harness
inbox (playing the partner party) first, then the reference NSW with the inbox as its peer. The
folder holds results.json, junit.xml, report.html and evidence.zip; Ctrl-C still writes them,
marked incomplete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conformance import suite
from conformance.config import CAPABILITIES, Config, ConfigError, Tls, Windows
from conformance.harness import Harness
from conformance.pki import Credential
from conformance.plugin import EfdxRun, Selection
from conformance.progress import Progress
from conformance.reference.nsw import Settings
from conformance.reference.runner import RunningReference
from conformance.report.evidence import write_evidence
from conformance.report.html import write_html
from conformance.report.results import RunResult, write_json, write_junit

REFERENCE_PARTY = "KH"
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


@dataclass
class RunOptions:
    config: Config | None = None  # None: the embedded reference NSW
    reference_fault: str | None = None
    tls: bool = False
    requirements: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    keyword: str | None = None
    maxfail: int = 0  # stop after this many tests did not pass (0: run them all)
    report_dir: Path = Path("reports")
    live: bool | None = None  # None: a live display when stdout is a terminal
    non_interactive: bool = False  # manual mode: inconclusive instead of waiting for an operator


def reference_config(url: str, trigger_url: str, token: str, tls: bool) -> Config:
    return Config(
        party=REFERENCE_PARTY,
        inbox_url=url,
        capabilities=frozenset(CAPABILITIES),
        windows=REFERENCE_WINDOWS,
        trigger_url=trigger_url,
        trigger_token=token,
        tls=Tls(enabled=tls),
    )


@contextlib.contextmanager
def candidate(options: RunOptions) -> Iterator[tuple[Harness, dict]]:
    """A started harness and, for reference runs, a started reference NSW; both stopped after."""
    if options.config is not None:
        reachable(options.config.inbox_url)
        harness = Harness(options.config).start()
        try:
            yield (
                harness,
                {"url": options.config.inbox_url, "party": options.config.party, "reference": False},
            )
        finally:
            harness.stop()
        return
    token = secrets.token_hex(16)
    placeholder = reference_config("http://127.0.0.1:1/", "http://127.0.0.1:1/", token, options.tls)
    harness = Harness(placeholder).start()
    with tempfile.TemporaryDirectory(prefix="efdx-reference-") as workdir:
        settings = Settings(
            party=REFERENCE_PARTY,
            db=Path(workdir) / "reference.sqlite",
            peers={harness.party: harness.inbox_url},
            fault=options.reference_fault,
            retry_schedule=REFERENCE_WINDOWS.retry_schedule_s,
            outbound_timeout=REFERENCE_WINDOWS.peer_timeout_s,
            trigger_token=token,
            tls=options.tls,
        )
        try:
            with RunningReference(settings) as reference:
                harness.config = reference_config(reference.url, reference.trigger_url, token, options.tls)
                yield (
                    harness,
                    {
                        "url": reference.url,
                        "party": REFERENCE_PARTY,
                        "reference": True,
                        "fault": options.reference_fault,
                    },
                )
        finally:
            harness.stop()


def reachable(url: str, timeout: float = 5.0) -> None:
    """Pre-flight: a candidate nobody can connect to is a setup problem (exit 4), not a verdict."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"candidate.inbox_url: cannot connect to {parts.hostname}:{port}: {exc}") from None


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


def pytest_args(options: RunOptions) -> list[str]:
    suite_dir = Path(suite.__file__).parent
    args = [
        str(suite_dir),
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
    started = datetime.now(timezone.utc)
    folder = options.report_dir / started.strftime("%Y%m%dT%H%M%SZ")
    progress = Progress(live=sys.stdout.isatty() if options.live is None else options.live)
    interrupted, code = False, None
    with candidate(options) as (harness, sut):
        harness.non_interactive = options.non_interactive
        plugin = EfdxRun(
            harness,
            Selection(list(options.requirements), list(options.layers)),
            on_test_start=progress.started,
            on_test_end=progress.finished,
        )
        try:
            with progress:
                code = pytest.main(pytest_args(options), plugins=[plugin])
            interrupted = plugin.interrupted or code == pytest.ExitCode.INTERRUPTED
        except KeyboardInterrupt:
            interrupted = True
        result = RunResult(
            sut=sut,
            ics=ics_of(harness.config),
            started=started,
            finished=datetime.now(timezone.utc),
            records=plugin.records,
            interrupted=interrupted,
            partial=bool(options.requirements or options.layers or options.keyword)
            or len(plugin.records) < plugin.total,
        )
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            result.extra["note"] = f"the suite could not run (pytest exit {int(code)}); see the output above"
            result.interrupted = True
        elif not plugin.records:
            result.extra["note"] = "no test was selected"
    write_reports(result, folder, harness.pki.nsw(harness.party))
    progress.summary(result, folder)
    return (0 if result.all_applicable_passed else 1), folder


def write_reports(result: RunResult, folder: Path, signer: Credential) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = write_json(result, folder / "results.json")
    write_junit(result, folder / "junit.xml")
    write_html(data, result.counts(), folder / "report.html")
    write_evidence(folder, data, folder / "evidence.zip", signer)
