"""The ``conformance`` command: a thin layer over the package (argparse, no logic of its own).

Exit codes (DESIGN.md): 0 all good, 1 something judged invalid or failed, 4 usage or configuration
error (argparse's own usage errors are mapped to 4 as well); `evidence verify` also 3: the bundle
is intact but its signer was not checked against a trust anchor (EFDX section 7, errata 2).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import NoReturn

from conformance import __version__
from conformance.core.terminal_text import printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 4
EXIT_SIGNER_UNCHECKED = 3  # evidence verify: intact, but who signed was not established (errata 2)


class UsageError(Exception):
    """A bad argument or unreadable input: reported on one line, exit code 4."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 by default; the contract says 4
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_moment(text: str) -> datetime:
    """``YYYY-MM-DD`` means noon UTC that day; a date-time without a zone is taken as UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(12), tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or date-time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parse_party(text: str) -> str:
    """A party of some installed profile (whether of the chosen one is checked once it is known)."""
    parties = _parties()
    if text.upper() not in parties:
        raise argparse.ArgumentTypeError(f"not a party: {text!r} (one of {' '.join(parties)})")
    return text.upper()


def _profile(name: str | None):
    """The profile pack called ``name`` (key or title), or the default one; UsageError if none."""
    from conformance.harness import registry

    try:
        return registry.get(name) if name else registry.default()
    except registry.ProfileError as exc:
        raise UsageError(str(exc)) from None


def _add_profile_option(parser: argparse.ArgumentParser, default: str = "the default, efdx") -> None:
    parser.add_argument(
        "--profile", metavar="KEY", help=f"the profile pack (`conformance profiles` lists them; {default})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, composed from one builder per command so that each reads on its own."""
    parser = _Parser(
        prog="conformance",
        description="Conformance harness for ASEAN Single Window NSWs (EFDX 1.0 and other profile packs).",
    )
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run_command(commands)
    _add_pilot_command(commands)
    _add_load_commands(commands)
    _add_list_command(commands)
    _add_profiles_command(commands)
    _add_validate_command(commands)
    _add_vectors_commands(commands)
    _add_reference_commands(commands)
    _add_evidence_commands(commands)
    _add_report_commands(commands)
    _add_spec_command(commands)
    _add_diff_command(commands)
    _add_pki_commands(commands)
    _add_serve_command(commands)
    return parser


def _add_run_command(commands: argparse._SubParsersAction) -> None:
    """`run`: the functional suite, the command with the most ways to narrow what it runs."""
    run = commands.add_parser(
        "run", help="run the conformance suite (default: against the embedded reference NSW)"
    )
    run.add_argument("--sut", metavar="URL", help="the candidate's inbox URL (with --config)")
    run.add_argument("--config", type=Path, metavar="FILE", help="the candidate's configuration (ICS, TOML)")
    run.add_argument(
        "--reference-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="run against the reference NSW with one seeded fault",
    )
    run.add_argument(
        "--tls", action="store_true", help="mutual TLS with the reference NSW (with --config: tls.enabled)"
    )
    _add_run_selection_options(run)
    run.add_argument(
        "--rerun-failed",
        type=Path,
        metavar="DIR",
        help="only the tests that did not pass in the run of DIR (a report folder or its results.json)",
    )
    run.add_argument("--report-dir", type=Path, default=Path("reports"), help="where the report folder goes")
    run.set_defaults(handler=_run)


def _add_pilot_command(commands: argparse._SubParsersAction) -> None:
    """`pilot`: the harness as the gateway between NSWs, judging both directions (EFDX section 9)."""
    pilot = commands.add_parser(
        "pilot",
        help="be the gateway between NSWs and judge every exchange both ways (default: three embedded "
        "reference NSWs, scripted)",
    )
    pilot.add_argument("--config", type=Path, metavar="FILE", help="the pilot (pilot.toml: parties, gateway)")
    pilot.add_argument(
        "--script", action="store_true", help="drive every ordered pair through the scenario (triggers)"
    )
    pilot.add_argument(
        "--duration", type=float, metavar="S", help="watch for S seconds (default: until Ctrl-C)"
    )
    pilot.add_argument(
        "--faults",
        metavar="5xx=P,timeout=P",
        help="gateway answers these shares 502 / 504 without forwarding",
    )
    pilot.add_argument(
        "--reference-fault",
        metavar="NAME[@PARTY]",
        help="one embedded reference with a seeded fault (default KH)",
    )
    pilot.add_argument("--tls", action="store_true", help="mutual TLS on every hop (embedded pilot)")
    _add_profile_option(pilot)
    pilot.add_argument(
        "--report-dir", type=Path, default=Path("reports"), help="where the report folder goes"
    )
    pilot.set_defaults(handler=_pilot)


def _add_run_selection_options(run: argparse.ArgumentParser) -> None:
    """`run`'s options that choose which tests run and how far: kept together, in --help's order."""
    run.add_argument(
        "--requirement",
        action="append",
        default=[],
        metavar="ID",
        help="only tests of ID (M-06 in every profile run that has it; efdx:M-06 or 'EFDX 1.0 M-06' in one)",
    )
    run.add_argument("--layer", action="append", default=[], metavar="LAYER", help="only a layer (T M A BR)")
    run.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="KEY",
        help="run this profile (repeatable; default: every profile the ICS claims, or every installed one "
        "against the reference NSW; `conformance profiles` lists them)",
    )
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests whose name matches (pytest -k)")
    interaction = run.add_mutually_exclusive_group()
    interaction.add_argument(
        "--non-interactive",
        action="store_true",
        help="manual-mode tests are inconclusive instead of waiting (the default when CI is set or "
        "stdin is not a terminal)",
    )
    interaction.add_argument(
        "--interactive", action="store_true", help="wait for an operator even in CI or without a terminal"
    )
    interaction.add_argument(
        "--operator-dir",
        type=Path,
        metavar="DIR",
        help="for the test bed; implies interactive: manual mode's prompts are written to DIR as "
        "prompt-N.json, the operator's answers read from answer-N.json",
    )
    run.add_argument(
        "--maxfail",
        type=int,
        default=0,
        metavar="N",
        help="stop after N tests did not pass (counted over the whole run: profiles run one after another)",
    )
    run.add_argument(
        "--serial",
        action="store_true",
        help="run several profiles one after the other in this process, not side by side (a process each)",
    )


