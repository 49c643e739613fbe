"""Pre-flight: what is no candidate behaviour at all but a wrong configuration is one line naming the
key, exit 4, before the first test; what is the candidate's behaviour, however wrong, goes on to the
tests. Real processes and sockets on 127.0.0.1 (the reference NSW as a process, raw candidates)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.core import inbox_server
from conformance.family.inbox import HarnessInbox
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests import test_run_defects as defects
from tests.loopback import free_port, reference_serve_command, stop_reference
from tests.test_run_defects import TOKEN, error_lines, raw_candidate_toml, reference_toml, results

raw_candidate, reference_process = defects.raw_candidate, defects.reference_process  # fixtures


def _run(config: Path, reports: Path, *argv: str) -> int:
    return cli.main(["run", "--config", str(config), "--report-dir", str(reports), *argv])


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("conformance: error: "), lines
    return lines[0].removeprefix("conformance: error: ")


@pytest.fixture
def served(tmp_path) -> Iterator:
    """`conformance reference serve` for KH with the given options; its SG peer at ``sg_inbox``."""
    started: list[subprocess.Popen] = []

    def start(sg_inbox: str, *options: str) -> tuple[str, str]:
        process = subprocess.Popen(
            reference_serve_command(tmp_path / f"kh-{len(started)}.sqlite", sg_inbox, *options),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started.append(process)
        first = process.stdout.readline()
        assert first.startswith("reference NSW KH at "), first
        inbox = first.split(" at ")[1].strip()
        if "--trigger-token" in options:  # then it says where its trigger is
            assert process.stdout.readline().startswith("test trigger at ")
        return inbox, inbox.removesuffix("/messages") + "/test/trigger"

    yield start
    for process in started:
        stop_reference(process)


def _toml(path: Path, inbox: str, trigger: str, harness_port: int, extra: str = "") -> Path:
    path.write_text(
        f"""
