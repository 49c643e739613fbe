"""A profile's TEST ONLY PKI: generating it (one CA per party, its NSW and issuing-authority
certificates, CRLs, deliberately bad signers of every party) and reading it back as credentials and a
trust store.

Every profile needs the same kinds of material (EFDX section 4, which RCPX keeps): real certificates
to sign, verify and speak TLS, and one broken signer for each trust requirement. What differs is
the label on every subject, the parties, the NSW host names and the rule a bad CO signer breaks;
a pack describes those in a ``PkiSpec`` and calls this module. Dates are fixed, so that a set's
validity does not depend on when it was generated; keys are fresh on every run. A party can be
added to an existing folder without touching the others (Timor-Leste, say).

Every party has its own bad signers (``bad/<P>/``, claiming P, issued by P's CA or the one rogue CA,
the revoked ones on P's CRL), so that the harness can play any party with every trust vector (RCPX
section 5, errata 1). One folder may serve a family of profiles (EFDX and RCPX): one CA per party of
any of them, so that an NSW serving both from one TLS endpoint has one TLS identity.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.core.trust import Credential, TrustStore, load_credential

GOOD_FROM = datetime(2025, 1, 1, tzinfo=UTC)
GOOD_UNTIL = datetime(2045, 1, 1, tzinfo=UTC)
# CAs outlive every leaf they issue, including the expired and not-yet-valid ones, so that only the
# leaf's own dates make those two bad signers bad.
CA_FROM = datetime(2020, 1, 1, tzinfo=UTC)
CA_UNTIL = datetime(2050, 1, 1, tzinfo=UTC)
REVOKED_ON = datetime(2025, 6, 1, tzinfo=UTC)
CRL_THIS_UPDATE = GOOD_FROM
CRL_NEXT_UPDATE = GOOD_UNTIL
EXPIRED = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))
NOT_YET_VALID_FROM = datetime(2044, 1, 1, tzinfo=UTC)

CA_KEY_BITS = 3072
LEAF_KEY_BITS = 2048

# The bad signers, in the order of the README table; each party has them all (bad/<P>/), its CRL lists
# its revoked ones and the rogue CA (in no trust list, one for the folder) issued the untrusted ones.
BAD_SIGNER_NAMES: tuple[str, ...] = (
    "expired",
    "not-yet-valid",
    "revoked",
    "wrong-country",
    "untrusted-ca",
    "rsa-1024",
    "no-digital-signature",
    "authority-no-nonrepudiation",
    "authority-expired",
    "authority-not-yet-valid",
    "authority-revoked",
    "authority-untrusted-ca",
    "authority-wrong-country",
    "ecdsa-p384",
    "authority-ecdsa-p384",
)
REVOKED_BAD_SIGNERS = ("revoked", "authority-revoked")
ROGUE_ISSUED = ("untrusted-ca", "authority-untrusted-ca")
ROGUE_CA = "rogue-ca"
# The gateway of EFDX section 9 (and RCPX's, errata 1): its own CA and one TLS certificate, in a folder
# of their own (``gateway/``), which is no party's: trusted for TLS only, never as a signer.
GATEWAY = "gateway"

T = TypeVar("T")


@dataclass(frozen=True)
class PkiSpec:
    """What one profile's TEST ONLY PKI is made of."""

    label: str  # O= of every subject, e.g. "EFDX TEST ONLY"
    domain: str  # NSW host names are nsw.<party>.<domain>.test
    parties: tuple[str, ...]  # the default set, one folder each
    co_rule: str  # the rule a bad CO signer breaks ("BR-12"), for the descriptions
    regenerate: str  # the README's "how to regenerate" block (indented command lines)
    bad_party: str = "SG"  # whose bad signers PkiFolder.bad gives when no party is named
    other_country: str = "TH"  # the wrong-country signers' subject C ...
    other_country_fallback: str = "VN"  # ... and theirs for other_country's own bad signers

    def wrong_country(self, party: str) -> str:
        """The subject C of ``party``'s wrong-country signers: never ``party``."""
        return self.other_country if party != self.other_country else self.other_country_fallback

    def nsw_cn(self, party: str) -> str:
        return f"nsw.{party.lower()}.{self.domain}.test"

    def authority_cn(self, party: str) -> str:
        return f"{self.label} {party} Issuing Authority"

    def ca_cn(self, party: str) -> str:
        return f"{self.label} {party} Root CA"

    def gateway_cn(self) -> str:
        return f"gateway.{self.domain}.test"

    def gateway_ca_cn(self) -> str:
        return f"{self.label} Gateway CA"

    def bad_signers(self, party: str | None = None) -> dict[str, str]:
        """Bad signer name -> what it is, in README order: ``party``'s (default: every party's,
        written ``<P>``)."""
        b, r = party or "<P>", self.co_rule
        o = (
            self.wrong_country(party)
            if party
            else f"{self.other_country} ({self.other_country_fallback} for {self.other_country})"
        )
        return {
            "expired": f"{b} NSW certificate valid 2020-01-01..2021-01-01 (M-09)",
            "not-yet-valid": f"{b} NSW certificate valid 2044-01-01..2045-01-01 (M-09)",
            "revoked": f"{b} NSW certificate listed on {b}'s CRL, revoked 2025-06-01 (M-10)",
            "wrong-country": f"NSW certificate issued by {b}'s CA with subject C={o} (M-11 when sent as {b})",
            "untrusted-ca": f"{b} NSW certificate issued by the rogue CA, which no trust list holds (M-08)",
            "rsa-1024": f"{b} NSW certificate with an RSA 1024-bit key (M-12; passes the trust checks)",
            "no-digital-signature": f"{b} NSW certificate with KeyUsage keyEncipherment only (M-08)",
            "authority-no-nonrepudiation": f"{b} issuing-authority certificate, KeyUsage "
            f"digitalSignature only (M-08 / {r})",
            "authority-expired": f"{b} issuing-authority certificate valid 2020-01-01..2021-01-01 ({r})",
            "authority-not-yet-valid": f"{b} issuing-authority certificate valid "
            f"2044-01-01..2045-01-01 ({r})",
            "authority-revoked": f"{b} issuing-authority certificate listed on {b}'s CRL, revoked 2025-06-01 "
            f"({r})",
            "authority-untrusted-ca": f"{b} issuing-authority certificate issued by the rogue CA ({r})",
            "authority-wrong-country": f"issuing-authority certificate issued by {b}'s CA with subject C={o} "
            f"({r})",
            "ecdsa-p384": f"{b} NSW certificate with an ECDSA key on curve P-384 (section 4: P-256 only) "
            "(M-12; passes the trust checks)",
            "authority-ecdsa-p384": f"{b} issuing-authority certificate with an ECDSA P-384 key ({r}; passes "
            "the trust checks)",
        }


