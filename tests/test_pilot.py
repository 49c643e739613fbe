"""`conformance pilot` (EFDX section 9, issue 20): the harness as the gateway between NSWs, judging
both directions. Real parts only: three embedded reference NSWs as processes (`reference serve`),
the gateway on loopback over plain HTTP and mutual TLS with the TEST ONLY PKI, and, for a
configured pilot, two in-process reference NSWs described by ICS files. Windows are the embedded
reference's short ones; nothing depends on today's date (every CO is issued on the day it is sent).
Every server a test starts is stopped before it ends."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import pty
import random
import re
import signal
import socket
import sqlite3
import threading
import zipfile
from pathlib import Path

import pytest

from conformance.app import reference_process, site_pki
from conformance.app.cli import main
from conformance.app.pilot.matrix import INTEROPERABLE, NOT_INTEROPERABLE
from conformance.app.pilot.session import PilotOptions, run
from conformance.app.pilot.traffic import read_fields
from conformance.core import inbox_server
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.harness.config import ConfigError
from conformance.profiles.efdx.codes import INBOX_PATH
from conformance.profiles.efdx.dialect import EFDX
from conformance.results.evidence import load_anchors, verify_evidence
from tests.loopback import free_port, poll_until

PAIRS = [(a, b) for a in ("KH", "SG", "TH") for b in ("KH", "SG", "TH") if a != b]
TOKEN = "pilot-test"


def pilot(tmp_path: Path, **options):
    try:
        options.setdefault("out", io.StringIO())
        return run(PilotOptions(report_dir=tmp_path / "reports", **options))
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
    (folder,) = [path for path in (tmp_path / "reports").iterdir() if path.is_dir()]
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
    check_duplicate_deliveries(data)
    index = html.unescape((tmp_path / "reports" / "index.html").read_text(encoding="utf-8"))
    assert f'href="{folder.name}/report.html"' in index and "pilot: KH SG TH" in index
    assert "pairs: interoperable 6" in index
    check_report_and_evidence(folder, data)


def check_duplicate_deliveries(data: dict) -> None:
    """Once per ordered pair the gateway delivered one relayed IssueCO's exact bytes a second time
    (the only request it originates): answered by the receiver (a Receipt), no sender's try."""
    relays = data["pilot"]["relays"]
    again = [r for r in relays if r["originated"]]
    assert sorted((r["from"], r["to"]) for r in again) == sorted(PAIRS)
    for duplicate in again:
        (first,) = [
            r
            for r in relays
            if (r["message_id"], r["from"]) == (duplicate["message_id"], duplicate["from"])
            and not r["originated"]
        ]
        assert duplicate["action"] == "IssueCO" and duplicate["try"] is None and first["try"] == 1
        assert duplicate["request_sha256"] == first["request_sha256"]  # byte-identical
        assert duplicate["request_size"] == first["request_size"] and duplicate["status"] == 200
        assert duplicate["forwarded_to"] == first["forwarded_to"] and duplicate["relay"] > first["relay"]


@pytest.mark.parametrize(
    ("fault", "said"),
    [("process-duplicates-twice", "second status"), ("duplicate-flag-false", "Duplicate")],
)
def test_a_receiver_that_mishandles_the_gateways_duplicate_delivery_breaks_m16(tmp_path, fault, said):
    result = pilot(tmp_path, reference_fault=(fault, "SG"))
    assert result.code == 1
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "SG"), ("TH", "SG")}
    for pair in broken:
        findings = [f for f in result.matrix.findings if f.pair == pair]
        assert {(f.requirement, f.party, f.role, f.category) for f in findings} == {
            ("M-16", "SG", "receiver", "duplicate-status")
        }
        assert result.matrix.cells[pair]["IssueCO"]["duplicates"] == 1
        assert any("M-16" in r for r in result.matrix.reasons[pair])
    if fault == "process-duplicates-twice":
        assert all("A-01" in f.also for f in result.matrix.findings)
    data = json.loads((result.folder / "results.json").read_text())
    assert data["pilot"]["parties_broke"]["SG"] == {"sender": [], "receiver": ["EFDX 1.0 M-16"]}


