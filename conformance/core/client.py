"""The harness's HTTP client towards the candidate: bounded in time and size, recording everything.

Every request and answer is kept as an Exchange (bytes, headers, timings) for the report and the
evidence. A candidate that hangs, trickles, resets or answers a huge body yields an Exchange with
``error`` set and a reason, never an exception or a hang.

With an egress policy (a run of the shared test bed), every connection is checked against it at
connect time (egress_transport.py), proxies from the environment are not used, and a connection that
is refused or fails says only "connection failed: " and REFUSED or COULD_NOT_CONNECT: no errno, no
timeout-or-refused difference (no port scanning through runs). Redirects are never followed, with a
policy or without: a 3xx is the candidate's answer, recorded as it came.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from conformance.core.egress import EgressPolicy
from conformance.core.egress_transport import egress_failure, guard_session

DEFAULT_MAX_ANSWER = 1024 * 1024


def is_secret_header(name: str) -> bool:
    """Never written to reports: credentials, and any profile's test token (X-EFDX-Test-Token ...)."""
    lowered = name.lower()
    return lowered in ("authorization", "proxy-authorization", "cookie") or "token" in lowered


@dataclass
class Exchange:
    """One request to the candidate and what came back (or why nothing usable did)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    started: datetime
    duration_s: float = 0.0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    error: str | None = None
    label: str = ""

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.response_headers.items() if k.lower() == "content-type"), "")

    def as_json(self, max_body: int = 64 * 1024) -> dict:
        def text(body: bytes) -> str:
            shown = body[:max_body].decode("utf-8", errors="replace")
            return shown + (f"\n… ({len(body) - max_body} more bytes)" if len(body) > max_body else "")

        return {
            "label": self.label,
            "method": self.method,
            "url": self.url,
            "started": self.started.isoformat(),
            "duration_s": round(self.duration_s, 4),
            "request_headers": {
                name: "(redacted)" if is_secret_header(name) else value
                for name, value in self.request_headers.items()
            },
            "request_body": text(self.request_body),
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": text(self.response_body),
            "error": self.error,
        }


class CandidateClient:
    """POSTs to the candidate with connect/read timeouts, an overall deadline and a size cap."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_answer: int = DEFAULT_MAX_ANSWER,
        cert: tuple[str, str] | None = None,
        verify: str | bool = True,
        record: Callable[[Exchange], None] | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.timeout_s, self.connect_timeout_s, self.max_answer = timeout_s, connect_timeout_s, max_answer
        self.session = requests.Session()
        self.session.cert = cert
        self.session.verify = verify
        # A configured trust must win over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment.
        self.session.trust_env = not isinstance(verify, str)
        self.egress = egress
        if egress is not None:
            guard_session(self.session, egress)
        self.record = record

    def post(
        self,
        url: str,
        body: bytes,
        *,
        content_type: str = "application/xml",
        headers: Mapping[str, str] | None = None,
        label: str = "",
    ) -> Exchange:
        sent_headers = {"Content-Type": content_type, **(headers or {})}
        return self.request("POST", url, body, sent_headers, label)

    def request(
        self, method: str, url: str, body: bytes, headers: dict[str, str], label: str = ""
    ) -> Exchange:
        """One bounded request. It runs in a worker thread so that an overall deadline holds even
        against a peer that trickles its headers or body a byte at a time (each read would be in time)."""
        exchange = Exchange(method, url, dict(headers), body, datetime.now(timezone.utc), label=label)
        start = time.monotonic()
        attempt = dataclasses.replace(exchange)
        worker = threading.Thread(
            target=self._attempt, args=(attempt, start), daemon=True, name="candidate-request"
        )
        worker.start()
        worker.join(self.timeout_s + 0.5)  # the whole answer, connecting included, within the timeout
        if worker.is_alive():  # abandoned: the thread ends with its own socket timeout, nobody waits for it
            exchange.error = f"no complete answer within {self.timeout_s:g} s (T-01)"
        else:
            exchange = attempt
        exchange.duration_s = time.monotonic() - start
        if self.record:
            self.record(exchange)
        return exchange

    def _attempt(self, exchange: Exchange, start: float) -> None:
        try:
            with self.session.request(
                exchange.method,
                exchange.url,
                data=exchange.request_body,
                headers=exchange.request_headers,
                timeout=(self.connect_timeout_s, self.timeout_s),
                stream=True,
                allow_redirects=False,
            ) as response:
                exchange.status = response.status_code
                exchange.response_headers = dict(response.headers)
                exchange.response_body = self._read(response, start, exchange)
        except requests.RequestException as exc:
            exchange.error = self._failure(exc)

    def _failure(self, exc: requests.RequestException) -> str:
        """The Exchange's error for what requests raised (coarse for a connection under a policy)."""
        if self.egress is not None:
            coarse = egress_failure(exc)
            if coarse is not None:
                return f"connection failed: {coarse}"
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout_s:g} s (T-01)"
        if isinstance(exc, requests.exceptions.SSLError):
            return f"TLS failure: {_short(exc)}"
        if isinstance(exc, requests.ConnectionError):
            if "timed out" in str(exc).lower():  # a stall mid-answer surfaces as a ConnectionError
                return f"no complete answer within {self.timeout_s:g} s (T-01): {_short(exc)}"
            return f"connection failed or reset: {_short(exc)}"
        return f"{type(exc).__name__}: {_short(exc)}"

    def _read(self, response: requests.Response, start: float, exchange: Exchange) -> bytes:
        """Read at most max_answer bytes, and no longer than the overall timeout (a trickling peer)."""
        chunks, size = [], 0
        for chunk in response.iter_content(8 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_answer:
                exchange.error = f"answer larger than {self.max_answer} bytes: not read further"
                break
            if time.monotonic() - start > self.timeout_s:
                exchange.error = f"answer not complete within {self.timeout_s:g} s (T-01)"
                break
        return b"".join(chunks)[: self.max_answer]


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"