# ------------------------------------------------------------------------------------ building


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


def key_usage(**flags: bool) -> x509.KeyUsage:
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
    curve: str = "secp256r1"  # the ECDSA key's curve, where key_bits is None
    extensions: list[tuple[x509.ExtensionType, bool]] = field(default_factory=list)
    unit: str | None = None  # the subject's OU (the gateway's: "gateway")


def _name(label: str, country: str, cn: str, unit: str | None = None) -> x509.Name:
    """C (left out when ``country`` is empty: the gateway is no party), O, OU (when given), CN."""
    return x509.Name(
        [
            *([x509.NameAttribute(NameOID.COUNTRY_NAME, country)] if country else []),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, label),
            *([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)] if unit else []),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


_CURVES: dict[str, type[ec.EllipticCurve]] = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}


def _new_key(bits: int | None, curve: str = "secp256r1") -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if bits is None:
        return ec.generate_private_key(_CURVES[curve]())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_ca(label: str, country: str, cn: str, unit: str | None = None) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
    name = _name(label, country, cn, unit)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_FROM)
        .not_valid_after(CA_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(label: str, spec: LeafSpec, ca: Issued) -> Issued:
    key = _new_key(spec.key_bits, spec.curve)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(label, spec.country, spec.cn, spec.unit))
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


