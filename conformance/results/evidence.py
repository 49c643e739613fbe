"""evidence.zip: the run's files and every exchanged message, a SHA-256 manifest, and a signature.

The manifest lists every file of the bundle with its hash; the harness signs the manifest
(``MANIFEST.sig``, RSA-SHA256 PKCS#1 v1.5 or ECDSA-SHA256, base64) with the key whose certificate
(and chain) is ``signer.pem``. `conformance evidence verify` checks all three offline, and the
signer's chain when given the site's trust anchor: only then is who signed established (EFDX
section 7, errata 2); without, integrity alone (``Verified.signer_checked`` is False). The signer is
the site's key and certificate (``[site] key_file``, ``cert_file``); without them, a rehearsal, it is
the TEST ONLY NSW certificate of the party the harness plays, which proves the bundle was not
changed, not who ran it. What is TEST ONLY material is never decided here: each pack declares its
own (``core.testpki.TestMaterial``), and the app passes the declarations, or its finding, in.

``index.json`` maps each test to its files: what the harness sent and the candidate answered
(``exchanges/<test>/<n>-request.xml``, ``-answer.xml``, whole as sent and received), and what the
candidate sent to the harness inbox (``received/<test>/<n>.xml``, as kept).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.core.testpki import TestMaterial
from conformance.core.trust import Credential
from conformance.core.violations import Violation

MANIFEST, SIGNATURE, SIGNER, INDEX = "MANIFEST.sha256", "MANIFEST.sig", "signer.pem", "index.json"


# Keys that may sign evidence, and that a verifier accepts in signer.pem: anything else (Ed25519,
# X25519, DSA, an EC key on another curve, a short RSA key) is refused with one line.
EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")
RSA_MIN_BITS = 2048
KEYS_WANTED = f"an RSA key of at least {RSA_MIN_BITS} bits or an EC key on P-256, P-384 or P-521"


def key_problem(key: object) -> str | None:
    """Why ``key`` (public or private) cannot sign or verify evidence, or None when it can."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return None if key.key_size >= RSA_MIN_BITS else f"an RSA key of {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return None if key.curve.name in EC_CURVES else f"an EC key on the curve {key.curve.name}"
    kind = type(key).__name__.lstrip("_").replace("PublicKey", "").replace("PrivateKey", "")
    return f"a {kind or 'unknown'} key"


def _sign(data: bytes, credential: Credential) -> bytes:
    key = credential.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    raise SiteKeyError(f"{credential.name}: {KEYS_WANTED} is needed to sign evidence")


def _signer_key(cert: x509.Certificate) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """The signer's public key, or Violation when it is none that may sign evidence."""
    try:
        key = cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _bad(f"a signer with {KEYS_WANTED}", f"a key that cannot be read ({exc})") from None
    problem = key_problem(key)
    if problem is not None or not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise _bad(f"a signer with {KEYS_WANTED}", problem or "another key")
    return key


def _verify(data: bytes, signature: bytes, cert: x509.Certificate) -> None:
    key = _signer_key(cert)
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


# The run's report files that a bundle holds (besides every exchanged message).
REPORT_FILES = ("results.json", "junit.xml", "ctrf.json", "report.html")


def signer_json(signer: Credential, test_material: str | None) -> dict:
    """Who signs the evidence, for results.json and the report. ``test_material`` is why the
    signer's chain is TEST ONLY material (None: it is not), as the app found it by asking every
    installed pack: the results know no pack."""
    return {
        "subject": signer.cert.subject.rfc4514_string(),
        "issuer": signer.cert.issuer.rfc4514_string(),
        "sha256": signer.cert.fingerprint(hashes.SHA256()).hex(),
        "test_only": test_material is not None,
        "test_material": test_material,
    }


class SiteKeyError(ValueError):
    """The configured site key or certificate cannot sign evidence; the message names the setting."""


def load_site_signer(cert_file: Path, key_file: Path, passphrase: bytes | None = None) -> Credential:
    """The site's signing credential: ``cert_file`` holds the certificate (then its chain),
    ``key_file`` the PEM private key that matches it, encrypted with ``passphrase`` or not.
    SiteKeyError (one line, naming the setting, never the key) when it cannot sign."""
    try:
        chain = tuple(x509.load_pem_x509_certificates(Path(cert_file).read_bytes()))
        chain[0].public_key()
    except (OSError, ValueError, IndexError, UnsupportedAlgorithm) as exc:
        raise SiteKeyError(f"site.cert_file: not a PEM certificate: {cert_file} ({exc})") from None
    try:
        pem = Path(key_file).read_bytes()
    except OSError as exc:
        raise SiteKeyError(f"site.key_file: cannot read {key_file}: {exc.strerror or exc}") from None
    encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem or b"Proc-Type: 4,ENCRYPTED" in pem
    if encrypted and not passphrase:
        raise SiteKeyError(
            f"site.key_file: {key_file} is encrypted: site.passphrase_env must name the environment "
            "variable that holds its passphrase"
        )
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise SiteKeyError(
                f"site.key_file: the passphrase of site.passphrase_env does not decrypt {key_file}"
            ) from None
        raise SiteKeyError(f"site.key_file: not a PEM private key: {key_file}") from None
    problem = key_problem(key)
    if problem is not None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SiteKeyError(f"site.key_file: {KEYS_WANTED} is needed, not {problem or 'this key'}")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(Encoding.PEM, public) != chain[0].public_key().public_bytes(
        Encoding.PEM, public
    ):
        raise SiteKeyError("site.key_file: does not match the certificate of site.cert_file")
    return Credential("site", "", chain[0], key, chain, Path(cert_file), Path(key_file))


def _bodies(data: dict, records: list | None) -> dict[str, bytes]:
    """Every exchanged body, whole when the records are at hand (results.json keeps 64 KiB of each)."""
    entries: dict[str, bytes] = {}
    for index, test in enumerate(data.get("tests", []), start=1):
        record = records[index - 1] if records is not None and index <= len(records) else None
        for number, exchange in enumerate(test["exchanges"], start=1):
            base = f"exchanges/{index:03d}/{number:02d}"
            raw = record.exchanges[number - 1] if record is not None else None
            entries[f"{base}-request.xml"] = (
                bytes(raw.request_body) if raw else exchange["request_body"].encode("utf-8")
            )
            entries[f"{base}-answer.xml"] = (
                bytes(raw.response_body) if raw else exchange["response_body"].encode("utf-8")
            )
        for number, arrival in enumerate(test.get("received", []), start=1):
            raw = record.arrivals[number - 1] if record is not None else None
            body = bytes(raw.body) if raw is not None else arrival["body"].encode("utf-8")
            entries[f"received/{index:03d}/{number:02d}.xml"] = body
    return entries


def evidence_index(data: dict) -> dict:
    """index.json: for each test, its verdict and the files of what was exchanged."""
    tests = []
    for index, test in enumerate(data.get("tests", []), start=1):
        tests.append(
            {
                "id": test["id"],
                "verdict": test["verdict"],
                "requirements": test["requirements"],
                "exchanges": [
                    {
                        "label": exchange.get("label", ""),
                        "method": exchange.get("method"),
                        "url": exchange.get("url"),
                        "started": exchange.get("started"),
                        "status": exchange.get("status"),
                        "error": exchange.get("error"),
                        "request_headers": exchange.get("request_headers", {}),
                        "response_headers": exchange.get("response_headers", {}),
                        "request": f"exchanges/{index:03d}/{number:02d}-request.xml",
                        "answer": f"exchanges/{index:03d}/{number:02d}-answer.xml",
                    }
                    for number, exchange in enumerate(test["exchanges"], start=1)
                ],
                "received": [
                    {
                        "received_at": arrival.get("received_at"),
                        "answered": arrival.get("answered"),
                        "size": arrival.get("size"),
                        "file": f"received/{index:03d}/{number:02d}.xml",
                    }
                    for number, arrival in enumerate(test.get("received", []), start=1)
                ],
            }
        )
    return {"profile": data.get("profile"), "verdict": data.get("verdict"), "tests": tests}


def write_evidence(
    folder: Path,
    data: dict,
    path: Path,
    signer: Credential,
    records: list | None = None,
    files: tuple[str, ...] = REPORT_FILES,
    extra: Mapping[str, bytes] | None = None,
    index: dict | None = None,
) -> str:
    """Write the bundle of ``files`` and what was exchanged; return its SHA-256 (what a certificate
    names). A load run's bundle holds its own ``files`` and no exchanges; a pilot's (results/
    pilot_report.py) its ``extra`` files (every relay) and its own ``index``."""
    entries: dict[str, bytes] = {}
    for name in files:
        entries[name] = (folder / name).read_bytes()
    entries.update(_bodies(data, records))
    entries.update(extra or {})
    entries[INDEX] = json.dumps(
        evidence_index(data) if index is None else index, indent=2, ensure_ascii=False
    ).encode("utf-8")
    manifest = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(entries.items())
    )
    manifest_bytes = manifest.encode("utf-8")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, body in sorted(entries.items()):
            bundle.writestr(name, body)
        bundle.writestr(MANIFEST, manifest_bytes)
        bundle.writestr(SIGNATURE, base64.b64encode(_sign(manifest_bytes, signer)))
        chain = signer.chain or (signer.cert,)
        bundle.writestr(SIGNER, b"".join(cert.public_bytes(Encoding.PEM) for cert in chain))
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Verified:
    files: int
    signer: str
    test_only: bool  # signed with TEST ONLY material, which anyone can use: integrity, not identity
    anchor: str | None = None  # the trust anchor the signer's chain was checked to (None: not checked)
    test_material: str | None = None  # why the signer's chain is TEST ONLY material (None: it is not)
    certificate: x509.Certificate | None = None  # the signer's (its attestation is checked with it)

    @property
    def signer_checked(self) -> bool:
        """Who signed is established (EFDX section 7, errata 2): the chain leads to a trust anchor
        the verifier chose, and holds no TEST ONLY material. Otherwise only integrity is shown."""
        return self.anchor is not None and not self.test_only


