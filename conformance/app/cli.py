"""The ``conformance`` command: a thin layer over the package (argparse, no logic of its own).

Exit codes (DESIGN.md): 0 all good, 1 something judged invalid or failed, 4 usage or configuration
error (argparse's own usage errors are mapped to 4 as well).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path

from conformance import __version__
from conformance.core.terminal_text import printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 4


class UsageError(Exception):
    """A bad argument or unreadable input: reported on one line, exit code 4."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 by default; the contract says 4
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
    from conformance.profiles.efdx.codes import PARTIES

    if text.upper() not in PARTIES:
        raise argparse.ArgumentTypeError(f"not a party: {text!r} (one of {' '.join(PARTIES)})")
    return text.upper()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conformance", description="EFDX 1.0 conformance harness for ASEAN Single Window NSWs."
    )
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    run.add_argument("--requirement", action="append", default=[], metavar="ID", help="only tests of ID")
    run.add_argument(
        "--layer", action="append", default=[], choices=["T", "M", "A", "BR"], help="only a layer"
    )
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests whose name matches (pytest -k)")
    run.add_argument(
        "--non-interactive", action="store_true", help="manual-mode tests are inconclusive instead of waiting"
    )
    run.add_argument("--maxfail", type=int, default=0, metavar="N", help="stop after N tests did not pass")
    run.add_argument(
        "--rerun-failed",
        type=Path,
        metavar="DIR",
        help="only the tests that did not pass in the run of DIR (a report folder or its results.json)",
    )
    run.add_argument("--report-dir", type=Path, default=Path("reports"), help="where the report folder goes")
    run.set_defaults(handler=_run)

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
    listing.set_defaults(handler=_list)

    validate = commands.add_parser("validate", help="judge message files offline, as the receiving NSW would")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print a JSON list of {file, valid, codes}")
    validate.add_argument("--at", type=parse_moment, help="time of receipt (date = noon UTC); default now")
    validate.add_argument("--receiver", type=parse_party, default="KH", help="receiving party (default KH)")
    validate.set_defaults(handler=_validate)

    vectors = commands.add_parser("vectors", help="test vectors").add_subparsers(
        dest="vectors_command", required=True
    )
    build = vectors.add_parser("build", help="write the signed vector set for one day")
    build.add_argument("--date", type=parse_day, required=True, help="YYYY-MM-DD")
    build.add_argument("--out", type=Path, required=True, help="folder for <id>.xml files")
    build.set_defaults(handler=_vectors_build)

    reference = commands.add_parser("reference", help="the embedded reference NSW").add_subparsers(
        dest="reference_command", required=True
    )
    faults = reference.add_parser("faults", help="list the seeded faults: NAME  PURPOSE  description")
    faults.set_defaults(handler=_reference_faults)
    serve = reference.add_parser("serve", help="serve one party's reference NSW until SIGINT/SIGTERM")
    serve.add_argument("--party", type=parse_party, required=True)
    serve.add_argument("--port", type=int, required=True, help="0 picks a free port (printed)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--tls", action="store_true", help="HTTPS with mutual TLS (test PKI)")
    serve.add_argument("--db", type=Path, help="SQLite file (default: reports/reference-<party>.sqlite)")
    serve.add_argument("--peer", action="append", default=[], metavar="YY=URL", help="a party's inbox URL")
    serve.add_argument("--fault", help="switch on one seeded fault (see `conformance reference faults`)")
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
    serve.set_defaults(handler=_reference_serve)

    evidence = commands.add_parser("evidence", help="evidence bundles").add_subparsers(
        dest="evidence_command", required=True
    )
    verify = evidence.add_parser("verify", help="check a bundle's hashes, signature and signer, offline")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE")
    verify.set_defaults(handler=_evidence_verify)

    spec = commands.add_parser("spec", help="the EFDX 1.0 specification (shipped), or one requirement's text")
    spec.add_argument(
        "id", nargs="?", metavar="ID", help="a requirement (M-10) or test purpose (M-10/revoked)"
    )
    spec.set_defaults(handler=_spec)

    diff = commands.add_parser(
        "diff", help="what changed between two runs (report folders or results.json); exit 1 on a regression"
    )
    diff.add_argument("old", type=Path, metavar="OLD")
    diff.add_argument("new", type=Path, metavar="NEW")
    diff.set_defaults(handler=_diff)

    pki = commands.add_parser("pki", help="the TEST ONLY PKI").add_subparsers(
        dest="pki_command", required=True
    )
    generate = pki.add_parser("generate", help="regenerate the TEST ONLY PKI (new keys for everything)")
    generate.add_argument("--out", type=Path, help="folder (default: the package's test_vectors/pki)")
    generate.set_defaults(handler=_pki_generate)
    pki.add_parser(
        "path", help="print the folder of the TEST ONLY PKI (CA certificates, CRLs, keys)"
    ).set_defaults(handler=_pki_path)
    return parser


def _run(args: argparse.Namespace) -> int:
    from conformance.app.run import RunOptions, run
    from conformance.harness.config import ConfigError, check_url, load
    from conformance.profiles.efdx.catalogue import requirement
    from conformance.profiles.efdx.reference.faults import fault

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
    try:
        sut = check_url(args.sut, "--sut") if args.sut else None
        config = load(args.config, inbox_url=sut) if args.config else None
        fault(faults[0] if faults else None)
        for rid in args.requirement:
            requirement(rid)
    except (ConfigError, KeyError) as exc:
        raise UsageError(_message(exc)) from None
    options = RunOptions(
        config=config,
        reference_fault=faults[0] if faults else None,
        tls=args.tls,
        requirements=tuple(args.requirement),
        layers=tuple(args.layer),
        keyword=args.keyword,
        maxfail=args.maxfail,
        rerun=rerun,
        non_interactive=args.non_interactive,
        command=args.command_line,
        report_dir=args.report_dir,
    )
    try:
        code, _folder = run(options)
    except ConfigError as exc:  # found while setting up: the harness inbox's port, the candidate's address
        raise UsageError(str(exc)) from None
    return code