def nsw_spec(pki: PkiSpec, party: str, *, ecdsa: bool = False, country: str | None = None) -> LeafSpec:
    """The NSW certificate: TLS client and server, envelope and signal signatures."""
    cn = pki.nsw_cn(party)
    # keyEncipherment only makes sense for RSA (TLS RSA key transport); an EC key signs only.
    usage = (
        key_usage(digital_signature=True)
        if ecdsa
        else key_usage(digital_signature=True, key_encipherment=True)
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


def authority_spec(pki: PkiSpec, party: str, *, ecdsa: bool = False) -> LeafSpec:
    """The issuing-authority certificate: signs COs, so it carries nonRepudiation."""
    return LeafSpec(
        country=party,
        cn=pki.authority_cn(party),
        key_usage=key_usage(digital_signature=True, content_commitment=True),
        key_bits=None if ecdsa else LEAF_KEY_BITS,
    )


def gateway_spec(pki: PkiSpec) -> LeafSpec:
    """The gateway's certificate (EFDX section 9): ``OU=gateway``, KeyUsage digitalSignature, EKU
    clientAuth and serverAuth, TLS server to senders and client to receivers. No C: it is no party's,
    so that no trust check can take it for an NSW or an issuing authority (M-08)."""
    cn = pki.gateway_cn()
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName(cn)]
    )
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    return LeafSpec(
        country="",
        cn=cn,
        key_usage=key_usage(digital_signature=True, key_encipherment=True),
        extensions=[(eku, False), (san, False)],
        unit=GATEWAY,
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


def bad_specs(pki: PkiSpec, party: str) -> dict[str, LeafSpec]:
    """``party``'s bad signers, issued by its CA (``untrusted-ca`` is its NSW spec issued by the
    rogue CA, ``authority-untrusted-ca`` its authority spec)."""
    b = party
    nsw, authority = nsw_spec(pki, b), authority_spec(pki, b)
    return {
        "expired": replace(nsw, not_before=EXPIRED[0], not_after=EXPIRED[1]),
        "not-yet-valid": replace(nsw, not_before=NOT_YET_VALID_FROM),
        "revoked": nsw_spec(pki, b),
        "wrong-country": nsw_spec(pki, b, country=pki.wrong_country(b)),
        "untrusted-ca": nsw_spec(pki, b),
        "rsa-1024": replace(nsw, key_bits=1024),
        "no-digital-signature": replace(nsw, key_usage=key_usage(key_encipherment=True)),
        "authority-no-nonrepudiation": replace(authority, key_usage=key_usage(digital_signature=True)),
        "authority-expired": replace(authority, not_before=EXPIRED[0], not_after=EXPIRED[1]),
        "authority-not-yet-valid": replace(authority, not_before=NOT_YET_VALID_FROM),
        "authority-revoked": authority_spec(pki, b),
        "authority-untrusted-ca": authority_spec(pki, b),
        "authority-wrong-country": replace(authority, country=pki.wrong_country(b)),
        "ecdsa-p384": replace(nsw_spec(pki, b, ecdsa=True), curve="secp384r1"),
        "authority-ecdsa-p384": replace(authority_spec(pki, b, ecdsa=True), curve="secp384r1"),
    }


# ------------------------------------------------------------------------------------- writing


def _write(out: Path, stem: str, issued: Issued) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.pem").write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
    key_pem = issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (out / f"{stem}.key.pem").write_bytes(key_pem)


def _read(folder: Path, stem: str) -> Issued:
    """A certificate and its key as ``_write`` wrote them."""
    cert = x509.load_pem_x509_certificate((folder / f"{stem}.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / f"{stem}.key.pem").read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{folder / stem}.key.pem: not an RSA or EC key")
    return Issued(cert, key)


def write_crl(out: Path, party: str, ca: Issued, revoked: Sequence[x509.Certificate] = ()) -> None:
    (out / party / "crl.pem").write_bytes(make_crl(ca, revoked).public_bytes(serialization.Encoding.PEM))


def generate_party(
    out: Path, pki: PkiSpec, party: str, ca: Issued, revoked: Sequence[x509.Certificate] = ()
) -> None:
    """Write ``out/<party>/``: the CA, its four leaves and its CRL."""
    folder = out / party
    _write(folder, "ca", ca)
    _write(folder, "nsw", make_leaf(pki.label, nsw_spec(pki, party), ca))
    _write(folder, "nsw-ec", make_leaf(pki.label, nsw_spec(pki, party, ecdsa=True), ca))
    _write(folder, "authority", make_leaf(pki.label, authority_spec(pki, party), ca))
    _write(folder, "authority-ec", make_leaf(pki.label, authority_spec(pki, party, ecdsa=True), ca))
    write_crl(out, party, ca, revoked)


def generate_rogue(out: Path, pki: PkiSpec) -> Issued:
    """Write ``out/bad/rogue-ca``: the one CA in no trust list, issuer of every untrusted signer."""
    rogue = make_ca(pki.label, pki.bad_party, f"{pki.label} Rogue CA")
    _write(out / "bad", ROGUE_CA, rogue)
    return rogue


def generate_bad(out: Path, pki: PkiSpec, party: str, ca: Issued, rogue: Issued) -> dict[str, Issued]:
    """Write ``out/bad/<party>/``: every bad signer of ``party`` (its CRL must then list the revoked)."""
    folder = out / "bad" / party
    issued: dict[str, Issued] = {}
    for name, spec in bad_specs(pki, party).items():
        issued[name] = make_leaf(pki.label, spec, rogue if name in ROGUE_ISSUED else ca)
        _write(folder, name, issued[name])
    return issued


def generate_gateway(out: Path, pki: PkiSpec) -> None:
    """Write ``out/gateway/``: the gateway CA (``ca``, ``OU=gateway``, no C) and the gateway's
    certificate (``gateway``) it issued (EFDX section 9)."""
    ca = make_ca(pki.label, "", pki.gateway_ca_cn(), GATEWAY)
    _write(out / GATEWAY, "ca", ca)
    _write(out / GATEWAY, GATEWAY, make_leaf(pki.label, gateway_spec(pki), ca))


def add_gateway(out: Path, pki: PkiSpec) -> bool:
    """Give a PKI folder made before the gateway (EFDX section 9) its gateway CA and certificate,
    touching no other file but the README; False when it has them already."""
    if not (out / "README.md").is_file():
        raise ValueError(f"no TEST ONLY PKI in {out}: generate one first")
    if (out / GATEWAY / f"{GATEWAY}.pem").is_file():
        return False
    generate_gateway(out, pki)
    present = parties_in(out)
    listed = [p for p in pki.parties if p in present] + [p for p in present if p not in pki.parties]
    (out / "README.md").write_text(readme(pki, listed), encoding="utf-8")
    return True


def _party_with_bad(out: Path, pki: PkiSpec, party: str, ca: Issued, rogue: Issued) -> None:
    """``party``'s folder and bad signers; its CRL lists its revoked bad signers."""
    bad = generate_bad(out, pki, party, ca, rogue)
    generate_party(out, pki, party, ca, [bad[name].cert for name in REVOKED_BAD_SIGNERS])


def generate(out: Path, pki: PkiSpec, parties: Sequence[str] | None = None) -> None:
    """Generate the whole TEST ONLY PKI into ``out`` (files are overwritten, nothing else is removed)."""
    parties = tuple(parties or pki.parties)
    if pki.bad_party not in parties:
        raise ValueError(f"{pki.bad_party} (PkiSpec.bad_party) must be among the parties")
    out.mkdir(parents=True, exist_ok=True)
    rogue = generate_rogue(out, pki)
    for party in parties:
        _party_with_bad(out, pki, party, make_ca(pki.label, party, pki.ca_cn(party)), rogue)
    generate_gateway(out, pki)
    (out / "README.md").write_text(readme(pki, parties), encoding="utf-8")


def parties_in(folder: Path) -> tuple[str, ...]:
    """The parties that have a CA in ``folder``, sorted."""
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            p.name for p in folder.iterdir() if p.name not in ("bad", GATEWAY) and (p / "ca.pem").is_file()
        )
    )


