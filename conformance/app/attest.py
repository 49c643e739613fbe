"""Issuing and checking a run's in-toto attestation (results/attestation.py) from files on disk.

``attest(run_folder, signer)`` issues it for a run folder written earlier (`conformance evidence
attest DIR`, and the shared test bed after a run): the folder is untrusted input, so evidence.zip
is read once, under a cap, never through a link, and checked (signature, every hash) before
anything is signed, its signer the site key's own certificate; the run's record is the results.json
inside that signed bundle, not the loose copy beside it. A folder that cannot certify is refused
(AttestError, one line): its results say so, the bundle was signed by another key than the site's,
or the site key is TEST ONLY material. ``check(path, bundle_sha256, cert)`` reads an attestation
file under its cap for `conformance evidence verify`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from conformance.app.site_pki import installed_test_material, signer_test_material
from conformance.core.trust import Credential
from conformance.core.violations import Violation
from conformance.results import attestation, safe_write
from conformance.results.evidence import verify_evidence
from conformance.results.safe_read import UnsafeInput, read_capped

BUNDLE = "evidence.zip"
BUNDLE_BYTES = 512 * 1024 * 1024  # read whole, once: what is hashed is what was checked
RESULTS_BYTES = 256 * 1024 * 1024


class AttestError(ValueError):
    """Why no attestation is issued for a folder: one line, never a key."""


def _results_in(bundle: bytes) -> dict:
    """results.json as the signed bundle holds it (the bundle was verified before)."""
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            info = archive.getinfo("results.json")
            if info.file_size > RESULTS_BYTES:
                raise AttestError(f"{BUNDLE}: results.json of {info.file_size} bytes is over the cap")
            with archive.open(info) as member:
                raw = member.read(RESULTS_BYTES + 1)
    except KeyError:
        raise AttestError(f"{BUNDLE}: no results.json in it (not a run's bundle)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise AttestError(f"{BUNDLE}: not an intact zip file ({type(exc).__name__})") from None
    try:
        data = json.loads(raw[: RESULTS_BYTES + 1].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AttestError(f"{BUNDLE}: its results.json is not UTF-8 JSON") from None
    if len(raw) > RESULTS_BYTES or not isinstance(data, dict):
        raise AttestError(f"{BUNDLE}: its results.json is not a run's results")
    return data


def _certifies(data: dict) -> str | None:
    """Why the run cannot certify, or None when it can."""
    certification = data.get("certification")
    if not isinstance(certification, dict) or certification.get("can_certify") is not True:
        reasons = certification.get("reasons") if isinstance(certification, dict) else None
        first = reasons[0] if isinstance(reasons, list) and reasons and isinstance(reasons[0], str) else ""
        return f"the run cannot certify{f' ({first})' if first else ''}"
    return None


def attest(run_folder: Path, signer: Credential, url: str | None = None) -> bytes:
    """The attestation file's bytes for the certifying run in ``run_folder``, signed by the site key
    ``signer`` that signed its evidence.zip; AttestError (one line) when it cannot be issued."""
    why = signer_test_material(signer)
    if why is not None:
        raise AttestError(f"the configured key cannot certify: {why}")
    try:
        bundle = read_capped(run_folder / BUNDLE, BUNDLE_BYTES)
    except UnsafeInput as exc:
        raise AttestError(str(exc)) from None
    material, _unreadable = installed_test_material()
    try:  # intact and signed by the signer.pem it holds; who that is, next
        verified = verify_evidence(io.BytesIO(bundle), material)
    except Violation as violation:
        raise AttestError(
            f"{run_folder / BUNDLE}: invalid: expected {violation.expected}; observed {violation.observed}"
        ) from None
    data = _results_in(bundle)
    why = _certifies(data)
    if why is not None:
        raise AttestError(f"{run_folder}: {why}")
    if verified.certificate is None or verified.certificate.fingerprint(
        hashes.SHA256()
    ) != signer.cert.fingerprint(hashes.SHA256()):  # the site's own certificate: its chain is ours
        raise AttestError(
            f"{run_folder / BUNDLE}: signed by {verified.signer}, not by the configured site key "
            f"({signer.cert.subject.rfc4514_string()}): only the key that signed a bundle attests it"
        )
    return attestation.issue(data, hashlib.sha256(bundle).hexdigest(), signer, url)


def write(run_folder: Path, signer: Credential, url: str | None = None) -> Path:
    """Issue the folder's attestation and write it beside its evidence.zip (never through a link)."""
    safe_write.real_folder(run_folder)
    body = attest(run_folder, signer, url)
    return safe_write.write_bytes(run_folder / attestation.FILE_NAME, body)


def check(path: Path, bundle_sha256: str, cert) -> attestation.Attested:
    """Read an attestation file (untrusted: capped, no link followed) and check it against the
    bundle; Violation for what it gets wrong, UnsafeInput when it cannot be read."""
    raw = read_capped(path, attestation.ATTESTATION_BYTES)
    return attestation.verify(raw, bundle_sha256, cert)