def check_chain(
    chain: tuple[x509.Certificate, ...], anchors: list[x509.Certificate], at: datetime
) -> x509.Certificate:
    """The anchor that ``chain`` (signer first, then intermediates) leads to: each certificate
    issued and signed by the next, every one current at ``at``, the last one an anchor or issued by
    one, issuers CAs; the signer allowed to sign (digitalSignature). Raises Violation otherwise."""
    for cert in chain:
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise _bad(f"a certificate current at {at:%Y-%m-%d %H:%M} UTC", cert.subject.rfc4514_string())
    try:
        usage = chain[0].extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise _bad("a signer certificate for digitalSignature", "a key usage without it")
    except x509.ExtensionNotFound:
        pass
    for child, parent in zip(chain, chain[1:], strict=False):
        _issued(child, parent)
    last = chain[-1]
    for anchor in anchors:
        if last.fingerprint(hashes.SHA256()) == anchor.fingerprint(hashes.SHA256()):
            return anchor
        try:
            _issued(last, anchor)
        except Violation:
            continue
        if not anchor.not_valid_before_utc <= at <= anchor.not_valid_after_utc:
            raise _bad("a trust anchor current now", anchor.subject.rfc4514_string())
        return anchor
    raise _bad(
        "a signer whose chain leads to the trust anchor",
        f"{chain[0].subject.rfc4514_string()}, issued by {last.issuer.rfc4514_string()}",
    )