def _add_load_commands(commands: argparse._SubParsersAction) -> None:
    """`load` and `load-worker`: a load run and the worker a distributed one recruits elsewhere."""
    load = commands.add_parser(
        "load",
        help="load or soak a candidate with every answer judged; says whether it held its claimed capacity",
    )
    _add_profile_option(load)
    load.add_argument("--sut", metavar="URL", help="the candidate's inbox URL (with --config)")
    load.add_argument("--config", type=Path, metavar="FILE", help="the candidate's configuration (ICS, TOML)")
    _add_load_shape_options(load)
    load.add_argument(
        "--reference-fault", metavar="NAME", help="the embedded reference with one seeded fault"
    )
    load.add_argument("--tls", action="store_true", help="mutual TLS with the embedded reference")
    load.add_argument("--report-dir", type=Path, default=Path("reports"), help="where the report folder goes")
    load.set_defaults(handler=_load)
    load_worker = commands.add_parser(
        "load-worker", help="a Locust worker for a `conformance load --master-bind` run on another machine"
    )
    load_worker.add_argument("--master", required=True, metavar="HOST:PORT")
    load_worker.set_defaults(handler=_load_worker)


def _add_load_shape_options(load: argparse.ArgumentParser) -> None:
    """`load`'s options for how hard, how long and from how many Locust processes, in --help's order."""
    load.add_argument("--rate", type=float, metavar="N", help="messages per second (default: the claim's)")
    load.add_argument(
        "--duration", type=float, metavar="S", help="seconds at that rate (default: the claim's)"
    )
    load.add_argument("--ramp", type=float, default=2.0, metavar="S", help="seconds to ramp up (default 2)")
    load.add_argument("--users", type=int, metavar="N", help="Locust users (default: from rate and bound)")
    load.add_argument("--workers", type=int, default=0, metavar="N", help="Locust master + N workers here")
    load.add_argument(
        "--master-bind", metavar="HOST:PORT", help="the Locust master listens here for workers elsewhere"
    )
    load.add_argument("--expect-workers", type=int, default=0, metavar="N", help="remote workers to wait for")
    load.add_argument(
        "--gateway-faults",
        type=float,
        metavar="SHARE",
        help="share of first deliveries failed (5xx, reset, timeout)",
    )


def _add_list_command(commands: argparse._SubParsersAction) -> None:
    """`list`: what the suite covers, without running anything."""
    listing = commands.add_parser(
        "list",
        help="requirements, their test purposes, the tests and seeded faults, and the gaps (runs nothing)",
    )
    listing.add_argument(
        "--verbose", action="store_true", help="every test of each purpose, not the first three"
    )
    listing.add_argument(
        "--config", type=Path, metavar="FILE", help="mark what does not apply to this candidate"
    )
    listing.add_argument(
        "--trace",
        action="store_true",
        help="every clause of the shipped spec with the test purposes that exercise it, and the counts",
    )
    _add_profile_option(listing)
    listing.set_defaults(handler=_list)


def _add_profiles_command(commands: argparse._SubParsersAction) -> None:
    """`profiles`: which packs are installed, so that --profile has something to name."""
    profiles = commands.add_parser("profiles", help="the installed profile packs")
    profiles.set_defaults(handler=_profiles)


def _add_validate_command(commands: argparse._SubParsersAction) -> None:
    """`validate`: the receiving NSW's judgement of files, with no candidate running."""
    validate = commands.add_parser("validate", help="judge message files offline, as the receiving NSW would")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print a JSON list of {file, valid, codes}")
    validate.add_argument("--at", type=parse_moment, help="time of receipt (date = noon UTC); default now")
    validate.add_argument("--receiver", type=parse_party, default="KH", help="receiving party (default KH)")
    _add_profile_option(validate, "default: told from each file's namespace")
    validate.set_defaults(handler=_validate)


def _add_vectors_commands(commands: argparse._SubParsersAction) -> None:
    """`vectors build`: the signed test vectors, which are dated and so made for a given day."""
    vectors = commands.add_parser("vectors", help="test vectors").add_subparsers(
        dest="vectors_command", required=True
    )
    build = vectors.add_parser("build", help="write the signed vector set for one day")
    build.add_argument("--date", type=parse_day, required=True, help="YYYY-MM-DD")
    build.add_argument("--out", type=Path, required=True, help="folder for <id>.xml files")
    _add_profile_option(build)
    build.set_defaults(handler=_vectors_build)


def _add_reference_commands(commands: argparse._SubParsersAction) -> None:
    """`reference faults` and `reference serve`: the embedded reference NSW, listed or served."""
    reference = commands.add_parser("reference", help="the embedded reference NSW").add_subparsers(
        dest="reference_command", required=True
    )
    faults = reference.add_parser("faults", help="list the seeded faults: NAME  PURPOSE  description")
    _add_profile_option(faults)
    faults.set_defaults(handler=_reference_faults)
    _add_reference_serve_command(reference)


def _add_reference_serve_command(reference: argparse._SubParsersAction) -> None:
    """`reference serve`: the longest option list, one reference process as an operator runs it."""
    serve = reference.add_parser("serve", help="serve one party's reference NSW until SIGINT/SIGTERM")
    serve.add_argument("--party", type=parse_party, required=True)
    serve.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="KEY",
        help="the profile (default efdx); repeated: one process serves each on its own path, over TLS "
        "with one TLS identity (the family's test PKI)",
    )
    serve.add_argument("--port", type=int, required=True, help="0 picks a free port (printed)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--tls", action="store_true", help="HTTPS with mutual TLS (test PKI)")
    serve.add_argument("--db", type=Path, help="SQLite file (default: reports/reference-<party>.sqlite)")
    serve.add_argument("--peer", action="append", default=[], metavar="YY=URL", help="a party's inbox URL")
    serve.add_argument(
        "--direct-peer",
        action="append",
        default=[],
        metavar="YY=URL",
        help="a party's own inbox when --peer names a gateway's (section 9; the fault gateway-bypassed)",
    )
    serve.add_argument("--fault", help="switch on one seeded fault (see `conformance reference faults`)")
    _add_reference_outbox_options(serve)
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on one port and one --db (default 1; more use more cores)",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # one of --processes
    serve.set_defaults(handler=_reference_serve)


def _add_reference_outbox_options(serve: argparse.ArgumentParser) -> None:
    """`reference serve`'s options for how its statuses go out (timing, retries, the test trigger)."""
    serve.add_argument("--status-delay", type=float, default=0.0, metavar="S", help="delay statuses by S s")
    serve.add_argument("--retry-schedule", default="1,2,4,8", metavar="S,S,...", help="outbox retry delays")
    serve.add_argument("--trigger-token", help="enable the test trigger (or EFDX_TEST_TOKEN)")
    serve.add_argument(
        "--outbound-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for a partner's answer before retrying (default 10)",
    )
    serve.add_argument(
        "--outbox-workers", type=int, metavar="N", help="statuses delivered at once (default: the pack's)"
    )


