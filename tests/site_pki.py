"""A site's own evidence PKI, made fresh for a test (TEST ONLY material, never committed): a site CA
and a signing certificate it issued, as a certification lab would configure in [site]."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SitePki:
    ca: Path
    cert: Path
    key: Path
    subject: str


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KH Customs Test Lab (made by a test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _certificate(subject, issuer, public_key, signing_key, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(signing_key, hashes.SHA256())


def make_site_pki(folder: Path, name: str = "site") -> SitePki:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name, subject = _name(f"{name} evidence CA"), _name(f"{name} evidence signer")
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    cert = _certificate(subject, ca_name, key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    paths = SitePki(folder / f"{name}-ca.pem", folder / f"{name}.pem", folder / f"{name}.key.pem", "")
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.cert.write_bytes(cert.public_bytes(pem))
    paths.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return SitePki(paths.ca, paths.cert, paths.key, subject.rfc4514_string())
