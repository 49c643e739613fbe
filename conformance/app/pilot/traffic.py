"""What went through the gateway: every ``Relay`` the gateway hands its listener, numbered in the
order it was recorded, with the envelope fields a pilot groups by (From, To, Action, MessageId,
ConversationId, RefToMessageId, a payload's reference and status) read from a hardened parse of its
own. The relay's bytes are the gateway's: nothing here changes what was forwarded."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from conformance.core.safexml import parse_untrusted
from conformance.core.violations import Violation
from conformance.family.gateway import Relay


@dataclass(frozen=True)
class Fields:
    """The envelope fields of a request, as far as they can be read (None: not readable)."""

    sender: str | None = None
    receiver: str | None = None
    action: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    ref_to: str | None = None
    reference: str | None = None  # the payload's ReferenceNumber
    issuing: str | None = None  # the payload's IssuingCountry
    status: str | None = None  # a StatusNotification's Status
    outcome: str | None = None  # a VerificationResponse's Outcome
    reasons: tuple[str, ...] = ()  # a StatusNotification's Reason Codes


def read_fields(body: bytes) -> Fields:
    """The fields of ``body`` read from a hardened parse (size-capped, no DOCTYPE, no entities)."""
    with contextlib.suppress(Violation, ValueError):
        root = parse_untrusted(body)
        header = root.find("{*}Header")
        payload = root.find("{*}Payload")
        document = payload[0] if payload is not None and len(payload) else None

        def text(parent, name: str) -> str | None:
            found = parent.findtext(f"{{*}}{name}") if parent is not None else None
            return found.strip() or None if found is not None else None

        reasons = tuple(
            (code.text or "").strip()
            for code in (document.iterfind("{*}Reason/{*}Code") if document is not None else ())
        )
        return Fields(
            sender=text(header, "From"),
            receiver=text(header, "To"),
            action=text(header, "Action"),
            message_id=text(header, "MessageId"),
            conversation_id=text(header, "ConversationId"),
            ref_to=text(header, "RefToMessageId"),
            reference=text(document, "ReferenceNumber"),
            issuing=text(document, "IssuingCountry"),
            status=text(document, "Status"),
            outcome=text(document, "Outcome"),
            reasons=reasons,
        )
    return Fields()


@dataclass(frozen=True)
class Seen:
    """One relay with its number (from 1, in the order recorded) and its fields."""

    index: int
    relay: Relay
    fields: Fields

    @property
    def started(self) -> datetime:
        """When the request reached the gateway: the relay is recorded once answered, ``duration_s``
        after the request came (section 9: judged at the time it passed)."""
        return self.relay.received_at - timedelta(seconds=self.relay.duration_s)

    @property
    def answered(self) -> datetime:
        return self.relay.received_at

    @property
    def sender(self) -> str | None:
        """From as read, or the first hop's TLS party when the body gives none."""
        return self.fields.sender or self.relay.from_tls_party

    @property
    def receiver(self) -> str | None:
        return self.relay.to_party

    @property
    def forwarded(self) -> bool:
        return self.relay.forwarded_to is not None

    def evidence(self) -> dict:
        """How a finding names this relay: its number, digests and what passed."""
        return {
            "relay": self.index,
            "at": self.started.isoformat(),
            "from": self.sender,
            "to": self.receiver,
            "action": self.fields.action,
            "message_id": self.fields.message_id,
            "status": self.relay.status,
            "request_sha256": self.relay.request_digest,
            "answer_sha256": self.relay.answer_digest,
            "gateway": self.relay.gateway,
            "originated": self.relay.originated,
        }


@dataclass
class Traffic:
    """The gateway's listener: keeps every relay as ``Seen`` and wakes whoever waits on one."""

    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()

    def __call__(self, relay: Relay) -> None:
        fields = read_fields(relay.request) if relay.request else Fields()
        with self._changed:
            self.seen.append(Seen(len(self.seen) + 1, relay, fields))
            self._changed.notify_all()

    def snapshot(self) -> list[Seen]:
        with self._changed:
            return list(self.seen)

    def wait_for(self, predicate: Callable[[Seen], bool], timeout: float) -> Seen | None:
        """The first relay that satisfies ``predicate``, waiting at most ``timeout`` s for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((seen for seen in self.seen if predicate(seen)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._changed.wait(remaining)
