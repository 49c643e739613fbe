"""The offline validator's judge for EFDX 1.0 files: the receiving NSW's pipeline, one answer per file.

Business rules are judged statelessly (no history: BR-11, BR-14 and BR-15 need a sequence of
messages and belong to the conformance suite).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from conformance.family.dialect import Dialect
from conformance.family.judge import Judgement, Receiver


def validator(receiver: str, dialect: Dialect) -> Callable[[bytes, datetime | None], tuple[list[str], str]]:
    """A judge of files as ``receiver`` would judge them on arrival: (error codes, description)."""
    judge = Receiver(receiver, dialect.load_pki().trust_store(), dialect=dialect)

    def judge_file(body: bytes, at: datetime | None) -> tuple[list[str], str]:
        judgement = judge.judge(body, at=at)
        return list(judgement.codes), _describe(judgement)

    return judge_file


def _describe(judgement: Judgement) -> str:
    if judgement.violation:
        return str(judgement.violation)
    if judgement.findings:
        return "; ".join(str(finding) for finding in judgement.findings)
    header = judgement.header
    assert header is not None  # no violation: the judge read the Header
    status = f", {judgement.status}" if judgement.status else ""
    return f"{header.action} {header.message_id} from {header.sender}{status}"