def _add_evidence_commands(commands: argparse._SubParsersAction) -> None:
    """`evidence verify`: checking a bundle needs nothing but the bundle (and a site's CA)."""
    evidence = commands.add_parser("evidence", help="evidence bundles").add_subparsers(
        dest="evidence_command", required=True
    )
    verify = evidence.add_parser("verify", help="check a bundle's hashes, signature and signer, offline")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE")
    verify.add_argument(
        "--trust-anchor",
        type=Path,
        metavar="CA.pem",
        help="check that the signer's certificate chains to this CA (the site's); PEM, one or more",
    )
    verify.add_argument(
        "--attestation",
        type=Path,
        metavar="FILE",
        help="the bundle's in-toto attestation (default: evidence.zip.intoto.jsonl beside it, if there)",
    )
    verify.set_defaults(handler=_evidence_verify)
    attest = evidence.add_parser(
        "attest",
        help="issue the in-toto attestation of a certifying run folder, signed with the site key",
    )
    attest.add_argument("folder", type=Path, metavar="DIR", help="a report folder of a certifying run")
    attest.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="the TOML whose [site] names the key"
    )
    attest.set_defaults(handler=_evidence_attest)


def _add_report_commands(commands: argparse._SubParsersAction) -> None:
    """`report pdf`: a report folder printed for those who want paper."""
    report = commands.add_parser("report", help="report folders").add_subparsers(
        dest="report_command", required=True
    )
    pdf = report.add_parser(
        "pdf", help="print a run's report.html (and certificate.html) to PDF with headless Chromium"
    )
    pdf.add_argument("folder", type=Path, metavar="DIR", help="a report folder")
    pdf.add_argument(
        "--full", action="store_true", help="every test with its exchanges (default: an A4 summary)"
    )
    pdf.set_defaults(handler=_report_pdf)


def _add_spec_command(commands: argparse._SubParsersAction) -> None:
    """`spec`: the text a verdict points at, readable without leaving the terminal."""
    spec = commands.add_parser("spec", help="a profile's specification (shipped), or one requirement's text")
    _add_profile_option(spec)
    spec.add_argument(
        "id", nargs="?", metavar="ID", help="a requirement (M-10) or test purpose (M-10/revoked)"
    )
    spec.set_defaults(handler=_spec)


def _add_diff_command(commands: argparse._SubParsersAction) -> None:
    """`diff`: two runs compared, its exit code usable as a regression gate."""
    diff = commands.add_parser(
        "diff", help="what changed between two runs (report folders or results.json); exit 1 on a regression"
    )
    diff.add_argument("old", type=Path, metavar="OLD")
    diff.add_argument("new", type=Path, metavar="NEW")
    diff.add_argument(
        "--regressions-only", action="store_true", help="print only what fails newly (after the summary)"
    )
    diff.set_defaults(handler=_diff)


def _add_pki_commands(commands: argparse._SubParsersAction) -> None:
    """`pki generate`, `add-party`, `path` and `site`: the TEST ONLY PKI's commands, then the site's."""
    pki = commands.add_parser(
        "pki", help="the TEST ONLY PKI; the site's evidence PKI (pki site)"
    ).add_subparsers(dest="pki_command", required=True)
    generate = pki.add_parser("generate", help="regenerate the TEST ONLY PKI (new keys for everything)")
    generate.add_argument("--out", type=Path, help="folder (default: the pack's test_vectors/<profile>/pki)")
    _add_profile_option(generate)
    generate.set_defaults(handler=_pki_generate)
    add_party = pki.add_parser("add-party", help="add one party's CA, CRL, NSW and authority certificates")
    add_party.add_argument("party", metavar="PARTY", help="ISO 3166-1 alpha-2 code, e.g. TL")
    add_party.add_argument("--out", type=Path, help="an existing PKI folder (default: the pack's)")
    _add_profile_option(add_party)
    add_party.set_defaults(handler=_pki_add_party)
    path = pki.add_parser("path", help="print the folder of the TEST ONLY PKI (CA certificates, CRLs, keys)")
    _add_profile_option(path)
    path.set_defaults(handler=_pki_path)
    _add_pki_site_command(pki)


def _add_pki_site_command(pki: argparse._SubParsersAction) -> None:
    """`pki site`: the site's own evidence PKI, kept apart as it is real key material, not test's."""
    site = pki.add_parser(
        "site",
        help="make the site's own evidence PKI (NOT test material): a site CA and a signing key and "
        "certificate, keys encrypted",
    )
    site.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder (files are never overwritten)"
    )
    site.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="the environment variable holding the passphrase that encrypts both keys (required)",
    )
    site.add_argument("--name", default="Conformance site", help="the site's organisation (subject O)")
    site.add_argument("--country", metavar="CC", help="the site's country (subject C), ISO 3166-1 alpha-2")
    site.set_defaults(handler=_pki_site)


def _add_serve_command(commands: argparse._SubParsersAction) -> None:
    """`serve`: the shared test bed (web UI and REST API) over this engine; conformance/app/serve/."""
    serve = commands.add_parser(
        "serve", help="a shared test bed: organisations, systems and runs over a web UI and a REST API"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8400, help="port (default 8400; 0 picks a free one)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (plain HTTP: put a TLS proxy in front)",
    )
    serve.add_argument("--data", type=Path, default=Path("testbed"), help="data folder (default ./testbed)")
    serve.add_argument("--workers", type=int, default=2, metavar="N", help="runs at once (default 2)")
    serve.add_argument(
        "--keep-days",
        type=int,
        default=365,
        metavar="N",
        help="remove a run's report N days after it ended, unless a published statement stands on it "
        "(default 365; 0: keep every run)",
    )
    serve.add_argument(
        "--runs-per-hour",
        type=int,
        default=60,
        metavar="N",
        help="runs an organisation may start in any hour (default 60; 0: no limit)",
    )
    serve.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: $CONFORMANCE_DATABASE_URL, else SQLite at DATA/serve.sqlite)",
    )
    _add_serve_shared_options(serve)
    serve.set_defaults(handler=_serve)
    serve_commands = serve.add_subparsers(dest="serve_command", parser_class=_Parser)
    worker = serve_commands.add_parser(
        "worker", help="a worker process: runs the runs `conformance serve --redis URL` queues"
    )
    worker.add_argument("--data", type=Path, default=Path("testbed"), help="the web process's data folder")
    worker.add_argument("--database-url", metavar="URL", help="the web process's database (SQLAlchemy URL)")
    worker.add_argument("--processes", type=int, default=1, metavar="N", help="worker processes (default 1)")
    worker.add_argument("--threads", type=int, default=2, metavar="M", help="runs at once per process (2)")
    _add_serve_shared_options(worker)
    worker.set_defaults(handler=_serve_worker)
    rotate = serve_commands.add_parser(
        "rotate-keys",
        help="encrypt stored secrets and sign notes again with the first of $CONFORMANCE_SECRET_KEYS",
    )
    rotate.add_argument("--data", type=Path, default=Path("testbed"), help="the test bed's data folder")
    rotate.add_argument("--database-url", metavar="URL", help="the test bed's database (SQLAlchemy URL)")
    rotate.set_defaults(handler=_serve_rotate_keys)


