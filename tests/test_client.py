"""The harness's HTTP client towards the candidate, with ``responses`` in place of the network: every
exchange recorded, every failure an Exchange with a reason (never an exception, never a hang)."""

from __future__ import annotations

import io
import time
from datetime import datetime, timezone

import pytest
import requests
import responses

from conformance.core.client import CandidateClient, Exchange

URL = "https://nsw.example.kh/efdx/1/messages"
BODY = b"<Envelope>ping</Envelope>"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_a_200_answer_is_recorded(mocked) -> None:
    mocked.add(
        responses.POST,
        URL,
        body=b"<Receipt/>",
        status=200,
        headers={"X-Trace": "abc"},
        content_type="application/xml",
    )
    client = CandidateClient()
    before = datetime.now(timezone.utc)
    exchange = client.post(URL, BODY, headers={"X-EFDX-Test": "1"}, label="Ping")
    assert exchange.error is None
    assert (exchange.method, exchange.url, exchange.label) == ("POST", URL, "Ping")
    assert exchange.request_body == BODY
    assert exchange.request_headers == {"Content-Type": "application/xml", "X-EFDX-Test": "1"}
    assert exchange.status == 200
    assert exchange.response_body == b"<Receipt/>"
    assert exchange.response_headers["X-Trace"] == "abc"
    assert exchange.content_type == "application/xml"
    assert exchange.duration_s >= 0
    assert before <= exchange.started <= datetime.now(timezone.utc)
    # what actually went on the wire
    sent = mocked.calls[0].request
    assert sent.body == BODY
    assert sent.headers["Content-Type"] == "application/xml"
    assert sent.headers["X-EFDX-Test"] == "1"


def test_an_error_status_is_an_answer_not_an_error(mocked) -> None:
    mocked.add(responses.POST, URL, body=b"<Error/>", status=400, content_type="application/xml")
    exchange = CandidateClient().post(URL, BODY)
    assert (exchange.status, exchange.response_body, exchange.error) == (400, b"<Error/>", None)


def test_redirects_are_not_followed(mocked) -> None:
    mocked.add(responses.POST, URL, status=302, headers={"Location": "https://elsewhere.example/"})
    exchange = CandidateClient().post(URL, BODY)
    assert exchange.status == 302
    assert len(mocked.calls) == 1


def test_content_type_header_is_read_case_insensitively(mocked) -> None:
    """HTTP header names are case-insensitive; many servers (and every HTTP/2 one) send them lower-case."""
    mocked.add_callback(
        responses.POST,
        URL,
        callback=lambda request: (200, {"content-type": "application/xml"}, b"<Receipt/>"),
        content_type=None,
    )
    exchange = CandidateClient().post(URL, BODY)
    assert exchange.content_type == "application/xml"


@pytest.mark.parametrize(
    "timeout", [requests.Timeout(), requests.exceptions.ReadTimeout(), requests.exceptions.ConnectTimeout()]
)
def test_a_timeout_is_an_exchange_error_naming_t01(mocked, timeout) -> None:
    mocked.add(responses.POST, URL, body=timeout)
    exchange = CandidateClient(timeout_s=7).post(URL, BODY)
    assert exchange.status is None
    assert exchange.response_body == b""
    assert "T-01" in exchange.error
    assert "7 s" in exchange.error


def test_a_connection_error_is_an_exchange_error(mocked) -> None:
    mocked.add(responses.POST, URL, body=requests.ConnectionError("Connection reset by peer"))
    exchange = CandidateClient().post(URL, BODY)
    assert exchange.status is None
    assert exchange.error.startswith("connection failed or reset")
    assert "reset by peer" in exchange.error


def test_a_tls_failure_is_named_as_such(mocked) -> None:
    mocked.add(responses.POST, URL, body=requests.exceptions.SSLError("certificate verify failed"))
    exchange = CandidateClient().post(URL, BODY)
    assert exchange.error.startswith("TLS failure")
    assert "certificate verify failed" in exchange.error


def test_any_other_request_failure_is_an_exchange_error(mocked) -> None:
    mocked.add(responses.POST, URL, body=requests.exceptions.ChunkedEncodingError("broken chunk"))
    exchange = CandidateClient().post(URL, BODY)
    assert exchange.error.startswith("ChunkedEncodingError")


def test_a_long_error_message_is_shortened(mocked) -> None:
    mocked.add(responses.POST, URL, body=requests.ConnectionError("x" * 5000))
    exchange = CandidateClient().post(URL, BODY)
    assert len(exchange.error) < 400


def test_an_answer_over_the_cap_is_cut_at_the_cap(mocked) -> None:
    mocked.add(responses.POST, URL, body=b"A" * 5000, content_type="application/xml")
    exchange = CandidateClient(max_answer=1000).post(URL, BODY)
    assert exchange.status == 200
    assert exchange.response_body == b"A" * 1000
    assert "larger than 1000 bytes" in exchange.error


