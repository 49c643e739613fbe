"""`conformance evidence verify` on bundles made by hand, signed for real: who signed is established
only against a trust anchor the verifier chose (EFDX section 7, errata 2: without one, exit 3 and a
line saying the signer was not checked), the bundle's total uncompressed size is capped as well as
each member's, and a signer key that cannot sign evidence is one line and exit 1, never a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, x25519
from cryptography.x509.oid import NameOID
from site_pki import make_site_pki

from conformance.app import cli
from conformance.results import evidence
from conformance.results.evidence import MANIFEST, SIGNATURE, SIGNER

PEM = serialization.Encoding.PEM
MiB = 1024 * 1024


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hostile bundle maker (a test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def certificate(public_key, issuer_key, *, ca: bool = False, common: str = "signer", issuer=None):
    """A certificate for ``public_key`` signed by ``issuer_key`` (self-issued unless ``issuer``)."""
    now = datetime.now(UTC)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(issuer.subject if issuer is not None else _name(common))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, algorithm)
    )


def write_bundle(
    path: Path,
    members: dict[str, bytes | tuple[int, int]],
    signer_pem: bytes,
    sign: Callable[[bytes], bytes],
) -> Path:
    """A bundle: ``members`` (bytes, or (size, byte): that many of that byte, streamed), their
    manifest signed with ``sign``, and ``signer_pem`` as signer.pem."""
    digests = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for name, body in sorted(members.items()):
            if isinstance(body, bytes):
                bundle.writestr(name, body)
                digests[name] = hashlib.sha256(body).hexdigest()
                continue
            size, byte = body
            digest, chunk = hashlib.sha256(), bytes([byte]) * MiB
            with bundle.open(name, "w", force_zip64=True) as member:
                for _ in range(size // MiB):
                    member.write(chunk)
                    digest.update(chunk)
            digests[name] = digest.hexdigest()
        manifest = "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items())).encode()
        bundle.writestr(MANIFEST, manifest)
        bundle.writestr(SIGNATURE, base64.b64encode(sign(manifest)))
        bundle.writestr(SIGNER, signer_pem)
    return path


def site_signed(tmp_path: Path, members: dict, name: str = "bundle.zip"):
    """A bundle signed with a fresh site key (not test material); returns it and the site's CA."""
    site = make_site_pki(tmp_path / "site")
    key = serialization.load_pem_private_key(site.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    path = write_bundle(
        tmp_path / name,
        members,
        site.cert.read_bytes(),
        lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())),
    )
    return path, site


def verify(capsys, path: Path, *extra: str) -> tuple[int, str]:
    code = cli.main(["evidence", "verify", str(path), *extra])
    return code, capsys.readouterr().out


# --- defect 2: without a trust anchor, integrity only (exit 3), never success ----------------------------


def test_without_a_trust_anchor_an_intact_bundle_is_not_a_success(capsys, tmp_path):
    path, site = site_signed(tmp_path, {"results.json": b"{}", "report.html": b"<p>ok</p>"})
    code, out = verify(capsys, path)
    assert code == 3, out
    assert "signer not checked" in out and "not checked" in out.splitlines()[-1]
    assert "valid (" not in out  # success is not reported

    code, out = verify(capsys, path, "--trust-anchor", str(site.ca))
    assert code == 0 and "chains to the trust anchor" in out and "not checked" not in out