def _issued(child: x509.Certificate, parent: x509.Certificate) -> None:
    try:
        constraints = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    try:
        if constraints is None or not constraints.ca:
            raise ValueError("not a CA")
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        raise _bad(
            f"{child.subject.rfc4514_string()} issued by {parent.subject.rfc4514_string()}", "it is not"
        ) from None


def load_anchors(path: Path) -> list[x509.Certificate]:
    """The PEM certificates of a trust anchor file (ValueError when there are none)."""
    anchors = x509.load_pem_x509_certificates(Path(path).read_bytes())
    if not anchors:
        raise ValueError("no certificate")
    return anchors


# Caps on what a bundle may make the verifier read: a bundle is untrusted input until verified.
SMALL_MEMBER_BYTES = 64 * 1024  # signer.pem, MANIFEST.sig
MANIFEST_BYTES = 16 * 1024 * 1024
MEMBER_BYTES = 256 * 1024 * 1024
TOTAL_BYTES = 1024 * 1024 * 1024  # all members together, uncompressed
_CHUNK = 1024 * 1024


def _bad(expected: str, observed: str) -> Violation:
    return Violation("evidence", expected, observed)


class _Budget:
    """The bytes a verification may still inflate, over all members: checked from the declared sizes
    before anything is read, and counted again while reading (a declared size may lie)."""

    def __init__(self, total: int) -> None:
        self.total, self.left = total, total

    def declared(self, infos: list[zipfile.ZipInfo]) -> None:
        size = sum(info.file_size for info in infos)
        if size > self.total:
            raise _bad(f"at most {self.total} bytes uncompressed in all", f"{size} bytes declared")

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise _bad(f"at most {self.total} bytes uncompressed in all", "more")


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


