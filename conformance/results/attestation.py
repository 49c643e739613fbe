"""The certificate anyone can verify: a certifying run's result as an in-toto attestation.

An in-toto Statement v1 whose subject is the evidence bundle (``evidence.zip``, the SHA-256 of its
bytes) and whose predicate is in-toto's vetted test-result predicate, in a DSSE envelope signed with
the site key. `conformance evidence verify` checks it, and so do in-toto's own tools (the `in-toto`
Python library: ``securesystemslib.signer.SSlibKey.from_crypto`` of the site key's public key and
``Envelope.verify``). Pure functions of results.json's data, bytes and a credential: no I/O here.

Decisions:

- File name ``evidence.zip.intoto.jsonl``: in-toto's attestation bundle spec (spec/v1/bundle.md)
  names the attestations relevant for ``<file>`` ``<file>.intoto.jsonl``, JSON Lines, one DSSE
  envelope a line; slsa-verifier and cosign take files of that form. One line is written.
- ``result``: PASSED when the run's verdict is conformant, FAILED otherwise (not-conformant and
  incomplete alike). The predicate's WARNED is for a run whose tests passed with warnings; the
  harness has no such verdict, and an incomplete run did not pass: a policy that accepts PASSED or
  WARNED must never accept one. ``passedTests`` are the tests that passed; ``failedTests`` those
  that failed, errored or were inconclusive (as junit.xml counts an inconclusive test as an error:
  it did not pass); ``warnedTests`` is empty; a not-applicable test (its capability not claimed) is
  in no list. Test names are the suite's test ids, as in results.json.
- ``configuration`` (ResourceDescriptors, each with a digest, a uri or content as the spec asks):
  the ICS/IXIT file by its SHA-256, the harness as a package URL with its version, and each
  profile of the run by its title (content), with its verdict as an annotation.
- Signature: over DSSE's PAE of the payload type and the payload (the Statement as compact JSON),
  with the scheme securesystemslib (what the in-toto library verifies with) names for the key:
  an EC key ``ecdsa-sha2-nistp256``/``384``/``521`` (ECDSA with SHA-256/384/512 by curve, DER
  signature), an RSA key ``rsassa-pss-sha256``. Both are key types the site PKI may use
  (evidence.KEYS_WANTED; `conformance pki site` makes P-256). The keyid is securesystemslib's
  default (SHA-256 of the canonical JSON of key type, scheme and public key PEM), so that the key
  in-toto builds from the site's public key matches the signature as it is.
- Who signed: a DSSE signature holds a keyid and a signature, no certificate. The attestation is
  checked with the evidence bundle's signer (signer.pem), whose chain `evidence verify` checks to
  the site's CA: so only the key that signed the bundle issues its attestation.
- The attestation file is untrusted input: at most ``ATTESTATION_BYTES``, UTF-8 JSON Lines, every
  field's type checked before it is used; any problem is a Violation (one line). Every line must be
  JSON (a file that is not is broken, not "unrecognised"); envelopes of another payload type, and
  signatures by other keys, are passed over as the bundle spec says; at least one in-toto envelope
  must be signed by the bundle's signer, and each one that is must hold a test-result Statement
  whose subject is this bundle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from conformance.core.trust import Credential
from conformance.core.violations import Violation

FILE_NAME = "evidence.zip.intoto.jsonl"
SUBJECT_NAME = "evidence.zip"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PASSED, FAILED = "PASSED", "FAILED"
HARNESS_PACKAGE = "conformance"
ATTESTATION_BYTES = 4 * 1024 * 1024  # two whole suites' test ids are ~100 KiB
_FAILED_VERDICTS = ("fail", "error", "inconclusive")


# ---------------------------------------------------------------------------------- the statement


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _configuration(data: Mapping) -> list[dict]:
    """The ICS, the harness and the profiles: what the run was configured with."""
    record = data.get("record") or {}
    ics = data.get("ics") or {}
    version = str(record.get("harness_version") or data.get("harness_version") or "unknown")
    ics_notes = {
        "party": ics.get("party"),
        "capabilities": list(ics.get("capabilities") or ()),
        "declarations": list(ics.get("declarations") or ()),
        "candidateBuild": record.get("candidate_build"),
    }
    ics_descriptor: dict = {"name": "ICS/IXIT (the candidate's configuration)", "annotations": ics_notes}
    if record.get("config_sha256"):
        ics_descriptor |= {"digest": {"sha256": record["config_sha256"]}, "mediaType": "application/toml"}
    else:  # the embedded reference's, made by the harness: what it said is the content
        content = json.dumps(ics, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ics_descriptor |= {"content": _b64(content), "mediaType": "application/json"}
    descriptors = [
        ics_descriptor,
        {
            "name": "conformance test harness",
            "uri": f"pkg:pypi/{HARNESS_PACKAGE}@{version}",
            "annotations": {"version": version},
        },
    ]
    for profile in data.get("profiles") or ():
        title = str(profile.get("title", ""))
        descriptors.append(
            {
                "name": f"profile {title}",
                "content": _b64(title.encode("utf-8")),
                "mediaType": "text/plain",
                "annotations": {
                    "key": profile.get("key"),
                    "run": bool(profile.get("run", True)),
                    "verdict": profile.get("verdict"),
                },
            }
        )
    return descriptors


def predicate(data: Mapping, url: str | None = None) -> dict:
    """The test-result predicate of results.json's ``data`` (see the module's decisions)."""
    tests = list(data.get("tests") or ())
    body: dict = {
        "result": PASSED if data.get("verdict") == "conformant" else FAILED,
        "configuration": _configuration(data),
    }
    if url:
        body["url"] = url
    body["passedTests"] = [test["id"] for test in tests if test.get("verdict") == "pass"]
    body["warnedTests"] = []
    body["failedTests"] = [test["id"] for test in tests if test.get("verdict") in _FAILED_VERDICTS]
    return body


def statement(data: Mapping, bundle_sha256: str, url: str | None = None) -> dict:
    """The in-toto Statement v1: the bundle is the subject, the run's result the predicate."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": SUBJECT_NAME, "digest": {"sha256": bundle_sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate(data, url),
    }


