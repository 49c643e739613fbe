"""`conformance run` as a new user meets it when something is wrong around the run, not in it.

Each test tries one mistake or mishap the way a user would: a report folder that cannot be written,
a wrong trigger token, a candidate that dies mid-run, a selection that selects nothing, repeated or
conflicting options, and a candidate whose answers try to take over the terminal. The candidate is
the reference NSW started with `conformance reference serve` (a real process, killed for real), or
a raw socket server that answers exactly the bytes a test needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.app import run as run_module
from conformance.app.progress import Progress
from conformance.core.terminal_text import printable, printable_lines, printable_markup
from tests.loopback import free_port, serve_reference, stop_reference

COMMAND = [sys.executable, "-m", "conformance.app.cli"]
TOKEN = "run-defects-token"
ALL_CAPABILITIES = '["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]'
WINDOWS = """
[candidate.windows]
status_s = 5
verification_s = 5
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 3
grace_s = 0.3
peer_timeout_s = 1
operator_s = 5
"""
# Tests that only exchange synchronously with the inbox (no status to wait for): three M-06 vectors
# (test_single_messages.py runs first), then the eight transport tests that wait for no status.
SYNC_ONLY = "m06- or (test_transport and not text_xml_co)"  # that one waits for a status


def sync_only_count() -> int:
    """How many tests SYNC_ONLY selects in EFDX's suite today (a number written here went stale as
    purposes were added to test_transport)."""
    from conformance.app import coverage
    from conformance.harness import registry

    return sum(
        1
        for test in coverage.suite_tests(registry.get("efdx"))
        if "m06-" in test.nodeid or ("test_transport" in test.nodeid and "text_xml_co" not in test.nodeid)
    )


def results(reports: Path) -> dict:
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# --- the candidate: a reference NSW in a process of its own -------------------------------------


@dataclass
class ReferenceProcess:
    process: subprocess.Popen
    url: str
    trigger_url: str
    harness_port: int
    db: Path


@pytest.fixture
def reference_process(tmp_path) -> Iterator[Callable[[], ReferenceProcess]]:
    """`conformance reference serve` (KH, trigger token TOKEN) with SG's inbox on a free port."""
    started: list[subprocess.Popen] = []

    def start() -> ReferenceProcess:
        harness_port = free_port()
        db = tmp_path / f"kh-{len(started)}.sqlite"
        served = serve_reference(db, harness_port, TOKEN)
        started.append(served.process)
        return ReferenceProcess(served.process, served.inbox_url, served.trigger_url, harness_port, db)

    yield start
    for process in started:
        stop_reference(process)


def candidate_toml(
    path: Path, inbox_url: str, harness_port: int, *, trigger_url: str, token: str, roles: str
) -> Path:
    path.write_text(
        f"""
[candidate]
party = "KH"
inbox_url = "{inbox_url}"
roles = {roles}
capabilities = {ALL_CAPABILITIES}
{WINDOWS}
[candidate.trigger]
url = "{trigger_url}"
token = "{token}"

[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
""",
        encoding="utf-8",
    )
    return path


def raw_candidate_toml(
    path: Path, inbox_url: str, trigger_url: str, profiles: tuple[str, ...] = ("efdx",), extra: str = ""
) -> Path:
    """A raw candidate's ICS: the importing role, the test trigger taking TOKEN, ``profiles`` claimed,
    then ``extra`` TOML (an endpoint table, say)."""
    config = candidate_toml(
        path, inbox_url, free_port(), trigger_url=trigger_url, token=TOKEN, roles='["importing"]'
    )
    text = config.read_text().replace(
        'party = "KH"\n', f'party = "KH"\nprofiles = {json.dumps(list(profiles))}\n'
    )
    config.write_text(text + extra)
    return config


def importing_toml(path: Path, inbox_url: str) -> Path:
    """A candidate without a trigger that claims only the importing role."""
    path.write_text(
        f'[candidate]\nparty = "KH"\ninbox_url = "{inbox_url}"\nroles = ["importing"]\n{WINDOWS}',
        encoding="utf-8",
    )
    return path


