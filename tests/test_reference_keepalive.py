"""The reference NSW keeps a connection open between requests read whole, and only then; its outbox
reuses its connections to a partner.

werkzeug closes every connection and reads away whatever follows an answer; the reference's server
(the core's BoundedWSGIServer, as the harness inbox's) undoes both when the request was read to its
end. A request left unread (beyond what is drained) ends the connection, and a stop cuts connections
left open.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from conformance.family.reference.nsw import Settings
from conformance.family.reference.outbox import Outbox
from conformance.family.reference.runner import RunningReference
from conformance.family.reference.store import Store
from conformance.profiles.efdx.dialect import EFDX

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def reference(tmp_path):
    with RunningReference(Settings(party="KH", db=tmp_path / "kh.sqlite", peers={}, dialect=EFDX)) as running:
        yield running


def connect(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10), parts.path


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body: bytes, headers=XML):
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.getheader("Connection"), answer.read()


def test_requests_read_whole_share_one_connection(reference):
    connection, path = connect(reference.url)
    first = exchange(connection, "POST", path, b"<not-an-envelope/>")
    sock = connection.sock
    assert first[0] == 400 and first[1] is None and sock is not None
    for method, body in (("POST", b"<x/>"), ("GET", b""), ("POST", b"\x89junk")):
        status, close, _ = exchange(connection, method, path, body)
        assert close is None, (method, status)
        assert connection.sock is sock, "a new connection was opened"
    connection.close()


def test_a_request_left_unread_ends_the_connection(reference):
    connection, path = connect(reference.url)
    status, close, _ = exchange(
        connection, "POST", "/nowhere", b"y" * 200_000, {"Content-Type": "text/plain"}
    )
    assert (status, close) == (404, "close")
    connection.close()


def test_a_stop_cuts_a_connection_left_open(tmp_path):
    running = RunningReference(
        Settings(party="KH", db=tmp_path / "kh.sqlite", peers={}, dialect=EFDX)
    ).start()
    connection, path = connect(running.url)
    assert exchange(connection, "POST", path, b"<x/>")[1] is None
    running.stop()
    assert connection.sock.recv(1) == b"", "the kept connection outlived the stop"
    connection.close()


class _Recording(http.server.BaseHTTPRequestHandler):
    """A partner inbox that answers 200 on kept connections and notes each request's client port."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.ports.append(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_the_outbox_delivers_over_one_kept_connection(tmp_path):
    """One worker delivering five messages to one partner opens one connection, not five."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    _Recording.ports = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = Store(tmp_path / "outbox.sqlite")
    outbox = Outbox(store, {"SG": f"http://127.0.0.1:{server.server_port}/in"}, workers=1)
    try:
        with store.transaction() as tx:
            for index in range(5):
                tx.enqueue(message_id=f"m{index}", party="SG", action="Ping", body=b"<x/>", send_at=0.0)
        outbox.start()
        deadline = time.monotonic() + 10
        while store.count("outbox", "state = 'sent'") < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.count("outbox", "state = 'sent'") == 5
        assert len(_Recording.ports) == 5 and len(set(_Recording.ports)) == 1, _Recording.ports
    finally:
        outbox.stop()
        store.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("length", ["+5 ", "5, 5", "abc"])
def test_a_body_of_unreadable_length_ends_the_connection(reference, length):
    """A Content-Length werkzeug cannot read leaves the body on the socket: kept open, its bytes would
    be read as the next request (a stray answer, the connection out of step)."""
    parts = urlsplit(reference.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {length}\r\n\r\n<x/>!".encode()
        )
        received = b""
        while chunk := sock.recv(65536):  # until the reference closes the connection
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1, received[:300]