# -------------------------------------------------------------------------------- DSSE and keys


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed, payload type and payload both bound."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


_CURVES = {
    "secp256r1": ("256", hashes.SHA256),
    "secp384r1": ("384", hashes.SHA384),
    "secp521r1": ("521", hashes.SHA512),
}


def scheme(public_key: object) -> str:
    """securesystemslib's scheme for the key (ValueError for a key the site PKI may not use)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsassa-pss-sha256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name in _CURVES:
        return f"ecdsa-sha2-nistp{_CURVES[public_key.curve.name][0]}"
    raise ValueError(f"no DSSE scheme for a {type(public_key).__name__}")


def _key_type(public_key: object) -> str:
    return "rsa" if isinstance(public_key, rsa.RSAPublicKey) else "ecdsa"


def _public_pem(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def keyid(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    """securesystemslib's default key id: SHA-256 of the canonical JSON of key type, scheme and
    public key (OLPC canonical JSON: sorted keys, no spaces, only backslash and quote escaped;
    a PEM holds neither)."""
    canonical = (
        f'{{"keytype":"{_key_type(public_key)}","keyval":{{"public":"{_public_pem(public_key)}"}},'
        f'"scheme":"{scheme(public_key)}"}}'
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _ecdsa_hash(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    return _CURVES[key.curve.name][1]()


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def envelope(body: Mapping, signer: Credential) -> dict:
    """The Statement ``body`` in a DSSE envelope with one signature by ``signer`` (its keyid)."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    key = signer.key
    message = pae(PAYLOAD_TYPE, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        signature = key.sign(message, ec.ECDSA(_ecdsa_hash(key)))
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(message, _pss(), hashes.SHA256())
    else:
        raise ValueError(f"{signer.name}: no DSSE scheme for this key")
    public = key.public_key()
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": _b64(payload),
        "signatures": [{"keyid": keyid(public), "sig": _b64(signature)}],
    }


def issue(data: Mapping, bundle_sha256: str, signer: Credential, url: str | None = None) -> bytes:
    """The attestation file's bytes: one envelope, one line (JSON Lines)."""
    line = json.dumps(envelope(statement(data, bundle_sha256, url), signer), separators=(",", ":"))
    return line.encode("utf-8") + b"\n"


# ---------------------------------------------------------------------------------- verification


def _bad(expected: str, observed: str) -> Violation:
    return Violation("attestation", expected, observed)


