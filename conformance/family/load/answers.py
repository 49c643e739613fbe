"""Judging one synchronous answer under load, with the suite's own checks.

What a message must get is the spec's (a Receipt, Duplicate or not) or the vector manifest's (the
Error code of an invalid vector); the checks are the suite's: ``signals.check_receipt`` (M-19),
``signals.check_error`` (M-20, the code, RefToMessageId, Location), the HTTP status of the
catalogue, and the suite's rules for which Errors may omit RefToMessageId or must give a Location,
in the words of the profile run (its Dialect: EFDX 1.0's codes, or RCPX 1.0's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conformance.core.client import DEFAULT_MAX_ANSWER as MAX_ANSWER
from conformance.core.trust import TrustStore
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.dialect import Dialect
from conformance.family.suite import steps


@dataclass(frozen=True)
class Expected:
    """What the answer to one message must be."""

    message_id: str | None
    action: str | None
    digests: tuple[str, ...] = ()
    code: str | None = None  # the profile's error code: an Error; None: a Receipt
    duplicate: bool = False  # a Receipt with Duplicate=true


@dataclass(frozen=True)
class Answer:
    """The answer that came, read by the suite's steps as they read a client.Exchange."""

    status: int
    content_type: str
    response_body: bytes
    error: None = None  # an answer that came: a transport error is counted before judging


def judge(
    expected: Expected,
    answer: Answer,
    *,
    sender: str,
    candidate: str,
    trust: TrustStore,
    at: datetime,
    dialect: Dialect,
) -> Violation | None:
    """None when the answer is what the spec demands; otherwise the Violation, naming its requirement.
    An answer above the functional suite's cap (core/client.py) is not parsed: T-01, as the suite
    judges an answer it stops reading."""
    if len(answer.response_body) > MAX_ANSWER:
        return Violation(
            "T-01",
            f"an answer of at most {MAX_ANSWER} bytes",
            f"answer larger than {MAX_ANSWER} bytes: not read further",
        )
    try:
        judging = _Judging(sender, candidate, trust, at, dialect)
        if expected.code is None:
            _receipt(expected, answer, judging)
        else:
            _error(expected, expected.code, answer, judging)
    except Violation as violation:
        return violation
    return None


@dataclass(frozen=True)
class _Judging:
    """What judging an answer needs besides the expectation and the answer (``judge``'s keywords),
    handed on as one so that each kind of answer's step does not list them again."""

    sender: str
    candidate: str
    trust: TrustStore
    at: datetime
    dialect: Dialect


def _receipt(expected: Expected, answer: Answer, judging: _Judging) -> None:
    if answer.status != 200:
        raise Violation(
            steps.RECEIPT_DUE.get(expected.action or "", "M-19"),
            "HTTP 200 with a Receipt",
            steps.answer_summary(answer),
        )
    steps.require_xml(answer, "M-19")
    receipt = signals.check_receipt(
        answer.response_body,
        message_id=expected.message_id,
        sender=judging.sender,
        receiver=judging.candidate,
        sent_digests=expected.digests,
        trust=judging.trust,
        at=judging.at,
        dialect=judging.dialect,
    )
    if receipt.duplicate != expected.duplicate:
        raise Violation(
            "M-16",
            f"Duplicate {str(expected.duplicate).lower()}",
            f"Duplicate {str(receipt.duplicate).lower()}",
        )


def _error(expected: Expected, code: str, answer: Answer, judging: _Judging) -> None:
    failed = signals.code_requirement(code, judging.dialect)
    status = judging.dialect.catalogue.requirement(failed).http_status
    if answer.status != status:
        raise Violation(failed, f"HTTP {status} with an Error {code}", steps.answer_summary(answer))
    steps.require_xml(answer, "M-20")
    signals.check_error(
        answer.response_body,
        message_id=expected.message_id,
        sender=judging.sender,
        receiver=judging.candidate,
        expected_code=code,
        trust=judging.trust,
        at=judging.at,
        ref_optional=failed in steps.UNREAD_REQUIREMENTS,
        location_required=failed if failed in steps.LOCATION_GIVEN else None,
        dialect=judging.dialect,
    )
