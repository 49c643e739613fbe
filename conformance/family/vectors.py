"""The EFDX 1.0 test vectors: one builder per manifest entry, dated by the day they are built for.

``test_vectors/manifest.toml`` says what each vector is and what a conforming receiver answers;
this module says how to make it. Message ids, references and times derive from the vector id and
the day (12:00 UTC), and RSA signatures are deterministic, so one day always gives the same bytes.
Every vector goes from SG (the partner the harness plays by default) to KH (the default candidate),
except where a vector tests a wrong receiver or a foreign signer.
"""

from __future__ import annotations

import calendar
import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from lxml import etree

from conformance.core import signing
from conformance.core import xmldsig as ds
from conformance.core.policy import MAX_BODY_BYTES
from conformance.core.testpki import PkiFolder as TestPki  # a pack's TEST ONLY PKI
from conformance.core.trust import Credential
from conformance.family import attacks
from conformance.family.dialect import Dialect
from conformance.family.nodes import required, text_of

SENDER = "SG"
RECEIVER = "KH"
# Builders find nodes by local name ({*}: any namespace), so that they build any profile's messages.


@dataclass(frozen=True)
class Vector:
    """One manifest entry: what the vector is and what a conforming receiver answers."""

    id: str
    description: str
    requirements: tuple[str, ...]
    action: str
    expect_code: str
    expect_status: str | None = None
    expect_reasons: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    # M-03/M-04: the nodes the vector broke, as location paths (env:, co:, ds:); an Error's Location
    # must select them or the element that holds them (errata 2)
    offending: tuple[str, ...] = ()

    @property
    def expected_codes(self) -> list[str]:
        """What ``conformance validate`` must report: the EFDX code, or the failed BR IDs."""
        return list(self.expect_reasons) if self.expect_code == "valid" else [self.expect_code]


def manifest_path(dialect: Dialect) -> Path:
    """The profile's manifest: ``test_vectors/<profile>/manifest.toml``."""
    return Path(str(resources.files("conformance.test_vectors") / dialect.key / "manifest.toml"))


def load_manifest(path: Path | None = None, *, dialect: Dialect) -> list[Vector]:
    with open(path or manifest_path(dialect), "rb") as handle:
        entries = tomllib.load(handle)["vector"]
    return [
        Vector(
            id=entry["id"],
            description=entry["description"],
            requirements=tuple(entry["requirements"]),
            action=entry["action"],
            expect_code=entry["expect_code"],
            expect_status=entry.get("expect_status"),
            expect_reasons=tuple(entry.get("expect_reasons", ())),
            purposes=tuple(entry.get("purposes", ())),
            offending=tuple(entry.get("offending", ())),
        )
        for entry in entries
    ]


@dataclass
class Build:
    """How to make one message; builders change the defaults, then :meth:`bytes` assembles it."""

    vector_id: str
    day: date
    pki: TestPki
    action: str = "IssueCO"
    sender: str = SENDER
    receiver: str = RECEIVER
    data: dict[str, Any] = field(default_factory=dict)
    co_signer: Credential | None | Literal["default"] = "default"
    envelope_signer: Credential | None | Literal["default"] = "default"
    signature_options: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    profile_version: str = "1.0"
    # changes of the message; what a change returns is ignored, except after signing (a new root)
    before_signing: list[Callable[[etree._Element], object]] = field(default_factory=list)
    after_signing: list[Callable[[etree._Element], etree._Element | None]] = field(default_factory=list)
    co_after_signing: list[Callable[[etree._Element], object]] = field(default_factory=list)
    co_before_signing: list[Callable[[etree._Element], object]] = field(default_factory=list)
    co_signature_options: dict[str, Any] = field(default_factory=dict)
    envelope_action: str | None = None
    moment: datetime | None = None
    ref_to_message_id: str | None = None
    message_id: str | None = None  # None: derived from the sender and the seed
    dialect: Dialect = field(kw_only=True)  # whose messages: EFDX 1.0's, or another profile's of the family

    @property
    def noon(self) -> datetime:
        """When the vector is sent: noon UTC of its day, unless built for a live moment."""
        return self.moment or datetime.combine(self.day, time(12), tzinfo=UTC)

    def third_party(self) -> str:
        """A party that is neither sender nor receiver: TH, unless TH plays one of those."""
        return next(party for party in ("TH", "VN", "MY") if party not in (self.sender, self.receiver))

    @property
    def seed(self) -> str:
        """What ids derive from: the vector and its day, or its live moment."""
        return f"{self.vector_id}/{self.moment.isoformat() if self.moment else self.day}"

    def co(self, **changes: Any) -> dict[str, Any]:
        """Sample CO data for this build (CO issued by the sender, to the receiver, on the day)."""
        data = self.dialect.messages.sample_certificate(
            issuing_country=self.sender,
            importing_country=self.receiver,
            issue_date=self.day,
            reference_number=f"CO-{hashlib.sha256(self.seed.encode()).hexdigest()[:10].upper()}-{self.day:%Y%m%d}",
        )
        data.update(changes)
        return data

    def payload_data(self) -> dict[str, Any]:
        if self.data:
            return self.data
        return default_payload_data(self.action, self.co())

    def payload(self) -> etree._Element:
        element = self.dialect.messages.payload(self.action, self.payload_data())
        if element.tag == self.dialect.p(self.dialect.codes.CO_ELEMENT):
            for change in self.co_before_signing:
                change(element)
            signer = self.pki.authority(self.sender) if self.co_signer == "default" else self.co_signer
            if signer is not None:
                signing.sign_enveloped(element, signer, **self.co_signature_options)
            for change in self.co_after_signing:
                change(element)
        return element

    def envelope(self) -> etree._Element:
        payload, messages = self.payload(), self.dialect.messages
        reference = payload.findtext(self.dialect.p("ReferenceNumber")) or "PING"
        issuing = payload.findtext(self.dialect.p("IssuingCountry")) or self.sender
        fields = messages.EnvelopeFields(
            action=self.envelope_action or self.action,
            sender=self.sender,
            receiver=self.receiver,
            message_id=self.message_id or messages.message_id(self.sender, seed=self.seed),
            conversation_id=messages.conversation_id(issuing, reference),
            timestamp=self.timestamp or self.noon,
            profile_version=self.profile_version,
            ref_to_message_id=self.ref_to_message_id,
        )
        root = messages.envelope(fields, payload)
        for change in self.before_signing:
            change(root)
        signer = self.pki.nsw(self.sender) if self.envelope_signer == "default" else self.envelope_signer
        if signer is not None:
            signing.sign_envelope(root, signer, **self.signature_options)
        for replace in self.after_signing:
            changed = replace(root)
            root = root if changed is None else changed
        return root

    def bytes(self) -> bytes:
        return self.dialect.messages.serialize(self.envelope())


