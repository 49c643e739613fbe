"""Generate the TEST ONLY PKI: one CA per party, its NSW and issuing-authority certificates, and bad signers.

The harness needs real certificates to sign, verify and speak TLS, and one deliberately broken signer
for each trust requirement (M-08..M-12). Dates are fixed, so that the committed set's validity does not
depend on when it was generated; keys are fresh on every run. Run as ``conformance pki generate``.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.profiles.efdx.codes import PARTIES

ORG = "EFDX TEST ONLY"
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "test_vectors" / "efdx" / "pki"

GOOD_FROM = datetime(2025, 1, 1, tzinfo=UTC)
GOOD_UNTIL = datetime(2045, 1, 1, tzinfo=UTC)
# CAs outlive every leaf they issue, including the expired and not-yet-valid ones, so that only the
# leaf's own dates make those two bad signers bad.
CA_FROM = datetime(2020, 1, 1, tzinfo=UTC)
CA_UNTIL = datetime(2050, 1, 1, tzinfo=UTC)
REVOKED_ON = datetime(2025, 6, 1, tzinfo=UTC)
CRL_THIS_UPDATE = GOOD_FROM
CRL_NEXT_UPDATE = GOOD_UNTIL

CA_KEY_BITS = 3072
LEAF_KEY_BITS = 2048

# name -> what it is; the order is the order of the README table.
BAD_SIGNERS: dict[str, str] = {
    "expired": "SG NSW certificate valid 2020-01-01..2021-01-01 (M-09)",
    "not-yet-valid": "SG NSW certificate valid 2044-01-01..2045-01-01 (M-09)",
    "revoked": "SG NSW certificate listed on SG's CRL, revoked 2025-06-01 (M-10)",
    "wrong-country": "NSW certificate issued by SG's CA with subject C=TH (M-11 when sent as SG)",
    "untrusted-ca": "SG NSW certificate issued by the rogue CA, which no trust list holds (M-08)",
    "rsa-1024": "SG NSW certificate with an RSA 1024-bit key (M-12; passes the trust checks)",
    "no-digital-signature": "SG NSW certificate with KeyUsage keyEncipherment only (M-08)",
    "authority-no-nonrepudiation": "SG issuing-authority certificate, KeyUsage digitalSignature only "
    "(M-08 / BR-12)",
    "authority-expired": "SG issuing-authority certificate valid 2020-01-01..2021-01-01 (BR-12)",
    "authority-not-yet-valid": "SG issuing-authority certificate valid 2044-01-01..2045-01-01 (BR-12)",
    "authority-revoked": "SG issuing-authority certificate listed on SG's CRL, revoked 2025-06-01 (BR-12)",
    "authority-untrusted-ca": "SG issuing-authority certificate issued by the rogue CA (BR-12)",
    "authority-wrong-country": "issuing-authority certificate issued by SG's CA with subject C=TH (BR-12)",
}
# The bad signers that SG's CRL lists.
REVOKED_BAD_SIGNERS = ("revoked", "authority-revoked")
# The bad signers the rogue CA issued.
ROGUE_ISSUED = ("untrusted-ca", "authority-untrusted-ca")
ROGUE_CA = "rogue-ca"


def _name(country: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def nsw_cn(party: str) -> str:
    return f"nsw.{party.lower()}.efdx.test"


def authority_cn(party: str) -> str:
    return f"{ORG} {party} Issuing Authority"


def ca_cn(party: str) -> str:
    return f"{ORG} {party} Root CA"


_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",  # nonRepudiation
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _key_usage(**flags: bool) -> x509.KeyUsage:
    unknown = set(flags) - set(_KEY_USAGE_FLAGS)
    if unknown:
        raise ValueError(f"unknown KeyUsage flags {sorted(unknown)}")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in _KEY_USAGE_FLAGS})


@dataclass
class Issued:
    """A certificate with its private key, as written to ``<stem>.pem`` and ``<stem>.key.pem``."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class LeafSpec:
    """What differs between leaves: the rest (AKI/SKI, BasicConstraints CA:false) is common."""

    country: str
    cn: str
    key_usage: x509.KeyUsage
    not_before: datetime = GOOD_FROM
    not_after: datetime = GOOD_UNTIL
    key_bits: int | None = LEAF_KEY_BITS  # None: ECDSA P-256
    extensions: list[tuple[x509.ExtensionType, bool]] = field(default_factory=list)


