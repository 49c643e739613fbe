"""An answer is described in a line, never dumped: `observed HTTP 200 <?xml version='1.0' ... <Timestamp`
(the XML cut mid-tag) in the terminal, results.json, junit and the report became what it is."""

from __future__ import annotations

from datetime import UTC, datetime

from conformance.core.client import Exchange
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.suite.steps import answer_summary, describe_body
from conformance.profiles.efdx.dialect import EFDX

AT = datetime(2026, 12, 6, 12, tzinfo=UTC)


def exchange(status: int, body: bytes, error: str | None = None) -> Exchange:
    return Exchange(
        method="POST", url="http://127.0.0.1:9/x", request_headers={}, request_body=b"", started=AT,
        status=status, response_body=body, error=error,
    )  # fmt: skip


def test_a_receipt_is_named_with_what_it_answers():
    body = signals.receipt(
        ref_to_message_id="m-1@sg.efdx", sender="KH", receiver="SG", at=AT, duplicate=False,
        received_digests=(), credential=None, dialect=EFDX,
    )  # fmt: skip
    assert answer_summary(exchange(200, body)) == "HTTP 200, a Receipt for m-1@sg.efdx"


def test_an_error_is_named_by_its_code_and_where():
    violation = Violation("M-03", "a valid envelope", "no To", location="/Envelope/Header/To")
    body = signals.error(
        violation, ref_to_message_id="m-2@sg.efdx", sender="KH", receiver="SG", at=AT, credential=None,
        dialect=EFDX,
    )  # fmt: skip
    assert answer_summary(exchange(400, body)) == (
        "HTTP 400, an Error EFDX-M03 at /Envelope/Header/To "
        "('M-03: expected a valid envelope; observed no To')"
    )


def test_what_is_not_a_receipt_or_an_error_says_what_it_is():
    assert describe_body(b"") == "an empty body"
    assert describe_body(b"<html><body>welcome</body></html>") == "a html document, neither Receipt nor Error"
    shown = describe_body(b'{"ok": true}')
    assert (
        shown.startswith("a body that is not XML the profile takes (not well-formed")
        and '{"ok": true}' in shown
    )
    doctype = describe_body(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert doctype.startswith("a body that is not XML the profile takes (a DOCTYPE in the prolog; ")
    assert "<" not in answer_summary(exchange(200, b"<Receipt xmlns='urn:efdx:envelope:1'/>"))


def test_no_answer_is_said_as_the_client_found_it():
    assert (
        answer_summary(exchange(0, b"", error="no answer within 30 s (T-01)"))
        == "no answer within 30 s (T-01)"
    )
