"""Transport (section 2 and T-): answers in time, methods, content types, size, Ping."""

from __future__ import annotations

import pytest

from conformance.core.violations import Violation
from conformance.family.suite import status_group, steps
from conformance.harness.session import Harness

pytestmark = pytest.mark.role("importing")


@pytest.mark.requirements("T-01", "M-19", "M-23")
@pytest.mark.purposes("T-01/answers-in-time", "M-23/ping")
def test_ping_is_answered_in_time(harness: Harness) -> None:
    """A valid POST (a Ping) is answered with a Receipt within the configured time."""
    sent = steps.send(harness, harness.vector("valid-ping"), label="Ping")
    steps.expect_receipt(harness, sent)
    limit = harness.config.windows.request_timeout_s
    if sent.exchange.duration_s > limit:
        raise Violation("T-01", f"an answer within {limit:g} s", f"{sent.exchange.duration_s:.1f} s")


@pytest.mark.requirements("T-02")
@pytest.mark.purposes("T-02/non-post-405")
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_get_405(harness: Harness, method: str) -> None:
    """The inbox answers other methods than POST with 405 (a SHOULD)."""
    exchange = harness.client.request(method, harness.config.inbox_url, b"", {}, label=method)
    steps.require_answer(exchange)
    if exchange.status != 405:
        raise Violation("T-02", f"HTTP 405 to {method}", f"HTTP {exchange.status}")


@pytest.mark.requirements("T-03", "M-20")
@pytest.mark.purposes("T-03/content-type")
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
def test_wrong_content_type_gets_415(harness: Harness, content_type: str) -> None:
    """A valid message under another content type gets 415 with EFDX-T03."""
    sent = steps.send(harness, harness.vector("valid-ping"), content_type=content_type, label=content_type)
    steps.expect_error(harness, sent, "EFDX-T03")


@pytest.mark.requirements("T-03", "M-20")
@pytest.mark.purposes("T-03/unparseable-body")
@pytest.mark.parametrize("body", ["json", "not-well-formed"])
def test_wrong_content_type_of_a_body_that_is_not_xml_gets_415(harness: Harness, body: str) -> None:
    """A body that is not XML under another content type gets 415 with EFDX-T03 too: T-03 is judged
    before M-01 (section 5's order), and the Error needs nothing of the body (section 7: it may
    omit RefToMessageId)."""
    if body == "json":
        sent = steps.send(
            harness, b'{"action": "IssueCO", "to": "KH"}', content_type="application/json", label="JSON"
        )
    else:
        sent = steps.send(
            harness, harness.vector("m01-not-well-formed"), content_type="text/plain", label="broken XML"
        )
    steps.expect_error(harness, sent, "EFDX-T03")


@pytest.mark.requirements("T-03", "M-19")
@pytest.mark.purposes("T-03/text-xml")
def test_text_xml_is_tolerated(harness: Harness) -> None:
    """text/xml is tolerated: the message is taken with a Receipt."""
    sent = steps.send(
        harness, harness.vector("valid-ping"), content_type="text/xml; charset=utf-8", label="text/xml"
    )
    steps.expect_receipt(harness, sent)


def _co_as_text_xml(harness: Harness) -> steps.Sent:
    sent = steps.send(
        harness, harness.vector("valid-issue-co"), content_type="text/xml", label="IssueCO as text/xml"
    )
    steps.expect_receipt(harness, sent)
    return sent


def start_text_xml_co(harness: Harness) -> status_group.Waiting:
    """The CO as text/xml, its ACCEPTED awaited with the status group's."""
    return status_group.waiting(harness, _co_as_text_xml(harness), "ACCEPTED")


def text_xml_co(harness: Harness) -> None:
    """The test in series."""
    steps.expect_status(harness, _co_as_text_xml(harness), "ACCEPTED")


@pytest.mark.requirements("T-03", "M-19", "A-01", "A-02", "M-22")
@pytest.mark.purposes("T-03/text-xml")
@status_group.starts_with_the_group(start_text_xml_co)
def test_text_xml_co_is_accepted(harness: Harness, early: status_group.Waiting) -> None:
    """A CO under text/xml (section 2: tolerated) is taken with a Receipt and then ACCEPTED."""
    arrival = status_group.status_or_alone(harness, early, lambda: text_xml_co(harness), "text-xml")
    if arrival is not None:
        steps.judge_status(harness, arrival, early.sent, "ACCEPTED")
