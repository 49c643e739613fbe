"""`conformance pilot` (EFDX section 9, issue 20): the harness as the gateway between NSWs, judging
both directions. Real parts only: three embedded reference NSWs as processes (`reference serve`),
the gateway on loopback over plain HTTP and mutual TLS with the TEST ONLY PKI, and, for a
configured pilot, two in-process reference NSWs described by ICS files. Windows are the embedded
reference's short ones; nothing depends on today's date (every CO is issued on the day it is sent).
Every server a test starts is stopped before it ends."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conformance.app import reference_process
from conformance.app.cli import main
from conformance.app.pilot.matrix import INTEROPERABLE, NOT_INTEROPERABLE
from conformance.app.pilot.session import PilotOptions, run
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx.codes import INBOX_PATH
from conformance.profiles.efdx.dialect import EFDX
from tests.loopback import free_port

PAIRS = [(a, b) for a in ("KH", "SG", "TH") for b in ("KH", "SG", "TH") if a != b]
TOKEN = "pilot-test"


def pilot(tmp_path: Path, **options):
    try:
        return run(PilotOptions(report_dir=tmp_path / "reports", out=io.StringIO(), **options))
    finally:
        reference_process.stopped()  # every reference process has ended and its folder is gone


def requirements_by_pair(result) -> dict[tuple[str, str], set[str]]:
    return {
        pair: {f.requirement for f in result.matrix.findings if f.pair == pair}
        for pair in result.matrix.pairs
    }


def test_the_embedded_pilot_is_interoperable_for_every_pair(tmp_path):
    code = main(["pilot", "--report-dir", str(tmp_path / "reports")])
    reference_process.stopped()
    (folder,) = (tmp_path / "reports").iterdir()
    data = json.loads((folder / "results.json").read_text())
    assert code == 0
    assert data["kind"] == "pilot" and data["verdict"] == "incomplete"  # a pilot certifies nobody
    assert data["pilot"]["interoperable"] is True and data["pilot"]["mode"] == "scripted"
    pairs = {(p["sender"], p["receiver"]): p for p in data["pilot"]["pairs"]}
    assert set(pairs) == set(PAIRS)
    for pair in pairs.values():
        assert pair["verdict"] == INTEROPERABLE, pair
        for kind in ("Ping", "IssueCO", "ReplaceCO", "CancelCO", "StatusNotification", "VerificationRequest"):
            assert pair["kinds"][kind]["messages"] >= 1, (pair["sender"], pair["receiver"], kind)
    assert data["pilot"]["findings"] == []


def test_never_send_status_at_sg_breaks_a01_exactly_where_sg_receives_cos(tmp_path):
    result = pilot(tmp_path, reference_fault=("never-send-status", "SG"))
    assert result.code == 1
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "SG"), ("TH", "SG")}
    for pair in broken:
        assert "A-01" in requirements_by_pair(result)[pair]
        assert {f.party for f in result.matrix.findings if f.pair == pair} == {"SG"}
        counts = result.matrix.cells[pair]["IssueCO"]
        assert counts["lost"] == 2  # the valid CO and the one that breaks BR-10
    assert result.matrix.broke["SG"]["receiver"] and not result.matrix.broke["SG"]["sender"]


def test_ignore_br10_at_th_is_a_disagreement_on_br10_where_th_receives(tmp_path):
    result = pilot(tmp_path, reference_fault=("ignore-br10", "TH"))
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "TH"), ("SG", "TH")}
    for pair in broken:
        (finding,) = [f for f in result.matrix.findings if f.pair == pair]
        assert (finding.requirement, finding.party, finding.role, finding.category) == (
            "BR-10",
            "TH",
            "receiver",
            "disagreement",
        )
        assert "observed ACCEPTED" in finding.text and len(finding.evidence) == 2  # the CO and its status
    data = json.loads((result.folder / "results.json").read_text())
    assert data["verdict"] == "not-conformant"
    assert data["pilot"]["parties_broke"]["TH"]["receiver"] == ["EFDX 1.0 BR-10"]


def test_stale_outbound_timestamps_at_kh_breaks_m22_where_kh_sends(tmp_path):
    result = pilot(tmp_path, reference_fault=("stale-outbound-timestamps", "KH"))
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "SG"), ("KH", "TH")}
    assert {(f.requirement, f.party, f.role) for f in result.matrix.findings} == {("M-22", "KH", "sender")}
    assert all("M-15" in f.also for f in result.matrix.findings)  # the receivers rightly refused them


def test_the_embedded_pilot_over_mutual_tls_is_interoperable(tmp_path):
    result = pilot(tmp_path, tls=True)
    assert result.code == 0, result.matrix.reasons
    assert result.results["pilot"]["gateway"]["tls"] is True
    assert result.results["pilot"]["gateway"]["url"].startswith("https://")


def test_gateway_502s_over_mutual_tls_are_retried_and_every_co_gets_one_status(tmp_path):
    result = pilot(tmp_path, tls=True, server_error=0.15, seed=20)
    retried = sum(counts["retries"] for kinds in result.matrix.cells.values() for counts in kinds.values())
    assert retried > 0
    assert result.code == 0, [f.text for f in result.matrix.findings] + [n.text for n in result.matrix.notes]


# ------------------------------------------------------------------------------ a configured pilot


def _ics(folder: Path, party: str, inbox: str, trigger: str) -> Path:
    path = folder / f"{party.lower()}.toml"
    path.write_text(
        f"""[candidate]
