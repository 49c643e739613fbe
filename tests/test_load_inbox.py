"""The load run's harness inbox keeps its MessageLog (M-16) in the table the engine gives it, bounded
for a soak: a message that table remembers is judged a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime

from conformance.app.load.inbox import BoundedLog
from conformance.family.load.generator import Generator
from conformance.family.load.inbox import load_inbox
from conformance.profiles.efdx.dialect import EFDX


def test_the_load_inbox_judges_duplicates_by_the_engines_table():
    pki, at = EFDX.load_pki(), datetime.now(UTC)
    message_id = EFDX.messages.message_id("KH", "7")
    made = Generator(pki, "KH", "SG", dialect=EFDX).make("IssueCO", "LD-TEST-000007", message_id, at)
    table = BoundedLog(4)
    inbox = load_inbox(
        "SG",
        pki,
        lambda incoming: None,
        tls=False,
        host="127.0.0.1",
        port=0,
        faults=None,
        message_log=table,
        dialect=EFDX,
    )
    first = inbox.receiver.judge(made.body, at=at)
    assert first.accepted and not first.duplicate
    table.setdefault(("KH", message_id), first.body_digest)
    again = inbox.receiver.judge(made.body, at=at)
    assert again.accepted and again.duplicate
    assert inbox.message_log is table