def reference_toml(path: Path, reference: ReferenceProcess, token: str = TOKEN) -> Path:
    return candidate_toml(
        path,
        reference.url,
        reference.harness_port,
        trigger_url=reference.trigger_url,
        token=token,
        roles='["importing", "exporting"]',
    )


# --- the candidate: a raw socket server ---------------------------------------------------------


class RawCandidate:
    """Answers every request with what ``answer(path)`` gives: (status line, content type, body), or
    None: reset the connection (RST) without a byte of answer."""

    def __init__(self, answer: Callable[[str], tuple[str, str, bytes] | None]) -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                data = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":", 1)[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(body) < length:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    path = head.split(b" ")[1].decode("latin-1")
                    outer.paths.append(path)
                    answered = answer(path)
                    if answered is None:
                        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    status, content_type, payload = answered
                    self.request.sendall(
                        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                        + payload
                    )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/efdx/1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw_candidate() -> Iterator[Callable[..., RawCandidate]]:
    started: list[RawCandidate] = []

    def start(answer) -> RawCandidate:
        started.append(RawCandidate(answer))
        return started[-1]

    yield start
    for server in started:
        server.stop()


# --- 2: the report folder -----------------------------------------------------------------------


def test_an_unwritable_report_dir_is_one_line_and_exit_4_before_the_run(tmp_path, capsys):
    """Before: the tests ran, then a NotADirectoryError traceback, and the results were lost."""
    in_the_way = tmp_path / "reports"
    in_the_way.write_text("a file where the folder should be\n")
    started = time.monotonic()
    code = cli.main(["run", "--requirement", "M-06", "--report-dir", str(in_the_way / "run")])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 4
    assert error_lines(err) == [
        f"conformance: error: --report-dir: cannot write to {in_the_way / 'run'}: Not a directory"
    ]
    assert out == ""  # no progress, no summary: nothing was run
    assert elapsed < 5, "the reference NSW was started and the tests run before the check"


def test_a_selection_naming_nothing_is_said_before_the_report_dir_is_made(tmp_path, capsys):
    """What a selection names is known from the command line alone: it is checked first, so that a
    mistyped ID is the error shown, and no report folder is made for a run that cannot start."""
    in_the_way = tmp_path / "reports"
    in_the_way.write_text("a file where the folder should be\n")
    for report_dir in (in_the_way / "run", tmp_path / "fresh"):
        code = cli.main(["run", "--requirement", "Z-99", "--report-dir", str(report_dir)])
        _, err = capsys.readouterr()
        assert code == 4
        (line,) = error_lines(err)
        assert line.startswith("conformance: error: --requirement Z-99: not an ID of "), line
    assert not (tmp_path / "fresh").exists()


def test_a_read_only_report_dir_is_one_line_and_exit_4(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder anyway; the file-in-the-way case covers the check")
    read_only = tmp_path / "reports"
    read_only.mkdir(mode=0o555)
    try:
        code = cli.main(["run", "--requirement", "M-06", "--report-dir", str(read_only)])
    finally:
        read_only.chmod(0o755)
    _, err = capsys.readouterr()
    assert code == 4
    assert error_lines(err) == [
        f"conformance: error: --report-dir: cannot write to {read_only}: Permission denied"
    ]


# --- 3: the trigger token -----------------------------------------------------------------------


def test_a_wrong_trigger_token_is_one_line_and_exit_4_before_the_tests(reference_process, tmp_path, capsys):
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference, token="not-the-token")
    reports = tmp_path / "reports"
    code = cli.main(["run", "--sut", reference.url, "--config", str(config), "--report-dir", str(reports)])
    out, err = capsys.readouterr()
    assert code == 4
    (line,) = error_lines(err)
    assert line.startswith("conformance: error: candidate.trigger.token: ")
    assert f"the test trigger at {reference.trigger_url} refused the configured token: HTTP 403" in line
    assert "not-the-token" not in line  # the token itself is never printed
    assert out == ""
    assert not reports.exists() or not any(reports.iterdir())  # no report: nothing was run


def test_the_token_check_makes_the_candidate_send_nothing(reference_process, tmp_path, capsys):
    """With the right token the check passes, and the candidate neither sent nor queued anything but
    the pre-flight's Ping (errata 2): the tests selected here never ask it to send."""
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    reports = tmp_path / "reports"
    code = cli.main(
        [
            "run",
            "--sut",
            reference.url,
            "--config",
            str(config),
            "-k",
            "test_other_methods_get_405",
            "--report-dir",
            str(reports),
        ]
    )
    capsys.readouterr()
    assert code == 0
    data = results(reports)
    assert [test["verdict"] for test in data["tests"]] == ["pass"] * 3
    assert all(not test["received"] for test in data["tests"])
    with contextlib.closing(sqlite3.connect(reference.db)) as db:
        assert db.execute("SELECT action FROM outbox").fetchall() == [("Ping",)]


@pytest.mark.parametrize(("status", "exit_code"), [(401, 4), (400, 1), (404, 4), (405, 4), (500, 1)])
def test_only_an_authentication_refusal_of_the_token_check_is_a_usage_error(
    raw_candidate, tmp_path, capsys, status, exit_code
):
    """401/403 (the token) and 404/405 (no trigger enabled there) are usage errors; anything else
    (the candidate may check the body first) leaves the tests to find out, as before: the run goes
    on (and fails here, the inbox answering 503)."""
    candidate = raw_candidate(
        lambda path: (
            (f"{status} Whatever", "application/json", b'{"error": "no"}')
            if path.endswith("/test/trigger")
            else ("503 Service Unavailable", "text/plain", b"down\n")
        )
    )
    config = raw_candidate_toml(
        tmp_path / "c.toml", f"{candidate.base}/messages", f"{candidate.base}/test/trigger"
    )
    reports = tmp_path / "reports"
    code = cli.main(
        ["run", "--config", str(config), "-k", "test_ping_is_answered_in_time", "--report-dir", str(reports)]
    )
    _, err = capsys.readouterr()
    assert code == exit_code, err
    assert candidate.paths[0] == "/efdx/1/test/trigger"  # the check came first
    if exit_code == 4:
        (line,) = error_lines(err)
        if status == 401:
            assert f"refused the configured token: HTTP {status}" in line
        else:
            assert line.startswith("conformance: error: candidate.trigger.url: no test trigger is enabled")
            assert f": HTTP {status}" in line
    else:
        assert results(reports)["tests"][0]["verdict"] == "fail"


@pytest.mark.parametrize(
    ("profiles", "rcpx_inbox", "message"),
    [
        (["efdx"], None, "candidate.inbox_url: cannot connect to 127.0.0.1:{closed}: "),
        (["efdx", "rcpx"], "closed", "candidate.inbox_url: cannot connect to 127.0.0.1:{closed}: "),
        (
            ["efdx", "rcpx"],
            None,
            "candidate.trigger.token: the test trigger at {base}/rcpx/1/test/trigger refused the "
            "configured token: HTTP 403",
        ),
    ],
    ids=["one-profile-unreachable", "second-profile-unreachable", "second-profile-refuses-the-token"],
)
def test_every_profile_of_a_run_is_checked_before_any_test(
    raw_candidate, tmp_path, capsys, profiles, rcpx_inbox, message
):
    """The candidate's inbox must take connections and its trigger the token, for each profile run:
    a profile that does not is one line and exit 4 before any test (of any profile) has run."""
    candidate = raw_candidate(
        lambda path: (
            ("403 Forbidden", "text/plain", b"no\n")
            if path.startswith("/rcpx/")
            else ("400 Bad Request", "application/json", b"{}")
        )
    )
    base, closed = candidate.base.removesuffix("/efdx/1"), free_port()
    inbox = f"{base}/efdx/1/messages" if len(profiles) > 1 else f"http://127.0.0.1:{closed}/efdx/1/messages"
    rcpx_table = f'[candidate.endpoints.rcpx]\ninbox_url = "http://127.0.0.1:{closed}/rcpx/1/messages"\n'
    config = raw_candidate_toml(
        tmp_path / "c.toml",
        inbox,
        f"{base}/efdx/1/test/trigger",
        tuple(profiles),
        rcpx_table if rcpx_inbox else "",
    )
    reports = tmp_path / "reports"
    code = cli.main(["run", "--config", str(config), "--maxfail", "1", "--report-dir", str(reports)])
    out, err = capsys.readouterr()
    assert code == 4, err
    (line,) = error_lines(err)
    assert line.startswith(f"conformance: error: {message.format(closed=closed, base=base)}"), line
    assert out == ""
    assert not reports.exists() or not any(reports.iterdir())  # no report: nothing was run
    asked = ["/efdx/1/test/trigger", "/rcpx/1/test/trigger"][: len(profiles) - bool(rcpx_inbox)]
    assert candidate.paths == (asked if len(profiles) > 1 else [])  # each trigger once, no inbox


def test_a_later_profiles_candidate_gone_after_preflight_stops_the_run_with_its_report(
    raw_candidate, tmp_path, capsys, monkeypatch
):
    """Each later profile's inbox is tried again as it starts: gone by then, the run stops there with
    one line, and the report of the profiles already run is written (not a setup error that loses
    them)."""

    def answer(path: str) -> tuple[str, str, bytes]:  # an inbox that is down (5xx: the tests judge it)
        if path.endswith("/messages"):
            return ("503 Service Unavailable", "text/plain", b"down\n")
        return ("400 Bad Request", "application/json", b"{}")

    efdx, rcpx = raw_candidate(answer), raw_candidate(answer)
    rcpx_base = rcpx.base.removesuffix("/efdx/1")
    rcpx_table = (
        f'[candidate.endpoints.rcpx]\ninbox_url = "{rcpx_base}/rcpx/1/messages"\n'
        f'trigger_url = "{rcpx_base}/rcpx/1/test/trigger"\n'
    )
    config = raw_candidate_toml(
        tmp_path / "c.toml",
        f"{efdx.base}/messages",
        f"{efdx.base}/test/trigger",
        ("efdx", "rcpx"),
        rcpx_table,
    )
    run_profile = run_module._run_profile

    def then_rcpx_goes(options, share, progress, several):
        ran = run_profile(options, share, progress, several)
        rcpx.stop()  # after preflight and the first profile: the second's inbox refuses connections
        return ran

    monkeypatch.setattr(run_module, "_run_profile", then_rcpx_goes)
    reports = tmp_path / "reports"
    # --serial: the candidate goes between the two profiles, which only a run of one after the other
    # has (side by side, each profile runs _run_profile in a process of its own, where no patch reaches)
    code = cli.main(["run", "--config", str(config), "-k", "m06-", "--serial", "--report-dir", str(reports)])
    out, err = capsys.readouterr()

    assert code == 1, err
    stopped = f"RCPX 1.0 not run: candidate.inbox_url: cannot connect to {rcpx_base.removeprefix('http://')}"
    assert (
        [line for line in out.splitlines() if line.startswith("RCPX 1.0 not run")]
        == [line for line in out.splitlines() if line.startswith(stopped)]
        != []
    ), out
    data = results(reports)
    assert data["tests"] and {test["profile"] for test in data["tests"]} == {"EFDX 1.0"}
    assert data["stopped"].startswith(stopped) and data["interrupted"]
    rows = {row["key"]: row for row in data["profiles"]}
    assert (rows["rcpx"]["run"], rows["rcpx"]["verdict"]) == (False, "incomplete")
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    assert data["stopped"] in (folder / "report.html").read_text(encoding="utf-8")  # its banner
    assert any(reason.startswith(stopped) for reason in data["certification"]["reasons"])


# --- 4: a candidate that dies mid-run -----------------------------------------------------------


def test_a_candidate_killed_mid_run_ends_the_run_incomplete_with_one_line(
    reference_process, tmp_path, capsys, monkeypatch
):
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    reports = tmp_path / "reports"
    finished = Progress.finished

    def kill_after_the_third(progress: Progress, record) -> None:
        finished(progress, record)
        if progress.done == 3:  # between two tests: SIGKILL, the port closes, connections are refused
            reference.process.kill()
            reference.process.wait(timeout=10)

    monkeypatch.setattr(Progress, "finished", kill_after_the_third)
    started = time.monotonic()
    code = cli.main(
        [
            "run",
            "--sut",
            reference.url,
            "--config",
            str(config),
            "-k",
            SYNC_ONLY,
            "--report-dir",
            str(reports),
        ]
    )
    elapsed = time.monotonic() - started
    out, _ = capsys.readouterr()

    assert code == 1
    said = [line for line in out.splitlines() if "unreachable" in line and not line.startswith(" ")]
    assert len(said) == 1, out
    assert said[0].startswith("candidate unreachable: 127.0.0.1:")
    assert (
        "Connection refused" in said[0]
        and f"that test and the {sync_only_count() - 4} tests left are inconclusive" in said[0]
    )
    # one progress line for each test that ran; the ones left are counted, not listed
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == 4, out
    assert lines[3].split()[1] == "inconclusive", out  # as results.json says, not "fail"

    data = results(reports)
    assert data["verdict"] == "incomplete"
    assert data["note"] == said[0]
    tests = data["tests"]
    assert len(tests) == sync_only_count()
    assert [test["verdict"] for test in tests[:3]] == ["pass"] * 3
    assert all(test["verdict"] == "inconclusive" for test in tests[3:]), [t["verdict"] for t in tests]
    for test in tests[3:4]:  # it ran and met the refusal: the reason keeps what it saw
        assert test["reason"].startswith("the candidate became unreachable (127.0.0.1:"), test["reason"]
        assert "this test saw: " in test["reason"] and "refused" in test["reason"]
        assert test["failed_requirements"] == []
    for test in tests[4:]:
        assert test["reason"].startswith("not run: the candidate became unreachable"), test["reason"]
        assert test["exchanges"] == []
    assert not any(row["verdict"] == "fail" for row in data["requirements"])
    assert elapsed < 30


def test_a_candidate_that_resets_every_connection_is_still_judged(raw_candidate, tmp_path, capsys):
    """Only a candidate nobody can connect to is gone: one that accepts connections and resets them
    without a byte of answer is there, and fails T-01 on each test as before."""
    candidate = raw_candidate(lambda path: None)
    config = importing_toml(tmp_path / "c.toml", f"{candidate.base}/messages")
    reports = tmp_path / "reports"
    code = cli.main(["run", "--config", str(config), "-k", "m06-", "--report-dir", str(reports)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "unreachable" not in out
    tests = results(reports)["tests"]
    assert [test["verdict"] for test in tests] == ["fail"] * 3
    assert all("connection failed or reset" in test["reason"] for test in tests)


# --- 5: selections and options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-k", "no_test_is_called_this"], "-k 'no_test_is_called_this': matches no test"),
        (
            ["--requirement", "M-06", "-k", "test_transport"],
            "-k 'test_transport' together with --requirement/--layer: matches no test",
        ),
        (["-k", "m06 and ("], "-k 'm06 and (': not a test-name expression"),
        (
            ["--reference-fault", "ignore-crl", "--reference-fault", "accept-any-tls-client"],
            "--reference-fault: one seeded fault per run, not ignore-crl, accept-any-tls-client",
        ),
        (
            ["--tls", "--config", "candidate.toml"],
            "--tls is for the embedded reference NSW; with --config, TLS comes from the file (tls.enabled)",
        ),
    ],
    ids=[
        "k-matches-nothing",
        "k-and-requirement-match-nothing",
        "k-not-an-expression",
        "two-faults",
        "tls-config",
    ],
)
def test_usage_errors_of_run_are_one_line_and_exit_4(tmp_path, capsys, argv, message):
    reports = tmp_path / "reports"
    code = cli.main(["run", *argv, "--report-dir", str(reports)])
    out, err = capsys.readouterr()
    assert code == 4
    (line,) = error_lines(err)
    assert line.startswith(f"conformance: error: {message}"), line
    assert out == ""
    assert not reports.exists() or not any(reports.iterdir())


# --- 6: a candidate's bytes on the terminal ------------------------------------------------------

HOSTILE_TEXT = "\x1b]0;pwned\x07\x1b[2K\rFAKE: conformant [bold red]styled[/] \u202eevil\u202c \x9b31m\x7f"
HOSTILE_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error xmlns="urn:efdx:envelope:1" profileVersion="1.0">'
    f"<Code>EFDX-M03</Code><Description>{HOSTILE_TEXT}</Description></Error>\n"
).encode()
RAW = ("\x1b", "\x07", "\r", "\u202e", "\u202c", "\x9b", "\x7f")