def default_payload_data(action: str, co: dict[str, Any]) -> dict[str, Any]:
    """A valid payload for ``action`` about the CO ``co`` (its reference and issuing country)."""
    about = {"reference_number": co["reference_number"], "issuing_country": co["issuing_country"]}
    day = co["issue_date"]
    by_action: dict[str, dict[str, Any]] = {
        "IssueCO": co,
        "ReplaceCO": co | {"replaces": f"{co['reference_number'][:30]}-OLD"},
        "CancelCO": about | {"cancel_date": day, "reason": "Issued in error: wrong consignee"},
        "StatusNotification": about
        | {"status": "ACCEPTED", "status_date": day, "reasons": [], "declaration_reference": None},
        "VerificationRequest": about | {"request_date": day, "reply_by": day, "reason": "Random check"},
        "VerificationResponse": about | {"outcome": "CONFIRMED", "findings": "Origin confirmed on file"},
        "Ping": {},
    }
    return by_action[action]


# A builder changes a default Build, or gives the vector's bytes itself (a byte-level attack).
Builder = Callable[[Build], bytes | None]
BUILDERS: dict[str, Builder] = {}
# A pack's builders for its dialect alone (its field table's cases: RCPX's), found before BUILDERS.
DIALECT_BUILDERS: dict[str, dict[str, Builder]] = {}


def builder(*vector_ids: str, only_for: str | None = None) -> Callable[[Builder], Builder]:
    """Register the function that turns a default Build into the vector(s) named (for every dialect,
    or for the dialect whose key is ``only_for`` alone)."""

    def register(function: Builder) -> Builder:
        table = BUILDERS if only_for is None else DIALECT_BUILDERS.setdefault(only_for, {})
        for vector_id in vector_ids:
            table[vector_id] = function
        return function

    return register


def builder_of(vector_id: str, dialect: Dialect) -> Builder:
    """The builder of ``vector_id`` in ``dialect``: its own, else the family's."""
    return DIALECT_BUILDERS.get(dialect.key, {}).get(vector_id) or BUILDERS[vector_id]


def build_vector(
    vector_id: str,
    day: date,
    pki: TestPki,
    moment: datetime | None = None,
    *,
    sender: str = SENDER,
    receiver: str = RECEIVER,
    dialect: Dialect,
) -> bytes:
    """The vector's bytes for ``day`` (sent at noon UTC), or for a live ``moment`` (then day = its date).

    ``sender`` and ``receiver`` let the harness play any partner towards a candidate of any party;
    ``dialect`` builds it in another profile of the family (its builders are registered here too).
    """
    if moment is not None:
        day = moment.astimezone(UTC).date()
    build = Build(
        vector_id=vector_id,
        day=day,
        pki=pki,
        moment=moment,
        sender=sender,
        receiver=receiver,
        dialect=dialect,
    )
    result = builder_of(vector_id, dialect)(build)
    return result if isinstance(result, bytes) else build.bytes()


def build_all(out: Path, day: date, pki: TestPki | None = None, *, dialect: Dialect) -> list[Path]:
    """Write ``<out>/<id>.xml`` for every vector of the profile's manifest; return the paths written."""
    pki = pki or dialect.load_pki()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for vector in load_manifest(dialect=dialect):
        path = out / f"{vector.id}.xml"
        path.write_bytes(build_vector(vector.id, day, pki, None, dialect=dialect, **dialect.vector_parties))
        written.append(path)
    return written


def _item_change(build: Build, index: int, **changes: Any) -> None:
    """The sample CO with one Item changed."""
    data = build.co()
    data["items"][index] |= changes
    build.data = data


# --- valid messages -------------------------------------------------------------------------------

_VALID_ACTIONS = {
    "valid-issue-co": "IssueCO",
    "valid-replace-co": "ReplaceCO",
    "valid-cancel-co": "CancelCO",
    "valid-status-notification": "StatusNotification",
    "valid-verification-request": "VerificationRequest",
    "valid-verification-response": "VerificationResponse",
    "valid-ping": "Ping",
}


@builder(*_VALID_ACTIONS)
def _valid(build: Build) -> None:
    build.action = _VALID_ACTIONS[build.vector_id]
    if build.action in ("StatusNotification", "VerificationRequest"):
        # These are about a CO that the receiver (the exporting side) issued.
        co = build.co(issuing_country=build.receiver)
        build.data = default_payload_data(build.action, co)


@builder("valid-issue-co-ecdsa")
def _valid_ecdsa(build: Build) -> None:
    build.co_signer = build.pki.authority(build.sender, ecdsa=True)
    build.envelope_signer = build.pki.nsw(build.sender, ecdsa=True)


_ALLOWED_DIGESTS = {"valid-issue-co-sha512": ds.SHA512, "valid-issue-co-sha384": ds.SHA384}


@builder(*_ALLOWED_DIGESTS)
def _valid_digest(build: Build) -> None:
    """Section 4: "digest SHA-256 (SHA-384/512 allowed)": the envelope's and the CO's References."""
    build.signature_options = {"digest_method": _ALLOWED_DIGESTS[build.vector_id]}
    build.co_signature_options = {"digest_method": _ALLOWED_DIGESTS[build.vector_id]}


# --- valid variants of the message layer (sections 2-4: what a receiver must take) -----------------

MAX_MESSAGE_ID, MAX_REFERENCE, MAX_NAME, MAX_ADDRESS, MAX_FREE_TEXT = 255, 35, 256, 512, 2048


def _padded(text: str, length: int) -> str:
    """``text`` cut or filled (with '0') to exactly ``length`` characters, its start kept."""
    return (text + "0" * length)[:length]


def _longest_message_id(build: Build, length: int) -> None:
    base = build.dialect.messages.message_id(build.sender, seed=build.seed)
    build.message_id = (
        _padded(base.split("@")[0], length - len(base.split("@")[1]) - 1) + "@" + base.split("@")[1]
    )


@builder("valid-message-id-255-chars")
def _message_id_255(build: Build) -> None:
    _longest_message_id(build, MAX_MESSAGE_ID)


@builder("m03-message-id-256-chars")
def _message_id_256(build: Build) -> None:
    _longest_message_id(build, MAX_MESSAGE_ID + 1)


def _co_texts(reference: int, name: int, address: int, free_text: int) -> Callable[[etree._Element], None]:
    """Set the CO's ReferenceNumber, Exporter Name and Address and first Item's Description to these
    lengths (found by local name: any profile's CO has them)."""

    def change(co: etree._Element) -> None:
        for path, length in (
            ("{*}ReferenceNumber", reference),
            ("{*}Exporter/{*}Name", name),
            ("{*}Exporter/{*}Address", address),
            ("{*}Item/{*}Description", free_text),
        ):
            node = required(co, path)
            node.text = _padded(text_of(node), length)

    return change


# vector -> (ReferenceNumber, Name, Address, free text) lengths: all at their maximum, or one over
_CO_LENGTHS = {
    "valid-co-maximum-lengths": (MAX_REFERENCE, MAX_NAME, MAX_ADDRESS, MAX_FREE_TEXT),
    "m04-reference-number-36-chars": (MAX_REFERENCE + 1, 40, 40, 40),
    "m04-name-257-chars": (20, MAX_NAME + 1, 40, 40),
    "m04-address-513-chars": (20, 40, MAX_ADDRESS + 1, 40),
    "m04-free-text-2049-chars": (20, 40, 40, MAX_FREE_TEXT + 1),
}


