"""What manual mode tells the candidate's operator, and what the operator may answer.

``Harness.tell_operator`` takes a ``Prompt`` (the instruction as printed, and what it is made of:
the action, the party to send to, the document's XML and where it was written, the window) so that
a channel other than the terminal (the test bed's browser, through files: app/operator_files.py)
needs to parse nothing. It returns an ``Answer`` when the channel can hear one ("done": the
operator says they made the candidate send; "cannot": they cannot; None: nobody answered within
the window), or None for a channel that cannot answer (the terminal): control.ask_to_send then
waits the whole operator window for the message, as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ANSWERS = ("done", "cannot")


@dataclass(frozen=True)
class Prompt:
    instruction: str  # the text the terminal shows (OPERATOR: in the candidate NSW (KH), ...)
    action: str  # e.g. IssueCO
    to: str  # the party the candidate sends to (the harness's)
    document: str  # the document's XML text
    document_path: str  # where the harness wrote it, for an operator at the terminal
    window_s: float  # the operator window: how long the harness waits for the operator


@dataclass(frozen=True)
class Answer:
    answer: str | None  # one of ANSWERS, or None: no answer within the window
    at: datetime | None = None  # when it was heard (UTC)