def _new_key(bits: int | None) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if bits is None:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_ca(country: str, cn: str) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
    name = _name(country, cn)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_FROM)
        .not_valid_after(CA_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(spec: LeafSpec, ca: Issued) -> Issued:
    key = _new_key(spec.key_bits)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.country, spec.cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(spec.key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    for ext, critical in spec.extensions:
        builder = builder.add_extension(ext, critical=critical)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def nsw_spec(party: str, *, ecdsa: bool = False, country: str | None = None) -> LeafSpec:
    """The NSW certificate: TLS client and server, envelope and signal signatures."""
    cn = nsw_cn(party)
    # keyEncipherment only makes sense for RSA (TLS RSA key transport); an EC key signs only.
    usage = (
        _key_usage(digital_signature=True)
        if ecdsa
        else _key_usage(digital_signature=True, key_encipherment=True)
    )
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName(cn),
        ]
    )
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    return LeafSpec(
        country=country or party,
        cn=cn,
        key_usage=usage,
        key_bits=None if ecdsa else LEAF_KEY_BITS,
        extensions=[(eku, False), (san, False)],
    )


def authority_spec(party: str, *, ecdsa: bool = False) -> LeafSpec:
    """The issuing-authority certificate: signs COs, so it carries nonRepudiation."""
    return LeafSpec(
        country=party,
        cn=authority_cn(party),
        key_usage=_key_usage(digital_signature=True, content_commitment=True),
        key_bits=None if ecdsa else LEAF_KEY_BITS,
    )


def make_crl(ca: Issued, revoked: Sequence[x509.Certificate] = ()) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(CRL_THIS_UPDATE)
        .next_update(CRL_NEXT_UPDATE)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    for cert in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(REVOKED_ON)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca.key, hashes.SHA256())


def bad_specs() -> dict[str, LeafSpec]:
    """The bad signers issued by SG's CA (``untrusted-ca`` is the SG NSW spec issued by the rogue CA)."""
    no_ds = nsw_spec("SG")
    no_ds.key_usage = _key_usage(key_encipherment=True)
    authority = authority_spec("SG")
    authority.key_usage = _key_usage(digital_signature=True)
    rsa_1024 = nsw_spec("SG")
    rsa_1024.key_bits = 1024
    expired = nsw_spec("SG")
    expired.not_before, expired.not_after = datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    early = nsw_spec("SG")
    early.not_before = datetime(2044, 1, 1, tzinfo=UTC)
    authority_expired, authority_early = authority_spec("SG"), authority_spec("SG")
    authority_expired.not_before, authority_expired.not_after = expired.not_before, expired.not_after
    authority_early.not_before = early.not_before
    authority_wrong_country = authority_spec("SG")
    authority_wrong_country.country = "TH"
    return {
        "expired": expired,
        "not-yet-valid": early,
        "revoked": nsw_spec("SG"),
        "wrong-country": nsw_spec("SG", country="TH"),
        "untrusted-ca": nsw_spec("SG"),
        "rsa-1024": rsa_1024,
        "no-digital-signature": no_ds,
        "authority-no-nonrepudiation": authority,
        "authority-expired": authority_expired,
        "authority-not-yet-valid": authority_early,
        "authority-revoked": authority_spec("SG"),
        "authority-untrusted-ca": authority_spec("SG"),
        "authority-wrong-country": authority_wrong_country,
    }


def _write(out: Path, stem: str, issued: Issued) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.pem").write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
    key_pem = issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (out / f"{stem}.key.pem").write_bytes(key_pem)


def generate_party(out: Path, party: str, ca: Issued, revoked: Sequence[x509.Certificate] = ()) -> None:
    """Write ``out/<party>/``: the CA, its four leaves and its CRL."""
    folder = out / party
    _write(folder, "ca", ca)
    _write(folder, "nsw", make_leaf(nsw_spec(party), ca))
    _write(folder, "nsw-ec", make_leaf(nsw_spec(party, ecdsa=True), ca))
    _write(folder, "authority", make_leaf(authority_spec(party), ca))
    _write(folder, "authority-ec", make_leaf(authority_spec(party, ecdsa=True), ca))
    (folder / "crl.pem").write_bytes(make_crl(ca, revoked).public_bytes(serialization.Encoding.PEM))


