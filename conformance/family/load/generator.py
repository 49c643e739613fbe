"""Signed messages at load speed, made by the profile's own builders (any dialect of the family).

The vector builders (``vectors.Build``) make one message of each kind with sentinel values in
place of what changes per message (ReferenceNumber, Replaces, MessageId, Timestamp). Exclusive
C14N of our own, escaping-free values is plain text, so each canonical form the signatures cover
is kept as a template: a new message costs its two RSA signatures, three SHA-256 digests and a few
string joins, and is byte for byte what the builder would make with the same values
(tests/test_load_generator.py holds it to that).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.testpki import PkiFolder as TestPki  # a pack's TEST ONLY PKI
from conformance.core.trust import Credential
from conformance.family import messages, vectors
from conformance.family.dialect import Dialect
from conformance.family.nodes import required, text_of

# What changes per message; each sentinel is XML-safe text no builder writes anywhere else.
REF, REPLACES, MID = "ZQREFSENTINELZQ", "ZQREPSENTINELZQ", "zqmidsentinelzq@load.efdx"
TS_MOMENT = datetime(2031, 7, 7, 7, 7, 7, tzinfo=UTC)
TS = messages.utc_timestamp(TS_MOMENT)  # the same text in every dialect of the family
# Values computed per message: the CO's digest and signature, the envelope's digests and signature.
CO_DIGEST, CO_SIG, HEADER_DIGEST, PAYLOAD_DIGEST, ENV_SIG = (
    "\x00co-digest\x00",
    "\x00co-sig\x00",
    "\x00header-digest\x00",
    "\x00payload-digest\x00",
    "\x00env-sig\x00",
)
ACTIONS = ("IssueCO", "ReplaceCO", "CancelCO", "VerificationRequest")


class Template:
    """Text with named holes; ``render`` fills them (values are ASCII and need no escaping)."""

    def __init__(self, text: str, holes: dict[str, str]) -> None:
        self.holes = holes  # literal text in ``text`` -> hole name
        pattern = "|".join(re.escape(literal) for literal in sorted(holes, key=len, reverse=True))
        pieces = re.split(f"({pattern})", text)
        self.parts = pieces[0::2]
        self.names = [holes[literal] for literal in pieces[1::2]]

    def render(self, values: dict[str, str]) -> bytes:
        out = [self.parts[0]]
        for name, part in zip(self.names, self.parts[1:], strict=True):
            out.append(values[name])
            out.append(part)
        return "".join(out).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sha256(data: bytes) -> str:
    return _b64(hashlib.sha256(data).digest())


@dataclass(frozen=True)
class Made:
    """One message made: its bytes and what judging the answers to it needs."""

    body: bytes
    message_id: str
    conversation_id: str
    digests: tuple[str, ...]  # the envelope signature's DigestValues (a Receipt's ReceivedDigest)


class MessageTemplate:
    """One action's message from ``sender`` to ``receiver``, built once by ``vectors.Build``."""

    def __init__(
        self, action: str, pki: TestPki, sender: str, receiver: str, day: date, dialect: Dialect
    ) -> None:
        self.action, self.sender, self.messages = action, sender, dialect.messages
        self.nsw: Credential = pki.nsw(sender)
        self.authority: Credential = pki.authority(sender)
        build = sample_build(action, pki, sender, receiver, day, dialect=dialect)
        text = build.bytes().decode("utf-8")
        root = etree.fromstring(text.encode("utf-8"))
        header, payload, signature = ds.element_children(root)[:3]
        co = payload[0] if payload[0].tag == dialect.p(dialect.codes.CO_ELEMENT) else None
        self.issuing = text_of(required(payload[0], dialect.p("IssuingCountry")))
        plain = {REF: "ref", REPLACES: "replaces", MID: "mid", TS: "ts"}
        found = dict(plain)
        # (the CO's canonical form, its SignedInfo's): None for a payload that is no CO
        self.co_templates: tuple[Template, Template] | None = None
        if co is not None:
            co_signature = required(co, f"{ds.DS}Signature")
            found[_digest_values(co_signature)[0]] = "co_digest"
            found[_signature_value(co_signature)] = "co_sig"
            self.co_templates = (
                Template(ds.canonicalize(ds.without_signature(co)).decode(), plain),
                Template(_c14n(required(co_signature, f"{ds.DS}SignedInfo")), found),
            )
        header_digest, payload_digest = _digest_values(signature)
        self.header_c14n = Template(_c14n(header), found)
        self.payload_c14n = Template(_c14n(payload), found)
        found |= {header_digest: "header_digest", payload_digest: "payload_digest"}
        self.signed_info = Template(_c14n(required(signature, f"{ds.DS}SignedInfo")), found)
        found[_signature_value(signature)] = "env_sig"
        self.document = Template(text, found)
        self._check(text)

    def make(self, reference: str, message_id: str, at: datetime, replaces: str | None = None) -> Made:
        """A signed message about CO ``reference`` (``replaces``: the CO a ReplaceCO replaces)."""
        values = {
            "ref": reference,
            "replaces": replaces or "",
            "mid": message_id,
            "ts": self.messages.utc_timestamp(at),
        }
        if self.co_templates is not None:
            co_c14n, co_signed_info = self.co_templates
            values["co_digest"] = _sha256(co_c14n.render(values))
            values["co_sig"] = _b64(self._sign(co_signed_info.render(values), self.authority))
        values["header_digest"] = _sha256(self.header_c14n.render(values))
        values["payload_digest"] = _sha256(self.payload_c14n.render(values))
        values["env_sig"] = _b64(self._sign(self.signed_info.render(values), self.nsw))
        return Made(
            self.document.render(values),
            message_id,
            self.messages.conversation_id(self.issuing, reference),
            (values["header_digest"], values["payload_digest"]),
        )

    @staticmethod
    def _sign(data: bytes, credential: Credential) -> bytes:
        return signing.sign_bytes(data, credential, signing.default_signature_method(credential))

    def _check(self, built: str) -> None:
        """The templates give back the builder's own bytes for its own values (else refuse to run)."""
        again = self.make(REF, MID, TS_MOMENT, REPLACES).body
        if again != built.encode("utf-8"):
            raise RuntimeError(f"load generator: the {self.action} template does not reproduce the builder")


