"""Credentials, and the trust judgement of a signer (section 4 of the profiles: M-08..M-11).

Envelope, signal and CO verification, and the TLS side, all ask the same question: is this chain a
trusted signer for party P at time T, for this purpose? One `TrustStore.check_signer` answers it with
the first failing requirement, so that every component reports the same code for the same certificate.
Key strength (M-12) is judged elsewhere, before any cryptography is done.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.core.policy import STRICT, Policy
from conformance.core.violations import Violation

NSW = "nsw"
AUTHORITY = "authority"
PURPOSES: tuple[str, ...] = (NSW, AUTHORITY)

_PURPOSE_LABEL = {NSW: "NSW certificate", AUTHORITY: "issuing authority certificate"}
# cryptography's KeyUsage attribute -> RFC 5280 name. encipherOnly/decipherOnly are left out: they
# raise unless keyAgreement is set, and say nothing about signing.
_KEY_USAGE_NAMES = {
    "digital_signature": "digitalSignature",
    "content_commitment": "nonRepudiation",
    "key_encipherment": "keyEncipherment",
    "data_encipherment": "dataEncipherment",
    "key_agreement": "keyAgreement",
    "key_cert_sign": "keyCertSign",
    "crl_sign": "cRLSign",
}


# --------------------------------------------------------------------------------------- helpers


def cert_from_der(b64: str) -> x509.Certificate:
    """A certificate from base64 DER, as in ``ds:X509Certificate`` (whitespace allowed).

    Raises ValueError when the text is not base64 or not a certificate.
    """
    der = base64.b64decode("".join(b64.split()), validate=True)
    return x509.load_der_x509_certificate(der)


def chain_from_der(values: Iterable[str]) -> tuple[x509.Certificate, ...]:
    """The chain from the ``ds:X509Certificate`` texts of a KeyInfo, signer first."""
    return tuple(cert_from_der(v) for v in values)


def subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def describe(cert: x509.Certificate) -> str:
    """A human-readable name of a certificate for expected/observed texts (never key material)."""
    return f"certificate {subject(cert)}, issued by {cert.issuer.rfc4514_string()}"


def key_usage_names(cert: x509.Certificate) -> list[str]:
    """The RFC 5280 names of the KeyUsage bits set on ``cert`` (empty when there is no KeyUsage)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []
    return [name for attr, name in _KEY_USAGE_NAMES.items() if getattr(usage, attr)]


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# ------------------------------------------------------------------------------------ credential


