"""The certificate anyone can verify (issue 21 item 5): a certifying run's in-toto attestation.

One certifying run (the reference NSW in a process of its own over mutual TLS, the site's own key
made by `conformance pki site`, as tests/test_certifying_run.py does) is made once for the module;
each test works on a copy of its folder. Both verifiers are real: `conformance evidence verify`,
and the `in-toto` library (``securesystemslib`` key from the site certificate's public key, the
DSSE envelope checked by ``in_toto.models.metadata.Envelope``), followed by what an in-toto
consumer checks next, the Statement's subject against the bundle's SHA-256. A rehearsal writes none
and cannot be given one; hostile attestation files give one line each, never a traceback.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from in_toto.exceptions import SignatureVerificationError
from in_toto.models.metadata import Metadata
from securesystemslib.signer import SSlibKey

from conformance.app import cli
from conformance.core.violations import Violation
from conformance.results import attestation
from conformance.results.evidence import load_site_signer
from tests.test_certifying_run import PASSPHRASE_ENV, certifying_run

PASSPHRASE = "the lab's passphrase, not a test key's"


@pytest.fixture(scope="module")
def certified(tmp_path_factory) -> dict:
    """One certifying run: its folder, the site PKI and the configuration (made once)."""
    base = tmp_path_factory.mktemp("certified")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSPHRASE_ENV, PASSPHRASE)
        code, out, folder, site_dir = certifying_run(base)
    assert code == 0, out[-3000:]
    return {
        "folder": folder,
        "ca": site_dir / "site-ca.pem",
        "cert": site_dir / "site.pem",
        "config": base / "kh.toml",
    }


@pytest.fixture
def run(certified, tmp_path) -> Path:
    """A copy of the certifying run's folder, this test's to change."""
    return Path(shutil.copytree(certified["folder"], tmp_path / "run"))


def _verify(capsys, run: Path, ca: Path, *extra: str) -> tuple[int, list[str]]:
    code = cli.main(["evidence", "verify", str(run / "evidence.zip"), "--trust-anchor", str(ca), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out.splitlines()


def _in_toto(run: Path, cert: Path) -> dict:
    """What the in-toto library makes of the attestation: the envelope's signature checked with the
    site key (SignatureVerificationError when it does not verify), then the Statement, whose subject
    an in-toto consumer compares with the artifact (here, by the caller)."""
    (line,) = (run / attestation.FILE_NAME).read_text().splitlines()
    key = SSlibKey.from_crypto(x509.load_pem_x509_certificates(cert.read_bytes())[0].public_key())
    envelope = Metadata.from_dict(json.loads(line))
    envelope.verify_signature(key.to_dict() | {"keyid": key.keyid})
    return json.loads(envelope.payload)


def _bundle_sha256(run: Path) -> str:
    return hashlib.sha256((run / "evidence.zip").read_bytes()).hexdigest()


def test_a_certifying_run_is_attested_and_both_verifiers_accept_it(run, certified, capsys):
    code, lines = _verify(capsys, run, certified["ca"])
    assert code == 0, lines
    attested = [line for line in lines if line.startswith(str(run / attestation.FILE_NAME))]
    assert len(attested) == 4, lines  # one line a check: signature, type, predicate type, subject
    assert "DSSE signature (ecdsa-sha2-nistp256)" in attested[0] and "result PASSED" in attested[2]
    statement = _in_toto(run, certified["cert"])
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert statement["subject"] == [{"name": "evidence.zip", "digest": {"sha256": _bundle_sha256(run)}}]
    results = json.loads((run / "results.json").read_text())
    predicate = statement["predicate"]
    assert predicate["result"] == "PASSED" and predicate["failedTests"] == [] == predicate["warnedTests"]
    assert predicate["passedTests"] == [t["id"] for t in results["tests"] if t["verdict"] == "pass"]
    config_sha256 = hashlib.sha256(certified["config"].read_bytes()).hexdigest()
    assert {"sha256": config_sha256} in [d.get("digest") for d in predicate["configuration"]]
    assert any(d.get("uri", "").startswith("pkg:pypi/conformance@") for d in predicate["configuration"])


def test_one_byte_of_the_bundle_changed_fails_both(run, certified, capsys):
    """A byte of a member's local header (its time, which no hash covers): the bundle still checks
    out, but it is not the bundle attested; and a byte halfway (a member's content, or a header:
    either the bundle's check or the attestation's fails)."""
    bundle = run / "evidence.zip"
    original = bundle.read_bytes()
    assert original[:4] == b"PK\x03\x04"
    bundle.write_bytes(original[:10] + bytes([original[10] ^ 1]) + original[11:])
    code, lines = _verify(capsys, run, certified["ca"])
    assert code == 1, lines
    assert lines[0].endswith(")") and ": valid (" in lines[0]  # the bundle itself is intact
    assert "invalid attestation" in lines[-1] and "this bundle's SHA-256" in lines[-1], lines
    statement = _in_toto(run, certified["cert"])  # the signature is the site's ...
    assert statement["subject"][0]["digest"]["sha256"] != _bundle_sha256(run)  # ... for other bytes
    bundle.write_bytes(one_bit_of_a_member_flipped(original))
    code, lines = _verify(capsys, run, certified["ca"])
    assert code == 1 and sum("invalid" in line for line in lines) == 1, lines
    assert _in_toto(run, certified["cert"])["subject"][0]["digest"]["sha256"] != _bundle_sha256(run)


def one_bit_of_a_member_flipped(bundle: bytes) -> bytes:
    """``bundle`` with one bit flipped in the middle of its largest member's stored data: always a
    change a reader sees (a bit flipped at the file's middle could land in a header field that no
    reader checks, such as a local header's time, depending on the run's sizes)."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        member = max(archive.infolist(), key=lambda info: info.compress_size)
    name_length, extra_length = struct.unpack(
        "<HH", bundle[member.header_offset + 26 : member.header_offset + 30]
    )
    at = member.header_offset + 30 + name_length + extra_length + member.compress_size // 2
    return bundle[:at] + bytes([bundle[at] ^ 1]) + bundle[at + 1 :]


