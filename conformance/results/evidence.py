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
import zlib
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
    test_only: bool  # signed with a TEST ONLY key, which anyone can use: integrity, not identity


# Caps on what a bundle may make the verifier read: a bundle is untrusted input until verified.
SMALL_MEMBER_BYTES = 64 * 1024  # signer.pem, MANIFEST.sig
MANIFEST_BYTES = 16 * 1024 * 1024
MEMBER_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


def _bad(expected: str, observed: str) -> Violation:
    return Violation("evidence", expected, observed)


def _members(bundle: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The members by name; duplicate or unsafe names refused (a second copy could shadow the one
    the manifest hashes)."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in bundle.infolist():
        name = info.filename
        if name in members:
            raise _bad("each member once", f"{name!r} twice")
        unsafe = name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or ".." in name.split("/")
        if unsafe or not name:
            raise _bad("relative member names without '..'", repr(name))
        members[name] = info
    return members


def _read(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member whole, refused from its declared size (and again while reading) when over ``cap``."""
    if info.file_size > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", f"{info.file_size} bytes declared")
    with bundle.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", "more")
    return data


def _sha256(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> str:
    """A member's SHA-256, streamed, within ``cap``."""
    if info.file_size > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", f"{info.file_size} bytes declared")
    digest, size = hashlib.sha256(), 0
    with bundle.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise _bad(f"{info.filename} of at most {cap} bytes", "more")
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_entries(manifest: bytes) -> dict[str, str]:
    try:
        text = manifest.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(f"a UTF-8 {MANIFEST}", "other bytes") from None
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise _bad(f"'<sha256>  <name>' on line {number} of {MANIFEST}", repr(line[:120]))
        if name in listed:
            raise _bad(f"each file once in {MANIFEST}", f"{name!r} twice")
        listed[name] = digest
    return listed


def verify_evidence(
    path: Path, trust: TrustStore, at: datetime | None = None, member_cap: int = MEMBER_BYTES
) -> Verified:
    """Check a bundle, signature and signer first: the manifest's signature by signer.pem, a signer
    whose certificate chains to a trusted party's CA; then every file listed with the right hash and
    nothing else. Member names and sizes are checked before anything is read. Raises Violation."""
    try:
        with zipfile.ZipFile(path) as bundle:
            members = _members(bundle)
            for needed in (MANIFEST, SIGNATURE, SIGNER):
                if needed not in members:
                    raise _bad(f"{needed} in the bundle", "missing")
            try:
                cert = x509.load_pem_x509_certificate(_read(bundle, members[SIGNER], SMALL_MEMBER_BYTES))
            except ValueError:
                raise _bad(f"a PEM certificate in {SIGNER}", "something else") from None
            manifest = _read(bundle, members[MANIFEST], MANIFEST_BYTES)
            try:
                signature = base64.b64decode(
                    _read(bundle, members[SIGNATURE], SMALL_MEMBER_BYTES), validate=True
                )
                _verify(manifest, signature, cert)
            except (InvalidSignature, ValueError, TypeError):
                raise _bad(f"a manifest signature that verifies with {SIGNER}", "it does not") from None
            country = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COUNTRY_NAME)
            party = str(country[0].value) if country else ""
            trust.check_signer([cert], party, at or datetime.now(timezone.utc), "nsw")
            listed = _manifest_entries(manifest)
            extra = sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE, SIGNER})
            if extra:
                raise _bad("only the files the manifest lists", f"unlisted {extra[0]}")
            for name, digest in sorted(listed.items()):
                if name not in members:
                    raise _bad(f"{name}, listed in the manifest", "missing")
                if _sha256(bundle, members[name], member_cap) != digest:
                    raise _bad(f"{name} with SHA-256 {digest}", "other content")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise _bad("an intact zip file", f"{type(exc).__name__}: {exc}") from None
    organisations = [a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)]
    return Verified(
        files=len(listed), signer=cert.subject.rfc4514_string(), test_only="EFDX TEST ONLY" in organisations
    )