def _kind(value: object) -> str:
    """A JSON value's kind, for a line that says what was found instead."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return kinds.get(type(value), f"a {type(value).__name__}")


@dataclass(frozen=True)
class Attested:
    """What a verified attestation says, and the line of each check it passed."""

    result: str
    checks: tuple[str, ...]


def _envelopes(raw: bytes) -> list[tuple[int, dict]]:
    """Every line's JSON object, numbered; Violation for a line that is none."""
    if len(raw) > ATTESTATION_BYTES:
        raise _bad(f"an attestation of at most {ATTESTATION_BYTES} bytes", f"{len(raw)} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad("UTF-8 JSON Lines", f"other bytes (byte {exc.start})") from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            raise _bad(f"a JSON envelope on line {number}", "not JSON") from None
        if not isinstance(value, dict):
            raise _bad(f"a JSON object (a DSSE envelope) on line {number}", _kind(value))
        found.append((number, value))
    if not found:
        raise _bad("a DSSE envelope", "an empty file")
    return found


def _decode(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise _bad(f"{what} as a base64 string", _kind(text))
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{what} in base64", "other text") from None


def _signed_payload(number: int, envelope_: dict, cert: x509.Certificate) -> bytes | None:
    """The payload of an in-toto envelope when a signature with the signer's keyid verifies with
    its key; None when none does (another key's). Violation for an envelope of the wrong shape."""
    where = f"line {number}"
    payload = _decode(envelope_.get("payload"), f"the payload of {where}")
    signatures = envelope_.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise _bad(f"a list of signatures on {where}", _kind(signatures) if signatures != [] else "none")
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise _bad("a signer with an RSA or EC key", type(public).__name__)
    wanted = keyid(public)
    message = pae(PAYLOAD_TYPE, payload)
    for signature in signatures:
        if not isinstance(signature, dict):
            raise _bad(f"signature objects on {where}", _kind(signature))
        if signature.get("keyid") != wanted:
            continue  # another key's: the bundle spec says to pass it over
        sig = _decode(signature.get("sig"), f"a signature on {where}")
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(
                    sig,
                    message,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                    hashes.SHA256(),
                )
            else:
                public.verify(sig, message, ec.ECDSA(_ecdsa_hash(public)))
        except (InvalidSignature, ValueError, UnsupportedAlgorithm):
            continue
        return payload
    return None


def _check_statement(number: int, payload: bytes, bundle_sha256: str) -> str:
    """The result of a signed Statement that is a test result about this bundle; Violation else."""
    where = f"the statement of line {number}"
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(f"{where} as UTF-8 JSON", "something else") from None
    if not isinstance(body, dict):
        raise _bad(f"{where} as a JSON object", _kind(body))
    if body.get("_type") != STATEMENT_TYPE:
        raise _bad(f"{where} of _type {STATEMENT_TYPE}", repr(body.get("_type"))[:200])
    if body.get("predicateType") != PREDICATE_TYPE:
        raise _bad(f"{where} of predicateType {PREDICATE_TYPE}", repr(body.get("predicateType"))[:200])
    subjects = body.get("subject")
    if not isinstance(subjects, list):
        raise _bad(f"a subject list in {where}", _kind(subjects))
    digests = [
        subject["digest"]["sha256"]
        for subject in subjects
        if isinstance(subject, dict)
        and isinstance(subject.get("digest"), dict)
        and isinstance(subject["digest"].get("sha256"), str)
    ]
    if bundle_sha256.lower() not in (digest.lower() for digest in digests):
        observed = ", ".join(digests)[:200] or "no sha256 digest"
        raise _bad(f"a subject with this bundle's SHA-256 {bundle_sha256}", observed)
    predicate_ = body.get("predicate")
    result = predicate_.get("result") if isinstance(predicate_, dict) else None
    if result not in (PASSED, FAILED, "WARNED"):
        raise _bad(f"a test result (PASSED, WARNED or FAILED) in {where}", repr(result)[:200])
    return str(result)


def verify(raw: bytes, bundle_sha256: str, cert: x509.Certificate) -> Attested:
    """Check an attestation file against the bundle (its SHA-256) and the bundle's signer ``cert``
    (whose chain the caller checks): Violation at the first check that fails; else the checks."""
    envelopes = _envelopes(raw)
    in_toto = [(number, body) for number, body in envelopes if body.get("payloadType") == PAYLOAD_TYPE]
    if not in_toto:
        raise _bad(f"an envelope of payloadType {PAYLOAD_TYPE}", f"none of {len(envelopes)} line(s)")
    signed = [
        (number, payload)
        for number, body in in_toto
        if (payload := _signed_payload(number, body, cert)) is not None
    ]
    signer = cert.subject.rfc4514_string()
    if not signed:
        raise _bad(
            f"an in-toto envelope signed by the bundle's signer {signer}",
            f"no signature of {len(in_toto)} envelope(s) verifies",
        )
    results = [_check_statement(number, payload, bundle_sha256) for number, payload in signed]
    public = cert.public_key()
    return Attested(
        result=results[0],
        checks=(
            f"DSSE signature ({scheme(public)}) by {signer} verifies",
            f"statement type {STATEMENT_TYPE}",
            f"predicate type {PREDICATE_TYPE}, result {results[0]}",
            f"subject {SUBJECT_NAME} sha256 {bundle_sha256} is this bundle",
        ),
    )
