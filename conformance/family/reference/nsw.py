"""The reference NSW's behaviour, without HTTP: receive, answer, process, send, trigger.

Receiving follows section 5: the shared judge makes the synchronous checks; then one SQLite
transaction records the message, applies the stateful business rules (BR-11, BR-14, BR-15) against
what was accepted before, updates the CO's state and queues the StatusNotification (or the
VerificationResponse) in the outbox. The answer goes back only after that commit, so a message
that got a Receipt is never lost, and its duplicate is recognised even after a restart.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from lxml import etree

from conformance.core import signing
from conformance.core.safexml import parse_untrusted
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.dialect import Dialect
from conformance.family.judge import Header, Judgement, Receiver, as_read
from conformance.family.reference.lax import LAX, SPEC
from conformance.family.reference.outbox import DEFAULT_SCHEDULE, Outbox
from conformance.family.reference.schema_faults import edited_schemas
from conformance.family.reference.store import Store, Transaction
from conformance.family.validation import SchemaSet

log = logging.getLogger(__name__)
CO_ACTIONS = ("IssueCO", "ReplaceCO", "CancelCO")
TRIGGER_ACTIONS = ("IssueCO", "ReplaceCO", "CancelCO", "StatusNotification", "VerificationRequest")
# Outbox workers: statuses go out several at once, so that they keep up with receipts under load
# (bench/README.md, "reference throughput"); the spec asks for no order between messages.
OUTBOX_WORKERS = 4


# The capacity the reference NSW claims (spec section 8), as `conformance load` without --config
# judges it: what it holds on a 2-core machine with the harness (generator, inbox) on the same
# machine. bench/README.md has the figures of the reference alone.
DECLARED_CAPACITY = {
    "rate_per_s": 20.0,
    "duration_s": 60.0,
    "receipt_p95_s": 1.0,
    "status_p95_s": 2.0,
    "gateway_fault_share": 0.0,
}


@dataclass
class Settings:
    """How one reference NSW is run (the `conformance reference serve` options)."""

    party: str
    db: Path
    peers: Mapping[str, str] = field(default_factory=dict)
    fault: str | None = None
    status_delay: float = 0.0
    late_status_delay: float = 300.0
    slow_answer_delay: float = 16.0  # the seeded fault slow-answers: past the reference run's T-01 limit
    retry_schedule: Sequence[float] = DEFAULT_SCHEDULE
    outbound_timeout: float = 10.0
    trigger_token: str | None = None
    pki_dir: Path | None = None
    tls: bool = False
    dialect: Dialect = field(kw_only=True)  # the profile it speaks (EFDX 1.0 or another of the family)
    outbox_workers: int | None = None  # deliveries at once (None: OUTBOX_WORKERS); may overtake
    # One message at a time, a retried one holding up the rest: a simple outbox, which the spec allows
    # (it asks for no order or parallelism between deliveries); the harness must judge it right.
    outbox_in_turn: bool = False
    outbox_pause: float = 0.0  # a slow outbox: each delivery takes this long (tests of the suite's waits)
    # Asked through the trigger to cancel a CO it never issued, it refuses (400) instead of sending the
    # CancelCO: the spec allows either (it says nothing of such a request); the harness must judge both.
    refuse_unknown_cancel: bool = False
    # Section 9 (capability gateway): its peers may be gateway inboxes (G-01: ``peers`` lists them, and
    # it sends there unchanged); over TLS it trusts the gateway CA, for TLS only, as a server it talks to
    # and as a client that brings messages of any From (G-02); a gateway's 502/504 is transient (G-03).
    gateway: bool = False
    # The partners' own inboxes, party -> URL: read only by the seeded fault gateway-bypassed (G-01),
    # which sends there instead of to the gateway.
    direct_peers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/xml"


class ReferenceNsw:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.party = settings.party
        self.dialect = dialect = settings.dialect
        self.fault = dialect.fault(settings.fault)
        self.fault_name: str | None = self.fault.name if self.fault else None
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._schema_copy: tempfile.TemporaryDirectory[str] | None = None
        self._co_messages = 0  # CO messages processed since start (the seeded fault drop-status-per-mille)
        self._co_answers = 0  # CO messages answered since start (the load faults on answers)
        self._counting = threading.Lock()  # the inbox answers from several threads
        pki = self.pki = dialect.load_pki(settings.pki_dir) if settings.pki_dir else dialect.load_pki()
        self.nsw_credential = pki.nsw(self.party)
        self.authority_credential = pki.authority(self.party)
        self.trust = pki.trust_store()
        self.store = Store(settings.db)
        lax = self.fault.lax if self.fault else SPEC
        self.receiver = Receiver(
            self.party,
            self.trust,
            schemas=self._schemas(),
            policy=lax.policy,
            checks=lax.checks(),
            rules=lax.rules(dialect.rules),
            dialect=dialect,
        )
        # the seeded fault gateway-client-any-signer (G-02): what the gateway brings is judged without
        # binding the envelope's signer to From (any party's NSW will do: M-08's CA, M-11's country)
        self._gateway_receiver = (
            Receiver(
                self.party,
                self.trust,
                schemas=self._schemas(),
                checks=_ANY_PARTY_SIGNER.checks(),
                rules=dialect.rules,
                dialect=dialect,
            )
            if self.fault_name == "gateway-client-any-signer"
            else None
        )
        self.outbox = Outbox(
            self.store,
            settings.peers,
            schedule=settings.retry_schedule,
            timeout=settings.outbound_timeout,
            tls=self._outbound_tls() if settings.tls else None,
            fault=self.fault_name,
            credentials={"nsw": self.nsw_credential},  # signs what _send queues unsigned
            workers=1 if settings.outbox_in_turn else settings.outbox_workers or OUTBOX_WORKERS,
            in_turn=settings.outbox_in_turn,
            pause_each=settings.outbox_pause,
            gateway=settings.gateway,
            direct_peers=settings.direct_peers,
        )

    def _schemas(self) -> SchemaSet | None:
        """The profile's schemas, or (a seeded fault of a declaration) a copy of them with it changed."""
        edit = self.fault.schema_edit if self.fault else None
        if edit is None:
            return None
        self._schema_copy = tempfile.TemporaryDirectory(prefix="conformance-schemas-")
        copy = Path(self._schema_copy.name)
        return edited_schemas(self.dialect.key, self.dialect.payload_schema, edit, copy)

    def rogue_ca_pem(self) -> bytes:
        """The test PKI's rogue CA (for the seeded fault tls-trust-any-ca)."""
        return self.pki.bad("rogue-ca").cert_pem()

    def gateway_ca(self) -> x509.Certificate | None:
        """The gateway CA this NSW trusts for TLS (section 9), when it claims ``gateway``."""
        return self.pki.gateway_ca_cert() if self.settings.gateway else None

    def tls_cas_pem(self) -> bytes:
        """The CAs of its TLS peers: every party's (section 2) and, claiming gateway, the gateway CA
        (for TLS only: never in the trust store that judges signers, so its certificates sign nothing
        this NSW takes, M-08)."""
        gateway = self.gateway_ca()
        extra = gateway.public_bytes(serialization.Encoding.PEM) if gateway is not None else b""
        return self.trust.ca_pem() + extra

    def _outbound_tls(self) -> ssl.SSLContext:
        """Outbound HTTPS: present our NSW certificate, trust every party's CA (section 2) and, with
        a gateway, the gateway CA (section 9), and check the peer's name; loaded once for every
        connection the outbox makes."""
        context = ssl.create_default_context(cadata=self.tls_cas_pem().decode("ascii"))
        context.load_cert_chain(str(self.nsw_credential.cert_path), str(self.nsw_credential.key_path))
        return context

    def start(self) -> None:
        self.outbox.start()

    def stop(self) -> None:
        self.outbox.stop()
        if self._schema_copy is not None:
            self._schema_copy.cleanup()

    # ------------------------------------------------------------------------------ receiving

    def receive(self, body: bytes, content_type: str, tls_client: x509.Certificate | None = None) -> Answer:
        """Judge, record and answer one POST to the inbox (``tls_client``: the verified TLS peer)."""
        now = self.clock()
        receiver = self.receiver
        if self._gateway_receiver is not None and tls_client is not None and self._from_gateway(tls_client):
            receiver = self._gateway_receiver
        judgement = receiver.judge(body, content_type, at=now)
        if (
            self.fault_name == "wrong-type-body-parsed"
            and judgement.violation is not None
            and judgement.violation.requirement == "T-03"
        ):
            parse_untrusted(body)  # the seeded fault: a body that is not XML raises past the 415
        action = judgement.header.action if judgement.header else None
        if action == "Ping" and self.fault_name == "slow-answers":
            time.sleep(self.settings.slow_answer_delay)
        nth = 0  # this CO message's place among those answered (the load faults pick by it)
        if action in CO_ACTIONS and judgement.accepted:
            with self._counting:
                self._co_answers += 1
                nth = self._co_answers
            shed = _under_load(self.fault_name, nth)
            if shed is not None:
                return shed
        if judgement.accepted and self.fault_name in _REFUSED_ACTIONS.get(action or "", ()):
            judgement.violation = Violation("M-14", f"no {action}", f"a {action}", "/Envelope/Header/Action")
        if tls_client is not None:
            transport = self._tls_violation(tls_client, judgement, now)
            judgement.violation = transport or judgement.violation
        if judgement.accepted:
            try:
                judgement.duplicate = self._record(judgement, now)
            except Violation as violation:  # a conflicting duplicate (M-17) seen in the transaction
                judgement.violation = violation
        if not judgement.accepted:
            return self._error(judgement, now)
        self.outbox.wake()
        return Answer(200, self._receipt(judgement, now, wrong=_wrong_receipt(self.fault_name, nth)))

    def _from_gateway(self, cert: x509.Certificate) -> bool:
        """The TLS client is the gateway's certificate (issued by the gateway CA this NSW trusts for
        TLS, claiming gateway: section 9)."""
        gateway = self.gateway_ca()
        return gateway is not None and _issued_by(cert, gateway)

    def _tls_violation(self, cert: x509.Certificate, judgement: Judgement, now: datetime) -> Violation | None:
        """T-05: the TLS client is a current NSW certificate of the party the message comes from, or,
        claiming gateway, the gateway's certificate, for a message of any From (G-02: the handshake
        checked its chain to the gateway CA and its dates; the envelope signature binds From)."""
        if self._from_gateway(cert) and self.fault_name != "refuse-gateway-client":
            return None
        claimed = judgement.header.sender if judgement.header else country_of(cert)
        if self.fault_name == "tls-ignore-from":
            claimed = country_of(cert)
        try:
            self.trust.check_signer(
                [cert], claimed, now, "nsw", checks=_TLS_LAX.get(self.fault_name or "", SPEC).checks()
            )
        except Violation as violation:
            return Violation(
                "T-05",
                f"a TLS client certificate of {claimed}'s NSW ({violation.expected})",
                violation.observed,
            )
        return None

    def _record(self, judgement: Judgement, now: datetime) -> bool:
        """Record the message and act on it in one transaction; True when it is a duplicate."""
        header, _ = _taken(judgement)
        with self.store.transaction() as tx:
            sender = None if self.fault_name == "duplicates-keyed-by-message-id" else header.sender
            earlier = tx.digest_of(sender, header.message_id)
            if earlier is not None:  # M-17: the same content, or refused
                self.receiver.checks["duplicate.same-content"](
                    header.message_id, earlier, judgement.body_digest
                )
            if earlier is not None and self.fault_name != "process-duplicates-twice":
                return True
            if earlier is None:
                tx.record_received(header.sender, header.message_id, judgement.body_digest, header.action)
            self._act(tx, judgement, now)
        return earlier is not None

    def _act(self, tx: Transaction, judgement: Judgement, now: datetime) -> None:
        action = _taken(judgement)[0].action
        if action in CO_ACTIONS:
            self._co_message(tx, judgement, now)
        elif action == "VerificationRequest" and self.fault_name != "ignore-verification-requests":
            self._answer_verification(tx, judgement, now)

    def _co_message(self, tx: Transaction, judgement: Judgement, now: datetime) -> None:
        header, payload = _taken(judgement)
        rules, rule = self.dialect.rules, self.dialect.codes.RULE_PREFIX  # "BR-" (RCPX: "RBR-")
        context = rules.Context(header.action, header.sender, header.receiver, now.date(), history=tx)
        findings = list(judgement.findings)
        rulebook = self.receiver.rules or rules  # the dialect's, or a seeded fault's without one rule
        for stateful in rulebook.STATEFUL_RULES:
            findings += rulebook.RULES[stateful](payload, context)
        if self.fault and self.fault.rejects and self.fault.rejects[1](payload, now.date(), tx):
            findings.append(rules.Finding(self.fault.rejects[0], f"the seeded fault {self.fault_name}", "."))
        if self.fault and self.fault.forgives:
            rule_id, forgiven = self.fault.forgives
            findings = [f for f in findings if f.rule != rule_id or not forgiven(f, payload, context)]
        reasons = rules.failed_rules(findings)
        # both profiles number "the named CO was accepted" 14
        if self.fault_name == "acknowledge-unknown-cancel":
            reasons = tuple(r for r in reasons if r != f"{rule}14")
        if self.fault_name == "first-reason-only":
            reasons = reasons[:1]
        if self.fault_name == "unknown-reason-code" and reasons:
            reasons = (*reasons, f"{rule}99")  # a Reason that names no rule of the profile
        if self.fault_name == "reject-known-cancel" and header.action == "CancelCO" and not reasons:
            reasons = (f"{rule}14",)
        issuing = as_read(payload.findtext(self.dialect.p("IssuingCountry")))
        reference = as_read(payload.findtext(self.dialect.p("ReferenceNumber")))
        ref_to = header.message_id
        if self.fault_name == "cancel-ack-names-issue" and header.action == "CancelCO":
            ref_to = tx.message_of("received", issuing, reference) or ref_to  # the CO's, not the CancelCO's
        status = "REJECTED" if reasons else self._apply(tx, header, payload, issuing, reference)
        if reasons and self.fault_name == "rejected-cos-recorded" and header.action != "CancelCO":
            tx.set_state("received", issuing, reference, "ACCEPTED", header.message_id)  # the seeded fault
        self._co_messages += 1
        this_one = self._co_messages % DROP_EVERY == DROPPED  # the per-mille faults' message
        if self.fault_name == "never-send-status" or (
            self.fault_name == "drop-status-per-mille" and this_one
        ):
            return
        texts = {finding.rule: str(finding) for finding in reversed(findings)}
        cut = None if self.fault_name == "reason-text-uncut" else 2048  # FreeText: 1..2048 characters
        reason_data = [{"code": rule, "text": texts.get(rule, rule)[:cut]} for rule in reasons]
        data = {
            "reference_number": reference,
            "issuing_country": issuing,
            "status": status,
            "status_date": now.date().isoformat(),
            "reasons": reason_data,
            "declaration_reference": None,
        }
        conversation = header.conversation_id
        if self.fault_name == "wrong-conversation-id":
            conversation = f"{conversation}-WRONG"
        delay = {
            "late-status": self.settings.late_status_delay,
            "slow-statuses-under-load": DECLARED_CAPACITY["status_p95_s"] + SLOWER_THAN_DECLARED_S,
        }.get(self.fault_name or "", self.settings.status_delay)
        second = self.fault_name == "second-status" or (
            self.fault_name == "second-status-per-mille" and this_one
        )
        copies = 2 if second else 1
        for _ in range(copies):  # the seeded fault sends a second, different status (new MessageId)
            self._send(
                tx,
                "StatusNotification",
                data,
                to=header.sender,
                conversation=conversation,
                ref_to=f"{header.message_id}-WRONG" if self.fault_name == "status-wrong-ref" else ref_to,
                now=now,
                delay=delay,
            )

    def _apply(
        self, tx: Transaction, header: Header, payload: etree._Element, issuing: str, reference: str
    ) -> str:
        """Apply an accepted CO message to the CO states; return the status to send."""
        if header.action == "CancelCO":
            if tx.accepted(issuing, reference):
                tx.set_state("received", issuing, reference, "CANCELLED", header.message_id)
            return "CANCELLATION_ACKNOWLEDGED"
        tx.set_state("received", issuing, reference, "ACCEPTED", header.message_id)
        replaced = payload.findtext(self.dialect.p("Replaces"))
        if header.action == "ReplaceCO" and replaced and self.fault_name != "replace-does-not-supersede":
            tx.set_state("received", issuing, replaced.strip(), "SUPERSEDED", header.message_id)
            if self.fault_name == "replacement-superseded-too":  # the seeded fault: the new CO as well
                tx.set_state("received", issuing, reference, "SUPERSEDED", header.message_id)
        return "ACCEPTED"

    def _answer_verification(self, tx: Transaction, judgement: Judgement, now: datetime) -> None:
        header, payload = _taken(judgement)
        issuing = as_read(payload.findtext(self.dialect.p("IssuingCountry")))
        reference = as_read(payload.findtext(self.dialect.p("ReferenceNumber")))
        state = tx.state_of("issued", issuing, reference) if issuing == self.party else None
        confirmed = state is not None
        if self.fault_name == "verification-never-confirms":
            confirmed = False
        elif self.fault_name == "verification-confirms-unknown":
            confirmed, state = True, state or "UNKNOWN"
        data = {
            "reference_number": reference,
            "issuing_country": issuing,
            "outcome": "CONFIRMED" if confirmed else "NOT_CONFIRMED",
            "findings": f"CO {reference} is on file, state {state}"
            if confirmed
            else f"No CO {reference} issued by {self.party} is on file",
        }
        conversation = header.conversation_id
        if self.fault_name == "verification-own-conversation":
            conversation = f"{conversation}:VERIFY"  # a conversation of its own, not the CO's
        self._send(
            tx,
            "VerificationResponse",
            data,
            to=header.sender,
            conversation=conversation,
            ref_to=header.message_id,
            now=now,
            delay=0.0,
        )

    # ------------------------------------------------------------------------------ answers

    def _receipt(self, judgement: Judgement, now: datetime, *, wrong: bool = False) -> bytes:
        digests = list(judgement.received_digests)
        if (self.fault_name == "wrong-received-digest" or wrong) and digests:
            digests[0] = ("A" if digests[0][0] != "A" else "B") + digests[0][1:]
        credential = {
            "unsigned-receipts": None,
            "receipts-signed-by-authority": self.authority_credential,
        }.get(self.fault_name or "", self.nsw_credential)
        header, _ = _taken(judgement)
        ref_to = header.message_id
        return signals.receipt(
            ref_to_message_id=f"{ref_to}-WRONG" if self.fault_name == "receipt-wrong-ref" else ref_to,
            sender=self.party,
            receiver=header.sender,
            at=now,
            duplicate=judgement.duplicate and self.fault_name != "duplicate-flag-false",
            received_digests=digests,
            credential=credential,
            dialect=self.dialect,
        )

    def _error(self, judgement: Judgement, now: datetime) -> Answer:
        violation = judgement.violation
        assert violation is not None  # an Error answers a message refused
        without_location = {
            "envelope-errors-without-location": "M-03",
            "payload-errors-without-location": "M-04",
        }
        if without_location.get(self.fault_name or "") == violation.requirement:
            violation = Violation(violation.requirement, violation.expected, violation.observed)
        elif self.fault_name == "duplicate-ids-before-schema" and "duplicated xs:ID" in violation.observed:
            violation = Violation("M-07", "every Id unique in the document", violation.observed)
        elif violation.location and violation.requirement in ("M-03", "M-04"):
            violation = dataclasses.replace(
                violation, location=_faulty_location(self.fault_name, violation.location)
            )
        sender = judgement.header.sender if judgement.header else None
        ref_to = judgement.message_id
        if ref_to is None and self.fault_name == "error-ref-without-message-id":
            ref_to = "unknown"
        body = signals.error(
            violation,
            ref_to_message_id=None if self.fault_name == "errors-without-ref" else ref_to,
            sender=self.party,
            receiver=self.party
            if self.fault_name == "error-to-self"
            else sender
            if sender in self.dialect.codes.PARTIES
            else None,
            at=now,
            credential=None if self.fault_name in _UNSIGNED_ERRORS else self.nsw_credential,
            code=self.dialect.error_code("M-01") if self.fault_name == "wrong-error-code" else None,
            dialect=self.dialect,
        )
        if self.fault_name == "error-severity-outside-list":
            body = self._with_severity(body, "fatal")
        return Answer(judgement.http_status, body)

    def _with_severity(self, body: bytes, severity: str) -> bytes:
        """The seeded fault error-severity-outside-list: the unsigned Error's Severity changed, signed."""
        root = parse_untrusted(body)
        for node in root.iter(self.dialect.e("Severity")):
            node.text = severity
        signing.sign_enveloped(root, self.nsw_credential)
        return self.dialect.messages.serialize(root)

    # ------------------------------------------------------------------------------ sending

    def _send(
        self,
        tx: Transaction,
        action: str,
        data: dict,
        *,
        to: str,
        conversation: str,
        ref_to: str | None,
        now: datetime,
        delay: float,
        payload: etree._Element | None = None,
    ) -> str:
        """Build and queue one message in the outbox (signed there), within the caller's transaction."""
        messages = self.dialect.messages
        payload = payload if payload is not None else messages.payload(action, data)
        fields = messages.EnvelopeFields(
            action=action,
            sender=self.party,
            receiver=to,
            message_id=messages.message_id(self.party),
            conversation_id=conversation,
            timestamp=now - timedelta(hours=25) if self.fault_name == "stale-outbound-timestamps" else now,
            ref_to_message_id=ref_to,
        )
        envelope = messages.envelope(fields, payload)
        tx.enqueue(  # unsigned: the outbox signs it with the NSW key, out of this transaction
            message_id=fields.message_id,
            party=to,
            action=action,
            body=messages.serialize(envelope),
            send_at=time.time() + delay,
            signer="nsw",
        )
        return fields.message_id

    def trigger(self, token: str | None, body: bytes) -> Answer:
        """The test trigger (section 2): sign and send what the harness asks for."""
        if self.settings.trigger_token is None:
            return _json(404, {"error": "the test trigger is not enabled"})
        if token != self.settings.trigger_token:
            return _json(403, {"error": f"missing or wrong {self.dialect.codes.TRIGGER_HEADER}"})
        try:
            request = json.loads(body)
            if isinstance(request, dict) and request.get("action") == "Ping":  # errata 2: no document
                if "document" in request:
                    return _json(400, {"error": "a Ping takes no document (section 7, errata 2)"})
                return self._trigger_ping(request.get("to"))
            action, to, document = (request[key] for key in ("action", "to", "document"))
            if not all(isinstance(value, str) for value in (action, to, document)):
                raise TypeError("action, to and document must be strings")
        except (ValueError, KeyError, TypeError) as exc:
            return _json(400, {"error": f"expected JSON with action, to, document: {exc}"})
        if action not in TRIGGER_ACTIONS or to not in self.settings.peers:
            return _json(400, {"error": f"action must be one of {TRIGGER_ACTIONS} and to a configured peer"})
        try:
            payload = parse_untrusted(document.encode("utf-8"))
        except Violation as violation:
            return _json(400, {"error": str(violation)})
        wanted = self.dialect.codes.PAYLOAD_FOR_ACTION[action]
        if payload.tag != self.dialect.p(wanted):
            return _json(400, {"error": f"{action} needs a {wanted} document"})
        if action == "StatusNotification" and self.fault_name == "utilisation-not-sent":
            return _json(
                202, {"messageId": self.dialect.messages.message_id(self.party)}
            )  # says so, sends nothing
        if action == "CancelCO" and self.settings.refuse_unknown_cancel and not self._issued(payload):
            return _json(400, {"error": "no CO with this ReferenceNumber was issued here"})
        message_id = self._send_triggered(action, to, payload)
        self.outbox.wake()
        return _json(202, {"messageId": message_id})

    def _co_of(self, payload: etree._Element) -> tuple[str, str]:
        """(IssuingCountry, ReferenceNumber) of a triggered payload: the CO its message is about."""
        issuing = payload.findtext(self.dialect.p("IssuingCountry")) or self.party
        return issuing, payload.findtext(self.dialect.p("ReferenceNumber")) or "PING"

    def _issued(self, payload: etree._Element) -> bool:
        with self.store.transaction() as tx:
            return tx.state_of("issued", *self._co_of(payload)) is not None

    def _trigger_ping(self, to: object) -> Answer:
        """``{"action": "Ping", "to": party}`` (section 7, "Test trigger: Ping"): a signed Ping to that
        party's inbox, with no business effect; a harness uses it to see that it is reached."""
        if not isinstance(to, str) or to not in self.settings.peers:
            return _json(400, {"error": "a Ping needs to: a configured peer"})
        now = self.clock()
        messages = self.dialect.messages
        with self.store.transaction() as tx:
            conversation = messages.conversation_id(self.party, f"PING-{uuid.uuid4().hex[:12]}")
            message_id = self._send(
                tx, "Ping", {}, to=to, conversation=conversation, ref_to=None, now=now, delay=0.0
            )
        self.outbox.wake()
        return _json(202, {"messageId": message_id})

    def _send_triggered(self, action: str, to: str, payload: etree._Element) -> str:
        now = self.clock()
        payload = copy.deepcopy(payload)
        issuing, reference = self._co_of(payload)
        with self.store.transaction() as tx:
            if action in ("IssueCO", "ReplaceCO"):
                payload.set("Id", payload.get("Id") or "co")
                signer = (
                    self.nsw_credential
                    if self.fault_name == "export-co-signed-by-nsw"
                    else self.authority_credential
                )
                signing.sign_enveloped(payload, signer)
                tx.set_state("issued", issuing, reference, "ACCEPTED", "trigger")
                replaced = payload.findtext(self.dialect.p("Replaces"))
                if action == "ReplaceCO" and replaced:
                    tx.set_state("issued", issuing, replaced.strip(), "SUPERSEDED", "trigger")
            elif action == "CancelCO" and (
                tx.state_of("issued", issuing, reference) or self.fault_name == "cancel-adopts-unknown-co"
            ):
                tx.set_state("issued", issuing, reference, "CANCELLED", "trigger")
            conversation = self.dialect.messages.conversation_id(issuing, reference)
            if action == "CancelCO" and self.fault_name == "export-cancel-outside-conversation":
                conversation += "-X"
            ref_to = None
            if action == "StatusNotification" and self.fault_name != "utilisation-refers-to-nothing":
                ref_to = tx.message_of("received", issuing, reference)  # answers the CO message (section 7)
            return self._send(
                tx,
                action,
                {},
                to=to,
                conversation=conversation,
                ref_to=ref_to,
                now=now,
                delay=0.0,
                payload=payload,
            )