def generate_bad(out: Path, sg_ca: Issued) -> dict[str, Issued]:
    """Write ``out/bad/``: the rogue CA and every bad signer."""
    folder = out / "bad"
    rogue = make_ca("SG", f"{ORG} Rogue CA")
    _write(folder, ROGUE_CA, rogue)
    issued: dict[str, Issued] = {}
    for name, spec in bad_specs().items():
        issued[name] = make_leaf(spec, rogue if name in ROGUE_ISSUED else sg_ca)
        _write(folder, name, issued[name])
    return issued


def generate(out: Path, parties: Sequence[str] = PARTIES) -> None:
    """Generate the whole TEST ONLY PKI into ``out`` (files are overwritten, nothing else is removed)."""
    if "SG" not in parties:
        raise ValueError("the bad signers are SG's: SG must be among the parties")
    out.mkdir(parents=True, exist_ok=True)
    cas = {p: make_ca(p, ca_cn(p)) for p in parties}
    # The bad signers come first: SG's CRL must list the revoked one.
    bad = generate_bad(out, cas["SG"])
    for party, ca in cas.items():
        revoked = [bad[name].cert for name in REVOKED_BAD_SIGNERS] if party == "SG" else []
        generate_party(out, party, ca, revoked)
    (out / "README.md").write_text(readme(parties), encoding="utf-8")


# file stem -> what it is (``<stem>.pem`` and ``<stem>.key.pem``; the CRL has no key).
PARTY_FILES: dict[str, str] = {
    "ca": "the party's self-signed root CA (RSA 3072; CA:true, keyCertSign, cRLSign)",
    "nsw": "NSW certificate, RSA 2048: TLS client+server, envelope/Receipt/Error "
    "signatures (EKU serverAuth+clientAuth; SAN localhost, 127.0.0.1, nsw.<p>.efdx.test)",
    "nsw-ec": "the same NSW certificate with an ECDSA P-256 key",
    "authority": "issuing-authority certificate, RSA 2048: signs COs "
    "(KeyUsage digitalSignature+nonRepudiation)",
    "authority-ec": "the same issuing-authority certificate, ECDSA P-256",
    "crl": "the CA's CRL (2025-01-01..2045-01-01); SG's lists bad/revoked and bad/authority-revoked, "
    "the others are empty",
}


def _files(stem: str, with_key: bool = True) -> str:
    return f"`{stem}.pem` / `{stem}.key.pem`" if with_key else f"`{stem}.pem`"


def readme(parties: Sequence[str] = PARTIES) -> str:
    rows = "\n".join(
        f"| {_files(f'<P>/{stem}', stem != 'crl')} | {what} |" for stem, what in PARTY_FILES.items()
    )
    bad_rows = "\n".join(f"| {_files(f'bad/{n}')} | {what} |" for n, what in BAD_SIGNERS.items())
    return f"""# EFDX TEST ONLY PKI

**EVERYTHING IN THIS FOLDER IS TEST ONLY MATERIAL. THE PRIVATE KEYS ARE PUBLIC. NEVER USE ANY OF
THESE CERTIFICATES OR KEYS OUTSIDE THE CONFORMANCE HARNESS: NOT IN PRODUCTION, NOT IN A PILOT, NOT
IN ANY TRUST STORE.**

Every subject carries `O={ORG}`. Keys are unencrypted PKCS#8 PEM. Certificate dates are fixed (good
certificates 2025-01-01T00:00:00Z..2045-01-01T00:00:00Z, CAs 2020-01-01..2050-01-01), so validity
does not depend on when the set was generated; keys are new on every generation.

Regenerate (overwrites the files, keys change):

    python -m conformance.profiles.efdx.pki_gen [--out DIR]      # or: conformance pki generate

## Per party (`<P>` is one of {" ".join(parties)})

| file | what |
|---|---|
{rows}

## Bad signers (`bad/`), for the trust requirements M-08..M-12

All claim to be SG's (subject `C=SG`, CN `nsw.sg.efdx.test` or the SG issuing authority's) and are
issued by SG's CA, unless said otherwise.

| file | what |
|---|---|
| {_files(f"bad/{ROGUE_CA}")} | the rogue CA (`CN={ORG} Rogue CA`), in no trust list |
{bad_rows}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="conformance pki generate", description="Generate the EFDX TEST ONLY PKI."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"target directory ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"EFDX TEST ONLY PKI written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