def check_report_and_evidence(folder: Path, data: dict) -> None:
    """report.html under the run report's CSP (no script, nothing fetched), evidence.zip intact with
    every relay whole (its bytes those its digests name), a timeline per conversation across parties."""
    page = html.unescape((folder / "report.html").read_text(encoding="utf-8"))
    assert "default-src 'none'" in page and "script-src 'none'" in page and "<script" not in page
    assert f'id="relay-{len(data["pilot"]["relays"])}"' in page and 'id="conversations"' in page
    verified = verify_evidence(folder / "evidence.zip", [EFDX.load_pki().test_material()])
    assert verified.test_only  # signed with TEST ONLY material: integrity, not identity
    relays = data["pilot"]["relays"]
    with zipfile.ZipFile(folder / "evidence.zip") as bundle:
        index = json.loads(bundle.read("index.json"))
        assert index["kind"] == "pilot" and len(index["relays"]) == len(relays)
        assert bundle.read("results.json") == (folder / "results.json").read_bytes()
        for relay, listed in zip(relays, index["relays"], strict=True):
            request, answer = bundle.read(listed["request"]), bundle.read(listed["answer"])
            assert hashlib.sha256(request).hexdigest() == relay["request_sha256"] == listed["request_sha256"]
            assert hashlib.sha256(answer).hexdigest() == relay["answer_sha256"]
            assert len(request) == relay["request_size"]
    issued = [c for c in data["pilot"]["conversations"] if any(r["action"] == "IssueCO" for r in c["relays"])]
    assert issued
    for conversation in issued:  # the CO one way, its status the other: both parties on one timeline
        assert len(conversation["parties"]) == 2
        directions = {(r["from"], r["to"]) for r in conversation["relays"]}
        assert len(directions) == 2, conversation
        assert [r["offset_s"] for r in conversation["relays"]] == sorted(
            r["offset_s"] for r in conversation["relays"]
        )


def test_a_party_that_stops_answering_mid_pilot_leaves_its_pairs_incomplete_never_its_partners_fault(
    tmp_path,
):
    """SG's reference process is stopped once the pre-flight has passed (its Pings reached it): every
    forward to it is refused (the gateway's 502s). Its pairs are incomplete naming it, never
    not-interoperable for KH or TH, whose retries to it end without being taken; KH <-> TH stand; and
    the kinds both sides claim (replace, cancel, verification) that never passed are named."""

    def stop_sg(setup) -> None:
        os.kill(setup.processes["SG"], signal.SIGKILL)  # the process this pilot started for SG
        inbox = setup.party("SG").config.inbox_url
        host, port = inbox.split("//")[1].split("/")[0].split(":")

        def refused() -> bool:
            try:
                socket.create_connection((host, int(port)), timeout=0.5).close()
            except OSError:
                return True
            return False

        assert poll_until(refused, 10.0)

    result = pilot(tmp_path, after_preflight=stop_sg)
    assert result.code == 1
    verdicts = result.matrix.verdicts
    assert verdicts[("KH", "TH")] == verdicts[("TH", "KH")] == INTEROPERABLE
    for pair in [p for p in PAIRS if "SG" in p]:
        assert verdicts[pair] == "incomplete", (pair, result.matrix.reasons[pair])
        assert any(r.startswith("SG unreachable from relay") for r in result.matrix.reasons[pair])
    assert result.matrix.findings == [] and not result.matrix.broke["KH"]["sender"]
    # the kinds the parties' ICS claim, never exchanged, are named
    for kind in ("IssueCO", "ReplaceCO", "CancelCO"):
        assert f"no {kind} exchanged" in result.matrix.reasons[("SG", "KH")]
    assert "no VerificationRequest exchanged" in result.matrix.reasons[("KH", "SG")]
    assert "no ReplaceCO exchanged" in result.matrix.reasons[("KH", "SG")]
    data = json.loads((result.folder / "results.json").read_text())
    assert set(data["pilot"]["unreachable"]) == {"SG"} and data["verdict"] == "incomplete"
    refused = [r for r in data["pilot"]["relays"] if r["to"] == "SG" and r["status"] == 502]
    assert refused and all(r["forwarded_to"] and "not reached" in r["gateway"] for r in refused)
    assert any(r["try"] and r["try"] > 1 for r in refused)  # the senders retried, as M-21 asks


