"""A synchronous answer judged under load fails on its HTTP status or media type with the words the
suite uses, naming the requirement that demanded the answer (before any signal is read)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.core.violations import Violation
from conformance.family.load import answers
from conformance.profiles.efdx.dialect import EFDX

RECEIPT = answers.Expected("m1@sg.efdx", "IssueCO")
PING = answers.Expected("m2@sg.efdx", "Ping")
ERROR = answers.Expected("m3@sg.efdx", "IssueCO", code="EFDX-M06")


@pytest.mark.parametrize(
    ("expected", "answer", "violation"),
    [
        (
            RECEIPT,
            answers.Answer(500, "application/xml", b"<boom>\n</boom>"),
            ("M-19", "HTTP 200 with a Receipt", "HTTP 500, a boom document, neither Receipt nor Error"),
        ),
        (
            PING,
            answers.Answer(503, "text/plain", b""),
            ("M-23", "HTTP 200 with a Receipt", "HTTP 503, an empty body"),
        ),
        (
            RECEIPT,
            answers.Answer(200, "text/plain; charset=x", b"<x/>"),
            ("M-19", "an answer with Content-Type application/xml", "Content-Type 'text/plain; charset=x'"),
        ),
        (
            ERROR,
            answers.Answer(200, "application/xml", b"<r/>"),
            ("M-06", "HTTP 403 with an Error EFDX-M06", "HTTP 200, a r document, neither Receipt nor Error"),
        ),
        (
            ERROR,
            answers.Answer(403, "", b"<r/>"),
            ("M-20", "an answer with Content-Type application/xml", "Content-Type 'none'"),
        ),
    ],
)
def test_a_wrong_status_or_media_type_is_the_suites_violation(expected, answer, violation):
    found = answers.judge(
        expected,
        answer,
        sender="SG",
        candidate="KH",
        trust=EFDX.load_pki().trust_store(),
        at=datetime.now(UTC),
        dialect=EFDX,
    )
    assert isinstance(found, Violation)
    assert (found.requirement, found.expected, found.observed) == violation


@pytest.mark.parametrize(
    ("kind", "blamed"), [("issue", ("A-01",)), ("replace", ("A-04", "A-01")), ("cancel", ("A-03",))]
)
def test_a_wrong_status_under_load_is_blamed_as_the_suite_blames_it(kind, blamed):
    """A load run's wrong status goes through the suite's check_status, which reads the action of the
    message it answers: the load run's record of it carries one (it had none: an AttributeError
    instead of the Violation, and the wrong status escaped the ledger)."""
    from conformance.family.load import statuses
    from conformance.family.suite import steps

    sent = statuses._Sent("m1@sg.efdx", "SG:CO-1", statuses.ACTIONS[kind])
    judges = {"cancel": ("A-03",), "replace": ("A-04",)}.get(kind, ())
    assert steps.status_blame(sent, judges) == blamed  # type: ignore[arg-type]