def _add_serve_shared_options(parser: argparse.ArgumentParser) -> None:
    """What the web process and its workers must agree on: the queue, the leases, the site key."""
    parser.add_argument("--redis", metavar="URL", help="Redis URL: queue runs to `serve worker` processes")
    parser.add_argument(
        "--lease",
        type=float,
        default=30.0,
        metavar="S",
        help="a run whose worker is silent S s is reaped (30)",
    )
    parser.add_argument("--site-cert", type=Path, metavar="FILE", help="the site's certificate (as [site])")
    parser.add_argument("--site-key", type=Path, metavar="FILE", help="the site's evidence key (as [site])")
    parser.add_argument(
        "--site-passphrase-env",
        metavar="NAME",
        help="the environment variable holding --site-key's passphrase",
    )
    parser.add_argument(
        "--own-host",
        action="append",
        default=[],
        metavar="HOST",
        help="the service's own host (name, address or CIDR), denied to runs; repeatable",
    )


def _serve_settings(args: argparse.Namespace, workers: int = 2):
    from conformance.app.serve.settings import ServeSettings

    if not 1.0 <= args.lease <= 3600.0:
        raise UsageError(f"--lease: 1 to 3600 seconds, not {args.lease:g}")
    if (args.site_cert is None) != (args.site_key is None):
        raise UsageError("--site-cert and --site-key go together (the site's evidence key pair)")
    return ServeSettings(
        data=args.data,
        database_url=args.database_url,
        workers=workers,
        redis_url=args.redis,
        lease_s=args.lease,
        heartbeat_s=min(5.0, args.lease / 3),
        broker_heartbeat_s=max(10.0, args.lease),
        site_cert=args.site_cert,
        site_key=args.site_key,
        site_passphrase_env=args.site_passphrase_env,
        own_hosts=tuple(args.own_host),
        runs_per_hour=getattr(args, "runs_per_hour", 60),
        keep_days=getattr(args, "keep_days", 365),
    )


def _serve_worker(args: argparse.Namespace) -> int:
    """One command per worker process; exit 4 on a database, data folder or Redis it cannot use."""
    from conformance.app.serve.server import ServeError
    from conformance.app.serve.worker import run_worker

    if not 1 <= args.processes <= 64 or not 1 <= args.threads <= 64:
        raise UsageError("--processes and --threads: 1 to 64")
    if not args.redis:
        raise UsageError("serve worker: --redis URL is required (the queue the web process sends runs to)")
    try:
        run_worker(_serve_settings(args), args.processes, args.threads, list(args.command_line[1:]))
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _serve_rotate_keys(args: argparse.Namespace) -> int:
    """Needs the new key first in CONFORMANCE_SECRET_KEYS (it would otherwise re-encrypt with the key
    already in use, which changes nothing an operator wants); exit 4 otherwise."""
    import os

    from conformance.app.serve.rotation import rotate_keys
    from conformance.app.serve.server import ServeError, open_store
    from conformance.app.serve.settings import SECRET_KEYS_ENV, ServeSettings

    if "," not in os.environ.get(SECRET_KEYS_ENV, ""):
        raise UsageError(
            f"serve rotate-keys: put the new key first in {SECRET_KEYS_ENV}, the old ones after it "
            "(comma-separated)"
        )
    try:
        store, box = open_store(ServeSettings(data=args.data, database_url=args.database_url))
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    done = rotate_keys(store, box)
    print(
        f"rotate-keys: {done.secrets} stored secrets encrypted with the new key, {done.notes} notes "
        f"signed with it; {done.altered} notes left as they were (their signature verified under no "
        "key given). Share links keep the key they were made with: drop an old key once they expire."
    )
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """Binds 127.0.0.1 unless --allow-remote is given with another --host; exit 4 on a data folder,
    database URL or port it cannot use."""
    from conformance.app.serve.server import ServeError, serve

    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers: 1 to 64, not {args.workers}")
    if args.keep_days < 0:
        raise UsageError(f"--keep-days: 0 (keep every run) or more, not {args.keep_days}")
    if args.runs_per_hour < 0:
        raise UsageError(f"--runs-per-hour: 0 (no limit) or more, not {args.runs_per_hour}")
    settings = _serve_settings(args, args.workers)
    try:
        serve(settings, args.host, args.port, allow_remote=args.allow_remote)
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from conformance.app.egress_setting import policy_from_environment
    from conformance.app.run import RunOptions, run
    from conformance.harness.config import ConfigError, check_url, load

    faults = list(dict.fromkeys(args.reference_fault))  # the same name twice is still one fault
    if args.sut and not args.config:
        raise UsageError("--sut needs --config FILE (the candidate's ICS)")
    if args.config and faults:
        raise UsageError("--reference-fault runs against the reference NSW; it does not go with --config")
    if len(faults) > 1:
        raise UsageError(f"--reference-fault: one seeded fault per run, not {', '.join(faults)}")
    if args.config and args.tls:
        raise UsageError(
            "--tls is for the embedded reference NSW; with --config, TLS comes from the file (tls.enabled)"
        )
    if args.keyword:
        _check_keyword(args.keyword)
    rerun = _not_passed(args.rerun_failed) if args.rerun_failed else ()
    profiles = tuple(dict.fromkeys(_profile(name) for name in args.profile))
    try:
        sut = check_url(args.sut, "--sut") if args.sut else None
        config = load(args.config, inbox_url=sut) if args.config else None
        egress = policy_from_environment()  # set by the shared test bed's worker; unset: none
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None
    non_interactive, said = _non_interactive(args, config)
    options = RunOptions(
        egress=egress,
        config=config,
        reference_fault=faults[0] if faults else None,
        tls=args.tls,
        requirements=tuple(args.requirement),
        layers=tuple(args.layer),
        keyword=args.keyword,
        maxfail=args.maxfail,
        serial=args.serial,
        rerun=rerun,
        non_interactive=non_interactive,
        non_interactive_said=said,
        operator_dir=args.operator_dir,
        command=args.command_line,
        report_dir=args.report_dir,
        profiles=profiles,
    )
    try:  # run() tells a selection that names nothing before anything starts
        code, _folder = run(options)
    except ConfigError as exc:  # found while setting up: the harness inbox's port, the candidate's address
        raise UsageError(str(exc)) from None
    return code