def _not_passed(path: Path) -> tuple[str, ...]:
    """The tests that neither passed nor were not-applicable in an earlier run: what to run again."""
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

    results = validate_files(args.files, receiver=args.receiver, at=args.at)
    if args.json:
        print(json.dumps([result.as_json() for result in results], indent=2))
    else:
        for result in results:
            print(result.line())
    if any(result.error for result in results):
        return EXIT_USAGE
    return EXIT_OK if all(result.valid for result in results) else EXIT_FAILED


def _vectors_build(args: argparse.Namespace) -> int:
    from conformance.profiles.efdx.vectors import build_all

    written = build_all(args.out, args.date)
    print(f"wrote {len(written)} vectors for {args.date} to {args.out}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from conformance.app import coverage
    from conformance.harness.config import ConfigError, load

    try:
        config = load(args.config) if args.config else None
    except ConfigError as exc:
        raise UsageError(_message(exc)) from None
    print(coverage.listing(verbose=args.verbose, config=config))
    return EXIT_OK


def _reference_faults(args: argparse.Namespace) -> int:
    from conformance.profiles.efdx.reference.faults import FAULTS

    width = max(len(fault.name) for fault in FAULTS)
    purpose_width = max(len(fault.purpose) for fault in FAULTS)
    for fault in FAULTS:
        print(f"{fault.name:<{width}}  {fault.purpose:<{purpose_width}}  {fault.description}")
    return EXIT_OK


def _reference_serve(args: argparse.Namespace) -> int:
    import os

    from conformance.profiles.efdx.reference.faults import fault
    from conformance.profiles.efdx.reference.nsw import ReferenceNsw, Settings
    from conformance.profiles.efdx.reference.server import run_until_signalled, serve

    peers = {}
    for item in args.peer:
        party, _, url = item.partition("=")
        if not url or party.upper() not in _parties():
            raise UsageError(f"--peer wants PARTY=URL, not {item!r}")
        peers[party.upper()] = url
    try:
        fault(args.fault)
        schedule = tuple(float(value) for value in args.retry_schedule.split(","))
    except (KeyError, ValueError) as exc:
        raise UsageError(_message(exc)) from None
    settings = Settings(
        party=args.party,
        db=args.db or Path("reports") / f"reference-{args.party}.sqlite",
        peers=peers,
        fault=args.fault,
        status_delay=args.status_delay,
        retry_schedule=schedule,
        outbound_timeout=args.outbound_timeout,
        trigger_token=args.trigger_token or os.environ.get("EFDX_TEST_TOKEN"),
        tls=args.tls,
    )
    nsw = ReferenceNsw(settings)
    server = serve(nsw, args.host, args.port, tls=args.tls)

    def announce(server) -> None:
        base = f"{'https' if args.tls else 'http'}://{args.host}:{server.port}"
        fault_note = f" with fault {args.fault}" if args.fault else ""
        print(f"reference NSW {args.party}{fault_note} at {base}/efdx/1/messages", flush=True)
        if settings.trigger_token:
            print(f"test trigger at {base}/efdx/1/test/trigger", flush=True)

    run_until_signalled(nsw, server, announce)
    return EXIT_OK


def _message(exc: Exception) -> str:
    """A KeyError's message without the quotes its str() adds."""
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


def _parties() -> tuple[str, ...]:
    from conformance.profiles.efdx.codes import PARTIES

    return PARTIES


def _spec(args: argparse.Namespace) -> int:
    from conformance.profiles.efdx import spec

    if args.id is None:
        print(spec.spec_text())
        return EXIT_OK
    try:
        print(spec.describe(args.id))
    except KeyError as exc:
        raise UsageError(_message(exc)) from None
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from conformance.results import diff

    try:
        changes = diff.compare(diff.load(args.old), diff.load(args.new))
    except diff.DiffInputError as exc:
        raise UsageError(str(exc)) from None
    print("\n".join(printable(line) for line in changes.lines()))
    return EXIT_FAILED if changes.regression else EXIT_OK


def _evidence_verify(args: argparse.Namespace) -> int:
    from conformance.core.violations import Violation
    from conformance.profiles.efdx.pki import TestPki
    from conformance.results.evidence import verify_evidence

    try:
        verified = verify_evidence(args.bundle, TestPki.load().trust_store())
    except OSError as exc:
        raise UsageError(f"{args.bundle}: {exc.strerror or exc}") from None
    except Violation as violation:
        print(
            printable(f"{args.bundle}: invalid: expected {violation.expected}; observed {violation.observed}")
        )
        return EXIT_FAILED
    print(printable(f"{args.bundle}: valid ({verified.files} files, signed by {verified.signer})"))
    if verified.test_only:
        print(
            "  signed with a TEST ONLY key, which anyone can use: "
            "this shows the bundle is intact, not who made it"
        )
    return EXIT_OK


def _pki_path(args: argparse.Namespace) -> int:
    from conformance.profiles.efdx.pki import TestPki

    print(TestPki.load().directory)
    return EXIT_OK


def _pki_generate(args: argparse.Namespace) -> int:
    from conformance.profiles.efdx import pki_gen

    return pki_gen.main(["--out", str(args.out)] if args.out else [])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = ("conformance", *(sys.argv[1:] if argv is None else argv))
    try:
        return args.handler(args)
    except UsageError as exc:  # may quote what a candidate answered: never raw on the terminal
        print(f"conformance: error: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