@dataclass(frozen=True)
class Credential:
    """A certificate with its private key and the files they live in (TLS and signxml want paths).

    ``name`` is the file stem relative to the PKI folder (``SG/nsw``, ``bad/SG/expired``); ``party`` is
    the party the credential signs as. ``cert_path`` holds the whole ``chain`` (here: the certificate).
    """

    name: str
    party: str
    cert: x509.Certificate
    key: PrivateKeyTypes = field(repr=False, compare=False)
    chain: tuple[x509.Certificate, ...]
    cert_path: Path
    key_path: Path = field(repr=False)

    def cert_pem(self) -> bytes:
        """The chain as PEM, signer first."""
        return b"".join(_pem(c) for c in self.chain)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def load_credential(pki_dir: Path, stem: str, party: str) -> Credential:
    """A TEST ONLY credential of a test PKI the harness generated. The RSA key's consistency check
    (about 60 ms a key, most of a run's start) is skipped: these are our own generated files, and a
    damaged key would only make signatures that every verifier refuses."""
    cert_path = pki_dir / f"{stem}.pem"
    key_path = pki_dir / f"{stem}.key.pem"
    chain = tuple(x509.load_pem_x509_certificates(cert_path.read_bytes()))
    key = serialization.load_pem_private_key(
        key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    return Credential(stem, party, chain[0], key, chain, cert_path, key_path)


# ---------------------------------------------------------------------------------- trust store


# The policy fields check_signer reads: with the chain, party, purpose and store, all a verdict depends
# on, save the time of receipt.
_SIGNER_POLICY_FIELDS = (
    "signer_ca",
    "key_usage",
    "non_repudiation",
    "extended_key_usage",
    "not_before",
    "not_after",
    "revocation",
    "country",
)
_CACHE_SIZE = 512  # chains remembered as trusted, per store (only trusted chains are remembered)


@dataclass(frozen=True)
class TrustStore:
    """What every NSW holds (section 4): each party's CA certificate and current CRL.

    The store is immutable (its mappings are copied in, read-only), so it can remember which
    chains it found trusted, and between which instants: a receiver sees the same few signers
    again and again, and their chain signatures, the CRL's signature and the extensions need not be
    checked anew for every message. Only a time of receipt inside the remembered window (every
    notBefore and notAfter of the chain, the CRL's nextUpdate, with the same inclusive bounds as the
    full check) is answered from memory; any other time, chain, party, purpose or policy is judged
    in full. A new CRL means a new store, which remembers nothing.
    """

    cas: Mapping[str, x509.Certificate]
    crls: Mapping[str, x509.CertificateRevocationList]
    _trusted: dict[tuple, tuple[datetime | None, datetime | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cas", MappingProxyType(dict(self.cas)))
        object.__setattr__(self, "crls", MappingProxyType(dict(self.crls)))

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.cas)

    def ca_pem(self) -> bytes:
        """All CA certificates as one PEM bundle (for ``ssl.SSLContext.load_verify_locations``)."""
        return b"".join(_pem(ca) for ca in self.cas.values())

    def check_signer(
        self,
        chain: Sequence[x509.Certificate],
        party: str,
        at: datetime,
        purpose: str,
        policy: Policy = STRICT,
    ) -> None:
        """Raise `Violation` with the first of M-08, M-09, M-10, M-11 that ``chain`` fails.

        ``chain`` is the signer certificate first, then intermediates (the party's root may be
        included or not); ``at`` is the time of receipt (timezone-aware); ``purpose`` is "nsw"
        (envelopes, Receipts, Errors, TLS) or "authority" (COs). ``policy`` is STRICT wherever
        candidates are judged.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        key = (tuple(chain), party, purpose, tuple(getattr(policy, name) for name in _SIGNER_POLICY_FIELDS))
        window = self._trusted.get(key)
        if window is not None and _inside(at, window):
            return  # this chain passed every check below, and at lies where none of them changes
        window = self._check_signer(chain, party, at, purpose, policy)
        with self._lock:
            if len(self._trusted) >= _CACHE_SIZE:
                del self._trusted[next(iter(self._trusted))]  # the oldest
            self._trusted[key] = window

    def _check_signer(
        self, chain: Sequence[x509.Certificate], party: str, at: datetime, purpose: str, policy: Policy
    ) -> tuple[datetime | None, datetime | None]:
        """The checks of ``check_signer``, in its order; returns the window of times of receipt for
        which every time-dependent check gives the same answer as at ``at`` (None: unbounded)."""
        if policy.signer_ca != "any":
            chain = self._chain_to_ca(chain, party, any_party=policy.signer_ca == "any-party")
        _check_usage(chain[0], purpose, policy)
        _check_validity(chain, at, policy)
        earliest = max((c.not_valid_before_utc for c in chain), default=None) if policy.not_before else None
        latest = min((c.not_valid_after_utc for c in chain), default=None) if policy.not_after else None
        if policy.revocation:
            crl = self._check_revocation(chain[-1], self._issuing_party(chain[-1], party), at)
            next_update = crl.next_update_utc
            if next_update is not None:
                latest = next_update if latest is None else min(latest, next_update)
        if policy.country:
            _check_country(chain[0], party)
        return earliest, latest

    def _issuing_party(self, cert: x509.Certificate, party: str) -> str:
        """The party whose CA issued ``cert`` (``party`` itself unless a seeded fault let another in)."""
        if party in self.cas and _issued_by(cert, self.cas[party]):
            return party
        return next((p for p, ca in self.cas.items() if _issued_by(cert, ca)), party)

    # M-08 ------------------------------------------------------------------------------------

    def _chain_to_ca(
        self, chain: Sequence[x509.Certificate], party: str, any_party: bool = False
    ) -> tuple[x509.Certificate, ...]:
        """The chain without the party's root, checked to end at it; M-08 otherwise.

        ``any_party`` (never STRICT) accepts a chain ending at any trusted party's CA."""
        if any_party:
            party = next((p for p, root in self.cas.items() if chain and _issued_by(chain[-1], root)), party)
        ca = self.cas.get(party)
        expected = f"a signer certificate chain ending at {party}'s CA"
        if ca is None:
            raise Violation("M-08", expected, f"no CA certificate is held for party {party!r}")
        expected = f"a signer certificate chain ending at {party}'s CA {subject(ca)}"
        chain = tuple(chain)
        if chain and chain[-1] == ca:
            chain = chain[:-1]
        if not chain:
            raise Violation("M-08", expected, "no signer certificate")
        for cert, issuer in zip(chain, chain[1:], strict=False):
            if not _is_ca(issuer) or not _issued_by(cert, issuer):
                observed = f"{describe(cert)}, not issued by the next certificate, {subject(issuer)}"
                raise Violation("M-08", expected, observed)
        if not _issued_by(chain[-1], ca):
            raise Violation("M-08", expected, describe(chain[-1]))
        return chain

    # M-10 ------------------------------------------------------------------------------------

    def _check_revocation(
        self, cert: x509.Certificate, party: str, at: datetime
    ) -> x509.CertificateRevocationList:
        """``cert`` (the one the party's CA issued) must not be on the party's current CRL (returned)."""
        crl = self._current_crl(party, at)
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            observed = (
                f"{describe(cert)}, serial {cert.serial_number:#x}, revoked on "
                f"{entry.revocation_date_utc.isoformat()} by {party}'s CRL"
            )
            raise Violation("M-10", f"a signer certificate not revoked by {party}'s CRL", observed)
        return crl

    def _current_crl(self, party: str, at: datetime) -> x509.CertificateRevocationList:
        """The party's CRL, signed by its CA and not stale at ``at``; M-10 otherwise (fail closed)."""
        ca = self.cas[party]
        crl = self.crls.get(party)
        expected = f"a current CRL of {party}'s CA {subject(ca)}, signed by it"
        if crl is None:
            raise Violation("M-10", expected, f"no CRL is held for party {party}")
        if crl.issuer != ca.subject or not _crl_signed_by(crl, ca):
            observed = (
                f"the CRL held for {party}, issued by {crl.issuer.rfc4514_string()}, fails its signature"
            )
            raise Violation("M-10", expected, observed)
        next_update = crl.next_update_utc
        if next_update is not None and at > next_update:
            observed = (
                f"the CRL held for {party} has nextUpdate {next_update.isoformat()}, before {at.isoformat()}"
            )
            raise Violation("M-10", expected, observed)
        return crl


def _inside(at: datetime, window: tuple[datetime | None, datetime | None]) -> bool:
    """``at`` within the window, both ends inclusive as the checks are (None: unbounded)."""
    earliest, latest = window
    return (earliest is None or earliest <= at) and (latest is None or at <= latest)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _crl_signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    key = ca.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return False  # a CA key no profile allows
    try:
        return crl.is_signature_valid(key)
    except (ValueError, TypeError):
        return False


def _check_usage(cert: x509.Certificate, purpose: str, policy: Policy = STRICT) -> None:
    """M-08: the leaf may sign for ``purpose`` (KeyUsage, and EKU for the NSW certificate)."""
    label = _PURPOSE_LABEL[purpose]
    usage = key_usage_names(cert)
    observed = f"{describe(cert)}, with " + _usage_text(usage)
    if "digitalSignature" not in usage and policy.key_usage:
        raise Violation("M-08", f"KeyUsage digitalSignature on the {label}", observed)
    if purpose == AUTHORITY and "nonRepudiation" not in usage and policy.non_repudiation:
        raise Violation("M-08", f"KeyUsage nonRepudiation on the {label}", observed)
    if purpose == NSW and policy.extended_key_usage:
        _check_nsw_eku(cert, label)


def _usage_text(usage: list[str]) -> str:
    if not usage:
        return "no KeyUsage"
    if len(usage) == 1:
        return f"KeyUsage {usage[0]} only"
    return "KeyUsage " + ", ".join(usage)


def _check_nsw_eku(cert: x509.Certificate, label: str) -> None:
    wanted = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
    try:
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        eku = []
    if not all(oid in eku for oid in wanted):
        present = ", ".join(wanted.get(oid, oid.dotted_string) for oid in eku) or "none"
        observed = f"{describe(cert)}, with ExtendedKeyUsage {present}"
        raise Violation("M-08", f"ExtendedKeyUsage serverAuth and clientAuth on the {label}", observed)


def _check_validity(chain: Sequence[x509.Certificate], at: datetime, policy: Policy = STRICT) -> None:
    """M-09: every certificate of the chain is valid at ``at`` (both ends inclusive, RFC 5280)."""
    for cert in chain:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if (start <= at or not policy.not_before) and (at <= end or not policy.not_after):
            continue
        state = "expired" if at > end else "not yet valid"
        observed = f"{describe(cert)}, valid {start.isoformat()} to {end.isoformat()} ({state})"
        raise Violation("M-09", f"a signer certificate valid at {at.isoformat()}", observed)


def _check_country(cert: x509.Certificate, party: str) -> None:
    """M-11: the signer certificate's subject countryName is the party it signs for."""
    countries = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)]
    if countries != [party]:
        shown = ", ".join(str(c) for c in countries) or "none"
        observed = f"{describe(cert)}, with countryName {shown}"
        raise Violation("M-11", f"a signer certificate with countryName {party}", observed)