def add_party(out: Path, pki: PkiSpec, party: str) -> None:
    """Add one party (its CA, NSW and authority certificates, its bad signers issued by its CA and
    the folder's rogue CA, its CRL listing its revoked ones) to an existing PKI folder, touching no
    other party's files; the README's party list is rewritten. ``ValueError`` when the folder holds
    no PKI, the party already has one, or the code is not two capital letters."""
    if not (len(party) == 2 and party.isascii() and party.isalpha() and party.isupper()):
        raise ValueError(f"{party!r} is not an ISO 3166-1 alpha-2 code (two capital letters)")
    if not (out / "README.md").is_file():
        raise ValueError(f"no TEST ONLY PKI in {out}: generate one first")
    if (out / party).exists() or (out / "bad" / party).exists():
        raise ValueError(f"{out / party} exists already: {party} is in this PKI")
    if not (out / "bad" / f"{ROGUE_CA}.pem").is_file():
        raise ValueError(f"no rogue CA in {out / 'bad'}: generate the PKI again")
    rogue = _read(out / "bad", ROGUE_CA)
    _party_with_bad(out, pki, party, make_ca(pki.label, party, pki.ca_cn(party)), rogue)
    present = parties_in(out)
    listed = [p for p in pki.parties if p in present] + [p for p in present if p not in pki.parties]
    (out / "README.md").write_text(readme(pki, listed), encoding="utf-8")