def test_one_byte_of_the_payload_changed_fails_both(run, certified, capsys):
    path = run / attestation.FILE_NAME
    envelope = json.loads(path.read_text())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    at = payload.index(b"PASSED")
    payload[at] = ord("F")  # "FASSED": one byte
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    path.write_text(json.dumps(envelope) + "\n")
    code, lines = _verify(capsys, run, certified["ca"])
    assert code == 1 and "no signature of 1 envelope(s) verifies" in lines[-1], lines
    with pytest.raises(SignatureVerificationError):
        _in_toto(run, certified["cert"])


def test_evidence_attest_issues_it_again_for_a_certifying_folder_and_refuses_others(
    run, certified, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    (run / attestation.FILE_NAME).unlink()
    assert cli.main(["evidence", "attest", str(run), "--config", str(certified["config"])]) == 0
    assert "in-toto attestation of" in capsys.readouterr().out
    assert _verify(capsys, run, certified["ca"])[0] == 0
    _in_toto(run, certified["cert"])
    # a folder whose bundle was changed is refused, with one line
    bundle = run / "evidence.zip"
    original = bundle.read_bytes()
    bundle.write_bytes(one_bit_of_a_member_flipped(original))
    assert cli.main(["evidence", "attest", str(run), "--config", str(certified["config"])]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evidence.zip: invalid" in err[0], err
    # a rehearsal (the embedded reference, part of the suite, TEST ONLY key): no attestation, and none
    reports = tmp_path / "reports"
    assert cli.main(["run", "--requirement", "T-01", "--report-dir", str(reports)]) in (0, 1)
    capsys.readouterr()
    (rehearsal,) = [path for path in reports.iterdir() if path.is_dir()]
    assert (rehearsal / "evidence.zip").is_file() and not (rehearsal / attestation.FILE_NAME).exists()
    assert cli.main(["evidence", "attest", str(rehearsal), "--config", str(certified["config"])]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot certify" in err[0], err
    assert not (rehearsal / attestation.FILE_NAME).exists()


def _hostile_files(good: bytes) -> dict[str, bytes | None]:
    envelope = json.loads(good)
    wrong_payload = dict(envelope, payload=5)
    bad_base64 = dict(envelope, payload="%%%not base64%%%")
    signatures_text = dict(envelope, signatures="x")
    not_a_statement = copy.deepcopy(envelope)
    not_a_statement["signatures"][0]["sig"] = "AAAA"
    return {
        "huge": None,  # made sparse below: over the cap
        "not JSON": b"this is not json\n",
        "not UTF-8": b"\xff\xfe{}\n",
        "a JSON list": b"[1, 2, 3]\n",
        "deeply nested": b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "payload a number": json.dumps(wrong_payload).encode(),
        "payload not base64": json.dumps(bad_base64).encode(),
        "signatures a string": json.dumps(signatures_text).encode(),
        "another signature": json.dumps(not_a_statement).encode(),
        "no in-toto envelope": json.dumps(
            {"payloadType": "text/plain", "payload": "", "signatures": []}
        ).encode(),
        "empty": b"",
    }


def test_hostile_attestation_files_each_give_one_clear_line(run, certified, capsys):
    good = (run / attestation.FILE_NAME).read_bytes()
    hostile = run / "hostile.intoto.jsonl"
    for name, body in _hostile_files(good).items():
        if body is None:
            hostile.write_bytes(b"")
            os.truncate(hostile, attestation.ATTESTATION_BYTES + 1)
        else:
            hostile.write_bytes(body)
        code, lines = _verify(capsys, run, certified["ca"], "--attestation", str(hostile))
        failures = [line for line in lines if "invalid attestation" in line]
        assert code == 1 and len(failures) == 1, (name, lines)
        assert lines[-1] == failures[0], (name, lines)
    missing = str(run / "none")
    assert cli.main(["evidence", "verify", str(run / "evidence.zip"), "--attestation", missing]) == 4
    assert "--attestation" in capsys.readouterr().err
    link = run / "linked.intoto.jsonl"
    link.symlink_to(run / attestation.FILE_NAME)
    code, lines = _verify(capsys, run, certified["ca"], "--attestation", str(link))
    assert code == 1 and "symbolic link" in lines[-1], lines


def test_the_predicate_says_failed_for_any_run_that_is_not_conformant():
    """PASSED only for a conformant run; WARNED never (no test passes with a warning here)."""
    data = {
        "verdict": "conformant",
        "tests": [
            {"id": "a", "verdict": "pass"},
            {"id": "b", "verdict": "fail"},
            {"id": "c", "verdict": "error"},
            {"id": "d", "verdict": "inconclusive"},
            {"id": "e", "verdict": "not-applicable"},
        ],
    }
    assert attestation.predicate(data)["result"] == "PASSED"
    for verdict in ("not-conformant", "incomplete"):
        predicate = attestation.predicate(dict(data, verdict=verdict), url="https://testbed.example/runs/7")
        assert predicate["result"] == "FAILED" and predicate["url"] == "https://testbed.example/runs/7"
        assert predicate["passedTests"] == ["a"] and predicate["failedTests"] == ["b", "c", "d"]
        assert predicate["warnedTests"] == []


def test_a_subject_of_another_bundle_is_refused(certified):
    key = certified["cert"].with_name("site.key.pem")
    signer = load_site_signer(certified["cert"], key, PASSPHRASE.encode())
    raw = attestation.issue({"verdict": "conformant", "tests": []}, "ab" * 32, signer)
    assert attestation.verify(raw, "ab" * 32, signer.cert).result == "PASSED"
    with pytest.raises(Violation, match="this bundle's SHA-256"):
        attestation.verify(raw, "cd" * 32, signer.cert)