party = "{party}"
inbox_url = "{inbox}"
capabilities = ["replace", "cancel", "verification", "trigger"]
[candidate.windows]
status_s = 3
verification_s = 3
retry_schedule_s = [0.1, 0.2, 0.4]
peer_timeout_s = 2
[candidate.trigger]
url = "{trigger}"
token = "{TOKEN}"
[harness]
party = "TH"  # read by `conformance run` only: a pilot plays no party
"""
    )
    return path


def _configured(tmp_path: Path, *, through_gateway: bool):
    """Two in-process reference NSWs (KH, SG), their ICS and a pilot.toml; their peers are the
    gateway's inboxes, or (a wrong configuration) each other's own."""
    port, kh_port, sg_port = free_port(), free_port(), free_port()
    own = {p: f"http://127.0.0.1:{n}{INBOX_PATH}" for p, n in (("KH", kh_port), ("SG", sg_port))}
    gateway = {p: f"http://127.0.0.1:{port}/efdx/1/{p}/messages" for p in own}
    peers = gateway if through_gateway else own

    def settings(party: str) -> Settings:
        other = "SG" if party == "KH" else "KH"
        return Settings(
            party=party,
            db=tmp_path / f"{party}.sqlite",
            peers={other: peers[other]},
            retry_schedule=(0.1, 0.2, 0.4),
            outbound_timeout=2.0,
            trigger_token=TOKEN,
            gateway=True,
            dialect=EFDX,
        )

    kh = RunningReference(settings("KH"), port=kh_port)
    sg = RunningReference(settings("SG"), port=sg_port)
    files = [_ics(tmp_path, p, r.url, r.trigger_url) for p, r in (("KH", kh), ("SG", sg))]
    config = tmp_path / "pilot.toml"
    config.write_text(
        f'[gateway]\nlisten = "127.0.0.1:{port}"\n\n'
        + "".join(f'[[party]]\nics = "{f.name}"\n\n' for f in files)
    )
    return config, kh, sg


def test_a_configured_two_party_pilot_runs_its_script_unattended(tmp_path):
    config, kh, sg = _configured(tmp_path, through_gateway=True)
    with kh, sg:
        result = pilot(tmp_path, config=config, script=True)
    assert result.code == 0, result.matrix.reasons
    assert result.matrix.pairs == [("KH", "SG"), ("SG", "KH")]
    assert result.results["pilot"]["mode"] == "scripted"


def test_a_party_whose_peer_is_not_the_gateway_stops_the_pilot_before_traffic(tmp_path, capsys):
    config, kh, sg = _configured(tmp_path, through_gateway=False)
    with kh, sg:
        code = main(["pilot", "--config", str(config), "--script", "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert len(err) == 1 and "Ping to" in err[0] and "did not reach the gateway" in err[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--faults", "5xx=2"], "--faults"),
        (["--reference-fault", "no-such-fault"], "no-such-fault"),
        (["--reference-fault", "never-send-status@VN"], "not one of the pilot's parties"),
        (["--config", "x.toml", "--tls"], "embedded pilot"),
    ],
)
def test_usage_errors_are_one_line_and_exit_4(tmp_path, capsys, argv, said):
    assert main(["pilot", "--report-dir", str(tmp_path), *argv]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]


def test_reference_serve_takes_gateway_peers_and_direct_peers(tmp_path):
    """`reference serve --peer` names the gateway's inbox of a party (G-01), `--direct-peer` its own."""
    from conformance.app.cli import _reference_settings, _served_peers, build_parser
    from conformance.core.profile import ReferenceSettings
    from conformance.harness import registry

    profile = registry.get("efdx")
    settings = ReferenceSettings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": "http://127.0.0.1:1/efdx/1/SG/messages"},
        direct_peers={"SG": "http://127.0.0.1:2/efdx/1/messages"},
    )
    argv = reference_process.command(profile, settings)
    args = build_parser().parse_args(argv[argv.index("reference") :])
    assert args.direct_peer == ["SG=http://127.0.0.1:2/efdx/1/messages"]
    served = _reference_settings(
        args,
        [profile],
        profile,
        peers=_served_peers(args, [profile]),
        direct=_served_peers(args, [profile], "direct_peer"),
        schedule=(1.0,),
    )
    assert served.peers == settings.peers and served.direct_peers == settings.direct_peers
    assert served.gateway  # the embedded reference claims gateway
