"""evidence.zip: the run's files and every exchanged message, a SHA-256 manifest, and a signature.

The manifest lists every file of the bundle with its hash; the harness signs the manifest
(``MANIFEST.sig``, RSA-SHA256 PKCS#1 v1.5 or ECDSA-SHA256, base64) with the key whose certificate
is ``signer.pem``. `conformance evidence verify` checks all three offline. Until a site configures a
key of its own, the signer is the TEST ONLY NSW certificate of the party the harness plays: that
proves the bundle was not changed after the run, not who ran it.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.core.trust import Credential, TrustStore
from conformance.core.violations import Violation

MANIFEST, SIGNATURE, SIGNER = "MANIFEST.sha256", "MANIFEST.sig", "signer.pem"


def _sign(data: bytes, credential: Credential) -> bytes:
    key = credential.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _verify(data: bytes, signature: bytes, cert: x509.Certificate) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


# The run's report files that a bundle holds (besides every exchanged message).
REPORT_FILES = ("results.json", "junit.xml", "ctrf.json", "report.html")


def write_evidence(folder: Path, data: dict, path: Path, signer: Credential) -> None:
    entries: dict[str, bytes] = {}
    for name in REPORT_FILES:
        entries[name] = (folder / name).read_bytes()
    for index, test in enumerate(data["tests"], start=1):
        for number, exchange in enumerate(test["exchanges"], start=1):
            base = f"exchanges/{index:03d}/{number:02d}"
            entries[f"{base}-request.xml"] = exchange["request_body"].encode("utf-8")
            entries[f"{base}-answer.xml"] = exchange["response_body"].encode("utf-8")
    manifest = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(entries.items())
    )
    manifest_bytes = manifest.encode("utf-8")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, body in sorted(entries.items()):
            bundle.writestr(name, body)
        bundle.writestr(MANIFEST, manifest_bytes)
        bundle.writestr(SIGNATURE, base64.b64encode(_sign(manifest_bytes, signer)))
        bundle.writestr(SIGNER, signer.cert.public_bytes(Encoding.PEM))


@dataclass(frozen=True)
class Verified:
    files: int
    signer: str


def verify_evidence(path: Path, trust: TrustStore, at: datetime | None = None) -> Verified:
    """Check a bundle: every file listed with the right hash and nothing else, the manifest's
    signature, and a signer whose certificate chains to a trusted party's CA. Raises Violation."""
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
        for needed in (MANIFEST, SIGNATURE, SIGNER):
            if needed not in names:
                raise Violation("evidence", f"{needed} in the bundle", "missing")
        manifest = bundle.read(MANIFEST)
        listed = {}
        for line in manifest.decode("utf-8").splitlines():
            digest, _, name = line.partition("  ")
            listed[name] = digest
        extra = sorted(names - set(listed) - {MANIFEST, SIGNATURE, SIGNER})
        if extra:
            raise Violation("evidence", "only the files the manifest lists", f"unlisted {extra[0]}")
        for name, digest in sorted(listed.items()):
            if name not in names:
                raise Violation("evidence", f"{name}, listed in the manifest", "missing")
            if hashlib.sha256(bundle.read(name)).hexdigest() != digest:
                raise Violation("evidence", f"{name} with SHA-256 {digest}", "other content")
        cert = x509.load_pem_x509_certificate(bundle.read(SIGNER))
        try:
            _verify(manifest, base64.b64decode(bundle.read(SIGNATURE)), cert)
        except (InvalidSignature, ValueError):
            raise Violation(
                "evidence", "a manifest signature that verifies with signer.pem", "it does not"
            ) from None
    country = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COUNTRY_NAME)
    party = str(country[0].value) if country else ""
    trust.check_signer([cert], party, at or datetime.now(timezone.utc), "nsw")
    return Verified(files=len(listed), signer=cert.subject.rfc4514_string())