def test_a_hostile_answer_reaches_piped_output_escaped(raw_candidate, tmp_path):
    """An Error whose description retitles the terminal, erases the line and prints a fake verdict
    (and tries rich markup) is shown as text: every control and bidi character escaped."""
    candidate = raw_candidate(lambda path: ("400 Bad Request", "application/xml", HOSTILE_ERROR))
    config = importing_toml(tmp_path / "c.toml", f"{candidate.base}/messages")
    finished = subprocess.run(
        [
            *COMMAND,
            "run",
            "--config",
            str(config),
            "-k",
            "test_ping_is_answered_in_time",
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    out, err = finished.stdout.decode("utf-8"), finished.stderr.decode("utf-8")
    assert finished.returncode == 1, err
    assert "HTTP 400" in out  # the reason was printed ...
    for character in RAW:  # ... with none of the candidate's control characters raw
        assert character not in out and character not in err, (character, out)
    assert (
        "\\x1b]0;pwned\\x07\\x1b[2K\\x0dFAKE: conformant [bold red]styled[/] \\u202eevil\\u202c \\x9b31m\\x7f"
        in out
    )
    assert not any(line.startswith("FAKE") for line in out.splitlines())


def test_printable_escapes_controls_bidi_and_separators_but_not_text():
    assert printable("a\x00b\tc\nd\x1b[31m\x7f\x85\x9f") == "a\\x00b\\x09c\\x0ad\\x1b[31m\\x7f\\x85\\x9f"
    assert printable("\u202ex\u2066\u2069\u200e\u061c\u2028") == "\\u202ex\\u2066\\u2069\\u200e\\u061c\\u2028"
    assert printable("Preuß, 東京, e\u0301, ✓ — [x]") == "Preuß, 東京, e\u0301, ✓ — [x]"
    assert printable_markup("[bold]x\x1b") == "\\[bold]x\\x1b"
    assert printable_lines("OPERATOR: a\x1b\n  b\r") == "OPERATOR: a\\x1b\n  b\\x0d"


def test_the_operator_instruction_is_printed_escaped(capsys):
    progress = Progress(live=False)
    try:
        progress.operator("OPERATOR: in the candidate NSW (KH), issue \x1b]0;x\x07.\n  action: IssueCO")
    finally:
        progress.close()
    _, err = capsys.readouterr()
    assert "OPERATOR: in the candidate NSW (KH), issue \\x1b]0;x\\x07.\n  action: IssueCO\n" in err
    assert "\x1b" not in err and "\x07" not in err
