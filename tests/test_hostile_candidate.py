"""The harness against a hostile candidate: it hangs, resets, answers junk, floods, trickles, or
answers with an entity bomb or an XXE. Every run must end in bounded time, with exit code 1, all
four report files readable, and every selected test failed (or errored) with a reason that says
what was observed; never a pass, never a hang, never a 50 MiB read.

The candidate is a raw socket server (byte-level control over what goes on the wire) on a free
loopback port. Each behaviour gives up on its own after GIVE_UP_S, so that a harness that does
hang still lets this test end (and fail on the time bound) instead of hanging the test run.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import struct
import threading
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from conformance.app import cli
from conformance.app.run import RunOptions, run
from conformance.core.client import DEFAULT_MAX_ANSWER
from conformance.core.xmldsig import DS
from conformance.family import signals
from conformance.harness.config import Config, ConfigError, Windows
from conformance.profiles.efdx.codes import ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

BOUND_S = 30.0  # a bound on hangs, not a benchmark: a well-behaved run here takes a few seconds
GIVE_UP_S = BOUND_S + 5.0  # the hostile server's own limit on any one connection
REQUEST_TIMEOUT_S = 1.0
WINDOWS = Windows(status_s=1.0, verification_s=1.0, request_timeout_s=REQUEST_TIMEOUT_S, grace_s=0.1)
# Three tests that each POST once and need a good synchronous answer: a Ping (T-01), a valid IssueCO
# (Receipt, then a status) and a tampered one (403 Error).
KEYWORD = "test_ping_is_answered_in_time or valid-issue-co] or m06-tampered-header"
SELECTED = 3
HUGE_BYTES = 50 * 1024 * 1024
REPORT_BODY_CAP = 64 * 1024  # Exchange.as_json shows at most this much of a body
_MORE = re.compile(r"\n… \((\d+) more bytes\)$")


# --- the hostile candidate ---------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileServer:
    """A loopback TCP server that reads one HTTP request per connection and then misbehaves."""

    behaviour: Callable[[HostileServer, socket.socket, Request], None]
    requests: list[Request] = field(default_factory=list)
    body_bytes_sent: list[int] = field(default_factory=list)  # per connection, for the flood

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + GIVE_UP_S
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/efdx/1/messages"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the server should give up (stopped or past its deadline)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return True
        return self.stopping.wait(min(seconds, remaining)) or time.monotonic() >= self.deadline

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5.0)
        with self._lock:
            self._connections.add(connection)
        try:
            request = _read_request(connection)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            self.behaviour(self, connection, request)
        except OSError:
            pass  # the harness hung up on us: that is what it should do
        finally:
            with self._lock:
                self._connections.discard(connection)


def _read_request(connection: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < min(length, 10 * 1024 * 1024):
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


def _head(status: str, content_type: str, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def answering(content_type: str, body: bytes | Callable[[HostileServer, Request], bytes]):
    def behaviour(server: HostileServer, connection: socket.socket, request: Request) -> None:
        data = body(server, request) if callable(body) else body
        connection.sendall(_head("200 OK", content_type, len(data)) + data)

    return behaviour


def hang(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """Take the request, never answer (until stopped or the give-up deadline)."""
    while not server.pause(1.0):
        pass


def close_silently(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """Close without a byte of answer (FIN)."""


def reset(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """Abort the connection (RST: SO_LINGER with a zero timeout) without answering."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def flood(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """200 application/xml with a declared and streamed 50 MiB body; counts what got out."""
    connection.sendall(_head("200 OK", "application/xml", HUGE_BYTES))
    prefix = f'<?xml version="1.0" encoding="UTF-8"?>\n<Receipt xmlns="{ENVELOPE_NS}">'.encode()
    piece = b"A" * 65536
    sent = 0
    index = len(server.body_bytes_sent)
    server.body_bytes_sent.append(0)
    connection.sendall(prefix)
    sent += len(prefix)
    while sent < HUGE_BYTES and not server.stopping.is_set() and time.monotonic() < server.deadline:
        chunk = piece[: HUGE_BYTES - sent]
        connection.sendall(chunk)
        sent += len(chunk)
        server.body_bytes_sent[index] = sent


def trickle_body(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """Headers at once, then a Receipt-looking body one byte every 0.5 s."""
    body = _receipt_looking()
    connection.sendall(_head("200 OK", "application/xml", len(body)))
    for byte in body:
        if server.pause(0.5):
            return
        connection.sendall(bytes([byte]))


def trickle_headers(server: HostileServer, connection: socket.socket, request: Request) -> None:
    """The status line and headers themselves one byte every 0.5 s."""
    body = _receipt_looking()
    for byte in _head("200 OK", "application/xml", len(body)) + body:
        if server.pause(0.5):
            return
        connection.sendall(bytes([byte]))


def _receipt_looking() -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Receipt xmlns="{ENVELOPE_NS}" profileVersion="1.0">'
        f"<Id>receipt-{uuid.uuid4().hex}</Id><RefToMessageId>x</RefToMessageId><From>KH</From>"
        "<To>SG</To><Duplicate>false</Duplicate></Receipt>"
    ).encode()


HTML = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"
# NUL, escape and other control characters, bytes that are not UTF-8, a stray "<".
JUNK = bytes(range(256)) * 4 + b"\x00\x00<\x1b[31m\xff\xfe\xc3\x28" * 16

ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{level} "{("&lol" + (str(level - 1) if level > 1 else "") + ";") * 10}">\n'.encode()
        for level in range(1, 10)
    )
    + f']>\n<Receipt xmlns="{ENVELOPE_NS}" profileVersion="1.0">&lol9;</Receipt>\n'.encode()
)


def xxe(canary: Path) -> Callable[[HostileServer, Request], bytes]:
    """A DOCTYPE that would read a local file and fetch from this very server, if it were resolved."""

    def body(server: HostileServer, request: Request) -> bytes:
        base = server.url.rsplit("/efdx/", 1)[0]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<!DOCTYPE Receipt [\n"
            f' <!ENTITY file SYSTEM "{canary.as_uri()}">\n'
            f' <!ENTITY fetch SYSTEM "{base}/xxe-entity">\n'
            f' <!ENTITY % remote SYSTEM "{base}/xxe-dtd">\n'
            " %remote;\n"
            "]>\n"
            f'<Receipt xmlns="{ENVELOPE_NS}" profileVersion="1.0">'
            "<Id>&file;</Id><From>&fetch;</From></Receipt>\n"
        ).encode()

    return body


def signed_receipt(server: HostileServer, request: Request) -> bytes:
    """A genuine Receipt, signed by KH's test NSW, for the request it answers (M-19 would pass)."""
    root = etree.fromstring(request.body, etree.XMLParser(resolve_entities=False, no_network=True))
    e = f"{{{ENVELOPE_NS}}}"
    return signals.receipt(
        ref_to_message_id=root.findtext(f"{e}Header/{e}MessageId"),
        sender="KH",
        receiver="SG",
        at=datetime.now(timezone.utc),
        duplicate=False,
        received_digests=[
            value.text.strip()
            for value in root.iterfind(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
        ],
        credential=TestPki.load().nsw("KH"),
        dialect=EFDX,
    )


@pytest.fixture
def hostile():
    """Start a hostile server with a behaviour; all are stopped after the test."""
    started: list[HostileServer] = []

    def start(behaviour) -> HostileServer:
        server = HostileServer(behaviour).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- running and judging -----------------------------------------------------------------------


def config_for(url: str) -> Config:
    return Config(party="KH", inbox_url=url, windows=WINDOWS)


def timed_run(url: str, report_dir: Path, keyword: str = KEYWORD) -> tuple[int, Path, float]:
    started = time.monotonic()
    code, folder = run(RunOptions(config=config_for(url), keyword=keyword, report_dir=report_dir, live=False))
    return code, folder, time.monotonic() - started


def read_reports(folder: Path) -> dict:
    """All four files exist and parse; returns results.json."""
    for name in ("results.json", "junit.xml", "ctrf.json", "report.html", "evidence.zip"):
        assert (folder / name).is_file(), f"{name} missing in {folder}"
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    junit = etree.parse(str(folder / "junit.xml"))
    assert len(junit.getroot().findall("testsuite/testcase")) == len(data["tests"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "</html>" in html
    with zipfile.ZipFile(folder / "evidence.zip") as bundle:
        assert bundle.testzip() is None
        assert {"results.json", "junit.xml", "report.html", "MANIFEST.sha256"} <= set(bundle.namelist())
    return data


def check_all_failed(data: dict, observed: str) -> None:
    """Every selected test failed or errored; each reason says what was seen (regex ``observed``)."""
    tests = data["tests"]
    assert len(tests) == SELECTED, [test["id"] for test in tests]
    assert data["verdict"] in ("not-conformant", "incomplete")
    problems = []  # all of them at once: which tests passed says more than the first mismatch
    for test in tests:
        if test["verdict"] not in ("fail", "error"):
            problems.append(f"{test['id']}: verdict {test['verdict']} (reason {test['reason']!r})")
        elif not re.search(observed, test["reason"], re.S):
            problems.append(f"{test['id']}: reason {test['reason']!r} does not match {observed!r}")
        if not test["exchanges"]:
            problems.append(f"{test['id']}: no exchange recorded")
    assert not problems, "\n".join(problems)


def check_bounded(elapsed: float) -> None:
    assert elapsed < BOUND_S, (
        f"the run took {elapsed:.1f} s against a hostile candidate (bound {BOUND_S:g} s)"
    )


# What each hostile answer must be reported as: the reason names the observation.
CASES = {
    "hang": (hang, r"no answer within 1 s \(T-01\)"),
    "close-without-answer": (close_silently, r"connection failed or reset"),
    "reset": (reset, r"connection failed or reset"),
    "entity-bomb": (
        answering("application/xml", ENTITY_BOMB),
        r"observed .*(DOCTYPE|HTTP 200, a body that is not XML)",
    ),
    "trickle-body": (trickle_body, r"(not complete|no answer|no complete answer) within 1 s"),
    "trickle-headers": (trickle_headers, r"(not complete|no answer|no complete answer) within 1 s"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_answer_fails_fast_with_reports(case, hostile, tmp_path):
    behaviour, observed = CASES[case]
    server = hostile(behaviour)
    code, folder, elapsed = timed_run(server.url, tmp_path)
    server.stop()  # before judging, so a hung harness does not leave the server trickling
    check_bounded(elapsed)
    assert code == 1
    check_all_failed(read_reports(folder), observed)


# Answers in no profile's form are no candidate's inbox at all (a wrong URL or path): pre-flight
# stops the run before the tests, one line naming the key (they were a fail of every test).
NOT_AN_INBOX = {
    "html-200": (answering("text/html", HTML), "a body that is not XML"),
    "binary-junk-200": (answering("application/xml", JUNK), "a body that is not XML"),
}


@pytest.mark.parametrize("case", list(NOT_AN_INBOX))
def test_an_answer_in_no_profiles_form_is_a_configuration_error(case, hostile, tmp_path):
    behaviour, said = NOT_AN_INBOX[case]
    server = hostile(behaviour)
    with pytest.raises(ConfigError) as caught:
        timed_run(server.url, tmp_path)
    server.stop()
    assert str(caught.value).startswith(f"candidate.inbox_url: {server.url} answered HTTP 200 with {said}")
    assert "\n" not in str(caught.value)


def test_fifty_mib_answer_is_read_no_further_than_the_cap(hostile, tmp_path):
    server = hostile(flood)
    tracemalloc.start()
    try:
        code, folder, elapsed = timed_run(server.url, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    server.stop()
    check_bounded(elapsed)
    assert code == 1
    data = read_reports(folder)
    check_all_failed(data, rf"answer larger than {DEFAULT_MAX_ANSWER} bytes")
    # The harness hung up early: the candidate could push no more than the cap plus socket buffers.
    assert server.body_bytes_sent and max(server.body_bytes_sent) < HUGE_BYTES // 2, server.body_bytes_sent
    # Nothing near 50 MiB was held in memory (Python allocations during the whole run).
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
    for test in data["tests"]:
        for exchange in test["exchanges"]:
            shown = exchange["response_body"]
            more = _MORE.search(shown)
            kept = len(shown[: more.start()].encode()) + int(more.group(1)) if more else len(shown.encode())
            assert kept <= DEFAULT_MAX_ANSWER, (test["id"], kept)
            assert len(shown) <= REPORT_BODY_CAP + 64, (test["id"], len(shown))


def test_xxe_answer_resolves_nothing(hostile, tmp_path):
    canary_text = f"EFDX-CANARY-{uuid.uuid4().hex}"
    canary = tmp_path / "secret.txt"
    canary.write_text(canary_text, encoding="utf-8")
    server = hostile(answering("application/xml", xxe(canary)))
    code, folder, elapsed = timed_run(server.url, tmp_path / "reports")
    server.stop()
    check_bounded(elapsed)
    assert code == 1
    data = read_reports(folder)
    check_all_failed(data, r"observed .*(DOCTYPE|HTTP 200, a body that is not XML)")
    # No entity was resolved: nothing fetched back from the server, the local file never read.
    assert [request.path for request in server.requests if "xxe" in request.path] == []
    assert all(request.method == "POST" for request in server.requests)
    for name in ("results.json", "junit.xml", "report.html"):
        assert canary_text not in (folder / name).read_text(encoding="utf-8"), name
    with zipfile.ZipFile(folder / "evidence.zip") as bundle:
        for entry in bundle.namelist():
            assert canary_text.encode() not in bundle.read(entry), entry


def test_signed_receipt_as_application_xml_passes_the_ping(hostile, tmp_path):
    """Control for the next test: the forged-by-test-PKI Receipt is one the harness accepts."""
    server = hostile(answering("application/xml", signed_receipt))
    code, folder, _ = timed_run(server.url, tmp_path, keyword="test_ping_is_answered_in_time")
    server.stop()
    data = read_reports(folder)
    assert [(test["verdict"], test["reason"]) for test in data["tests"]] == [("pass", "")]
    assert code == 0


def test_wrong_content_type_on_a_valid_receipt_fails(hostile, tmp_path):
    """Section 3: "Signals and answers travel as application/xml"; a text/plain Receipt is wrong."""
    server = hostile(answering("text/plain; charset=utf-8", signed_receipt))
    code, folder, elapsed = timed_run(server.url, tmp_path)
    server.stop()
    check_bounded(elapsed)
    assert code == 1
    # The Ping and the valid IssueCO must fail on the content type (not pass, not fail later on a
    # missing status); the tampered one fails on the 200 where a 403 Error was due.
    check_all_failed(
        read_reports(folder),
        r"(?i)observed .*(text/plain|content.type)|expected HTTP 403 .*observed HTTP 200",
    )


def test_progress_counts_only_the_selected_tests(hostile, tmp_path, capsys):
    """The plain progress lines say [n/3] when -k selected 3 tests, not [n/<whole suite>]."""
    server = hostile(reset)
    timed_run(server.url, tmp_path)
    out, _ = capsys.readouterr()
    counters = re.findall(r"^\[(\d+)/(\d+)\]", out, re.M)
    assert [int(done) for done, _ in counters] == list(range(1, SELECTED + 1)), out
    assert {int(total) for _, total in counters} == {SELECTED}, out


# --- the command line --------------------------------------------------------------------------


def _toml(inbox_url: str, windows: str) -> str:
    return f'[candidate]\nparty = "KH"\ninbox_url = "{inbox_url}"\nwindows = {{ {windows} }}\n'


GOOD_WINDOWS = "request_timeout_s = 1, status_s = 1, verification_s = 1, grace_s = 0.1"


def test_cli_run_against_a_hanging_candidate(hostile, tmp_path, capsys):
    server = hostile(hang)
    config = tmp_path / "candidate.toml"
    # --sut wins over the file's inbox_url (a port nothing listens on).
    config.write_text(_toml("http://127.0.0.1:9/efdx/1/messages", GOOD_WINDOWS), encoding="utf-8")
    reports = tmp_path / "reports"
    started = time.monotonic()
    code = cli.main(
        ["run", "--sut", server.url, "--config", str(config), "-k", KEYWORD, "--report-dir", str(reports)]
    )
    elapsed = time.monotonic() - started
    server.stop()
    out, _ = capsys.readouterr()
    check_bounded(elapsed)
    assert code == 1
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    data = read_reports(folder)
    assert data["sut"]["url"] == server.url
    check_all_failed(data, CASES["hang"][1])
    assert str(folder / "report.html") in out.replace("\n", "")


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('[candidate]\ninbox_url = "http://127.0.0.1:9/"\n', "candidate.party"),
        ('[candidate]\nparty = "KH"\n', "candidate.inbox_url"),
        (_toml("http://127.0.0.1:9/", "request_timeout = 1"), "candidate.windows.request_timeout"),
        (_toml("http://127.0.0.1:9/", 'request_timeout_s = "1"'), "candidate.windows.request_timeout_s"),
        ('[candidate]\nparty = "XX"\ninbox_url = "http://127.0.0.1:9/"\n', "candidate.party"),
        ('[candidate]\nparty = "KH"\ninbox_url = "ftp://example/"\n', "candidate.inbox_url"),
    ],
    ids=[
        "missing-party",
        "missing-inbox-url",
        "unknown-window",
        "window-not-a-number",
        "bad-party",
        "bad-url",
    ],
)
def test_cli_bad_config_exits_4_naming_the_key(content, key, tmp_path, capsys):
    config = tmp_path / "candidate.toml"
    config.write_text(content, encoding="utf-8")
    reports = tmp_path / "reports"
    code = cli.main(
        ["run", "--config", str(config), "--report-dir", str(reports)]
    )  # the file's own inbox_url
    out, err = capsys.readouterr()
    assert code == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert key in lines[0], lines[0]
    assert not reports.exists()  # nothing was run


def test_a_sut_url_stands_in_for_a_missing_inbox_url(tmp_path, capsys):
    config = tmp_path / "candidate.toml"
    config.write_text('[candidate]\nparty = "KH"\n[candidate.windows]\nrequest_timeout_s = 1\n')
    server = HostileServer(CASES["hang"][0]).start()
    try:
        code = cli.main(
            [
                "run",
                "--sut",
                server.url,
                "--config",
                str(config),
                "-k",
                "valid-ping",
                "--report-dir",
                str(tmp_path),
            ]
        )
    finally:
        server.stop()
    assert code == 1  # it ran (and the hanging candidate failed), rather than a usage error