@pytest.mark.parametrize("tls", [False, True], ids=["http", "mutual-tls"])
def test_never_send_status_at_sg_breaks_a01_exactly_where_sg_receives_cos(tmp_path, tls):
    result = pilot(tmp_path, reference_fault=("never-send-status", "SG"), tls=tls)
    assert result.code == 1
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "SG"), ("TH", "SG")}
    for pair in broken:
        assert "A-01" in requirements_by_pair(result)[pair]
        assert {f.party for f in result.matrix.findings if f.pair == pair} == {"SG"}
        counts = result.matrix.cells[pair]["IssueCO"]
        assert counts["lost"] == 2  # the valid CO and the one that breaks BR-10
    assert result.matrix.broke["SG"]["receiver"] and not result.matrix.broke["SG"]["sender"]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "mutual-tls"])
def test_ignore_br10_at_th_is_a_disagreement_on_br10_where_th_receives(tmp_path, tls):
    result = pilot(tmp_path, reference_fault=("ignore-br10", "TH"), tls=tls)
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


@pytest.mark.parametrize("tls", [False, True], ids=["http", "mutual-tls"])
def test_stale_outbound_timestamps_at_kh_breaks_m22_where_kh_sends(tmp_path, tls):
    result = pilot(tmp_path, reference_fault=("stale-outbound-timestamps", "KH"), tls=tls)
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("KH", "SG"), ("KH", "TH")}
    assert {(f.requirement, f.party, f.role) for f in result.matrix.findings} == {("M-22", "KH", "sender")}
    assert all("M-15" in f.also for f in result.matrix.findings)  # the receivers rightly refused them


@pytest.mark.parametrize(
    ("fault", "party", "tls", "requirement"),
    [
        # T: over TLS, SG judges the gateway's client against From and refuses it (G-02 too)
        ("refuse-gateway-client", "SG", True, "T-05"),
        # M: TH's Receipts carry a wrong ReceivedDigest
        ("wrong-received-digest", "TH", False, "M-19"),
    ],
    ids=["T", "M"],
)
def test_a_receivers_fault_of_layer_t_and_m_is_a_disagreement_where_it_receives(
    tmp_path, fault, party, tls, requirement
):
    """With never-send-status (A) and ignore-br10 (BR) above, a pilot catches a disagreement for a
    seeded fault of each layer: the pairs in which the faulty party receives, naming the requirement."""
    result = pilot(tmp_path, reference_fault=(fault, party), tls=tls)
    assert result.code == 1
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {(a, party) for a in ("KH", "SG", "TH") if a != party}
    assert {(f.requirement, f.party, f.role, f.category) for f in result.matrix.findings} == {
        (requirement, party, "receiver", "disagreement")
    }
    if requirement == "T-05":
        assert all("G-02" in f.also for f in result.matrix.findings)
    assert result.matrix.broke[party] == {"sender": [], "receiver": [requirement]}