@builder(*_CO_LENGTHS)
def _co_lengths(build: Build) -> None:
    build.co_before_signing.append(_co_texts(*_CO_LENGTHS[build.vector_id]))


@builder("m03-timestamp-without-zone")
def _zoneless_timestamp(build: Build) -> None:
    """Section 3: times are xs:dateTime with a zone; the envelope's is UTC. No zone: M-03."""

    def drop_zone(envelope: etree._Element) -> None:
        node = required(envelope, "{*}Header/{*}Timestamp")
        node.text = text_of(node).removesuffix("Z")

    build.before_signing.append(drop_zone)


@builder("valid-timestamp-plus-00-00")
def _timestamp_plus_zero(build: Build) -> None:
    """Section 3.1: the Timestamp is xs:dateTime in UTC; ``+00:00`` writes UTC as well as ``Z`` does
    (the envelope schema takes both), so a receiver must take it."""

    def plus_zero(envelope: etree._Element) -> None:
        node = required(envelope, "{*}Header/{*}Timestamp")
        node.text = text_of(node).removesuffix("Z") + "+00:00"

    build.before_signing.append(plus_zero)


@builder("m03-header-payload-same-id")
def _header_payload_same_id(build: Build) -> None:
    """Errata 2: Ids the envelope schema types that repeat one another break the schema (M-03),
    which is checked before M-07's duplicate Ids. The Payload takes the Header's Id before signing."""

    def repeat(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        payload.set("Id", header.attrib["Id"])

    build.before_signing.append(repeat)


@builder("valid-ncname-ids")
def _ncname_ids(build: Build) -> None:
    """Section 3: Ids are xs:ID, any NCName: not only "header", "payload" and "co"."""

    def rename(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        header.set("Id", "_H.2026-12_x")
        payload.set("Id", "Payload.\u00b7body-1")

    build.data = build.co(id="co_\u00c9.42-x")
    build.before_signing.append(rename)


@builder("valid-co-all-optional-elements")
def _all_optional(build: Build) -> None:
    """Every optional element of section 3.3 present, each with its flag: VesselOrFlight,
    PortOfLoading, FOBValue where no rule needs it (a WO Item), ThirdCountryInvoice, OriginalCO,
    ExhibitionDetails."""
    data = build.co()
    data["items"][0] |= {"fob_value": "800.00"}
    data["third_country_invoice"] = {"issuer_name": "Pacific Traders Ltd", "issuer_country": "HK"}
    data["original_co"] = {
        "reference_number": "ORIG-2026-0042",
        "issuing_country": build.third_party(),
        "issue_date": (build.day - timedelta(days=20)).isoformat(),
    }
    data["exhibition"] = {"name": "ASEAN Food Fair 2026", "place": "Phnom Penh"}
    data["flags"] = data["flags"] | {"ThirdCountryInvoicing": True, "BackToBack": True, "Exhibition": True}
    build.data = data


@builder("valid-co-no-optional-elements")
def _no_optional(build: Build) -> None:
    """None of section 3.3's optional elements: no VesselOrFlight, PortOfLoading, FOBValue where no
    rule needs it, ThirdCountryInvoice, OriginalCO, ExhibitionDetails or Replaces."""
    _co_change(build, transport={"vessel_or_flight": None, "port_of_loading": None})


@builder("valid-ref-to-message-id-on-request")
def _ref_on_request(build: Build) -> None:
    """Header RefToMessageId is 0..1 with no rule against it on a request (an IssueCO): taken."""
    build.ref_to_message_id = build.dialect.messages.message_id(build.receiver, seed=f"earlier/{build.seed}")


def _item(build: Build, number: int, **changes: Any) -> dict[str, Any]:
    base = build.dialect.messages.sample_certificate(
        issuing_country=SENDER, importing_country=RECEIVER, issue_date=date(2026, 1, 1)
    )["items"][0]
    return base | {"number": number} | changes


@builder("valid-rvc-40-pc-20")
def _boundaries_inside(build: Build) -> None:
    # FLAG_ORDER: the EFDX CO's flags, which the family's Messages protocol does not name
    flag_order = build.dialect.messages.FLAG_ORDER  # type: ignore[attr-defined]
    flags = dict.fromkeys(flag_order, False) | {"PartialCumulation": True}
    items = [
        _item(build, 1, criterion="RVC", percent="40.00", fob_value="100.00"),
        _item(build, 2, criterion="PC", percent="20.00", fob_value="100.00"),
    ]
    build.data = build.co(items=items, flags=flags)


@builder("valid-retroactive-4-days")
def _retroactive_ok(build: Build) -> None:
    data = build.co()
    data["transport"] = data["transport"] | {"departure_date": (build.day - timedelta(days=4)).isoformat()}
    data["flags"] = data["flags"] | {"IssuedRetroactively": True}
    build.data = data


# --- XML-level attacks and transport (T-04, M-01, M-02) ---------------------------------------------

_BYTE_ATTACKS: dict[str, Callable[[bytes], bytes]] = {
    "m01-not-well-formed": attacks.truncate,
    "m01-encoding-mismatch": attacks.declare_latin1,
    "m01-invalid-utf8": attacks.latin1_bytes,
    "m02-external-entity": attacks.external_entity,
    "m02-entity-bomb": attacks.entity_bomb,
    "m02-doctype-attlist-only": lambda body: attacks.doctype(
        body, "<!DOCTYPE Envelope [<!ATTLIST Header Id ID #IMPLIED>]>"
    ),
    "m02-bare-doctype": lambda body: attacks.doctype(body, "<!DOCTYPE Envelope>"),
    "m02-doctype-before-broken-body": lambda body: attacks.truncate(
        attacks.doctype(body, "<!DOCTYPE Envelope>")
    ),
    "t04-oversized-body": lambda body: attacks.pad_over(body, MAX_BODY_BYTES),
    "t04-one-byte-over-5-mib": lambda body: attacks.pad_to(body, MAX_BODY_BYTES + 1),
    "valid-body-exactly-5-mib": lambda body: attacks.pad_to(body, MAX_BODY_BYTES),
}
# Non-ASCII but ISO-8859-1 text, so that a Latin-1 re-encoding changes bytes but not meaning.
_LATIN1_EXPORTER = "Café Ñandú Señoría Trading"


@builder(*_BYTE_ATTACKS)
def _byte_attack(build: Build) -> bytes:
    if build.vector_id in ("m01-encoding-mismatch", "m01-invalid-utf8"):
        data = build.co()
        data["exporter"] = data["exporter"] | {"name": _LATIN1_EXPORTER}
        build.data = data
    return _BYTE_ATTACKS[build.vector_id](build.bytes())


# --- envelope schema and header (M-03, M-13, M-14, M-15, M-18) --------------------------------------


def _drop(path: str) -> Callable[[etree._Element], None]:
    def change(envelope: etree._Element) -> None:
        node = required(envelope, path)
        ds.remove_keeping_tail(node)

    return change


def _header_text(name: str, value: str) -> Callable[[etree._Element], None]:
    def change(envelope: etree._Element) -> None:
        required(envelope, f"{{*}}Header/{{*}}{name}").text = value

    return change


@builder("m03-missing-conversation-id")
def _missing_conversation(build: Build) -> None:
    build.before_signing.append(_drop("{*}Header/{*}ConversationId"))


@builder("m03-unknown-party")
def _unknown_party(build: Build) -> None:
    build.before_signing.append(_header_text("To", "ZZ"))


@builder("m03-unknown-action")
def _unknown_action(build: Build) -> None:
    build.before_signing.append(_header_text("Action", "IssueCertificate"))


@builder("m13-wrong-receiver")
def _wrong_receiver(build: Build) -> None:
    build.receiver = build.third_party()


@builder("m14-action-payload-mismatch")
def _payload_mismatch(build: Build) -> None:
    build.action = "CancelCO"
    build.envelope_action = "IssueCO"


# Timestamps just outside the M-15 window (over 24 h old, over 15 min ahead) and just inside it.
_TIMESTAMP_OFFSETS = {
    "m15-stale-timestamp": -timedelta(hours=24, minutes=1),
    "m15-future-timestamp": timedelta(minutes=16),
    "valid-timestamp-23h59m-old": -timedelta(hours=23, minutes=59),
    "valid-timestamp-14min-ahead": timedelta(minutes=14),
}


@builder(*_TIMESTAMP_OFFSETS)
def _timestamp(build: Build) -> None:
    build.timestamp = build.noon + _TIMESTAMP_OFFSETS[build.vector_id]


# Timestamps on the window's edges, inside it (errata 1: "exactly 15 min ahead or exactly 24 h old is
# inside"). Offline (judged at noon) they are exact. Sent live they would be judged a moment after
# they were built, so the edge is approached from inside by LIVE_EDGE_MARGIN: an old Timestamp only
# grows older in flight.
_TIMESTAMP_EDGES = {
    "valid-timestamp-exactly-24h-old": -timedelta(hours=24),
    "valid-timestamp-exactly-15min-ahead": timedelta(minutes=15),
}
LIVE_EDGE_MARGIN = timedelta(seconds=5)


@builder(*_TIMESTAMP_EDGES)
def _timestamp_edge(build: Build) -> None:
    offset = _TIMESTAMP_EDGES[build.vector_id]
    if build.moment is not None:
        offset += LIVE_EDGE_MARGIN if offset < timedelta(0) else -LIVE_EDGE_MARGIN
    build.timestamp = build.noon + offset


@builder("m18-unsupported-version")
def _version(build: Build) -> None:
    build.profile_version = "2.0"


@builder("m18-older-version")
def _older_version(build: Build) -> None:
    """Below the supported version too (a receiver comparing by order would take it)."""
    build.profile_version = "0.9"


# --- payload schema (M-04) --------------------------------------------------------------------------


@builder("m04-co-bad-hs-code")
def _bad_hs(build: Build) -> None:
    _item_change(build, 0, hs_code="10AB30")


@builder("m04-co-percent-over-100")
def _percent_over(build: Build) -> None:
    _item_change(build, 1, percent="100.50")


# --- envelope signature (M-05 .. M-12) ------------------------------------------------------------


@builder("m05-unsigned")
def _unsigned(build: Build) -> None:
    build.envelope_signer = None


@builder("m06-tampered-header")
def _tampered_header(build: Build) -> None:
    build.after_signing.append(_header_text("ConversationId", "SG:SOMETHING-ELSE"))


@builder("m06-tampered-payload")
def _tampered_payload(build: Build) -> None:
    """The Payload changed after the envelope was signed; its CO re-signed by its authority, so that
    only the envelope's digest (M-06) is wrong, not the CO's own signature (BR-12)."""
    resign = _resigned_evil_payload(build.pki, build.sender)
    build.after_signing.append(lambda envelope: resign(required(envelope, "{*}Payload")))


@builder("m06-altered-signature-value")
def _altered_value(build: Build) -> None:
    build.after_signing.append(attacks.flip_signature_value)


def _evil_payload(payload: etree._Element) -> None:
    required(payload, ".//{*}Item/{*}Quantity").text = "9000.00"


def _resigned_evil_payload(pki: TestPki, sender: str) -> Callable[[etree._Element], None]:
    """The look-alike Payload of a wrapping attack: a changed CO, validly re-signed by its authority,
    so that only the envelope signature's coverage (M-07) is wrong, not the CO's signature (BR-12)."""

    def change(payload: etree._Element) -> None:
        co = ds.element_children(payload)[0]  # the CO, whatever the profile calls it
        _evil_payload(co)
        ds.remove_keeping_tail(required(co, f"{ds.DS}Signature"))
        signing.sign_enveloped(co, pki.authority(sender))

    return change


def _evil_header(header: etree._Element) -> None:
    required(header, "{*}ConversationId").text = "SG:LOOK-ALIKE"


def _evil_payload_new_ids(pki: TestPki, sender: str) -> Callable[[etree._Element], None]:
    resign = _resigned_evil_payload(pki, sender)

    def change(payload: etree._Element) -> None:
        payload[0].set("Id", "co2")  # no Id repeats: only the References' targets give the attack away
        resign(payload)

    return change


_WRAPPINGS = {
    "m07-wrapping-payload-new-id": ("Payload", "payload2", _evil_payload_new_ids),
    "m07-wrapping-payload-same-id": ("Payload", "payload", _resigned_evil_payload),
    "m07-wrapping-header-new-id": ("Header", "header2", lambda pki, sender: _evil_header),
}


@builder(*_WRAPPINGS)
def _wrapping(build: Build) -> None:
    part, evil_id, make_change = _WRAPPINGS[build.vector_id]
    change = make_change(build.pki, build.sender)
    build.after_signing.append(lambda envelope: attacks.wrap(envelope, part, evil_id, change))


@builder("m07-duplicate-ids")
def _duplicate_ids(build: Build) -> None:
    build.data = build.co(id="header")  # the CO's Id repeats the Header's


@builder("m07-missing-reference")
def _missing_reference(build: Build) -> None:
    build.envelope_signer = None

    def sign_header_only(envelope: etree._Element) -> None:
        header = required(envelope, "{*}Header")
        signing.build_signature(envelope, [signing.Reference("#header", header)], build.pki.nsw(build.sender))

    build.after_signing.append(sign_header_only)


@builder("m07-references-swapped")
def _references_swapped(build: Build) -> None:
    build.envelope_signer = None

    def sign_swapped(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        references = [signing.Reference("#payload", payload), signing.Reference("#header", header)]
        signing.build_signature(envelope, references, build.pki.nsw(build.sender))

    build.after_signing.append(sign_swapped)


def _xpath_reference(uri: str, target: etree._Element, transforms: tuple[str, ...]) -> signing.Reference:
    """A Reference whose XPath filter leaves the Quantity elements unsigned, digested as that filter
    demands (section 7: a foreign-Transform vector verifies with its Transform applied)."""
    xpath = etree.Element(f"{ds.DS}Transform", Algorithm=ds.XPATH)
    etree.SubElement(xpath, f"{ds.DS}XPath").text = "not(ancestor-or-self::*[local-name()='Quantity'])"
    return signing.Reference(
        uri, target, transforms=transforms, extra_transforms=[xpath], unsigned="Quantity"
    )


@builder("m07-xpath-transform")
def _xpath_transform(build: Build) -> None:
    build.envelope_signer = None

    def sign_with_xpath(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        references = [
            signing.Reference("#header", header),
            _xpath_reference("#payload", payload, (ds.EXC_C14N,)),
        ]
        signing.build_signature(envelope, references, build.pki.nsw(build.sender))

    build.after_signing.append(sign_with_xpath)


@builder("m07-extra-reference")
def _extra_reference(build: Build) -> None:
    build.envelope_signer = None

    def sign_three(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        co = payload[0]
        references = [
            signing.Reference("#header", header),
            signing.Reference("#payload", payload),
            signing.Reference(f"#{co.get('Id')}", co),
        ]
        signing.build_signature(envelope, references, build.pki.nsw(build.sender))

    build.after_signing.append(sign_three)


@builder("m07-missing-transform")
def _missing_transform(build: Build) -> None:
    build.envelope_signer = None

    def sign_without_transform(envelope: etree._Element) -> None:
        header, payload = ds.element_children(envelope)[:2]
        references = [
            signing.Reference("#header", header),
            signing.Reference("#payload", payload, transforms=()),
        ]
        signing.build_signature(envelope, references, build.pki.nsw(build.sender))

    build.after_signing.append(sign_without_transform)


@builder("m07-inclusive-canonicalization")
def _inclusive_c14n(build: Build) -> None:
    build.signature_options = {"canonicalization": ds.C14N}


@builder("m08-no-certificate")
def _no_certificate(build: Build) -> None:
    def drop_key_info(envelope: etree._Element) -> None:
        ds.remove_keeping_tail(required(envelope, f"{ds.DS}Signature/{ds.DS}KeyInfo"))

    build.after_signing.append(drop_key_info)


_BAD_ENVELOPE_SIGNERS = {
    "m08-untrusted-ca": "untrusted-ca",
    "m08-no-digital-signature": "no-digital-signature",
    "m09-expired-signer": "expired",
    "m09-not-yet-valid-signer": "not-yet-valid",
    "m10-revoked-signer": "revoked",
    "m11-wrong-country-signer": "wrong-country",
    "m12-rsa-1024-signer": "rsa-1024",
}


_BAD_CO_SIGNERS = {
    "br12-co-authority-without-non-repudiation": "authority-no-nonrepudiation",
    "br12-co-expired-authority": "authority-expired",
    "br12-co-not-yet-valid-authority": "authority-not-yet-valid",
    "br12-co-revoked-authority": "authority-revoked",
    "br12-co-untrusted-authority": "authority-untrusted-ca",
    "br12-co-wrong-country-authority": "authority-wrong-country",
}

# The test PKI has these bad signers for every party (bad/<P>/, RCPX section 5, errata 1): each vector
# takes the sender's, so that it says what it says whichever party the harness plays. A PKI without
# them for the sender (a party added by hand) cannot build these vectors: the suite says so.
BAD_SIGNER_VECTORS = frozenset(_BAD_ENVELOPE_SIGNERS) | frozenset(_BAD_CO_SIGNERS)


@builder(*_BAD_ENVELOPE_SIGNERS)
def _bad_envelope_signer(build: Build) -> None:
    build.envelope_signer = build.pki.bad(_BAD_ENVELOPE_SIGNERS[build.vector_id], build.sender)


@builder("m08-other-party-signer")
def _other_party(build: Build) -> None:
    build.envelope_signer = build.pki.nsw(build.third_party())


@builder("m08-authority-signs-envelope")
def _authority_envelope(build: Build) -> None:
    build.envelope_signer = build.pki.authority(build.sender)


_WEAK_DIGESTS = {"m12-sha1-digest": ds.SHA1, "m12-md5-digest": ds.MD5}


@builder(*_WEAK_DIGESTS)
def _weak_digest(build: Build) -> None:
    build.signature_options = {"digest_method": _WEAK_DIGESTS[build.vector_id]}


@builder("m12-rsa-sha1-signature")
def _rsa_sha1(build: Build) -> None:
    build.signature_options = {"signature_method": ds.RSA_SHA1}


# --- business rules (REJECTED with Reasons) ---------------------------------------------------------


def _co_change(build: Build, **changes: Any) -> None:
    data = build.co()
    for key, value in changes.items():
        data[key] = data[key] | value if isinstance(data[key], dict) else value
    build.data = data


@builder("br01-exporter-country-mismatch")
def _br01(build: Build) -> None:
    _co_change(build, exporter={"country": build.third_party()})


@builder("br01-producing-country-mismatch")
def _br01_producing(build: Build) -> None:
    _co_change(build, declaration={"producing_country": build.third_party()})


def _party_sorting_first(build: Build) -> str:
    """A party, neither sender nor receiver, whose code sorts before the issuer's (the sender's): the
    third party sorts after it, and a country compared by order instead of equality passes one of them."""
    return min(p for p in build.dialect.codes.PARTIES if p not in (build.sender, build.receiver))


@builder("br01-exporter-country-sorting-first")
def _br01_first(build: Build) -> None:
    _co_change(build, exporter={"country": _party_sorting_first(build)})


@builder("br01-producing-country-sorting-first")
def _br01_producing_first(build: Build) -> None:
    _co_change(build, declaration={"producing_country": _party_sorting_first(build)})


@builder("br02-importing-country-mismatch")
def _br02(build: Build) -> None:
    _co_change(build, declaration={"importing_country": build.third_party()})


@builder("br03-rvc-below-40")
def _br03_rvc(build: Build) -> None:
    _item_change(build, 1, percent="39.99")


@builder("br03-pc-below-20")
def _br03_pc(build: Build) -> None:
    data = build.co()
    data["items"][1] |= {"criterion": "PC", "percent": "19.99"}
    data["flags"] = data["flags"] | {"PartialCumulation": True}
    build.data = data


@builder("br04-missing-fob-value")
def _br04(build: Build) -> None:
    _item_change(build, 1, fob_value=None)


@builder("br05-retroactive-not-flagged")
def _br05_missing(build: Build) -> None:
    _co_change(build, transport={"departure_date": (build.day - timedelta(days=4)).isoformat()})


@builder("br05-flagged-but-not-retroactive")
def _br05_wrong(build: Build) -> None:
    _co_change(
        build,
        transport={"departure_date": (build.day - timedelta(days=3)).isoformat()},
        flags={"IssuedRetroactively": True},
    )


@builder("br06-issue-date-in-future")
def _br06_future(build: Build) -> None:
    tomorrow = build.day + timedelta(days=1)
    _co_change(build, issue_date=tomorrow.isoformat(), certification={"date": tomorrow.isoformat()})


def _a_year_before(day: date) -> date:
    """The same day a year earlier, the month's last day where it does not exist (section 7)."""
    last = calendar.monthrange(day.year - 1, day.month)[1]
    return date(day.year - 1, day.month, min(day.day, last))


@builder("valid-issue-date-12-months-old")
def _br06_boundary(build: Build) -> None:
    oldest = _a_year_before(build.day)
    _co_change(
        build,
        issue_date=oldest.isoformat(),
        certification={"date": oldest.isoformat()},
        transport={"departure_date": (oldest - timedelta(days=1)).isoformat()},
    )


@builder("br06-issue-date-too-old")
def _br06_old(build: Build) -> None:
    old = build.day - timedelta(days=400)
    _co_change(
        build,
        issue_date=old.isoformat(),
        certification={"date": old.isoformat()},
        transport={"departure_date": (old - timedelta(days=1)).isoformat()},
    )


@builder("br07-back-to-back-without-original")
def _br07(build: Build) -> None:
    _co_change(build, flags={"BackToBack": True})


@builder("br08-third-country-invoice-not-flagged")
def _br08(build: Build) -> None:
    _co_change(build, third_country_invoice={"issuer_name": "Pacific Traders Ltd", "issuer_country": "HK"})


@builder("br09-exhibition-without-details")
def _br09(build: Build) -> None:
    _co_change(build, flags={"Exhibition": True})


@builder("br10-item-number-gap")
def _br10(build: Build) -> None:
    _item_change(build, 1, number=3)


@builder("br13-hs-chapter-77")
def _br13(build: Build) -> None:
    _item_change(build, 0, hs_code="770100")


@builder("br16-replaces-on-issue")
def _br16_issue(build: Build) -> None:
    _co_change(build, replaces="CO-EARLIER-0001")


@builder("br16-replace-without-replaces")
def _br16_replace(build: Build) -> None:
    build.action = "ReplaceCO"
    build.data = build.co()


# --- business rules clause by clause (each vector breaks one clause; the valid ones sit on a bound) ---


def _with_items(build: Build, items: list[dict[str, Any]], **flags: bool) -> None:
    """The sample CO with these Items (all Flags false but ``flags``)."""
    data = build.co()
    data["items"] = items
    data["flags"] = data["flags"] | flags
    build.data = data


def _numbered(build: Build, *numbers: int) -> list[dict[str, Any]]:
    """One WO Item (no Percent, no FOBValue) per number, in document order."""
    return [_item(build, number, criterion="WO", percent=None, fob_value=None) for number in numbers]


_ITEM_NUMBERS = {
    "br10-item-number-repeat": (1, 2, 2),
    "br10-item-numbers-not-from-one": (2, 3),
    "br10-item-numbers-out-of-order": (2, 1),
}


@builder(*_ITEM_NUMBERS)
def _br10_numbers(build: Build) -> None:
    _with_items(build, _numbered(build, *_ITEM_NUMBERS[build.vector_id]))


@builder("br10-long-finding")
def _br10_long_finding(build: Build) -> None:
    """250 Items numbered 1..249, 249: a BR-10 finding longer than a Reason's Text may be (2048)."""
    _with_items(build, _numbered(build, *range(1, 250), 249))


# Item 2 of the sample CO (RVC 45.00 with its FOBValue) changed; PC Items come with PartialCumulation.
_BR03_ITEM2 = {
    "br03-pc-without-partial-cumulation": ({"criterion": "PC", "percent": "25.00"}, False),
    "br03-pc-at-40": ({"criterion": "PC", "percent": "40.00"}, True),
    "br03-pc-above-40": ({"criterion": "PC", "percent": "40.01"}, True),
    "br03-rvc-without-percent": ({"percent": None}, False),
    "br04-pc-without-fob-value": ({"criterion": "PC", "percent": "25.00", "fob_value": None}, True),
}


@builder(*_BR03_ITEM2)
def _br03_item2(build: Build) -> None:
    changes, partial_cumulation = _BR03_ITEM2[build.vector_id]
    data = build.co()
    data["items"][1] |= changes
    data["flags"] = data["flags"] | {"PartialCumulation": partial_cumulation}
    build.data = data


@builder("br03-wo-with-percent")
def _br03_wo_percent(build: Build) -> None:
    _item_change(build, 0, percent="50.00")


@builder("valid-pc-20-and-39-99")
def _pc_range_inside(build: Build) -> None:
    items = [
        _item(build, 1, criterion="PC", percent="20.00", fob_value="100.00"),
        _item(build, 2, criterion="PC", percent="39.99", fob_value="100.00"),
    ]
    _with_items(build, items, PartialCumulation=True)


@builder("valid-cth-without-fob-value")
def _cth_without_fob(build: Build) -> None:
    _item_change(build, 0, criterion="CTH", percent=None, fob_value=None)


def issued_by_third_party(build: Build) -> None:
    """A whole CO of a third party (its exporter, its origin or producing country and its issuing
    authority's signature), sent by the sender: only IssuingCountry = From is broken (BR-01, RBR-01:
    every pack's vector for that clause is built this way)."""
    other = build.third_party()
    build.data = build.dialect.messages.sample_certificate(
        issuing_country=other,
        importing_country=build.receiver,
        issue_date=build.day,
        reference_number=build.co()["reference_number"],
    )
    build.co_signer = build.pki.authority(other)


@builder("br01-issuing-country-not-from")
def _br01_not_from(build: Build) -> None:
    issued_by_third_party(build)


@builder("br02-consignee-country-mismatch")
def _br02_consignee(build: Build) -> None:
    _co_change(build, consignee={"country": build.third_party()})


def _original_co(build: Build) -> dict[str, Any]:
    earlier = build.day - timedelta(days=20)
    return {
        "reference_number": "CO-ORIGINAL-0001",
        "issuing_country": build.third_party(),
        "issue_date": earlier,
    }


@builder("br07-original-without-flag")
def _br07_original(build: Build) -> None:
    _co_change(build, original_co=_original_co(build))


@builder("valid-back-to-back")
def _back_to_back(build: Build) -> None:
    _co_change(build, original_co=_original_co(build), flags={"BackToBack": True})


_NON_ASEAN_INVOICE = {"issuer_name": "Pacific Traders Ltd", "issuer_country": "HK"}


@builder("br08-flagged-without-invoice")
def _br08_flag(build: Build) -> None:
    _co_change(build, flags={"ThirdCountryInvoicing": True})


@builder("valid-third-country-invoice-non-asean")
def _third_country_ok(build: Build) -> None:
    _co_change(build, third_country_invoice=_NON_ASEAN_INVOICE, flags={"ThirdCountryInvoicing": True})


_EXHIBITION = {"name": "ASEAN Food Fair 2026", "place": "Bangkok"}


@builder("br09-details-without-flag")
def _br09_details(build: Build) -> None:
    _co_change(build, exhibition=_EXHIBITION)


@builder("valid-exhibition")
def _exhibition_ok(build: Build) -> None:
    _co_change(build, exhibition=_EXHIBITION, flags={"Exhibition": True})


_HS_CHAPTERS = {
    "br13-hs-chapter-00": ("000100",),
    "br13-hs-chapter-98": ("980100",),
    "br13-hs-chapter-99": ("990100",),
    "valid-hs-chapters-01-and-97": ("010121", "970110"),
}


@builder(*_HS_CHAPTERS)
def _hs_chapters(build: Build) -> None:
    data = build.co()
    for item, code in zip(data["items"], _HS_CHAPTERS[build.vector_id], strict=False):
        item["hs_code"] = code
    build.data = data


# The stateless rules hold for ReplaceCO as for IssueCO: a clause's vector again, as a ReplaceCO whose
# Replaces names the CO that the test has the receiver accept first.
ON_REPLACE = {
    "br03-pc-without-partial-cumulation-on-replace": "br03-pc-without-partial-cumulation",
    "br10-item-number-repeat-on-replace": "br10-item-number-repeat",
    "br12-co-rsa-1024-authority-on-replace": "br12-co-rsa-1024-authority",
}


@builder(*ON_REPLACE)
def on_replace(build: Build) -> None:
    """The vector ``ON_REPLACE`` names, as a ReplaceCO (another profile registers its own there too)."""
    own = build.vector_id
    build.vector_id = ON_REPLACE[own]  # the builders read their id; ids and numbers stay this vector's
    builder_of(build.vector_id, build.dialect)(build)
    build.vector_id = own
    reference = build.co()["reference_number"]
    data = build.data or build.co()
    build.action = "ReplaceCO"
    build.data = data | {"reference_number": reference, "replaces": f"{reference[:30]}-OLD"}


@builder("br12-co-rsa-sha1-signature")
def _co_rsa_sha1(build: Build) -> None:
    build.co_signer = None
    build.co_after_signing.append(
        lambda co: signing.sign_enveloped(co, build.pki.authority(build.sender), signature_method=ds.RSA_SHA1)
    )


@builder("br12-co-inclusive-c14n")
def _co_inclusive_c14n(build: Build) -> None:
    build.co_signer = None
    build.co_after_signing.append(
        lambda co: signing.sign_enveloped(co, build.pki.authority(build.sender), canonicalization=ds.C14N)
    )


@builder("br12-co-extra-reference")
def _co_extra_reference(build: Build) -> None:
    """The CO signature with a second Reference (to the CO again): section 4 allows exactly one."""
    build.co_signer = None

    def sign_twice(co: etree._Element) -> None:
        references = [
            signing.Reference(f"#{co.get('Id')}", co, transforms=(ds.ENVELOPED, ds.EXC_C14N))
            for _ in range(2)
        ]
        signing.build_signature(co, references, build.pki.authority(build.sender))

    build.co_after_signing.append(sign_twice)


@builder("valid-co-sha512-digest")
def _co_sha512(build: Build) -> None:
    """The CO signature with a SHA-512 digest (section 4: SHA-384/512 allowed)."""
    build.co_signer = None
    build.co_after_signing.append(
        lambda co: signing.sign_enveloped(co, build.pki.authority(build.sender), digest_method=ds.SHA512)
    )


@builder("valid-issued-before-departure")
def _before_departure(build: Build) -> None:
    """Issued 5 days before the departure (not retroactive, not flagged): no rule forbids it."""
    _co_change(build, transport={"departure_date": (build.day + timedelta(days=5)).isoformat()})


@builder("br-several-rules-at-once")
def _several(build: Build) -> None:
    data = build.co()
    data["items"][1] |= {"percent": "35.00", "fob_value": None}
    data["items"][0]["hs_code"] = "000000"
    build.data = data


# --- CO signature (BR-12) -------------------------------------------------------------------------


@builder("br12-co-unsigned")
def _co_unsigned(build: Build) -> None:
    build.co_signer = None


@builder("br12-co-tampered")
def _co_tampered(build: Build) -> None:
    build.co_after_signing.append(_evil_payload)


@builder("br12-co-signed-by-nsw-certificate")
def _co_by_nsw(build: Build) -> None:
    build.co_signer = build.pki.nsw(build.sender)


@builder("br12-co-signed-by-other-authority")
def _co_by_other(build: Build) -> None:
    build.co_signer = build.pki.authority(build.third_party())


@builder(*_BAD_CO_SIGNERS)
def _bad_co_signer(build: Build) -> None:
    build.co_signer = build.pki.bad(_BAD_CO_SIGNERS[build.vector_id], build.sender)


@builder("br12-co-altered-signature-value")
def _co_altered_value(build: Build) -> None:
    def flip(co: etree._Element) -> None:
        value = required(co, f"{ds.DS}Signature/{ds.DS}SignatureValue")
        text = text_of(value)
        value.text = ("B" if text[10] == "A" else "A").join((text[:10], text[11:]))

    build.co_after_signing.append(flip)


@builder("br12-co-xpath-transform")
def _co_xpath(build: Build) -> None:
    build.co_signer = None

    def sign_with_xpath(co: etree._Element) -> None:
        reference = _xpath_reference(f"#{co.get('Id')}", co, (ds.ENVELOPED, ds.EXC_C14N))
        signing.build_signature(co, [reference], build.pki.authority(build.sender))

    build.co_after_signing.append(sign_with_xpath)


@builder("br12-co-sha1-digest")
def _co_sha1(build: Build) -> None:
    build.co_signer = None

    def sign_sha1(co: etree._Element) -> None:
        reference = signing.Reference(f"#{co.get('Id')}", co, transforms=(ds.ENVELOPED, ds.EXC_C14N))
        signing.build_signature(co, [reference], build.pki.authority(build.sender), digest_method=ds.SHA1)

    build.co_after_signing.append(sign_sha1)


def short_key_authority(pki: TestPki, party: str) -> Credential:
    """An issuing-authority certificate of ``party`` whose key is RSA-1024 (BR-12: "RSA >= 2048"),
    right in every other respect: issued by the party's CA, KeyUsage digitalSignature and
    nonRepudiation, valid 2025-2045, the authority's subject. Made when a vector is built, not kept in
    the committed PKI: the key is the test PKI's RSA-1024 bad signer's, the serial derives from the
    party, and an RSA PKCS#1 v1.5 signature is deterministic, so the same PKI gives the same bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from conformance.core.testpki import GOOD_FROM, GOOD_UNTIL, key_usage

    weak = pki.bad("rsa-1024")
    authority = pki.authority(party)
    ca_pem = (pki.ca_path(party).parent / "ca.key.pem").read_bytes()
    # the test PKI's CAs have RSA keys (testpki); the key's consistency check is skipped as
    # core.trust.load_credential skips it (our own generated file; half a second of a run otherwise)
    ca_key = cast(
        "rsa.RSAPrivateKey",
        serialization.load_pem_private_key(ca_pem, password=None, unsafe_skip_rsa_key_validation=True),
    )
    ca = pki.ca_cert(party)
    serial = int.from_bytes(hashlib.sha256(f"short-key-authority/{party}".encode()).digest()[:16], "big") >> 1
    cert = (
        x509.CertificateBuilder()
        .subject_name(authority.cert.subject)
        .issuer_name(ca.subject)
        .public_key(weak.cert.public_key())
        .serial_number(serial)
        .not_valid_before(GOOD_FROM)
        .not_valid_after(GOOD_UNTIL)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(weak.cert.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Credential(
        f"{party}/authority-rsa-1024", party, cert, weak.key, (cert,), weak.cert_path, weak.key_path
    )


@builder("br12-co-rsa-1024-authority")
def _co_short_key(build: Build) -> None:
    build.co_signer = short_key_authority(build.pki, build.sender)


# --- boundaries just inside the rules (the outside ones are above) ---------------------------------


@builder("valid-departure-3-days-not-retroactive")
def _three_days(build: Build) -> None:
    _co_change(build, transport={"departure_date": (build.day - timedelta(days=3)).isoformat()})


# --- section 3's field lines (fields.py: one case per side of each bound) ------------------------------


def field_builders(cases: Any) -> None:
    """Register a builder for the vector of each case of a profile's field table."""
    by_vector = {case.vector: case for case in cases}

    def build_case(build: Build) -> None:
        case = by_vector[build.vector_id]
        build.action = case.action
        case.change(build)

    builder(*by_vector)(build_case)


# --- issue 17: every stateless rule on ReplaceCO too, and BR-06's day-of-receipt bounds ------------

_ON_REPLACE_17 = {
    "br01-exporter-country-mismatch-on-replace": "br01-exporter-country-mismatch",
    "br02-importing-country-mismatch-on-replace": "br02-importing-country-mismatch",
    "br04-missing-fob-value-on-replace": "br04-missing-fob-value",
    "br05-retroactive-not-flagged-on-replace": "br05-retroactive-not-flagged",
    "br06-issue-date-in-future-on-replace": "br06-issue-date-in-future",
    "br07-back-to-back-without-original-on-replace": "br07-back-to-back-without-original",
    "br08-third-country-invoice-not-flagged-on-replace": "br08-third-country-invoice-not-flagged",
    "br09-exhibition-without-details-on-replace": "br09-exhibition-without-details",
    "br13-hs-chapter-77-on-replace": "br13-hs-chapter-77",
}
ON_REPLACE.update(_ON_REPLACE_17)
builder(*_ON_REPLACE_17)(on_replace)


@builder("valid-issue-date-day-of-receipt")
def _issued_on_the_day(build: Build) -> None:
    """IssueDate (and the Certification's date) the day of receipt itself: BR-06 refuses only a date
    after it. The departure is the day before (not retroactive)."""
    _co_change(
        build,
        issue_date=build.day.isoformat(),
        certification={"date": build.day.isoformat()},
        transport={"departure_date": (build.day - timedelta(days=1)).isoformat()},
    )


@builder("br06-issue-date-12-months-and-1-day-old")
def _br06_one_day_over(build: Build) -> None:
    """IssueDate one day before the 12-month window's first day (section 7: the same day a year
    before, clamped at the month's end): the nearest date BR-06 refuses on that side."""
    over = _a_year_before(build.day) - timedelta(days=1)
    _co_change(
        build,
        issue_date=over.isoformat(),
        certification={"date": over.isoformat()},
        transport={"departure_date": (over - timedelta(days=1)).isoformat()},
    )


# Section 3.1: the Payload has exactly one child; two are refused by the envelope schema (M-03), whether
# the first matches the Action (the CO, then a Cancellation of it) or not (the Cancellation first).
@builder("m03-payload-two-children", "m03-payload-two-children-first-unmatched")
def _payload_two_children(build: Build) -> None:
    first = build.vector_id.endswith("-first-unmatched")

    def add_cancellation(root: etree._Element) -> None:
        payload = required(root, build.dialect.e("Payload"))
        data = default_payload_data("CancelCO", build.co())
        cancellation = build.dialect.messages.payload("CancelCO", data)
        if first:
            payload.insert(0, cancellation)
        else:
            payload.append(cancellation)

    build.before_signing.append(add_cancellation)


# M-14 in both directions: a CO Action carrying a Cancellation (m14-action-payload-mismatch, above),
# and a CancelCO carrying a CO, a ReplaceCO carrying a Cancellation.
_MISMATCHES = {
    "m14-cancel-co-carrying-co": ("IssueCO", "CancelCO"),
    "m14-replace-co-carrying-cancellation": ("CancelCO", "ReplaceCO"),
}


@builder(*_MISMATCHES)
def _payload_mismatch_17(build: Build) -> None:
    build.action, build.envelope_action = _MISMATCHES[build.vector_id]


# Section 4's algorithms: an ECDSA key on P-384 (only P-256 is allowed) on either signature, an MD5
# digest on the CO's, and RSA keys of exactly 2048 bits (the sample signers': the bound, allowed).


@builder("m12-p384-signer")
def _p384_envelope(build: Build) -> None:
    build.envelope_signer = build.pki.bad("ecdsa-p384", build.sender)


@builder("br12-co-p384-authority")
def _p384_co(build: Build) -> None:
    build.co_signer = build.pki.bad("authority-ecdsa-p384", build.sender)


BAD_SIGNER_VECTORS = BAD_SIGNER_VECTORS | {"m12-p384-signer", "br12-co-p384-authority"}


@builder("br12-co-md5-digest")
def _co_md5(build: Build) -> None:
    build.co_signature_options = {"digest_method": ds.MD5}


@builder("valid-rsa-2048-signers")
def _rsa_2048(build: Build) -> None:
    """The envelope and the CO signed by the sender's RSA keys of exactly 2048 bits (section 4: RSA
    >= 2048): the bound, allowed."""
    for credential in (build.pki.nsw(build.sender), build.pki.authority(build.sender)):
        key_size = getattr(credential.cert.public_key(), "key_size", None)
        if key_size != 2048:
            raise ValueError(f"{credential.name}: RSA-2048 expected, the test PKI has {key_size}")


# SHA-1 is refused with ECDSA as with RSA: the ECDSA-SHA1 SignatureMethod on either signature, by the
# sender's ECDSA P-256 signers (the right curve).


@builder("m12-sha1-with-p256-signature")
def _ec_sha1_envelope(build: Build) -> None:
    build.envelope_signer = build.pki.nsw(build.sender, ecdsa=True)
    build.signature_options = {"signature_method": ds.ECDSA_SHA1}


@builder("br12-co-sha1-with-p256-signature")
def _ec_sha1_co(build: Build) -> None:
    build.co_signer = build.pki.authority(build.sender, ecdsa=True)
    build.co_signature_options = {"signature_method": ds.ECDSA_SHA1}
