"""One pilot from start to end: the gateway (and, without a configuration, the embedded
references), the pre-flight, the traffic (scripted or watched), then the judgement of the whole
record and the result. The traffic is judged once it has ended, from the relays alone: the pilot
never changes, delays or answers what passes, beyond the gateway faults it is asked to inject."""

from __future__ import annotations

import contextlib
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from conformance.app.run import check_report_dir, site_key_signer
from conformance.app.site_pki import signer_test_material
from conformance.core.egress import EgressPolicy
from conformance.core.profile import Profile
from conformance.core.trust import Credential
from conformance.family.gateway import Faults, Gateway, GatewayTls, Route
from conformance.harness import registry
from conformance.harness.config import ConfigError
from conformance.results import history, pilot_report
from conformance.results.evidence import signer_json

from . import conversations, embedded, live, matrix, preflight, reach, report, script
from .judging import judge_traffic
from .setup import PilotSetup
from .setup import load as load_setup
from .traffic import Traffic
from .triggers import Triggers

EXIT_OK, EXIT_FAILED = 0, 1
SETTLE_S = 0.5  # after the script: a second status or a late retry may still be on its way


@dataclass
class PilotOptions:
    config: Path | None = None
    script: bool | None = None  # None: scripted without a configuration, watched with one
    duration: float | None = None  # passive: watch this long (None: until Ctrl-C)
    server_error: float = 0.0  # --faults 5xx=
    timeout: float = 0.0  # --faults timeout=
    seed: int | None = None
    reference_fault: tuple[str, str] | None = None  # (fault, party), embedded only
    tls: bool = False
    profile: str | None = None
    report_dir: Path = Path("reports")
    out: TextIO = field(default_factory=lambda: sys.stdout)
    # called once the pre-flight has passed, before any traffic (tests: stop a party mid-pilot)
    after_preflight: Callable[[PilotSetup], None] | None = None
    # where a configured pilot's gateway, triggers and probes may connect (None: anywhere); the
    # embedded pilot's parties are its own loopback ports, so it never gets one (as run.py)
    egress: EgressPolicy | None = None


@dataclass
class PilotResult:
    code: int
    folder: Path
    matrix: matrix.Matrix
    results: dict


def run(options: PilotOptions) -> PilotResult:
    """ConfigError for anything found before traffic (exit 4)."""
    check_report_dir(options.report_dir)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = datetime.now(timezone.utc)
    traffic = Traffic()
    scripted = script.Scripted()
    interrupted = False
    with contextlib.ExitStack() as stack:
        setup, gateway = _start(options, stack, traffic)
        egress = options.egress if options.config is not None else None
        triggers = Triggers(setup, egress)
        stack.callback(triggers.close)
        out = options.out
        print(
            f"{setup.profile.title} pilot: {' '.join(setup.codes)} through the gateway at {gateway.base} "
            f"({'mutual TLS' if setup.gateway.tls else 'plain HTTP'})",
            file=out,
            flush=True,
        )
        signer, material, site_material = _signer(setup)
        if site_material is not None:
            print(f"[site] key not used: {site_material}; the TEST ONLY key signs the evidence", file=out)
        for line in preflight.check(setup, traffic, triggers, egress):
            print(line, file=out, flush=True)
        if options.after_preflight is not None:
            options.after_preflight(setup)
        gateway.faults = Faults(options.server_error, options.timeout, random.Random(options.seed))
        scripted_run = options.script if options.script is not None else options.config is None
        mode = "scripted" if scripted_run else "passive"
        try:
            with live.Live(traffic, out, mode, None if scripted_run else options.duration):
                if scripted_run:
                    scripted = script.run(setup, traffic, triggers, gateway.redeliver)
                    time.sleep(SETTLE_S)
                else:
                    _watch(options.duration, out)
        except KeyboardInterrupt:
            interrupted = True
        gateway.faults = Faults()
    finished = datetime.now(timezone.utc)
    seen = traffic.snapshot()
    judged, findings = judge_traffic(
        seen, dialect=setup.dialect, trust=setup.trust, stimuli=frozenset(scripted.stimuli)
    )
    ended = finished
    outcome = conversations.judge_conversations(
        judged, seen, {p.party: p.windows for p in setup.parties}, ended
    )
    gone = reach.unreachable(seen)
    kept, set_aside = reach.set_aside(findings + outcome.findings, gone)
    notes = list(outcome.notes) + set_aside
    notes += [
        matrix.Note(pair, "IssueCO", "no duplicate delivery made (M-16 not judged)")
        for pair, message_id in scripted.duplicates.items()
        if message_id is None
    ]
    if interrupted:
        notes += [matrix.Note(pair, "-", "interrupted") for pair in _pairs(setup)]
    expected: dict[tuple[str, str], list[str]] = {pair: list(kinds) for pair, kinds in scripted.kinds.items()}
    if scripted_run:  # a kind both parties claim and the script never got exchanged: incomplete
        for pair, kinds in script.claimed_kinds(setup).items():
            expected.setdefault(pair, [])
            expected[pair] += [kind for kind in kinds if kind not in expected[pair]]
    result = matrix.build(
        setup.codes,
        seen,
        kept,
        notes,
        conversations.retries_seen(seen),
        expected_kinds=expected,
        unreachable={party: gone[party].reason for party in gone},
    )
    qualify = setup.profile.qualify
    report.print_matrix(result, qualify, options.out)
    relays = report.relays_json(seen)
    pilot = {
        "party_inboxes": {p.party: p.config.inbox_url for p in setup.parties},
        "party_triggers": {p.party: p.has_trigger for p in setup.parties},
        "gateway": {
            "url": gateway.base,
            "tls": setup.gateway.tls,
            "faults": {"5xx": options.server_error, "timeout": options.timeout},
        },
        "mode": "scripted" if scripted_run else "passive",
        "reference_fault": "@".join(options.reference_fault) if options.reference_fault else None,
        "script_skipped": scripted.skipped,
        "interrupted": interrupted,
        "unreachable": {
            party: {"since": u.since.isoformat(), "relay": u.relay, "why": u.why} for party, u in gone.items()
        },
        "relays": relays,
        "conversations": report.conversations_json(relays, result.findings),
    }
    data = report.results(
        title=setup.profile.title,
        matrix=result,
        qualify=qualify,
        started=started,
        finished=finished,
        pilot=pilot,
    )
    data["signer"] = signer_json(signer, material)
    data["test_only_signer"] = material is not None
    if material is not None:
        data["certification"]["reasons"].append(
            f"the evidence is signed with a TEST ONLY key ({material})"
            if site_material is None
            else f"the evidence is signed with a TEST ONLY key: the [site] key is not used ({site_material})"
        )
    folder = report.new_folder(options.report_dir, started)
    report.write_results(folder, data)
    pilot_report.write(folder, data, report.relay_bodies(seen), signer)
    print(f"report: {folder / 'report.html'} (evidence.zip: every relay whole)", file=options.out, flush=True)
    try:  # this pilot's report is written: now what reads the other folders, which never stops it
        history.write_index(options.report_dir)
    except Exception as exc:  # noqa: BLE001
        print(f"reports index not written: {type(exc).__name__}: {exc}", file=sys.stderr)
    code = EXIT_OK if result.all_interoperable and not interrupted else EXIT_FAILED
    return PilotResult(code, folder, result, data)