def _pilot(args: argparse.Namespace) -> int:
    from conformance.app.egress_setting import policy_from_environment
    from conformance.app.pilot.session import PilotOptions, run
    from conformance.harness.config import ConfigError

    if args.config and (args.reference_fault or args.tls or args.profile):
        raise UsageError(
            "--reference-fault, --tls and --profile are for the embedded pilot; not with --config"
        )
    if args.duration is not None and not 0 < args.duration <= 24 * 3600:
        raise UsageError(f"--duration: seconds above 0, at most a day, not {args.duration:g}")
    server_error, timeout = _pilot_faults(args.faults)
    try:
        egress = policy_from_environment()  # set by the shared test bed's worker; unset: none
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None
    options = PilotOptions(
        egress=egress,
        config=args.config,
        script=True if args.script else (False if args.config else None),
        duration=args.duration,
        server_error=server_error,
        timeout=timeout,
        reference_fault=_pilot_reference_fault(args.reference_fault, args.profile),
        tls=args.tls,
        profile=args.profile,
        report_dir=args.report_dir,
    )
    try:
        return run(options).code
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None


def _pilot_faults(text: str | None) -> tuple[float, float]:
    """--faults 5xx=0.05,timeout=0.01: the shares the gateway answers 502 and 504 itself."""
    shares = {"5xx": 0.0, "timeout": 0.0}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, _, value = item.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if name.strip() not in shares or not 0 <= share <= 1:
            raise UsageError(f"--faults wants 5xx=SHARE,timeout=SHARE (0 to 1), not {item!r}")
        shares[name.strip()] = share
    if shares["5xx"] + shares["timeout"] > 1:
        raise UsageError("--faults: the shares together are at most 1")
    return shares["5xx"], shares["timeout"]


def _pilot_reference_fault(text: str | None, profile_name: str | None) -> tuple[str, str] | None:
    """--reference-fault NAME[@PARTY]: a seeded fault of the piloted profile, on one embedded party."""
    if not text:
        return None
    from conformance.app.pilot.embedded import parties_of

    profile = _profile(profile_name)
    name, _, party = text.partition("@")
    parties = parties_of(profile)
    party = party.upper() or parties[0]
    try:
        profile.fault(name)
    except KeyError as exc:
        raise UsageError(_message(exc)) from None
    if party not in parties:
        raise UsageError(
            f"--reference-fault {text}: {party} is not one of the pilot's parties ({' '.join(parties)})"
        )
    return name, party


def _non_interactive(args: argparse.Namespace, config) -> tuple[bool, str]:
    """Whether manual-mode tests are inconclusive rather than waiting for an operator: as asked, else
    so in CI or without a terminal to answer on (a forgotten --non-interactive waited its operator
    window, a minute, for every manual test); and, when that default applies to a candidate in
    manual mode, the line that says so (printed once the run starts its tests: a run that stops
    before them still says one line only)."""
    if args.operator_dir is not None:  # the test bed's operator answers through files
        return False, ""
    if args.non_interactive or args.interactive:
        return args.non_interactive, ""
    unattended = bool(os.environ.get("CI")) or not _stdin_is_a_terminal()
    manual = config is not None and not (config.claims("trigger") and config.trigger_url)
    if not (unattended and manual):
        return unattended, ""
    why = "CI is set" if os.environ.get("CI") else "stdin is not a terminal"
    return True, f"non-interactive: {why}: manual-mode tests are inconclusive (--interactive to wait)"


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _not_passed(path: Path) -> tuple[str, ...]:
    """The tests that neither passed nor were not-applicable in an earlier run: what to run again,
    by qualified ID (``efdx/test_x.py::test_y``; an older results.json's bare IDs are EFDX 1.0's)."""
    from conformance.results.diff import DiffInputError, load

    try:
        tests = load(path)["tests"]
    except DiffInputError as exc:
        raise UsageError(f"--rerun-failed: {exc}") from None
    chosen = tuple(t["id"] for t in tests if t.get("verdict") not in ("pass", "not-applicable"))
    if not chosen:
        raise UsageError(
            f"--rerun-failed: every test passed (or was not applicable) in {path}: nothing to run"
        )
    return chosen


def _check_keyword(expression: str) -> None:
    """A -k that pytest cannot parse would end the run as "incomplete" with no test: say so now."""
    try:
        from _pytest.mark import expression as grammar  # pytest's own -k grammar
    except ImportError:  # a pytest without it: the run finds out
        return
    # pytest 8.x raises its ParseError, later versions SyntaxError
    errors = tuple(error for error in (SyntaxError, getattr(grammar, "ParseError", None)) if error)
    try:
        grammar.Expression.compile(expression)
    except errors as exc:
        why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise UsageError(f"-k {expression!r}: not a test-name expression: {why}") from None


def _validate(args: argparse.Namespace) -> int:
    from conformance.app.validate import validate_files

    results = validate_files(
        args.files,
        receiver=args.receiver,
        at=args.at,
        profile=_profile(args.profile) if args.profile else None,
    )
    if args.json:
        print(json.dumps([result.as_json() for result in results], indent=2))
    else:
        for result in results:
            print(result.line())
    if any(result.error for result in results):
        return EXIT_USAGE
    return EXIT_OK if all(result.valid for result in results) else EXIT_FAILED


