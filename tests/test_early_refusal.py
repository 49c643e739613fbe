"""Section 7, T-04: a receiver may answer 413 before reading the whole body, then read and discard
the rest, or half-close (a lingering close, RFC 9112 section 9.6). The harness reads such an early
answer and judges it as any other: a conforming candidate that refuses early is not failed."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timezone

import pytest

from conformance.core.client import CandidateClient
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.profiles.efdx.codes import MAX_BODY_BYTES
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki


def _error_answer(pki: TestPki) -> bytes:
    body = signals.error(
        Violation("T-04", f"a body of at most {MAX_BODY_BYTES} bytes", "more"),
        ref_to_message_id=None,
        sender="KH",
        receiver=None,
        at=datetime.now(timezone.utc),
        credential=pki.nsw("KH"),
        dialect=EFDX,
    )
    head = (
        f"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
    )
    return head.encode() + b"Connection: close\r\n\r\n" + body


class EarlyRefuser:
    """A candidate that answers 413 as soon as it has the headers, then drains or half-closes."""

    def __init__(self, answer: bytes, half_close: bool) -> None:
        self.answer, self.half_close = answer, half_close
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/efdx/1/messages"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(10)
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(4096)
            connection.sendall(self.answer)
            if self.half_close:
                connection.shutdown(socket.SHUT_WR)
            try:
                while connection.recv(65536):  # read and discard the rest, until the sender is done
                    pass
            except OSError:
                pass

    def __enter__(self) -> EarlyRefuser:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(15)
        self.listener.close()


@pytest.mark.parametrize("half_close", [False, True], ids=["drains", "half-closes"])
def test_an_early_413_is_read_and_judged(half_close):
    pki = TestPki.load()
    body = b"<Envelope/>" + b" " * (MAX_BODY_BYTES + 1024)
    with EarlyRefuser(_error_answer(pki), half_close) as candidate:
        exchange = CandidateClient(timeout_s=15).post(candidate.url, body, label="over 5 MiB")
    assert exchange.error is None and exchange.status == 413, exchange.error
    signals.check_error(
        exchange.response_body,
        message_id=None,
        sender="SG",
        receiver="KH",
        expected_code="EFDX-T04",
        trust=pki.trust_store(),
        at=datetime.now(timezone.utc),
        ref_optional=True,
        dialect=EFDX,
    )