def _c14n(element: etree._Element) -> str:
    return ds.canonicalize(element).decode("utf-8")


def _signature_value(signature: etree._Element) -> str:
    return text_of(required(signature, f"{ds.DS}SignatureValue"))


def _digest_values(signature: etree._Element) -> list[str]:
    return [
        text_of(value).strip()
        for value in signature.iterfind(f"{ds.DS}SignedInfo/{ds.DS}Reference/{ds.DS}DigestValue")
    ]


def sample_build(
    action: str,
    pki: TestPki,
    sender: str,
    receiver: str,
    day: date,
    *,
    reference: str = REF,
    replaces: str = REPLACES,
    message_id: str = MID,
    at: datetime = TS_MOMENT,
    dialect: Dialect,
) -> vectors.Build:
    """The builder's valid message of ``action`` with these values (the sentinels by default)."""
    build = vectors.Build(
        vector_id=f"load-{action}",
        day=day,
        pki=pki,
        action=action,
        sender=sender,
        receiver=receiver,
        message_id=message_id,
        timestamp=at,
        dialect=dialect,
    )
    # A VerificationRequest asks about a CO the receiver issued; the rest are the sender's COs.
    issuing = receiver if action == "VerificationRequest" else sender
    co: dict[str, Any] = build.co(reference_number=reference, issuing_country=issuing)
    data = vectors.default_payload_data(action, co)
    if action == "ReplaceCO":
        data["replaces"] = replaces
    build.data = data
    return build


class Generator:
    """Every action's template for one sender and receiver; makes messages at load speed."""

    def __init__(
        self, pki: TestPki, sender: str, receiver: str, day: date | None = None, *, dialect: Dialect
    ) -> None:
        day = day or datetime.now(UTC).date()
        self.templates = {
            action: MessageTemplate(action, pki, sender, receiver, day, dialect) for action in ACTIONS
        }

    def make(
        self, action: str, reference: str, message_id: str, at: datetime, replaces: str | None = None
    ) -> Made:
        return self.templates[action].make(reference, message_id, at, replaces)