# The seeded fault drop-status-per-mille loses the status of the DROPPED-th of every DROP_EVERY CO
# messages: early, so that a load run of seconds meets it, and one in a thousand all the same.
DROP_EVERY, DROPPED = 1000, 7
SHED_EVERY = 5  # the seeded fault shed-load answers every 5th CO message 503: 80 % of the rate answered
SLOWER_THAN_DECLARED_S = 0.5  # the load faults slow-*-under-load: this far past the declared p95


def _taken(judgement: Judgement) -> tuple[Header, etree._Element]:
    """The Header and payload of a message taken for processing: the judge read both to take it."""
    if judgement.header is None or judgement.payload is None:
        raise ValueError("a message taken for processing has a Header and a payload")
    return judgement.header, judgement.payload


def _wrong_receipt(fault: str | None, nth: int) -> bool:
    """The seeded fault wrong-receipt-per-mille: the nth CO message's Receipt is wrong (P-01)."""
    return fault == "wrong-receipt-per-mille" and nth % DROP_EVERY == DROPPED


def _under_load(fault: str | None, answered: int) -> Answer | None:
    """The load faults on a CO message's synchronous answer (P-01, P-02): a 503 for every
    SHED_EVERY-th (shed-load), or every answer later than the declared p95 (slow-receipts-under-load)."""
    if fault == "shed-load" and answered % SHED_EVERY == 0:
        return Answer(503, b"", "text/plain")
    if fault == "slow-receipts-under-load":
        time.sleep(DECLARED_CAPACITY["receipt_p95_s"] + SLOWER_THAN_DECLARED_S)
    return None