def _signer(setup: PilotSetup) -> tuple[Credential, str | None, str | None]:
    """Who signs evidence.zip: the ``[site]`` key when pilot.toml names one that is no TEST ONLY
    material (the passphrase from its environment variable; one that cannot sign is exit 4 before
    traffic), else as a rehearsal run's: the TEST ONLY NSW certificate of the party the harness would
    play. (signer, why it is TEST ONLY or None, why the [site] key was not used or None). A pilot
    certifies nobody either way."""
    site_material = None
    if setup.site is not None:
        site = site_key_signer(setup.site.cert_file, setup.site.key_file, setup.site.passphrase_env)
        site_material = signer_test_material(site, (setup.profile,))
        if site_material is None:
            return site, None, None
    signer = setup.profile.load_pki().nsw(setup.profile.partner_party)
    return signer, signer_test_material(signer, (setup.profile,)), site_material


def _pairs(setup: PilotSetup) -> list[tuple[str, str]]:
    return [(a, b) for a in setup.codes for b in setup.codes if a != b]


def _profile(name: str | None) -> Profile:
    try:
        return registry.get(name) if name else registry.default()
    except registry.ProfileError as exc:
        raise ConfigError(str(exc)) from None


def _start(
    options: PilotOptions, stack: contextlib.ExitStack, traffic: Traffic
) -> tuple[PilotSetup, Gateway]:
    """The gateway (and the embedded references), stopped by ``stack``."""
    if options.config is not None:
        setup = load_setup(options.config)
        inboxes = {p.party: p.config.inbox_url for p in setup.parties}
    else:
        setup = embedded.embedded_setup(_profile(options.profile), options.tls)
        inboxes = {party: "http://127.0.0.1:9/" for party in embedded.parties_of(setup.profile)}  # filled in
    route = Route(setup.profile.inbox_path, inboxes, setup.trust)
    tls = GatewayTls(setup.gateway.credential) if setup.gateway.tls and setup.gateway.credential else None
    gateway = Gateway(
        [route],
        tls=tls,
        host=setup.gateway.host,
        port=setup.gateway.port,
        timeout_s=setup.gateway.timeout_s,
        listener=traffic,
        egress=options.egress if options.config is not None else None,
    )
    try:
        gateway.start()
    except OSError as exc:
        where = f"{setup.gateway.host}:{setup.gateway.port}"
        raise ConfigError(f"gateway.listen: {where}: {exc.strerror or exc}") from None
    stack.callback(gateway.stop)
    if options.config is None:
        setup = embedded.start(stack, setup, gateway, inboxes, options.reference_fault)
    return setup, gateway


def _watch(duration: float | None, out: TextIO) -> None:
    """Passive: the parties' operators send; the pilot watches until ``duration`` s or Ctrl-C."""
    print(
        f"watching {'for ' + format(duration, 'g') + ' s' if duration else 'until Ctrl-C'}: "
        "send from your own systems",
        file=out,
        flush=True,
    )
    deadline = time.monotonic() + duration if duration else None
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