def test_the_embedded_rcpx_pilot_names_the_pairs_where_the_faulty_party_receives(tmp_path):
    """`conformance pilot --profile rcpx`: three embedded RCPX reference NSWs (its reference party AU,
    its default partner JP, and BN) through the gateway's /rcpx/1/{party}/messages inboxes."""
    result = pilot(tmp_path, profile="rcpx", reference_fault=("never-send-status", "JP"))
    assert result.matrix.parties == ("AU", "JP", "BN")
    assert result.results["profile"] == "RCPX 1.0"
    broken = {pair for pair, verdict in result.matrix.verdicts.items() if verdict == NOT_INTEROPERABLE}
    assert broken == {("AU", "JP"), ("BN", "JP")}
    found = {(f.requirement, f.party, f.role) for f in result.matrix.findings}
    assert ("A-01", "JP", "receiver") in found  # and A-03: the cancellation's status is lost too
    assert found <= {("A-01", "JP", "receiver"), ("A-03", "JP", "receiver")}
    others = set(result.matrix.pairs) - broken
    assert {result.matrix.verdicts[pair] for pair in others} == {INTEROPERABLE}
    assert all("/rcpx/1/" in relay["path"] for relay in result.results["pilot"]["relays"])


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


def _ics(folder: Path, party: str, inbox: str, trigger: str, tls: bool = False) -> Path:
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
[tls]
enabled = {str(tls).lower()}
"""
    )
    return path


def _configured(tmp_path: Path, *, through_gateway: bool, tls: bool = False):
    """Two in-process reference NSWs (KH, SG), their ICS and a pilot.toml; their peers are the
    gateway's inboxes, or (a wrong configuration) each other's own; over mutual TLS with ``tls``."""
    port, kh_port, sg_port = free_port(), free_port(), free_port()
    scheme = "https" if tls else "http"
    own = {p: f"{scheme}://127.0.0.1:{n}{INBOX_PATH}" for p, n in (("KH", kh_port), ("SG", sg_port))}
    gateway = {p: f"{scheme}://127.0.0.1:{port}/efdx/1/{p}/messages" for p in own}
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
            tls=tls,
            dialect=EFDX,
        )

    kh = RunningReference(settings("KH"), port=kh_port)
    sg = RunningReference(settings("SG"), port=sg_port)
    files = [_ics(tmp_path, p, r.url, r.trigger_url, tls) for p, r in (("KH", kh), ("SG", sg))]
    config = tmp_path / "pilot.toml"
    config.write_text(
        f'[gateway]\nlisten = "127.0.0.1:{port}"\ntls = {str(tls).lower()}\n\n'
        + "".join(f'[[party]]\nics = "{f.name}"\n\n' for f in files)
    )
    return config, kh, sg


def test_a_configured_two_party_pilot_runs_its_script_unattended(tmp_path):
    config, kh, sg = _configured(tmp_path, through_gateway=True)
    out = io.StringIO()
    with kh, sg:
        result = pilot(tmp_path, config=config, script=True, out=out)
    assert result.code == 0, result.matrix.reasons
    assert result.matrix.pairs == [("KH", "SG"), ("SG", "KH")]
    assert result.results["pilot"]["mode"] == "scripted"
    # in a pipe: no line rewritten in place, a plain line as the traffic starts and as it ends
    said = out.getvalue()
    assert "\r" not in said and "\x1b" not in said
    assert "traffic started (scripted)\n" in said
    relays = len(result.results["pilot"]["relays"])
    assert f"traffic ended: {relays} relays seen, 0 conversations open\n" in said


def test_on_a_terminal_a_pilot_shows_a_live_line_while_its_traffic_runs(tmp_path):
    """On a terminal (a pty): one line rewritten in place, relays seen, conversations open and how
    long the script has run, cleared when the traffic ends."""
    config, kh, sg = _configured(tmp_path, through_gateway=True)
    master, slave = pty.openpty()
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(slave, "w", encoding="utf-8", closefd=True) as terminal, kh, sg:
        assert terminal.isatty()
        result = pilot(tmp_path, config=config, script=True, out=terminal)
    assert poll_until(lambda: b"report: " in shown, 5.0)
    os.close(master)
    reader.join(5.0)
    text = shown.decode("utf-8", "replace")
    assert result.code == 0
    assert "traffic started" not in text  # a terminal gets the live line instead
    assert re.search(
        r"\r\x1b\[Kscripted: \d+ relays seen, \d+ conversations open, \d+ s into the script", text
    )
    assert "traffic ended: " in text


def test_a_pilots_evidence_is_signed_with_the_site_key_that_pilot_toml_names(tmp_path, monkeypatch):
    """[site] in pilot.toml, a site key made by `conformance pki site`: evidence.zip is signed with it
    (its chain leads to the site CA), results.json says the signer is not TEST ONLY, and the pilot
    still certifies nobody. A [site] key that is TEST ONLY material is not used: the TEST ONLY key
    signs, and results.json says so. A key that cannot sign stops the pilot before traffic (exit 4)."""
    passphrase = "a site passphrase for the pilot"
    monkeypatch.setenv("PILOT_SITE_PASSPHRASE", passphrase)
    files = site_pki.generate(tmp_path / "site", passphrase.encode(), "Pilot site", "KH")
    site = f'[site]\ncert_file = "{files.cert}"\nkey_file = "{files.key}"\n'
    site += 'passphrase_env = "PILOT_SITE_PASSPHRASE"\n'
    material = [EFDX.load_pki().test_material()]

    def site_pilot(folder: Path, lines: str):
        folder.mkdir()
        config, kh, sg = _configured(folder, through_gateway=True)
        config.write_text(config.read_text() + lines)
        with kh, sg:
            return pilot(folder, config=config, script=True)

    result = site_pilot(tmp_path / "site-key", site)
    data = result.results
    assert result.code == 0, result.matrix.reasons
    assert data["test_only_signer"] is False and data["signer"]["test_only"] is False
    assert data["certification"]["can_certify"] is False  # a pilot certifies nobody, site key or not
    verified = verify_evidence(result.folder / "evidence.zip", material, anchors=load_anchors(files.ca))
    assert verified.anchor is not None and not verified.test_only

    test_only = EFDX.load_pki().nsw("SG")
    lines = f'[site]\ncert_file = "{test_only.cert_path}"\nkey_file = "{test_only.key_path}"\n'
    again = site_pilot(tmp_path / "test-only", lines)
    assert again.results["test_only_signer"] is True and again.results["signer"]["test_only"] is True
    assert any("TEST ONLY" in r for r in again.results["certification"]["reasons"])
    assert verify_evidence(again.folder / "evidence.zip", material).test_only

    monkeypatch.delenv("PILOT_SITE_PASSPHRASE")
    with pytest.raises(ConfigError, match="PILOT_SITE_PASSPHRASE"):
        site_pilot(tmp_path / "no-passphrase", site)
    assert not any((tmp_path / "no-passphrase" / "reports").iterdir())  # no pilot folder


SEED = 42  # its draws put gateway 502s among the first twenty forwards (random.Random(42))


def test_two_nsws_over_mutual_tls_with_5_percent_gateway_502s_agree_end_to_end(tmp_path):
    """Issue 20's two-party pilot: over mutual TLS, the gateway answers a seeded 5 % of requests 502
    itself. Every CO taken gets exactly one status end to end, the retries are seen and judged (no
    finding: each came again, the same bytes under the same MessageId), and the bytes each receiver
    took are the bytes its sender sent: the sender's outbox, the gateway's relay (its digest in
    results.json, its bytes in evidence.zip) and the receiver's record name the same SHA-256."""
    draws = random.Random(SEED)
    assert any(draws.random() < 0.05 for _ in range(20))
    config, kh, sg = _configured(tmp_path, through_gateway=True, tls=True)
    with kh, sg:
        result = pilot(tmp_path, config=config, script=True, server_error=0.05, seed=SEED)
        sent = {p: _outbox(r) for p, r in (("KH", kh), ("SG", sg))}
        taken = {p: _received(r) for p, r in (("KH", kh), ("SG", sg))}
    assert result.code == 0, [f.text for f in result.matrix.findings] + [n.text for n in result.matrix.notes]
    assert result.results["pilot"]["gateway"]["tls"] is True
    relays = result.results["pilot"]["relays"]
    injected = [r for r in relays if r["gateway"] and r["gateway"].startswith("injected 502")]
    retried = [r for r in relays if (r["try"] or 0) > 1]
    assert injected and retried
    assert {(r["from"], r["message_id"]) for r in retried} == {(r["from"], r["message_id"]) for r in injected}
    assert sum(c["retries"] for kinds in result.matrix.cells.values() for c in kinds.values()) == len(retried)
    # every CO message taken gets exactly one ACCEPTED or REJECTED status (by MessageId), end to end
    with zipfile.ZipFile(result.folder / "evidence.zip") as bundle:
        fields = {
            r["relay"]: read_fields(bundle.read(f"relays/{r['relay']:04d}-request.xml")) for r in relays
        }
    cos = {r["message_id"] for r in relays if r["action"] in ("IssueCO", "ReplaceCO") and r["status"] == 200}
    assert len(cos) >= 6  # each way: the CO, its replacement, the BR-10 stimulus
    statuses: dict[str, set[str]] = {co: set() for co in cos}
    for relay in relays:
        read = fields[relay["relay"]]
        if read.action == "StatusNotification" and read.status in ("ACCEPTED", "REJECTED"):
            statuses.setdefault(read.ref_to, set()).add(read.message_id)
    assert {co: len(ids) for co, ids in statuses.items()} == dict.fromkeys(cos, 1)
    # the bytes delivered are the bytes sent: sender's outbox = gateway's relay = receiver's record
    forwarded = [r for r in relays if r["forwarded_to"] and r["status"] == 200]
    assert forwarded
    for relay in forwarded:
        assert sent[relay["from"]][relay["message_id"]] == relay["request_sha256"], relay["relay"]
        assert taken[relay["to"]][(relay["from"], relay["message_id"])] == relay["request_sha256"]


