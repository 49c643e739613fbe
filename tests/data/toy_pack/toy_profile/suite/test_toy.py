"""TOY 0.1 conformance tests. Checks raise the core's Violation with expected and observed."""

import pytest

from conformance.core.violations import Violation


def expect_status(harness, body: bytes, status: int, requirement: str) -> None:
    exchange = harness.client.post(harness.config.inbox_url, body, content_type="text/plain", label="toy")
    if exchange.status != status:
        raise Violation(
            requirement, f"HTTP {status}", f"HTTP {exchange.status} {exchange.error or ''}".strip()
        )


@pytest.mark.requirements("TOY-1")
@pytest.mark.purposes("TOY-1/ping-answered")
def test_ping_is_answered(harness):
    """PING gets 200."""
    expect_status(harness, b"PING", 200, "TOY-1")


@pytest.mark.requirements("TOY-2")
@pytest.mark.purposes("TOY-2/garbage-refused")
def test_garbage_is_refused(harness):
    """Anything but PING gets 400."""
    expect_status(harness, b"not a ping", 400, "TOY-2")
