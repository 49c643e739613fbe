"""The harness inbox keeps a connection open between requests read whole, within its bounds.

Two requests on one connection get two answers (plain HTTP and mutual TLS); a kept connection left
idle is closed after ``idle_timeout_s`` without counting as an attack; a trickle on a kept
connection is still cut off by the read deadline; a body left unread past the drain ends the
connection. Real sockets on loopback, every wait bounded.
"""

from __future__ import annotations

import http.client

import pytest

from tests.loopback import poll_until
from tests.test_inbox_attacks import (
    PROMPT_S,
    address,
    attacker,
    cut_off,
    running,
    tls_client_context,
    valid_message,
)

XML = {"Content-Type": "application/xml"}
PATH = "/efdx/1/messages"


def connect(inbox, pki, tls: bool) -> http.client.HTTPConnection:
    host, port = address(inbox)
    if tls:
        return http.client.HTTPSConnection(host, port, timeout=PROMPT_S, context=tls_client_context(pki))
    return http.client.HTTPConnection(host, port, timeout=PROMPT_S)


def exchange(connection: http.client.HTTPConnection, body: bytes, path: str = PATH):
    connection.request("POST", path, body=body, headers=XML)
    answer = connection.getresponse()
    return answer.status, answer.getheader("Connection"), answer.read()


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_two_requests_on_one_connection_get_two_answers(pki, tls):
    with running(pki, tls) as inbox:
        connection = connect(inbox, pki, tls)
        bodies = [valid_message(pki), valid_message(pki)]
        first = exchange(connection, bodies[0])
        sock = connection.sock
        second = exchange(connection, bodies[1])
        assert (first[0], first[1]) == (200, None) and (second[0], second[1]) == (200, None)
        assert connection.sock is sock, "a new connection was opened"
        assert b"Receipt" in first[2] and b"Receipt" in second[2]
        assert [arrival.body for arrival in inbox.arrivals] == bodies
        assert inbox.open_connections == 1
        connection.close()


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_a_kept_connection_left_idle_is_closed(pki, tls):
    with running(pki, tls, idle_timeout_s=0.3) as inbox:
        connection = connect(inbox, pki, tls)
        assert exchange(connection, b"<not-an-envelope/>")[1] is None  # refused, but kept open
        assert cut_off(connection.sock, PROMPT_S), "the idle connection was not closed"
        assert poll_until(lambda: inbox.open_connections == 0, 2.0)
        counts = inbox.connections
        assert (counts.timed_out, counts.failed, counts.refused) == (0, 0, 0)
        connection.close()


def test_a_trickle_on_a_kept_connection_is_cut_off(pki):
    """After a first request, the next one still has to be whole within ``read_timeout_s``."""
    with running(pki, False, read_timeout_s=0.5, idle_timeout_s=PROMPT_S) as inbox:
        connection = connect(inbox, pki, False)
        assert exchange(connection, b"<x/>")[1] is None
        sock = connection.sock
        sock.sendall(b"POST /efdx/1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<")
        assert cut_off(sock, PROMPT_S), "the trickler kept the connection"
        assert poll_until(lambda: inbox.connections.timed_out == 1, 2.0), inbox.connections
        assert len(inbox.arrivals) == 1
        connection.close()


def test_a_body_left_unread_ends_the_connection(pki):
    """The inbox does not read a body sent to another path; past the drain limit it closes."""
    with running(pki, False) as inbox:
        connection = connect(inbox, pki, False)
        status, close, _ = exchange(connection, b"y" * 200_000, path="/nowhere")
        assert (status, close) == (404, "close")
        small = exchange(connect(inbox, pki, False), b"y" * 100, path="/nowhere")
        assert (small[0], small[1]) == (404, None)  # drained: kept
        connection.close()


def test_a_chunked_body_ends_the_connection(pki):
    with running(pki, False) as inbox, attacker(inbox) as sock:
        body = valid_message(pki)
        sock.sendall(
            b"POST /efdx/1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        )
        sock.settimeout(PROMPT_S)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in answer
        assert cut_off(sock, PROMPT_S)