def _vectors_build(args: argparse.Namespace) -> int:
    written = _profile(args.profile).build_vectors(args.date, args.out)
    print(f"wrote {len(written)} vectors for {args.date} to {args.out}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from conformance.app import coverage

    if args.trace:
        from conformance.app import clause_trace

        print(clause_trace.listing(_profile(args.profile), verbose=args.verbose))
        return EXIT_OK
    from conformance.harness import registry
    from conformance.harness.config import ConfigError, load

    try:
        config = load(args.config, secrets=False) if args.config else None
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None
    listings = [
        coverage.listing(profile, verbose=args.verbose, config=config)
        for profile in _listed_profiles(args.profile, config, registry)
    ]
    print("\n\n".join(listings))
    return EXIT_OK


def _listed_profiles(name: str | None, config, registry) -> list:
    """``--profile``'s, else the profiles the ICS claims, else every installed one (default first)."""
    if name:
        return [_profile(name)]
    if config is not None and config.profiles:
        return [_profile(key) for key in config.profiles]
    default = registry.default()
    return [default, *(p for p in registry.installed().values() if p is not default)]


def _profiles(args: argparse.Namespace) -> int:
    """`conformance profiles`: KEY  TITLE  description, one per installed pack; broken packs after."""
    from conformance.harness import registry

    installed = registry.installed()
    width = max((len(key) for key in installed), default=0)
    title_width = max((len(p.title) for p in installed.values()), default=0)
    for key, profile in installed.items():
        print(f"{key:<{width}}  {profile.title:<{title_width}}  {profile.description}")
    for key, why in registry.broken().items():
        print(printable(f"{key}: does not load: {why}"), file=sys.stderr)
    return EXIT_OK if installed and not registry.broken() else EXIT_FAILED


def _reference_faults(args: argparse.Namespace) -> int:
    FAULTS = _profile(args.profile).faults()
    width = max(len(fault.name) for fault in FAULTS)
    purpose_width = max(len(fault.purpose) for fault in FAULTS)
    for fault in FAULTS:
        print(f"{fault.name:<{width}}  {fault.purpose:<{purpose_width}}  {fault.description}")
    return EXIT_OK


def _reference_serve(args: argparse.Namespace) -> int:
    """`reference serve`: every option is checked before anything listens, so that a mistake is one
    line and exit 4, not a server that half starts."""
    profiles = _served_profiles(args)
    peers = _served_peers(args, profiles)
    direct = _served_peers(args, profiles, "direct_peer")
    _check_served_fault(args, profiles)
    schedule = _retry_schedule(args.retry_schedule)
    _check_serve_counts(args)
    settings_of = functools.partial(
        _reference_settings, args, profiles, peers=peers, direct=direct, schedule=schedule
    )
    first, *others = profiles
    others_running = contextlib.ExitStack()
    announce = _announcer(args, profiles, settings_of, others_running)
    together = tuple((profile, settings_of(profile)) for profile in others)
    with others_running:  # stopped once this one has
        _serve_first(first, settings_of(first), args, announce, together)
    return EXIT_OK


def _served_profiles(args: argparse.Namespace) -> list:
    """The profiles to serve (each named once; none named: the default), each of which must have
    --party as a party, since one process plays one party in all of them."""
    profiles = [_profile(name) for name in dict.fromkeys(args.profile)] or [_profile(None)]
    for profile in profiles:
        if args.party not in profile.parties:
            raise UsageError(
                f"--party {args.party}: not a party of {profile.title} ({' '.join(profile.parties)})"
            )
    return profiles


def _served_peers(args: argparse.Namespace, profiles: list, option: str = "peer") -> dict[str, str]:
    """--peer (or --direct-peer) YY=URL by party: a party no served profile has is refused, not
    silently never used."""
    peers = {}
    for item in getattr(args, option):
        party, _, url = item.partition("=")
        if not url or not any(party.upper() in profile.parties for profile in profiles):
            raise UsageError(f"--{option.replace('_', '-')} wants PARTY=URL, not {item!r}")
        peers[party.upper()] = url
    return peers


def _check_served_fault(args: argparse.Namespace, profiles: list) -> None:
    """--fault must be a seeded fault of some served profile; the first one's error names the choices."""
    try:
        if args.fault and not any(_knows(profile, args.fault) for profile in profiles):
            profiles[0].fault(args.fault)  # names the choices
    except (KeyError, ValueError) as exc:
        raise UsageError(_message(exc)) from None


def _retry_schedule(text: str) -> tuple[float, ...]:
    """--retry-schedule's comma-separated seconds; a word that is no number is a usage error."""
    try:
        return tuple(float(value) for value in text.split(","))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_serve_counts(args: argparse.Namespace) -> None:
    """--outbox-workers and --processes below one would serve nothing; more processes have further
    conditions (_check_processes)."""
    if args.outbox_workers is not None and args.outbox_workers < 1:
        raise UsageError(f"--outbox-workers: at least 1, not {args.outbox_workers}")
    if args.processes < 1:
        raise UsageError(f"--processes: at least 1, not {args.processes}")
    if args.processes > 1:
        _check_processes(args)


def _reference_settings(
    args: argparse.Namespace,
    profiles: list,
    profile,
    *,
    peers: dict[str, str],
    schedule: tuple[float, ...],
    direct: dict[str, str] | None = None,
):
    """What one served profile's reference is given: the command line's options, with its own store,
    peers on its own inbox path, and the fault only if it is one of its own."""
    from conformance.core.profile import ReferenceSettings

    return ReferenceSettings(
        party=args.party,
        db=_reference_db(args, profiles, profile),
        peers={
            party: _on_path(url, profiles, profile)
            for party, url in peers.items()
            if party in profile.parties
        },
        direct_peers={
            party: _on_path(url, profiles, profile)
            for party, url in (direct or {}).items()
            if party in profile.parties
        },
        fault=args.fault if _knows(profile, args.fault) else None,
        status_delay=args.status_delay,
        retry_schedule=schedule,
        outbound_timeout=args.outbound_timeout,
        trigger_token=args.trigger_token or os.environ.get("EFDX_TEST_TOKEN"),
        tls=args.tls,
        outbox_workers=args.outbox_workers,
        reuse_port=args.reuse_port or args.processes > 1,
    )


def _reference_db(args: argparse.Namespace, profiles: list, profile) -> Path:
    """--db (default reports/reference-<party>.sqlite); serving several profiles, one store per profile,
    as their messages must not meet."""
    db = args.db or Path("reports") / f"reference-{args.party}.sqlite"
    if len(profiles) > 1:  # one store per profile
        db = db.with_name(f"{db.stem}-{profile.key}{db.suffix}")
    return db


def _announcer(
    args: argparse.Namespace, profiles: list, settings_of, others_running: contextlib.ExitStack
) -> Callable[[str], None]:
    """The callback the first server calls once it listens: only then do the other processes have a
    port to join, and only then are the printed addresses true."""

    def announce(base: str) -> None:
        if args.processes > 1:  # this one listens: the others join it on its port, then all are announced
            with_trigger = bool(settings_of(profiles[0]).trigger_token)
            _start_other_processes(args, base, with_trigger, others_running)
        _print_served(args, profiles, base, settings_of)

    return announce


def _start_other_processes(
    args: argparse.Namespace, base: str, with_trigger: bool, others_running: contextlib.ExitStack
) -> None:
    """--processes N: the N-1 others, started with this command line on the port the first listens
    on; ``others_running`` stops them once the first has stopped."""
    from conformance.app import reference_process

    argv = list(args.command_line[1:])
    port = int(base.rpartition(":")[2])
    try:
        others_running.enter_context(reference_process.siblings(argv, port, args.processes - 1, with_trigger))
    except reference_process.ReferenceDidNotStart as exc:
        raise UsageError(str(exc)) from None


def _print_served(args: argparse.Namespace, profiles: list, base: str, settings_of) -> None:
    """Each served inbox (and test trigger) on a line of its own: what scripts and the load run wait
    for and read the address from."""
    fault_note = f" with fault {args.fault}" if args.fault else ""
    for profile in profiles:
        print(f"reference NSW {args.party}{fault_note} at {base}{profile.inbox_path}", flush=True)
        if settings_of(profile).trigger_token:
            print(f"test trigger at {base}{profile.trigger_path}", flush=True)


def _serve_first(first, settings, args: argparse.Namespace, announce, together: tuple) -> None:
    """Serve until stopped; the first profile's pack serves the others as well (one port, one TLS
    identity). A pack's refusal of the settings is a usage error, and so is a port it cannot listen on."""
    from conformance.core.inbox_server import CannotListen

    try:  # a pack that serves only itself takes no fifth argument
        first.serve_reference(settings, args.host, args.port, announce, *((together,) if together else ()))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except CannotListen as exc:  # the port is taken (another program), or the host is not this machine's
        raise UsageError(f"--port {args.port}: {exc.strerror or exc}") from None


def _check_processes(args: argparse.Namespace) -> None:
    """--processes N: Linux (the kernel spreads SO_REUSEPORT connections; the others end with the
    first), no seeded fault (a fault's counters are one process's), and a port nobody else serves
    (SO_REUSEPORT would let a second instance on the same port share it silently)."""
    import socket

    if sys.platform != "linux":
        raise UsageError("--processes: more than one needs Linux")
    if args.fault:
        raise UsageError("--processes: a seeded fault runs in one process")
    if args.port:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server: TIME_WAIT is no one
            try:
                probe.bind((args.host, args.port))
            except OSError as exc:
                raise UsageError(f"--port {args.port}: {exc.strerror or exc}") from None


def _on_path(url: str, profiles, profile) -> str:
    """A peer's inbox URL for ``profile``: a URL given with another served profile's inbox path gets
    this one's (one --peer serves every profile of a shared process)."""
    for other in profiles:
        if url.endswith(other.inbox_path):
            return url.removesuffix(other.inbox_path) + profile.inbox_path
    return url


def _knows(profile, fault: str | None) -> bool:
    """Whether ``fault`` names one of ``profile``'s seeded faults (None names none)."""
    try:
        return profile.fault(fault) is not None
    except KeyError:
        return False


def _load(args: argparse.Namespace) -> int:
    from conformance.app.egress_setting import ENVIRONMENT_VARIABLE
    from conformance.app.load.session import LoadError, LoadOptions, run_load
    from conformance.harness.config import ConfigError, check_url, load

    profile = _profile(args.profile)  # one without a load adapter: LoadError from run_load, exit 4

    if args.sut and not args.config:
        raise UsageError("--sut needs --config (the candidate's ICS)")
    if args.config and ENVIRONMENT_VARIABLE in os.environ:
        raise UsageError(  # its load generator's connections are not checked: it never runs under one
            f"{ENVIRONMENT_VARIABLE} is set, and `conformance load` does not enforce an egress policy "
            "against a configured candidate: not run"
        )
    if args.config and (args.reference_fault or args.tls):
        raise UsageError("--reference-fault and --tls are for the embedded reference (no --config)")
    for name in ("rate", "duration", "users", "gateway_faults"):
        value = getattr(args, name)
        if value is not None and (value <= 0 if name != "gateway_faults" else not 0 <= value < 1):
            raise UsageError(f"--{name.replace('_', '-')}: out of range: {value:g}")
    if args.workers < 0 or args.expect_workers < 0 or args.ramp < 0:
        raise UsageError("--workers, --expect-workers and --ramp cannot be negative")
    if args.expect_workers and not args.master_bind:
        raise UsageError("--expect-workers needs --master-bind (where remote workers connect)")
    try:
        config = (
            load(args.config, check_url(args.sut, "--sut") if args.sut else None) if args.config else None
        )
        profile.fault(args.reference_fault)
        options = LoadOptions(
            config=config,
            profile=profile,
            rate=args.rate,
            duration_s=args.duration,
            ramp_s=args.ramp,
            users=args.users,
            workers=args.workers,
            master_bind=args.master_bind,
            expect_workers=args.expect_workers,
            gateway_faults=args.gateway_faults,
            reference_fault=args.reference_fault,
            tls=args.tls,
            report_dir=args.report_dir,
        )
        code, _ = run_load(options)
    except (ConfigError, LoadError, KeyError) as exc:
        raise UsageError(_message(exc)) from None
    return code


def _load_worker(args: argparse.Namespace) -> int:
    import subprocess

    return subprocess.call(
        [sys.executable, "-m", "conformance.app.load.child", "worker", "--master", args.master]
    )


def _message(exc: Exception) -> str:
    """A KeyError's message without the quotes its str() adds."""
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


def _parties() -> tuple[str, ...]:
    """Every party of every installed profile."""
    from conformance.harness import registry

    return tuple(dict.fromkeys(party for p in registry.installed().values() for party in p.parties))


def _spec(args: argparse.Namespace) -> int:
    """A profile's whole text, or one requirement's or purpose's, named in any form a report prints
    (``EFDX 1.0 M-06``, ``efdx:M-06``, ``m-06``; a bare ID of one profile only, as ``RBR-03``, finds
    that profile without ``--profile``)."""
    from conformance.app.run import locate
    from conformance.harness import registry
    from conformance.harness.config import ConfigError

    if args.id is None:
        print(_profile(args.profile).spec_document())
        return EXIT_OK
    default = registry.default()
    profiles = (_profile(args.profile),) if args.profile else (default, *(
        p for p in registry.installed().values() if p is not default
    ))  # fmt: skip
    try:
        profile, item_id = locate(args.id, profiles, "spec")
        print(profile.spec_text(item_id))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except KeyError as exc:
        raise UsageError(_message(exc)) from None
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from conformance.results import diff

    try:
        changes = diff.compare(diff.load(args.old), diff.load(args.new))
    except diff.DiffInputError as exc:
        raise UsageError(str(exc)) from None
    print("\n".join(printable(line) for line in changes.lines(regressions_only=args.regressions_only)))
    return EXIT_FAILED if changes.regression else EXIT_OK


def _evidence_verify(args: argparse.Namespace) -> int:
    from conformance.app.site_pki import installed_test_material
    from conformance.core.violations import Violation
    from conformance.results.evidence import load_anchors, verify_evidence

    anchors = None
    if args.trust_anchor:
        try:
            anchors = load_anchors(args.trust_anchor)
        except OSError as exc:
            raise UsageError(f"--trust-anchor: {args.trust_anchor}: {exc.strerror or exc}") from None
        except ValueError:
            raise UsageError(f"--trust-anchor: {args.trust_anchor}: no PEM certificate in it") from None
    material, _unreadable = installed_test_material()
    try:
        verified = verify_evidence(args.bundle, material, anchors=anchors)
    except OSError as exc:
        raise UsageError(f"{args.bundle}: {exc.strerror or exc}") from None
    except Violation as violation:
        print(
            printable(f"{args.bundle}: invalid: expected {violation.expected}; observed {violation.observed}")
        )
        return EXIT_FAILED
    attestation_lines, attestation_failed = _attestation_checks(args, verified)
    if verified.signer_checked:
        print(printable(f"{args.bundle}: valid ({verified.files} files, signed by {verified.signer})"))
        print(printable(f"  the signer's certificate chains to the trust anchor {verified.anchor}"))
    else:
        counted = f"{verified.files} files, signed by {verified.signer}"
        print(printable(f"{args.bundle}: intact, signer not checked ({counted})"))
        if verified.test_only:
            print(
                printable(
                    f"  signed with a TEST ONLY key, which anyone can use ({verified.test_material}): "
                    "this shows the bundle is intact, not who made it"
                )
            )
        else:
            print(
                "  the signer was not checked: give --trust-anchor with the site's CA to know "
                "the bundle comes from that site"
            )
    for line in attestation_lines:
        print(printable(line))
    if attestation_failed:
        return EXIT_FAILED
    return EXIT_OK if verified.signer_checked else EXIT_SIGNER_UNCHECKED


def _attestation_checks(args: argparse.Namespace, verified) -> tuple[list[str], bool]:
    """The attestation beside the bundle (or --attestation) checked with the bundle's signer, whose
    chain the bundle's check covers: a line a check passed, then the one that failed (True)."""
    from conformance.app.attest import check
    from conformance.core.violations import Violation
    from conformance.results.attestation import FILE_NAME
    from conformance.results.evidence import file_sha256
    from conformance.results.safe_read import UnsafeInput

    path = args.attestation or args.bundle.with_name(FILE_NAME)
    if not (path.exists() or path.is_symlink()):
        if args.attestation is not None:  # as for a bundle that is not there: exit 4
            raise UsageError(f"--attestation: {path}: no such file")
        return [], False
    try:
        attested = check(path, file_sha256(args.bundle), verified.certificate)
    except UnsafeInput as exc:
        return [f"{path}: invalid attestation: {str(exc).removeprefix(f'{path}: ')}"], True
    except Violation as violation:
        said = f"expected {violation.expected}; observed {violation.observed}"
        return [f"{path}: invalid attestation: {said}"], True
    return [f"{path}: {line}" for line in attested.checks], False


def _evidence_attest(args: argparse.Namespace) -> int:
    from conformance.app.attest import AttestError, write
    from conformance.app.run import site_signer
    from conformance.harness.config import ConfigError, load
    from conformance.results.safe_write import UnsafeOutput

    try:
        signer = site_signer(load(args.config, secrets=False))
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None
    if signer is None:
        raise UsageError(f"{args.config}: no [site] key_file and cert_file: only a site key attests")
    try:
        path = write(args.folder, signer)
    except (AttestError, UnsafeOutput) as exc:
        raise UsageError(str(exc)) from None
    signed_by = signer.cert.subject.rfc4514_string()
    print(printable(f"{path}: in-toto attestation of {args.folder / 'evidence.zip'}, signed by {signed_by}"))
    return EXIT_OK


def _report_pdf(args: argparse.Namespace) -> int:
    from conformance.results.pdf import PdfError, find_chromium, print_folder

    folder = args.folder
    if folder.is_symlink() or not folder.is_dir() or not (folder / "results.json").is_file():
        raise UsageError(f"{folder}: no results.json (give a report folder)")
    if find_chromium() is None:
        raise UsageError(
            "report pdf: Chromium is needed and was not found (install the Debian package chromium, "
            "or set CONFORMANCE_CHROMIUM to its path)"
        )
    try:  # the folder may come from anywhere: its pages are rendered again from its results.json
        for pdf in print_folder(folder, _texts_of_installed(), full=args.full):
            print(pdf)
    except (PdfError, OSError) as exc:
        raise UsageError(f"report pdf: {exc}") from None
    return EXIT_OK


def _texts_of_installed():
    """The words (requirement texts, vector descriptions) of every installed profile, by title."""
    from conformance.app.run import profile_texts
    from conformance.harness import registry

    try:
        return profile_texts(tuple(registry.installed().values()))
    except Exception:  # noqa: BLE001 - the report is still printed, without the spec texts
        return None


def _pki_generator(args: argparse.Namespace):
    """The chosen pack's TEST ONLY PKI generator: ``extras["pki_generator"]``, a callable returning a
    core.testpki.PkiGenerator (called on use, so that listing packs loads no cryptography)."""
    profile = _profile(args.profile)
    generator = profile.extras.get("pki_generator")
    if generator is None:
        raise UsageError(f"the {profile.title} pack ships no TEST ONLY PKI generator")
    return generator()


def _pki_path(args: argparse.Namespace) -> int:
    print(_profile(args.profile).load_pki().directory)
    return EXIT_OK


def _pki_generate(args: argparse.Namespace) -> int:
    generator = _pki_generator(args)
    print(f"{generator.title} written to {generator.generate(args.out)}")
    return EXIT_OK


def _pki_add_party(args: argparse.Namespace) -> int:
    generator = _pki_generator(args)
    try:
        target = generator.add_party(args.party.upper(), args.out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.party.upper()} added to the {generator.title} in {target}")
    return EXIT_OK


def _pki_site(args: argparse.Namespace) -> int:
    from conformance.app.site_pki import SitePkiError, config_lines, generate, passphrase_from

    try:
        files = generate(args.out, passphrase_from(args.passphrase_env), args.name, args.country)
    except SitePkiError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--out: {args.out}: {exc.strerror or exc}") from None
    print(printable(f"site evidence PKI written to {args.out} (keys encrypted with ${args.passphrase_env}):"))
    print(printable(f"  {files.ca}  the site CA: give it to whoever verifies (--trust-anchor)"))
    print(printable(f"  {files.cert}, {files.key}  the evidence signer (certificate and chain, key)"))
    print(printable(f"  {files.ca_key}  the CA's key: keep it offline"))
    print("in the candidate's configuration:")
    for line in config_lines(files, args.passphrase_env).splitlines():
        print(printable(line))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = ("conformance", *(sys.argv[1:] if argv is None else argv))
    try:
        return args.handler(args)
    except UsageError as exc:  # may quote what a candidate answered: never raw on the terminal
        print(f"conformance: error: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `conformance spec | head`: the reader has gone, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second traceback at exit
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C before a command handles its own (a run's, once it has begun)
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