def _faulty_location(fault_name: str | None, location: str) -> str:
    """The Location of an M-03/M-04 Error, made wrong by the seeded faults of errata 2's clauses."""
    if fault_name == "location-selects-nothing":
        return f"{location.rstrip('/')}/NoSuchElement"
    if fault_name == "location-outside-grammar":
        return f"{location.rstrip('/')}/text()"
    if fault_name == "location-names-ancestor":  # two steps up: above the element that holds the node
        steps = location.strip("/").split("/")
        return "/" + "/".join(steps[: max(1, len(steps) - 2)])
    return location


# Seeded faults whose Errors go out unsigned (the second signs its own, once it has changed it).
_UNSIGNED_ERRORS = ("unsigned-errors", "error-severity-outside-list")
# Seeded faults that refuse one kind of message outright (M-23, A-08).
_REFUSED_ACTIONS = {
    "Ping": ("refuse-ping",),
    "StatusNotification": ("refuse-status-notifications",),
    "VerificationResponse": ("refuse-verification-responses",),
}
# Seeded faults that switch off one check of the TLS client (T-05).
_TLS_LAX = {
    "tls-trust-any-ca": LAX["M-08/chain"],
    "tls-ignore-crl": LAX["M-10/revoked"],
    "tls-ignore-expiry": LAX["M-09/expired"],
}


# The seeded fault gateway-client-any-signer: the envelope's signer is not bound to From.
_ANY_PARTY_SIGNER = dataclasses.replace(
    LAX["M-08/party-ca"],
    change=lambda checks: LAX["M-11/country"].checks(LAX["M-08/party-ca"].checks(checks)),
)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def country_of(cert: x509.Certificate) -> str:
    countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(countries[0].value) if countries else ""


def _json(status: int, data: dict) -> Answer:
    return Answer(status, json.dumps(data).encode(), "application/json")