def test_an_answer_exactly_at_the_cap_is_whole(mocked) -> None:
    mocked.add(responses.POST, URL, body=b"A" * 1000)
    exchange = CandidateClient(max_answer=1000).post(URL, BODY)
    assert (exchange.response_body, exchange.error) == (b"A" * 1000, None)


class _Trickle(io.RawIOBase):
    """A body that gives 64 KiB at a time, slowly: a trickling peer."""

    def __init__(self, chunks: int, delay: float) -> None:
        self.left, self.delay = chunks, delay

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left == 0:
            return 0
        time.sleep(self.delay)
        self.left -= 1
        size = min(len(buffer), 64 * 1024)
        buffer[:size] = b"B" * size
        return size


def test_a_trickling_answer_is_cut_at_the_overall_deadline(mocked) -> None:
    mocked.add(responses.POST, URL, body=io.BufferedReader(_Trickle(chunks=12, delay=0.1), 64 * 1024))
    started = time.monotonic()
    exchange = CandidateClient(timeout_s=0.25).post(URL, BODY)
    assert time.monotonic() - started < 0.9  # not the 1.2 s the whole body would take
    assert exchange.status == 200
    assert "T-01" in exchange.error and "not complete" in exchange.error
    assert 0 < len(exchange.response_body) < 12 * 64 * 1024


def test_the_record_callback_gets_every_exchange(mocked) -> None:
    mocked.add(responses.POST, URL, body=b"<Receipt/>")
    mocked.add(responses.POST, URL, body=requests.Timeout())
    mocked.add(responses.GET, URL, status=405)
    seen: list[Exchange] = []
    client = CandidateClient(record=seen.append)
    results = [
        client.post(URL, BODY, label="one"),
        client.post(URL, BODY, label="two"),
        client.request("GET", URL, b"", {}, label="three"),
    ]
    assert seen == results
    assert [exchange.label for exchange in seen] == ["one", "two", "three"]
    assert seen[1].error is not None and seen[2].status == 405


def test_configured_trust_wins_over_the_environment(mocked, monkeypatch, tmp_path) -> None:
    configured = tmp_path / "candidate-ca.pem"
    configured.write_text("configured")
    other = tmp_path / "env-ca.pem"
    other.write_text("from the environment")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    mocked.add(responses.POST, URL, body=b"<Receipt/>")
    client = CandidateClient(verify=str(configured), cert=("harness.pem", "harness.key"))
    assert client.session.trust_env is False
    assert client.session.verify == str(configured)
    client.post(URL, BODY)
    sent = mocked.calls[0].request
    assert sent.req_kwargs["verify"] == str(configured)
    assert sent.req_kwargs["cert"] == ("harness.pem", "harness.key")


def test_default_trust_keeps_the_environment() -> None:
    client = CandidateClient()
    assert client.session.trust_env is True and client.session.verify is True


def test_timeouts_are_passed_as_connect_and_read(mocked) -> None:
    mocked.add(responses.POST, URL, body=b"<Receipt/>")
    CandidateClient(timeout_s=12, connect_timeout_s=3).post(URL, BODY)
    assert mocked.calls[0].request.req_kwargs["timeout"] == (3, 12)


def _exchange(request_body: bytes, response_body: bytes) -> Exchange:
    return Exchange(
        "POST",
        URL,
        {"Content-Type": "application/xml"},
        request_body,
        datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc),
        duration_s=0.123456,
        status=200,
        response_headers={"Content-Type": "application/xml"},
        response_body=response_body,
        label="Ping",
    )


def test_as_json_truncates_long_bodies_and_says_how_much_was_left_out() -> None:
    data = _exchange(b"R" * 150, b"S" * 100).as_json(max_body=100)
    assert data["request_body"].startswith("R" * 100)
    assert "R" * 101 not in data["request_body"]
    assert "50 more bytes" in data["request_body"]
    assert data["response_body"] == "S" * 100  # exactly at the limit: whole, no note


def test_as_json_default_limit_is_64_kib() -> None:
    data = _exchange(b"R" * (64 * 1024 + 10), b"").as_json()
    assert "10 more bytes" in data["request_body"]


def test_as_json_fields() -> None:
    data = _exchange("é<x/>".encode(), b"\xff\xfe<bad/>").as_json()
    assert data == {
        "label": "Ping",
        "method": "POST",
        "url": URL,
        "started": "2026-11-26T12:00:00+00:00",
        "duration_s": 0.1235,
        "request_headers": {"Content-Type": "application/xml"},
        "request_body": "é<x/>",
        "status": 200,
        "response_headers": {"Content-Type": "application/xml"},
        "response_body": "\ufffd\ufffd<bad/>",
        "error": None,
    }