def add_bad_signers(out: Path, pki: PkiSpec) -> list[Path]:
    """Issue the bad signers that a PKI folder made before they existed lacks (for every party that
    has bad signers), each by its party's CA, touching no other file but the README; return the
    certificates written. Only signers that no CRL lists and the rogue CA did not issue can be added
    this way (``ValueError`` otherwise: generate the PKI again)."""
    written: list[Path] = []
    for party in parties_in(out):
        folder = out / "bad" / party
        if not folder.is_dir():
            continue
        ca: Issued | None = None
        for name, spec in bad_specs(pki, party).items():
            if (folder / f"{name}.pem").is_file():
                continue
            if name in REVOKED_BAD_SIGNERS or name in ROGUE_ISSUED:
                raise ValueError(f"{folder / name}.pem is missing and cannot be added alone: generate again")
            ca = ca or _read(out / party, "ca")
            _write(folder, name, make_leaf(pki.label, spec, ca))
            written.append(folder / f"{name}.pem")
    if written:
        present = parties_in(out)
        listed = [p for p in pki.parties if p in present] + [p for p in present if p not in pki.parties]
        (out / "README.md").write_text(readme(pki, listed), encoding="utf-8")
    return written


# ---------------------------------------------------------------------------------------- README


def _party_files(pki: PkiSpec) -> dict[str, str]:
    """file stem -> what it is (``<stem>.pem`` and ``<stem>.key.pem``; the CRL has no key)."""
    return {
        "ca": "the party's self-signed root CA (RSA 3072; CA:true, keyCertSign, cRLSign)",
        "nsw": "NSW certificate, RSA 2048: TLS client+server, envelope/Receipt/Error "
        f"signatures (EKU serverAuth+clientAuth; SAN localhost, 127.0.0.1, nsw.<p>.{pki.domain}.test)",
        "nsw-ec": "the same NSW certificate with an ECDSA P-256 key",
        "authority": "issuing-authority certificate, RSA 2048: signs COs "
        "(KeyUsage digitalSignature+nonRepudiation)",
        "authority-ec": "the same issuing-authority certificate, ECDSA P-256",
        "crl": "the CA's CRL (2025-01-01..2045-01-01), listing `bad/<P>/revoked` and "
        "`bad/<P>/authority-revoked`",
    }


