"""Receipts and Errors (section 3.2): building them signed, and judging one that came back.

The reference NSW answers with :func:`receipt` and :func:`error`; the harness and the reference's
outbox judge answers with :func:`check_receipt` (M-19) and :func:`check_error` (M-20).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from conformance.core import location as locations
from conformance.core import safexml, signing, verify
from conformance.core import xmldsig as ds
from conformance.core.trust import Credential, TrustStore
from conformance.core.violations import Violation
from conformance.family.dialect import Dialect
from conformance.family.nodes import texts
from conformance.family.validation import ENVELOPE_SCHEMA

MAX_DESCRIPTION = 2048
# Section 3.1: MessageId and RefToMessageId are 1..255 characters. An Error cannot carry back a longer
# MessageId and stay schema-valid, so it may omit it (refusing such a MessageId is M-03 itself).
MAX_MESSAGE_ID = 255


def _signal_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


def receipt(
    *,
    ref_to_message_id: str,
    sender: str,
    receiver: str,
    at: datetime,
    duplicate: bool,
    received_digests: Sequence[str],
    credential: Credential | None,
    dialect: Dialect,
) -> bytes:
    """A Receipt from ``sender`` (the receiving NSW) to ``receiver``; unsigned when credential is None."""
    messages = dialect.messages
    root = messages.render(
        "Receipt",
        {
            "id": _signal_id("receipt"),
            "profile_version": dialect.codes.PROFILE_VERSION,
            "ref_to_message_id": ref_to_message_id,
            "sender": sender,
            "receiver": receiver,
            "timestamp": messages.utc_timestamp(at),
            "duplicate": duplicate,
            "received_digests": list(received_digests),
        },
    )
    if credential is not None:
        signing.sign_enveloped(root, credential)
    return messages.serialize(root)


def error(
    violation: Violation,
    *,
    ref_to_message_id: str | None,
    sender: str,
    receiver: str | None,
    at: datetime,
    credential: Credential | None,
    code: str | None = None,
    dialect: Dialect,
) -> bytes:
    """A signed Error carrying the violation's code (or ``code``), description and location.

    Unsigned when ``credential`` is None (only a seeded fault of the reference NSW asks for that)."""
    description = f"{violation.requirement}: expected {violation.expected}; observed {violation.observed}"
    messages = dialect.messages
    root = messages.render(
        "Error",
        {
            "id": _signal_id("error"),
            "profile_version": dialect.codes.PROFILE_VERSION,
            "ref_to_message_id": ref_to_message_id
            if ref_to_message_id is None or len(ref_to_message_id) <= MAX_MESSAGE_ID
            else None,
            "sender": sender,
            "receiver": receiver,
            "timestamp": messages.utc_timestamp(at),
            "faults": [
                {
                    "code": code or dialect.error_code(violation.requirement),
                    "severity": "error",
                    "description": description[:MAX_DESCRIPTION],
                    "location": violation.location,
                }
            ],
        },
    )
    if credential is not None:
        signing.sign_enveloped(root, credential)
    return messages.serialize(root)


@dataclass(frozen=True)
class Signal:
    """A judged Receipt or Error: its parsed root and the fields a sender acts on."""

    root: etree._Element
    kind: str
    dialect: Dialect = field(kw_only=True)

    def text(self, name: str) -> str | None:
        value = self.root.findtext(self.dialect.e(name))
        return value.strip() if value is not None else None

    @property
    def codes(self) -> list[str]:
        return [code.strip() for code in texts(self.root, "e:Fault/e:Code/text()", self.dialect.namespaces)]

    def location_of(self, code: str) -> str | None:
        """The Location of the first Fault with ``code`` (None when it gives none)."""
        e = self.dialect.e
        for fault in self.root.iterfind(e("Fault")):
            if (fault.findtext(e("Code")) or "").strip() == code:
                location = (fault.findtext(e("Location")) or "").strip()
                return location or None
        return None

    @property
    def received_digests(self) -> list[str]:
        found = texts(self.root, "e:ReceivedDigest/text()", self.dialect.namespaces)
        return [digest.strip() for digest in found]

    @property
    def duplicate(self) -> bool:
        return self.text("Duplicate") == "true"


def _parse_signal(body: bytes, kind: str, requirement: str, max_bytes: int, dialect: Dialect) -> Signal:
    try:
        root = safexml.parse_untrusted(body, max_bytes=max_bytes)
    except Violation as violation:
        raise verify.as_requirement(violation, requirement) from None
    if root.tag != dialect.e(kind):
        raise Violation(requirement, f"a {kind} in {dialect.codes.ENVELOPE_NS}", f"root element {root.tag}")
    problem = dialect.schemas.problem(root, ENVELOPE_SCHEMA)
    if problem:
        raise Violation(requirement, f"a {kind} valid against envelope.xsd", problem.reason, problem.path)
    return Signal(root, kind, dialect=dialect)


def _check_signed(signal: Signal, requirement: str, party: str, trust: TrustStore, at: datetime) -> None:
    try:
        verify.verify_enveloped(signal.root, trust=trust, party=party, at=at, purpose="nsw")
    except Violation as violation:
        raise verify.as_requirement(violation, requirement) from None


def _expect(requirement: str, what: str, expected: str | None, observed: str | None) -> None:
    if expected != observed:
        raise Violation(requirement, f"{what} {expected}", f"{what} {observed}")


def check_receipt(
    body: bytes,
    *,
    message_id: str | None,
    sender: str,
    receiver: str,
    sent_digests: Sequence[str],
    trust: TrustStore,
    at: datetime,
    max_bytes: int = 1024 * 1024,
    dialect: Dialect,
) -> Signal:
    """M-19: schema-valid, signed by the receiver's NSW, RefToMessageId and ReceivedDigest right.

    ``sender`` sent the message ``message_id`` to ``receiver``, whose Receipt this should be.
    """
    signal = _parse_signal(body, "Receipt", "M-19", max_bytes, dialect)
    _check_signed(signal, "M-19", receiver, trust, at)
    _expect("M-19", "RefToMessageId", message_id, signal.text("RefToMessageId"))
    _expect("M-19", "From", receiver, signal.text("From"))
    _expect("M-19", "To", sender, signal.text("To"))
    if signal.received_digests != list(sent_digests):
        raise Violation(
            "M-19", f"ReceivedDigest {list(sent_digests)}", f"ReceivedDigest {signal.received_digests}"
        )
    return signal


def code_requirement(code: str, dialect: Dialect) -> str:
    """``EFDX-M06`` (``RCPX-M06``) -> ``M-06``: the requirement an error code of ``dialect`` names
    (the family's one mapping, family/codes.py, with the dialect's prefix)."""
    return dialect.codes.code_requirement(code)


def check_error(
    body: bytes,
    *,
    message_id: str | None,
    sender: str,
    receiver: str,
    expected_code: str,
    trust: TrustStore,
    at: datetime,
    max_bytes: int = 1024 * 1024,
    ref_optional: bool = False,
    location_required: str | None = None,
    refused: bytes | None = None,
    offending: Sequence[str] = (),
    dialect: Dialect,
    without_message_id: bool = False,
) -> Signal:
    """M-20: schema-valid, signed by the receiver's NSW, the right code, RefToMessageId when readable.

    ``ref_optional``: the body was refused unread (section 7: T-03, T-04, M-01, M-02), so the Error
    may omit RefToMessageId; where present it must still be ``message_id``. ``location_required``
    names the requirement whose row demands a Location (M-03, M-04); with ``refused`` (the bytes
    the Error answers) that Location is judged as errata 2 says (:func:`check_location`), against
    ``offending`` (the nodes the vector broke, as location paths) where the caller knows them.
    ``without_message_id``: the refused message has a Header but no MessageId, so there is nothing
    an Error could refer to, and a RefToMessageId in it cannot be right (section 7).
    """
    signal = _parse_signal(body, "Error", "M-20", max_bytes, dialect)
    _check_signed(signal, "M-20", receiver, trust, at)
    _expect("M-20", "From", receiver, signal.text("From"))
    to = signal.text("To")
    if to is not None:  # 0..1, but where given, the Error goes To the sender (section 1)
        _expect("M-20", "To", sender, to)
    ref = signal.text("RefToMessageId")
    unreturnable = message_id is not None and len(message_id) > MAX_MESSAGE_ID
    if message_id is not None and not ((ref_optional or unreturnable) and ref is None):
        _expect("M-20", "RefToMessageId", message_id, ref)
    if without_message_id and ref is not None:
        raise Violation(
            "M-20", "no RefToMessageId (the refused message has no MessageId)", f"RefToMessageId {ref}"
        )
    if (
        expected_code not in signal.codes
    ):  # the case's own requirement was not applied, and the Error is wrong
        raise Violation(
            code_requirement(expected_code, dialect),
            f"Fault/Code {expected_code}",
            f"Fault/Code {', '.join(signal.codes) or 'none'}",
            also=("M-20",),
        )
    if location_required and signal.location_of(expected_code) is None:
        raise Violation(
            location_required,
            f"a Fault {expected_code} with the Location of the offending node",
            "no Location",
        )
    if location_required and refused is not None:
        check_location(
            signal.location_of(expected_code) or "",
            refused,
            requirement=location_required,
            code=expected_code,
            offending=offending,
            dialect=dialect,
        )
    return signal


def location_prefixes(dialect: Dialect) -> dict[str, str]:
    """The prefixes errata 2 lets a Location use: env (envelope), co (the CO's), ds (XML-DSig)."""
    return {"env": dialect.codes.ENVELOPE_NS, "co": dialect.codes.PAYLOAD_NS, "ds": ds.DS_NS}


def check_location(
    location: str,
    refused: bytes,
    *,
    requirement: str,
    code: str,
    offending: Sequence[str] = (),
    dialect: Dialect,
) -> None:
    """Errata 2: the Location is a location path (steps and position predicates, at most 512
    characters) that selects at least one node of the refused message, each the offending element or
    attribute or the element that holds it. Parsed and walked by ``core.location``, never evaluated
    as XPath. ``refused`` is the harness's own message, so it is parsed without the untrusted caps."""
    document = etree.fromstring(
        refused, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    )
    found = locations.problem(location, document, location_prefixes(dialect), offending)
    if found:
        node = " or ".join(offending) if offending else "the offending node"
        raise Violation(
            requirement,
            f"a Fault {code} whose Location selects {node} or the element that holds it "
            "(errata 2: a location path of steps and position predicates, at most 512 characters)",
            found,
        )
