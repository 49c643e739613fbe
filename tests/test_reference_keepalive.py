"""The reference NSW keeps a connection open between requests read whole, and only then.

werkzeug closes every connection and reads away whatever follows an answer; the reference's handler
undoes both when the request was read to its end. A request left unread (beyond what is drained) ends
the connection, and a stop cuts connections left open.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from conformance.profiles.efdx.reference.nsw import Settings
from conformance.profiles.efdx.reference.runner import RunningReference

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def reference(tmp_path):
    with RunningReference(Settings(party="KH", db=tmp_path / "kh.sqlite", peers={})) as running:
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
    running = RunningReference(Settings(party="KH", db=tmp_path / "kh.sqlite", peers={})).start()
    connection, path = connect(running.url)
    assert exchange(connection, "POST", path, b"<x/>")[1] is None
    running.stop()
    assert connection.sock.recv(1) == b"", "the kept connection outlived the stop"
    connection.close()