def _gateway_files(pki: PkiSpec) -> dict[str, str]:
    """``gateway/`` file stem -> what it is (EFDX section 9)."""
    return {
        "ca": f"the gateway CA (`CN={pki.gateway_ca_cn()}`, `OU=gateway`, no C), trusted for TLS only",
        GATEWAY: f"the gateway's certificate, RSA 2048 (`OU=gateway`, `CN={pki.gateway_cn()}`, no C; "
        "KeyUsage digitalSignature, EKU serverAuth+clientAuth; SAN localhost, 127.0.0.1): TLS server to "
        "senders, client to receivers; as a signer it is no party's (M-08)",
    }


def _files(stem: str, with_key: bool = True) -> str:
    return f"`{stem}.pem` / `{stem}.key.pem`" if with_key else f"`{stem}.pem`"


def readme(pki: PkiSpec, parties: Sequence[str] | None = None) -> str:
    parties = tuple(parties or pki.parties)
    rows = "\n".join(
        f"| {_files(f'<P>/{stem}', stem != 'crl')} | {what} |" for stem, what in _party_files(pki).items()
    )
    bad_rows = "\n".join(f"| {_files(f'bad/<P>/{n}')} | {what} |" for n, what in pki.bad_signers().items())
    gateway_rows = "\n".join(
        f"| {_files(f'{GATEWAY}/{stem}')} | {what} |" for stem, what in _gateway_files(pki).items()
    )
    return f"""# {pki.label} PKI

**EVERYTHING IN THIS FOLDER IS TEST ONLY MATERIAL. THE PRIVATE KEYS ARE PUBLIC. NEVER USE ANY OF
THESE CERTIFICATES OR KEYS OUTSIDE THE CONFORMANCE HARNESS: NOT IN PRODUCTION, NOT IN A PILOT, NOT
IN ANY TRUST STORE.**

Every subject carries `O={pki.label}`. Keys are unencrypted PKCS#8 PEM. Certificate dates are fixed (good
certificates 2025-01-01T00:00:00Z..2045-01-01T00:00:00Z, CAs 2020-01-01..2050-01-01), so validity
does not depend on when the set was generated; keys are new on every generation.

Regenerate (overwrites the files, keys change):

{pki.regenerate}

## Per party (`<P>` is one of {" ".join(parties)})

| file | what |
|---|---|
{rows}

## The gateway (`gateway/`), EFDX section 9

| file | what |
|---|---|
{gateway_rows}

## Bad signers (`bad/<P>/`), for the trust requirements M-08..M-12

Every party has its own, so that a harness playing any party has them all. Those in `bad/<P>/`
claim to be `<P>`'s (subject `C=<P>`, CN `nsw.<p>.{pki.domain}.test` or the `<P>` issuing
authority's) and are issued by `<P>`'s CA, unless said otherwise; `<P>/crl.pem` lists the revoked
ones. {pki.bad_party}'s are the default (`PkiFolder.bad(name)` without a party).

| file | what |
|---|---|
| {_files(f"bad/{ROGUE_CA}")} | the rogue CA (`CN={pki.label} Rogue CA`), in no trust list |
{bad_rows}
"""


# ------------------------------------------------------------------------------ test material