def _outbox(reference: RunningReference) -> dict[str, str]:
    """MessageId -> SHA-256 of the bytes the reference's outbox sent (as signed and stored)."""
    with sqlite3.connect(reference.settings.db) as db:
        rows = db.execute("SELECT message_id, body FROM outbox").fetchall()
    return {message_id: hashlib.sha256(body).hexdigest() for message_id, body in rows}


def _received(reference: RunningReference) -> dict[tuple[str, str], str]:
    """(From, MessageId) -> SHA-256 of the body the reference took, as it recorded it."""
    with sqlite3.connect(reference.settings.db) as db:
        rows = db.execute("SELECT sender, message_id, digest FROM received").fetchall()
    return {(sender, message_id): digest for sender, message_id, digest in rows}


def test_a_party_whose_peer_is_not_the_gateway_stops_the_pilot_before_traffic(tmp_path, capsys):
    config, kh, sg = _configured(tmp_path, through_gateway=False)
    with kh, sg:
        code = main(["pilot", "--config", str(config), "--script", "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert len(err) == 1 and "Ping to" in err[0] and "did not reach the gateway" in err[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_gateway_port_another_program_holds_stops_the_pilot_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inbox_server, "BUSY_PORT_WAIT_S", 0.3)
    config, kh, sg = _configured(tmp_path, through_gateway=True)
    port = int(config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0])
    with kh, sg, socket.create_server(("127.0.0.1", port)):
        code = main(["pilot", "--config", str(config), "--script", "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert err == [
        f"conformance: error: gateway.listen: 127.0.0.1:{port}: Address already in use, still after "
        "0.3 s (its sockets: 1 LISTEN)"
    ]
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