[candidate]
party = "KH"
inbox_url = "{inbox}"
roles = ["importing", "exporting"]
capabilities = ["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]
[candidate.windows]
status_s = 4
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 3
grace_s = 0.3
peer_timeout_s = 1
[candidate.trigger]
url = "{trigger}"
token = "{TOKEN}"
[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
{extra}
""",
        encoding="utf-8",
    )
    return path


# --- (1) an inbox that answers in no profile's form --------------------------------------------


def test_a_misspelt_inbox_path_is_one_line_and_exit_4(reference_process, tmp_path, capsys):
    """/efdx/1/mesages passed the connect check and gave 114 fails (exit 1)."""
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    wrong = reference.url.replace("/messages", "/mesages")
    reports = tmp_path / "reports"
    code = cli.main(["run", "--sut", wrong, "--config", str(config), "--report-dir", str(reports)])
    line = _one_error_line(capsys)
    assert code == 4
    assert line.startswith(
        f"candidate.inbox_url: {wrong} answered a POST with HTTP 404: no EFDX 1.0 inbox"
    ), line
    assert not reports.exists() or not any(reports.iterdir())


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (("200 OK", "text/html", b"<html><body>welcome</body></html>"), "XML outside its namespaces"),
        (("400 Bad Request", "application/json", b'{"error": "no"}'), "a body that is not XML"),
        (("200 OK", "text/plain", b""), "an empty body"),
        (("405 Method Not Allowed", "text/plain", b""), "HTTP 405"),
    ],
    ids=["html", "json", "empty", "405"],
)
def test_an_inbox_answering_in_no_profile_form_is_exit_4(raw_candidate, tmp_path, capsys, answer, said):
    candidate = raw_candidate(
        lambda path: answer if path.endswith("/messages") else ("400 Bad", "x/y", b"{}")
    )
    config = raw_candidate_toml(
        tmp_path / "c.toml", f"{candidate.base}/messages", f"{candidate.base}/test/trigger"
    )
    code = _run(config, tmp_path / "reports", "-k", "test_ping_is_answered_in_time")
    line = _one_error_line(capsys)
    assert code == 4
    assert line.startswith(f"candidate.inbox_url: {candidate.base}/messages answered"), line
    assert said in line


def test_an_inbox_answering_5xx_goes_on_to_the_tests(raw_candidate, tmp_path, capsys):
    """5xx is the spec's transient answer ("anything"): the tests judge it."""
    candidate = raw_candidate(
        lambda path: (
            ("503 Service Unavailable", "text/plain", b"down\n")
            if path.endswith("/messages")
            else ("400 Bad", "application/json", b"{}")
        )
    )
    config = raw_candidate_toml(
        tmp_path / "c.toml", f"{candidate.base}/messages", f"{candidate.base}/test/trigger"
    )
    reports = tmp_path / "reports"
    code = _run(config, reports, "-k", "test_ping_is_answered_in_time")
    capsys.readouterr()
    assert code == 1
    assert results(reports)["tests"][0]["verdict"] == "fail"


@pytest.mark.parametrize("fault", ["refuse-ping", "slow-answers", "unsigned-receipts"])
def test_seeded_faults_answering_in_the_profiles_form_fail_their_tests(tmp_path, capsys, fault):
    """The reference NSW goes through the same pre-flight: its seeded faults are behaviour, judged by
    the tests, not a stopped run."""
    reports = tmp_path / "reports"
    code = cli.main(
        ["run", "--reference-fault", fault, "-k", "test_ping_is_answered", "--report-dir", str(reports)]
    )
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "pre-flight" not in out
    verdicts = [test["verdict"] for test in results(reports)["tests"]]
    assert "fail" in verdicts, verdicts


# --- (2) a claimed trigger that is not enabled -------------------------------------------------


def test_a_trigger_that_is_not_enabled_is_one_line_and_exit_4(served, tmp_path, capsys):
    """A reference NSW served without --trigger-token answers its trigger 404: 26 tests errored."""
    harness_port = free_port()
    inbox, trigger = served(f"http://127.0.0.1:{harness_port}/efdx/1/messages")
    config = _toml(tmp_path / "kh.toml", inbox, trigger, harness_port)
    reports = tmp_path / "reports"
    code = _run(config, reports)
    line = _one_error_line(capsys)
    assert code == 4
    assert line.startswith(f"candidate.trigger.url: no test trigger is enabled at {trigger}: HTTP 404"), line
    assert not reports.exists() or not any(reports.iterdir())


# --- (3) the candidate reaches the harness inbox -----------------------------------------------


def test_a_candidate_whose_peer_entry_for_the_harness_is_wrong_is_exit_4(served, tmp_path, capsys):
    """Its peer entry for SG names another port: every test waited its window (57 fails after 9 min).
    The Ping it is asked for through its trigger does not arrive: one line, within the status window."""
    harness_port, elsewhere = free_port(), free_port()
    inbox, trigger = served(
        f"http://127.0.0.1:{elsewhere}/efdx/1/messages",
        *("--trigger-token", TOKEN, "--retry-schedule", "0.2", "--outbound-timeout", "1"),
    )
    config = _toml(tmp_path / "kh.toml", inbox, trigger, harness_port)
    reports = tmp_path / "reports"
    code = _run(config, reports)
    line = _one_error_line(capsys)
    assert code == 4
    assert line.startswith("harness.listen: the candidate took a Ping for SG"), line
    assert (
        f"the candidate's peer entry for SG must be http://127.0.0.1:{harness_port}/efdx/1/messages" in line
    )
    assert not reports.exists() or not any(reports.iterdir())


def test_a_candidate_that_reaches_the_harness_runs_and_its_ping_is_no_tests_arrival(
    reference_process, tmp_path, capsys
):
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    reports = tmp_path / "reports"
    code = _run(config, reports, "-k", "test_ping_is_answered_in_time")
    out, err = capsys.readouterr()
    assert code == 0, err + out
    assert all(not test["received"] for test in results(reports)["tests"])


def test_the_rcpx_reference_trigger_takes_a_ping_too(tmp_path, capsys):
    """A reference run goes through check_reached: RCPX's reference NSW must send the Ping."""
    reports = tmp_path / "reports"
    code = cli.main(
        ["run", "--profile", "rcpx", "-k", "test_ping_is_answered_in_time", "--report-dir", str(reports)]
    )
    _, err = capsys.readouterr()
    assert code == 0, err


def test_without_a_trigger_the_operator_is_told_what_to_check(raw_candidate, tmp_path, capsys):
    candidate = raw_candidate(lambda path: ("503 Service Unavailable", "text/plain", b"down\n"))
    harness_port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[candidate]\nparty = "KH"\ninbox_url = "{candidate.base}/messages"\nroles = ["importing"]\n'
        f'[candidate.windows]\nrequest_timeout_s = 3\n[harness]\nlisten = "127.0.0.1:{harness_port}"\n',
        encoding="utf-8",
    )
    code = _run(config, tmp_path / "reports", "-k", "test_ping_is_answered_in_time")
    out, _ = capsys.readouterr()
    assert code == 1
    said = [line for line in out.splitlines() if line.startswith("pre-flight: ")]
    assert said == [
        "pre-flight: no test trigger, so the harness cannot see that it is reached: the candidate's peer "
        f"entry for SG must be http://127.0.0.1:{harness_port}/efdx/1/messages"
    ], out


# --- (4) TLS files -----------------------------------------------------------------------------


def _tls_toml(tmp_path: Path, **files: Path) -> Path:
    lines = "".join(f'{key} = "{path}"\n' for key, path in files.items())
    return _toml(
        tmp_path / "tls.toml",
        f"https://127.0.0.1:{free_port()}/efdx/1/messages",
        f"https://127.0.0.1:{free_port()}/efdx/1/test/trigger",
        free_port(),
        f"[tls]\nenabled = true\n{lines}",
    )


@pytest.mark.parametrize("case", ["not-pem", "another-pair", "ca-not-pem"])
def test_tls_files_that_do_not_load_or_pair_are_one_line_before_anything(tmp_path, capsys, case):
    """A key file that is not PEM (/etc/shadow) was a T-01 "TLS failure" fail of the first test."""
    pki = TestPki.load()
    sg, my = pki.nsw("SG"), pki.nsw("MY")
    junk = tmp_path / "shadow"
    junk.write_text("root:*:19000:0:99999:7:::\n")
    files = {
        "not-pem": {"client_cert": sg.cert_path, "client_key": junk},
        "another-pair": {"inbox_cert": sg.cert_path, "inbox_key": my.key_path},
        "ca-not-pem": {"ca_bundle": junk},
    }[case]
    code = _run(_tls_toml(tmp_path, **files), tmp_path / "reports")
    line = _one_error_line(capsys)
    assert code == 4
    key = {"not-pem": "tls.client_key", "another-pair": "tls.inbox_key", "ca-not-pem": "tls.ca_bundle"}[case]
    assert line.startswith(f"{key}: "), line


def test_an_inbox_that_fails_the_tls_handshake_is_exit_4(tmp_path, capsys):
    """https:// to a server that speaks plain HTTP (or the wrong TLS files): no candidate behaviour."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def answer_plain() -> None:  # whatever comes (a TLS ClientHello), a plain HTTP answer, then close
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer_plain, daemon=True)
    thread.start()
    inbox = f"https://127.0.0.1:{server.getsockname()[1]}/efdx/1/messages"
    config = tmp_path / "c.toml"
    config.write_text(
        f'[candidate]\nparty = "KH"\ninbox_url = "{inbox}"\nroles = ["importing"]\n'
        f"[candidate.windows]\nrequest_timeout_s = 3\n[tls]\nenabled = true\n",
        encoding="utf-8",
    )
    try:
        code = _run(config, tmp_path / "reports", "-k", "test_ping_is_answered_in_time")
    finally:
        stop.set()
        thread.join(5)
        server.close()
    line = _one_error_line(capsys)
    assert code == 4
    assert line.startswith(f"candidate.inbox_url: {inbox}: TLS failure: "), line


# --- a harness.listen port another program holds -----------------------------------------------


def test_a_harness_port_held_by_another_program_is_one_line_and_exit_4(served, tmp_path, capsys, monkeypatch):
    """A fixed harness.listen port that stays in use (another program listens there) is a
    misconfiguration: one line naming the key, what holds the port, exit 4, no report."""
    monkeypatch.setattr(inbox_server, "BUSY_PORT_WAIT_S", 0.5)
    harness_port = free_port()
    inbox, trigger = served(f"http://127.0.0.1:{harness_port}/efdx/1/messages", "--trigger-token", TOKEN)
    config = _toml(tmp_path / "kh.toml", inbox, trigger, harness_port)
    reports = tmp_path / "reports"
    with socket.create_server(("127.0.0.1", harness_port)):
        code = _run(config, reports)
    line = _one_error_line(capsys)
    assert code == 4
    assert line == (
        f"harness.listen: cannot listen on 127.0.0.1:{harness_port}: Address already in use, "
        "still after 0.5 s (its sockets: 1 LISTEN)"
    )
    assert not reports.exists() or not any(reports.iterdir())


def test_a_harness_port_freed_within_the_wait_is_taken(tmp_path):
    """What held a fixed port is often ending (the run's own pre-flight inbox, the previous run of
    the same system): the inbox tries the port again and takes it once it is free."""
    port = free_port()
    holder = socket.create_server(("127.0.0.1", port))
    threading.Timer(0.6, holder.close).start()
    inbox = HarnessInbox("SG", port=port, dialect=EFDX).start()
    try:
        assert inbox.url == f"http://127.0.0.1:{port}/efdx/1/messages"
    finally:
        inbox.stop()