def _read(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget) -> bytes:
    """A member whole, refused from its declared size (and again while reading) when over ``cap``."""
    if info.file_size > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", f"{info.file_size} bytes declared")
    with bundle.open(info) as member:
        data = member.read(cap + 1)
    budget.spend(len(data))
    if len(data) > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", "more")
    return data


def _sha256(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget) -> str:
    """A member's SHA-256, streamed, within ``cap`` and what is left of the run's ``budget``."""
    if info.file_size > cap:
        raise _bad(f"{info.filename} of at most {cap} bytes", f"{info.file_size} bytes declared")
    digest, size = hashlib.sha256(), 0
    with bundle.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise _bad(f"{info.filename} of at most {cap} bytes", "more")
            budget.spend(len(chunk))
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


def test_material_in(chain: Sequence[x509.Certificate], material: Sequence[TestMaterial]) -> str | None:
    """Why some certificate of ``chain`` is TEST ONLY material of one of the declarations, or None."""
    for declared in material:
        reason = declared.in_chain(chain)
        if reason is not None:
            return reason
    return None


def verify_evidence(
    path: Path | BinaryIO,
    material: Sequence[TestMaterial] = (),
    at: datetime | None = None,
    member_cap: int = MEMBER_BYTES,
    anchors: list[x509.Certificate] | None = None,
    total_cap: int = TOTAL_BYTES,
) -> Verified:
    """Check a bundle, signature and signer first: the manifest's signature by signer.pem; with
    ``anchors``, the signer's chain to one of them; without, a signer that is TEST ONLY material
    (``material``: what every installed pack declares) must chain to that pack's CAs, and any other
    signer is reported, its chain unchecked; then every file listed with the right hash and nothing
    else. Member names and sizes (each, and all together) are checked before anything is read.
    Raises Violation. Whether the signer was established is ``Verified.signer_checked``."""
    moment = at or datetime.now(timezone.utc)
    anchor = None
    budget = _Budget(total_cap)
    try:
        with zipfile.ZipFile(path) as bundle:
            members = _members(bundle)
            budget.declared(list(members.values()))
            for needed in (MANIFEST, SIGNATURE, SIGNER):
                if needed not in members:
                    raise _bad(f"{needed} in the bundle", "missing")
            try:
                chain = tuple(
                    x509.load_pem_x509_certificates(
                        _read(bundle, members[SIGNER], SMALL_MEMBER_BYTES, budget)
                    )
                )
            except ValueError:
                raise _bad(f"a PEM certificate in {SIGNER}", "something else") from None
            if not chain:
                raise _bad(f"a PEM certificate in {SIGNER}", "none")
            cert = chain[0]
            _signer_key(cert)  # one that may sign evidence, before anything else is read
            manifest = _read(bundle, members[MANIFEST], MANIFEST_BYTES, budget)
            try:
                signature = base64.b64decode(
                    _read(bundle, members[SIGNATURE], SMALL_MEMBER_BYTES, budget), validate=True
                )
                _verify(manifest, signature, cert)
            except (InvalidSignature, ValueError, TypeError):
                raise _bad(f"a manifest signature that verifies with {SIGNER}", "it does not") from None
            test_material = test_material_in(chain, material)
            if anchors:
                anchor = check_chain(chain, anchors, moment).subject.rfc4514_string()
            elif test_material is not None:
                test_anchors = [ca for declared in material for ca in declared.anchors]
                if test_anchors:
                    check_chain(chain, test_anchors, moment)
            listed = _manifest_entries(manifest)
            extra = sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE, SIGNER})
            if extra:
                raise _bad("only the files the manifest lists", f"unlisted {extra[0]}")
            for name, digest in sorted(listed.items()):
                if name not in members:
                    raise _bad(f"{name}, listed in the manifest", "missing")
                if _sha256(bundle, members[name], member_cap, budget) != digest:
                    raise _bad(f"{name} with SHA-256 {digest}", "other content")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise _bad("an intact zip file", f"{type(exc).__name__}: {exc}") from None
    return Verified(
        files=len(listed),
        signer=cert.subject.rfc4514_string(),
        test_only=test_material is not None,
        anchor=anchor,
        test_material=test_material,
        certificate=cert,
    )
