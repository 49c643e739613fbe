"""``tls.candidate_cert``: the harness inbox admits only the candidate's registered client
certificate (issue 21 item 7: on a shared test bed the test PKI is everybody's, so its chain says
only "an NSW of this party"). Real mutual TLS on loopback with the TEST ONLY PKI: a pinned client is
judged as before; another certificate that chains to the same CAs is answered 403, counted, and
kept out of the arrivals; a `conformance run` whose candidate presents another certificate stops
at the pre-flight with one line naming the key, and one presenting the registered one runs.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.core.pins import pins_of_pem
from conformance.family.inbox import HarnessInbox
from conformance.harness.config import ConfigError, load
from conformance.harness.session import candidate_pins
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests.loopback import free_port, serve_reference, stop_reference
from tests.test_certifying_run import TOKEN
from tests.test_inbox_attacks import session, valid_message
from tests.test_serve_attestation import member_toml


def _pins(pki: TestPki, party: str) -> frozenset[str]:
    return pins_of_pem(pki.nsw(party).cert_path.read_bytes())


@contextlib.contextmanager
def _inbox(pki: TestPki, pins: frozenset[str]):
    inbox = HarnessInbox("KH", pki=pki, tls=True, client_pins=pins, dialect=EFDX).start()
    try:
        yield inbox
    finally:
        inbox.stop()


def test_the_registered_client_certificate_is_judged_as_before(tmp_path, pki):
    with _inbox(pki, _pins(pki, "SG")) as inbox:  # the vectors' sender is SG
        body = valid_message(pki)
        answer = session(pki, tmp_path).post(
            inbox.url, data=body, headers={"Content-Type": "application/xml"}
        )
        assert answer.status_code == 200, answer.text[:300]
        assert inbox.wait_for(lambda arrival: arrival.body == body, 5) is not None
        assert inbox.unregistered == 0


@pytest.mark.parametrize("path", ["inbox", "gateway"])
def test_another_certificate_of_the_same_test_pki_is_refused_403_and_counted(tmp_path, path, pki):
    with _inbox(pki, _pins(pki, "MY")) as inbox:  # SG's certificate chains to the same CAs
        url = (
            inbox.url
            if path == "inbox"
            else inbox.url.replace(inbox.dialect.codes.INBOX_PATH, inbox.gateway_path)
        )
        answer = session(pki, tmp_path).post(
            url, data=valid_message(pki), headers={"Content-Type": "application/xml"}
        )
        assert answer.status_code == 403
        assert "not registered" in answer.text
        assert inbox.unregistered == 1 and inbox.arrivals == []


def test_a_pin_file_without_a_certificate_is_one_config_line(tmp_path):
    bad = tmp_path / "candidate.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as refused:
        candidate_pins(bad)
    assert str(refused.value).startswith("tls.candidate_cert: ") and "\n" not in str(refused.value)


def test_a_pin_over_plain_http_is_refused_when_the_configuration_loads(tmp_path, pki):
    pem = tmp_path / "candidate.pem"
    pem.write_bytes(pki.nsw("KH").cert_path.read_bytes())
    config = tmp_path / "c.toml"
    config.write_text(
        '[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n'
        '[tls]\nenabled = false\ncandidate_cert = "candidate.pem"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load(config)
    assert str(refused.value).startswith("tls.candidate_cert: given, but tls.enabled is false")


def _run(tmp_path: Path, served, harness_port: int, pin_party: str) -> tuple[int, str]:
    pem = tmp_path / f"candidate-{pin_party}.pem"
    pem.write_bytes(TestPki.load().nsw(pin_party).cert_path.read_bytes())
    config = tmp_path / f"pinned-{pin_party}.toml"
    config.write_text(member_toml(served, harness_port, pem.name))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = cli.main(
            [
                "run",
                "--config",
                str(config),
                "--non-interactive",
                "-k",
                "verification_of_an_issued_co",
                "--report-dir",
                str(tmp_path / f"report-{pin_party}"),
            ]
        )
    return code, output.getvalue()


def test_a_run_pinned_to_another_certificate_stops_at_the_pre_flight_and_the_right_one_runs(tmp_path, capsys):
    harness_port = free_port()
    served = serve_reference(tmp_path / "kh.sqlite", harness_port, TOKEN, tls=True)
    try:
        code, _ = _run(tmp_path, served, harness_port, "TH")  # the reference presents KH's certificate
        said = capsys.readouterr().err.strip().splitlines()
        assert code == 4, said
        assert len(said) == 1 and said[0].startswith("conformance: error: tls.candidate_cert: "), said
        assert "client certificate other than " in said[0] and "answered 403" in said[0], said
        code, out = _run(tmp_path, served, harness_port, "KH")
        assert code == 0, out[-2000:]
    finally:
        stop_reference(served.process)
