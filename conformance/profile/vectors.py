"""The EFDX 1.0 test vectors: one builder per manifest entry, dated by the day they are built for.

``test_vectors/manifest.toml`` says what each vector is and what a conforming receiver answers;
this module says how to make it. Message ids, references and times derive from the vector id and
the day (12:00 UTC), and RSA signatures are deterministic, so one day always gives the same bytes.
Every vector goes from SG (the partner the harness plays by default) to KH (the default candidate),
except where a vector tests a wrong receiver or a foreign signer.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from conformance import messages, signing
from conformance import xmldsig as ds
from conformance.pki import Credential, TestPki
from conformance.profile import attacks
from conformance.profile.codes import EFORMD_NS, ENVELOPE_NS, MAX_BODY_BYTES

SENDER = "SG"
RECEIVER = "KH"
_E = f"{{{ENVELOPE_NS}}}"
_F = f"{{{EFORMD_NS}}}"


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

    @property
    def expected_codes(self) -> list[str]:
        """What ``conformance validate`` must report: the EFDX code, or the failed BR IDs."""
        return list(self.expect_reasons) if self.expect_code == "valid" else [self.expect_code]


def manifest_path() -> Path:
    return Path(str(resources.files("conformance.test_vectors") / "manifest.toml"))


def load_manifest(path: Path | None = None) -> list[Vector]:
    with open(path or manifest_path(), "rb") as handle:
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
    co_signer: Credential | None | str = "default"
    envelope_signer: Credential | None | str = "default"
    signature_options: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    profile_version: str = "1.0"
    before_signing: list[Callable[[etree._Element], None]] = field(default_factory=list)
    after_signing: list[Callable[[etree._Element], etree._Element | None]] = field(default_factory=list)
    co_after_signing: list[Callable[[etree._Element], None]] = field(default_factory=list)
    envelope_action: str | None = None

    @property
    def noon(self) -> datetime:
        return datetime.combine(self.day, time(12), tzinfo=timezone.utc)

    def co(self, **changes: Any) -> dict[str, Any]:
        """Sample CO data for this build (CO issued by the sender, to the receiver, on the day)."""
        data = messages.sample_certificate(
            issuing_country=self.sender,
            importing_country=self.receiver,
            issue_date=self.day,
            reference_number=f"{self.vector_id.upper()}-{self.day:%Y%m%d}"[:35],
        )
        data.update(changes)
        return data

    def payload_data(self) -> dict[str, Any]:
        if self.data:
            return self.data
        return default_payload_data(self.action, self.co())

    def payload(self) -> etree._Element:
        element = messages.payload(self.action, self.payload_data())
        if element.tag == f"{_F}CertificateOfOrigin":
            signer = self.pki.authority(self.sender) if self.co_signer == "default" else self.co_signer
            if signer is not None:
                signing.sign_enveloped(element, signer)
            for change in self.co_after_signing:
                change(element)
        return element

    def envelope(self) -> etree._Element:
        payload = self.payload()
        reference = payload.findtext(f"{_F}ReferenceNumber") or "PING"
        issuing = payload.findtext(f"{_F}IssuingCountry") or self.sender
        fields = messages.EnvelopeFields(
            action=self.envelope_action or self.action,
            sender=self.sender,
            receiver=self.receiver,
            message_id=messages.message_id(self.sender, seed=f"{self.vector_id}/{self.day}"),
            conversation_id=messages.conversation_id(issuing, reference),
            timestamp=self.timestamp or self.noon,
            profile_version=self.profile_version,
        )
        root = messages.envelope(fields, payload)
        for change in self.before_signing:
            change(root)
        signer = self.pki.nsw(self.sender) if self.envelope_signer == "default" else self.envelope_signer
        if signer is not None:
            signing.sign_envelope(root, signer, **self.signature_options)
        for change in self.after_signing:
            root = change(root) or root
        return root

    def bytes(self) -> bytes:
        return messages.serialize(self.envelope())


def default_payload_data(action: str, co: dict[str, Any]) -> dict[str, Any]:
    """A valid payload for ``action`` about the CO ``co`` (its reference and issuing country)."""
    about = {"reference_number": co["reference_number"], "issuing_country": co["issuing_country"]}
    day = co["issue_date"]
    by_action: dict[str, dict[str, Any]] = {
        "IssueCO": co,
        "ReplaceCO": co | {"replaces": f"{co['reference_number'][:30]}-OLD"},
        "CancelCO": about | {"cancel_date": day, "reason": "Issued in error: wrong consignee"},
        "StatusNotification": about | {"status": "ACCEPTED", "status_date": day, "reasons": [],
                                       "declaration_reference": None},
        "VerificationRequest": about | {"request_date": day, "reply_by": day, "reason": "Random check"},
        "VerificationResponse": about | {"outcome": "CONFIRMED", "findings": "Origin confirmed on file"},
        "Ping": {},
    }
    return by_action[action]


BUILDERS: dict[str, Callable[[Build], None]] = {}


def builder(*vector_ids: str):
    """Register the function that turns a default Build into the vector(s) named."""

    def register(function: Callable[[Build], None]) -> Callable[[Build], None]:
        for vector_id in vector_ids:
            BUILDERS[vector_id] = function
        return function

    return register


def build_vector(vector_id: str, day: date, pki: TestPki) -> bytes:
    build = Build(vector_id=vector_id, day=day, pki=pki)
    result = BUILDERS[vector_id](build)
    return result if isinstance(result, bytes) else build.bytes()


def build_all(out: Path, day: date, pki: TestPki | None = None) -> list[Path]:
    """Write ``<out>/<id>.xml`` for every vector of the manifest; return the paths written."""
    pki = pki or TestPki.load()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for vector in load_manifest():
        path = out / f"{vector.id}.xml"
        path.write_bytes(build_vector(vector.id, day, pki))
        written.append(path)
    return written


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


@builder("valid-issue-co-sha512")
def _valid_sha512(build: Build) -> None:
    build.signature_options = {"digest_method": ds.SHA512}


def _item(number: int, **changes: Any) -> dict[str, Any]:
    base = messages.sample_certificate(issuing_country=SENDER, importing_country=RECEIVER,
                                       issue_date=date(2026, 1, 1))["items"][0]
    return base | {"number": number} | changes


@builder("valid-rvc-40-pc-20")
def _boundaries_inside(build: Build) -> None:
    flags = dict.fromkeys(messages.FLAG_ORDER, False) | {"PartialCumulation": True}
    items = [
        _item(1, criterion="RVC", percent="40.00", fob_value="100.00"),
        _item(2, criterion="PC", percent="20.00", fob_value="100.00"),
    ]
    build.data = build.co(items=items, flags=flags)


@builder("valid-retroactive-4-days")
def _retroactive_ok(build: Build) -> None:
    data = build.co()
    data["transport"] = data["transport"] | {"departure_date": (build.day - timedelta(days=4)).isoformat()}
    data["flags"] = data["flags"] | {"IssuedRetroactively": True}
    build.data = data