@dataclass(frozen=True)
class TestMaterial:
    """What a pack declares to be its TEST ONLY material: certificates whose private keys are public,
    so that whatever they sign proves integrity, never who signed. A certificate is test material
    when its subject's O is one of ``organisations``, its SHA-256 is one of ``fingerprints``, or one
    of ``issuers`` issued it. ``anchors`` are the CAs a test signer must chain to (the pack's trust).
    The engine asks every installed pack for its declaration (``Profile.declared_test_material``)."""

    __test__ = False  # not a pytest test class, despite the name

    name: str  # whose material, for the reason a report gives: "EFDX TEST ONLY PKI"
    organisations: frozenset[str] = frozenset()
    fingerprints: frozenset[str] = frozenset()  # SHA-256, lower-case hex
    issuers: tuple[x509.Certificate, ...] = ()
    anchors: tuple[x509.Certificate, ...] = ()

    @classmethod
    def of_certificates(
        cls,
        name: str,
        certificates: Iterable[x509.Certificate],
        organisations: Iterable[str] = (),
        anchors: Iterable[x509.Certificate] = (),
    ) -> TestMaterial:
        """Every certificate listed by fingerprint, every CA among them as an issuer."""
        certs = tuple(certificates)
        return cls(
            name,
            frozenset(organisations),
            frozenset(c.fingerprint(hashes.SHA256()).hex() for c in certs),
            tuple(c for c in certs if _is_ca(c)),
            tuple(anchors),
        )

    def why(self, cert: x509.Certificate) -> str | None:
        """Why ``cert`` is this pack's test material, or None when it is not."""
        subject = cert.subject.rfc4514_string()
        for attribute in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
            if attribute.value in self.organisations:
                return f"{subject} is {self.name} material (O={attribute.value})"
        if cert.fingerprint(hashes.SHA256()).hex() in self.fingerprints:
            return f"{subject} is a certificate of the {self.name}"
        for issuer in self.issuers:
            try:
                cert.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            return f"{subject} was issued by {issuer.subject.rfc4514_string()} of the {self.name}"
        return None

    def in_chain(self, chain: Sequence[x509.Certificate]) -> str | None:
        """Why some certificate of ``chain`` is this pack's test material, or None."""
        for cert in chain:
            reason = self.why(cert)
            if reason is not None:
                return reason
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


# ------------------------------------------------------------------------------------- reading


class PkiFolder:
    """A TEST ONLY PKI in a folder written by ``generate``; files are read on first use."""

    def __init__(
        self, directory: Path, parties: Sequence[str], bad_party: str = "SG", label: str | None = None
    ) -> None:
        if not (directory / "README.md").is_file():
            raise FileNotFoundError(
                f"no TEST ONLY PKI in {directory}: run `conformance pki generate --out {directory}`"
            )
        self.directory = directory
        self.parties = tuple(parties)
        self.bad_party = bad_party
        self.label = label  # O= of every subject (PkiSpec.label), when the pack says it
        self._cache: dict[str, object] = {}

    def test_material(self) -> TestMaterial:
        """This folder as test material: its label (O=), and every certificate in it by fingerprint
        (CAs, leaves, bad signers, the rogue CA), whatever their subjects say."""
        return self._cached("test-material", self._read_material)

    def _read_material(self) -> TestMaterial:
        certs: list[x509.Certificate] = []
        for path in sorted(self.directory.rglob("*.pem")):
            if path.name.endswith(".key.pem") or path.name == "crl.pem":
                continue
            try:
                certs += x509.load_pem_x509_certificates(path.read_bytes())
            except ValueError:
                continue  # not a certificate (a CRL under another name): nothing to declare
        present = [p for p in self.parties if (self.directory / p / "ca.pem").is_file()]
        name = f"{self.label} PKI" if self.label else f"TEST ONLY PKI in {self.directory}"
        return TestMaterial.of_certificates(
            name, certs, (self.label,) if self.label else (), [self.ca_cert(p) for p in present]
        )

    def nsw(self, party: str, ecdsa: bool = False) -> Credential:
        return self._credential(f"{self._party(party)}/{'nsw-ec' if ecdsa else 'nsw'}", party)

    def authority(self, party: str, ecdsa: bool = False) -> Credential:
        return self._credential(f"{self._party(party)}/{'authority-ec' if ecdsa else 'authority'}", party)

    def ca_path(self, party: str) -> Path:
        return self.directory / self._party(party) / "ca.pem"

    def ca_cert(self, party: str) -> x509.Certificate:
        return self._cached(
            f"ca:{party}", lambda: x509.load_pem_x509_certificate(self.ca_path(party).read_bytes())
        )

    def crl_path(self, party: str) -> Path:
        return self.directory / self._party(party) / "crl.pem"

    def crl(self, party: str) -> x509.CertificateRevocationList:
        return self._cached(f"crl:{party}", lambda: x509.load_pem_x509_crl(self.crl_path(party).read_bytes()))

    def bad(self, name: str, party: str | None = None) -> Credential:
        """``party``'s bad signer (see ``bad_names``; default party: ``bad_party``), claiming that
        party, or the rogue CA (``rogue-ca``). KeyError when the folder has none for the party."""
        if name == ROGUE_CA:
            return self._credential(f"bad/{ROGUE_CA}", self.bad_party)
        if name not in BAD_SIGNER_NAMES:
            raise KeyError(f"no bad signer {name!r}; known: {', '.join(BAD_SIGNER_NAMES)}")
        party = party or self.bad_party
        if not self.has_bad(party):
            raise KeyError(f"no TEST ONLY bad signers for party {party!r} in {self.directory / 'bad'}")
        return self._credential(f"bad/{party}/{name}", party)

    def gateway(self) -> Credential:
        """The gateway's TLS certificate and key (EFDX section 9; ``gateway/gateway``). It claims no
        party; FileNotFoundError when the folder predates the gateway (``add_gateway``)."""
        return self._credential(f"{GATEWAY}/{GATEWAY}", "")

    def gateway_ca_cert(self) -> x509.Certificate:
        """The gateway CA (``gateway/ca.pem``), which a receiver claiming ``gateway`` trusts for TLS only."""
        return self._cached(
            "ca:gateway",
            lambda: x509.load_pem_x509_certificate((self.directory / GATEWAY / "ca.pem").read_bytes()),
        )

    def has_bad(self, party: str) -> bool:
        """Whether the folder holds ``party``'s bad signers (``bad/<party>/``)."""
        folder = self.directory / "bad" / party
        return party != ROGUE_CA and all((folder / f"{n}.pem").is_file() for n in BAD_SIGNER_NAMES)

    def bad_names(self) -> list[str]:
        return list(BAD_SIGNER_NAMES)

    def trust_store(self, parties: Iterable[str] | None = None) -> TrustStore:
        """Every party's CA and CRL (default: the profile's parties)."""
        chosen = tuple(self.parties if parties is None else parties)
        return TrustStore({p: self.ca_cert(p) for p in chosen}, {p: self.crl(p) for p in chosen})

    def _party(self, party: str) -> str:
        if party in ("bad", GATEWAY) or not (self.directory / party / "ca.pem").is_file():
            raise KeyError(f"no TEST ONLY credentials for party {party!r} in {self.directory}")
        return party

    def _credential(self, stem: str, party: str) -> Credential:
        return self._cached(stem, lambda: load_credential(self.directory, stem, party))

    def _cached(self, key: str, load: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]  # type: ignore[return-value]