def test_the_exit_code_for_an_unchecked_signer_is_documented():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `conformance evidence verify"))
    assert "3" in row and "not checked" in row
    assert "| 3 |" in readme  # the table of exit codes


# --- defect 3: the total uncompressed size is capped, from declared sizes and while reading -------------


def test_eight_members_of_250_mib_of_zeros_are_refused_before_reading(capsys, tmp_path):
    members: dict = {f"exchanges/001/{n:02d}-request.xml": (250 * MiB, 0) for n in range(1, 9)}
    path, site = site_signed(tmp_path, members)
    assert path.stat().st_size < 20 * MiB  # a small file that inflates to 2000 MiB
    code, out = verify(capsys, path, "--trust-anchor", str(site.ca))
    assert code == 1 and "uncompressed in all" in out and "bytes declared" in out
    assert len(out.strip().splitlines()) == 1


def test_the_total_is_also_counted_while_reading(tmp_path, monkeypatch):
    """Declared sizes may lie: the running count refuses what the declared check let through."""
    path, site = site_signed(tmp_path, {f"m{n}.xml": b"x" * 4096 for n in range(4)})
    monkeypatch.setattr(evidence._Budget, "declared", lambda self, infos: None)
    with pytest.raises(evidence.Violation, match="uncompressed in all"):
        evidence.verify_evidence(path, (), total_cap=10_000, anchors=evidence.load_anchors(site.ca))
    assert evidence.verify_evidence(path, (), total_cap=20_000, anchors=evidence.load_anchors(site.ca))


def test_a_member_whose_declared_size_lies_is_refused(capsys, tmp_path):
    """The central directory says 10 bytes, the data inflates to 1 MiB: refused, one line."""
    path, site = site_signed(tmp_path, {"results.json": b"{" + b" " * (MiB - 2) + b"}"})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + name_length] == b"results.json":
            data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    code, out = verify(capsys, path, "--trust-anchor", str(site.ca))
    assert code == 1 and "invalid" in out and len(out.strip().splitlines()) == 1


# --- defect 4: a signer key that cannot sign evidence is one line and exit 1 -----------------------------


def _x25519(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(ca_key.public_key(), ca_key, ca=True, common="ca")
    cert = certificate(x25519.X25519PrivateKey.generate().public_key(), ca_key, issuer=ca)
    return cert.public_bytes(PEM) + ca.public_bytes(PEM), lambda data: os.urandom(64), "X25519"


def _ed25519(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    return certificate(key.public_key(), key).public_bytes(PEM), key.sign, "Ed25519"


def _dsa(tmp_path):
    key = dsa.generate_private_key(2048)
    return (
        certificate(key.public_key(), key).public_bytes(PEM),
        lambda data: key.sign(data, hashes.SHA256()),
        "DSA",
    )


def _secp256k1(tmp_path):
    key = ec.generate_private_key(ec.SECP256K1())
    return (
        certificate(key.public_key(), key).public_bytes(PEM),
        lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())),
        "secp256k1",
    )


def _rsa_1024(tmp_path):
    key = rsa.generate_private_key(65537, 1024)
    return (
        certificate(key.public_key(), key).public_bytes(PEM),
        lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
        "1024 bits",
    )


def _garbage(tmp_path):
    body = base64.encodebytes(b"\x30\x82\x01\x00" + os.urandom(256))
    return (
        b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n",
        lambda data: os.urandom(64),
        "PEM",
    )


@pytest.mark.parametrize("make", [_x25519, _ed25519, _dsa, _secp256k1, _rsa_1024, _garbage])
@pytest.mark.parametrize("anchored", [False, True], ids=["no-anchor", "anchor"])
def test_a_signer_key_that_cannot_sign_evidence_is_one_line_and_exit_1(capsys, tmp_path, make, anchored):
    signer_pem, sign, named = make(tmp_path)
    path = write_bundle(tmp_path / "bundle.zip", {"results.json": b"{}"}, signer_pem, sign)
    anchor = make_site_pki(tmp_path / "site").ca  # any anchor: the key is refused before the chain
    code, out = verify(capsys, path, *(("--trust-anchor", str(anchor)) if anchored else ()))
    assert code == 1, out
    assert len(out.strip().splitlines()) == 1 and "invalid" in out and named in out, out


def test_the_command_prints_no_traceback_for_an_x25519_signer(tmp_path):
    signer_pem, sign, _ = _x25519(tmp_path)
    path = write_bundle(tmp_path / "bundle.zip", {"results.json": b"{}"}, signer_pem, sign)
    done = subprocess.run(
        [sys.executable, "-m", "conformance.app.cli", "evidence", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert len(done.stdout.strip().splitlines()) == 1 and "X25519" in done.stdout
