"""RCPX 1.0 through the shared protocol code: EFDX's judge, signals, harness inbox and reference NSW,
given RCPX's dialect, speak RCPX on the wire (its namespaces, paths, codes, CO, rules, PKI).

Real parts throughout: messages signed with the RCPX TEST ONLY PKI, a real HTTP exchange with a
reference NSW on loopback, its status delivered to a real harness inbox. Each judging check has a
negative beside it, so that code still speaking EFDX (or nothing) fails here.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from conformance.family import signals
from conformance.family.inbox import HarnessInbox
from conformance.family.judge import Receiver
from conformance.family.reference.nsw import ReferenceNsw, Settings
from conformance.family.reference.runner import RunningReference
from conformance.family.reference.server import ReferenceApp
from conformance.family.vectors import Build
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.rcpx.dialect import RCPX

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

EXPORTER, IMPORTER = "JP", "AU"


def rcpx_co(**changes) -> Build:
    """An RCEP IssueCO from JP to AU, sent now; ``changes`` go into the CO's data."""
    moment = datetime.now(UTC)
    build = Build(
        "rcpx-issue", moment.date(), RCPX.load_pki(), sender=EXPORTER, receiver=IMPORTER, dialect=EFDX
    )
    build.dialect, build.moment = RCPX, moment
    if changes:
        build.data = build.co(**changes)
    return build


def test_the_judge_accepts_a_valid_rcep_co_in_the_rcpx_namespaces():
    judgement = Receiver(IMPORTER, RCPX.load_pki().trust_store(), dialect=RCPX).judge(rcpx_co().bytes())
    assert judgement.violation is None, judgement.violation
    assert (judgement.status, judgement.reasons) == ("ACCEPTED", [])
    assert judgement.payload.tag == "{urn:rcpx:co:1}RCEPCertificateOfOrigin"


def test_an_efdx_receiver_refuses_the_same_message():
    """The negative control: the namespaces really differ, so a receiver left speaking EFDX says M-03."""
    judgement = Receiver(IMPORTER, RCPX.load_pki().trust_store(), dialect=EFDX).judge(rcpx_co().bytes())
    assert judgement.codes == ["EFDX-M03"]


def test_errors_carry_rcpx_codes():
    tampered = rcpx_co().bytes().replace(b"<Action>IssueCO", b"<Action>ReplaceCO")
    judgement = Receiver(IMPORTER, RCPX.load_pki().trust_store(), dialect=RCPX).judge(tampered)
    assert judgement.codes == ["RCPX-M06"]


def test_a_broken_rule_is_a_rejection_with_the_rbr_id():
    data = rcpx_co().co()
    data["items"][0]["hs_code"] = "770000"  # chapter 77 is reserved (RBR-13)
    judgement = Receiver(IMPORTER, RCPX.load_pki().trust_store(), dialect=RCPX).judge(
        rcpx_co(**{"items": data["items"]}).bytes()
    )
    assert (judgement.status, judgement.reasons) == ("REJECTED", ["RBR-13"])


@pytest.fixture
def rcpx_exchange():
    """A JP harness inbox and an AU reference NSW, both speaking RCPX, peers of each other."""
    with HarnessInbox(EXPORTER, dialect=RCPX) as inbox, tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            party=IMPORTER,
            db=Path(workdir) / "au.sqlite",
            peers={EXPORTER: inbox.url},
            retry_schedule=(0.2, 0.4),
            outbound_timeout=2.0,
            dialect=RCPX,
        )
        with RunningReference(settings) as reference:
            yield inbox, reference


def test_the_reference_nsw_answers_and_reports_status_in_rcpx(rcpx_exchange):
    inbox, reference = rcpx_exchange
    assert reference.url.endswith("/rcpx/1/messages") and inbox.url.endswith("/rcpx/1/messages")
    build = rcpx_co()
    body = build.bytes()
    answer = requests.post(reference.url, data=body, headers={"Content-Type": "application/xml"}, timeout=10)
    assert answer.status_code == 200, answer.text
    sent = Receiver(IMPORTER, RCPX.load_pki().trust_store(), dialect=RCPX).judge(body)
    receipt = signals.check_receipt(
        answer.content,
        message_id=sent.message_id,
        sender=EXPORTER,
        receiver=IMPORTER,
        sent_digests=sent.received_digests,
        trust=RCPX.load_pki().trust_store(),
        at=datetime.now(UTC),
        dialect=RCPX,
    )
    assert receipt.root.tag == "{urn:rcpx:envelope:1}Receipt"
    status = inbox.wait_for(
        lambda a: a.header is not None and a.header.ref_to_message_id == sent.message_id, 10
    )
    assert status is not None and status.judgement.violation is None
    assert status.judgement.payload.findtext("{urn:rcpx:co:1}Status") == "ACCEPTED"


def test_one_process_serves_both_profiles_on_their_own_paths():
    with tempfile.TemporaryDirectory() as workdir:
        efdx = ReferenceNsw(Settings(party="KH", db=Path(workdir) / "efdx.sqlite", dialect=EFDX))
        rcpx = ReferenceNsw(Settings(party=IMPORTER, db=Path(workdir) / "rcpx.sqlite", dialect=RCPX))
        server = make_server("127.0.0.1", 0, ReferenceApp(efdx, rcpx), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        for nsw in (efdx, rcpx):
            nsw.start()
        thread.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            xml = {"Content-Type": "application/xml"}
            to_rcpx = requests.post(
                f"{base}/rcpx/1/messages", data=rcpx_co().bytes(), headers=xml, timeout=10
            )
            garbage = requests.post(f"{base}/efdx/1/messages", data=b"<not-xml", headers=xml, timeout=10)
        finally:
            server.shutdown()
            server.server_close()
            for nsw in (efdx, rcpx):
                nsw.stop()
    assert to_rcpx.status_code == 200 and b"urn:rcpx:envelope:1" in to_rcpx.content
    assert garbage.status_code == 400 and b"EFDX-M01" in garbage.content


def test_reference_serve_runs_both_profiles_in_one_process(tmp_path):
    """`conformance reference serve --profile efdx --profile rcpx`: one port, both paths, each
    answering in its own profile's words; SIGTERM stops both."""
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-c", "import sys; from conformance.app.cli import main; sys.exit(main())"]
    process = subprocess.Popen(
        [
            *command,
            "reference",
            "serve",
            "--party",
            "KH",
            "--profile",
            "efdx",
            "--profile",
            "rcpx",
            "--port",
            "0",
        ]
        + ["--db", str(tmp_path / "kh.sqlite")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = [process.stdout.readline().split(" at ")[1].strip() for _ in range(2)]
        assert [url.rsplit(":", 1)[1].split("/", 1)[1] for url in urls] == [
            "efdx/1/messages",
            "rcpx/1/messages",
        ]
        xml = {"Content-Type": "application/xml"}
        answers = [requests.post(url, data=b"<not-xml", headers=xml, timeout=10) for url in urls]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert [answer.status_code for answer in answers] == [400, 400]
    assert b"EFDX-M01" in answers[0].content and b"RCPX-M01" in answers[1].content
    assert sorted(path.name for path in tmp_path.glob("*.sqlite")) == ["kh-efdx.sqlite", "kh-rcpx.sqlite"]