# --------------------------------------------------------------------------------------- command


@dataclass(frozen=True)
class PkiGenerator:
    """A pack's generator as the command sees it: ``conformance pki generate|add-party|path``."""

    pki: PkiSpec
    default_out: Path  # the pack's committed folder
    title: str  # "EFDX TEST ONLY PKI"

    def generate(self, out: Path | None = None) -> Path:
        target = out or self.default_out
        generate(target, self.pki)
        return target

    def add_party(self, party: str, out: Path | None = None) -> Path:
        target = out or self.default_out
        add_party(target, self.pki, party)
        return target

    def main(self, argv: Sequence[str] | None, prog: str) -> int:
        """``[--out DIR]`` generates; ``add-party XX [--out DIR]`` adds one party."""
        args = list(argv or [])
        if args[:1] == ["add-party"]:
            parser = argparse.ArgumentParser(
                prog=f"{prog} add-party", description=f"Add a party to the {self.title}."
            )
            parser.add_argument("party", help="ISO 3166-1 alpha-2 code, e.g. TL")
            parser.add_argument(
                "--out", type=Path, default=self.default_out, help=f"PKI folder ({self.default_out})"
            )
            added = parser.parse_args(args[1:])
            try:
                target = self.add_party(added.party, added.out)
            except ValueError as exc:
                parser.error(str(exc))
            print(f"{added.party} added to the {self.title} in {target}")
            return 0
        parser = argparse.ArgumentParser(prog=prog, description=f"Generate the {self.title}.")
        parser.add_argument(
            "--out", type=Path, default=self.default_out, help=f"target directory ({self.default_out})"
        )
        target = self.generate(parser.parse_args(args).out)
        print(f"{self.title} written to {target}")
        return 0
