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

from conformance.core.checks import Check, Checks
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


# The checks check_signer runs: with the chain, party, purpose and store, all a verdict depends on,
# save the time of receipt.
SIGNER_CHECKS = (
    "signer.chain",
    "signer.key-usage",
    "signer.non-repudiation",
    "signer.extended-key-usage",
    "signer.not-before",
    "signer.not-after",
    "signer.revocation",
    "signer.country",
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
    full check) is answered from memory; any other time, chain, party, purpose or check is judged
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
        checks: Checks | None = None,
    ) -> None:
        """Raise `Violation` with the first of M-08, M-09, M-10, M-11 that ``chain`` fails.

        ``chain`` is the signer certificate first, then intermediates (the party's root may be
        included or not); ``at`` is the time of receipt (timezone-aware); ``purpose`` is "nsw"
        (envelopes, Receipts, Errors, TLS) or "authority" (COs). ``checks`` are the spec's
        (``SPEC_CHECKS``) wherever candidates are judged.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        checks = checks or SPEC_CHECKS
        key = (tuple(chain), party, purpose, checks.key(SIGNER_CHECKS))
        window = self._trusted.get(key)
        if window is not None and _inside(at, window):
            return  # this chain passed every check below, and at lies where none of them changes
        window = self._check_signer(chain, party, at, purpose, checks)
        with self._lock:
            if len(self._trusted) >= _CACHE_SIZE:
                del self._trusted[next(iter(self._trusted))]  # the oldest
            self._trusted[key] = window

    def _check_signer(
        self, chain: Sequence[x509.Certificate], party: str, at: datetime, purpose: str, checks: Checks
    ) -> tuple[datetime | None, datetime | None]:
        """The checks of ``check_signer``, in its order; returns the window of times of receipt for
        which every time-dependent check gives the same answer as at ``at`` (None: unbounded; a
        window narrower than the checks need only costs a check in full)."""
        chain = checks["signer.chain"](self, chain, party)
        for name in ("signer.key-usage", "signer.non-repudiation", "signer.extended-key-usage"):
            checks[name](chain[0], purpose)
        for cert in chain:
            checks["signer.not-before"](cert, at)
            checks["signer.not-after"](cert, at)
        earliest = max((c.not_valid_before_utc for c in chain), default=None)
        latest = min((c.not_valid_after_utc for c in chain), default=None)
        next_update = checks["signer.revocation"](self, chain, party, at)
        if next_update is not None:
            latest = next_update if latest is None else min(latest, next_update)
        checks["signer.country"](chain[0], party)
        return earliest, latest

    def issuing_party(self, cert: x509.Certificate, party: str) -> str:
        """The party whose CA issued ``cert`` (``party`` itself unless a seeded fault let another in)."""
        if party in self.cas and _issued_by(cert, self.cas[party]):
            return party
        return next((p for p, ca in self.cas.items() if _issued_by(cert, ca)), party)

    # M-08 ------------------------------------------------------------------------------------

    def chain_to_ca(self, chain: Sequence[x509.Certificate], party: str) -> tuple[x509.Certificate, ...]:
        """The chain without the party's root, checked to end at it; M-08 otherwise."""
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

    def check_revocation(
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


def _usage_observed(cert: x509.Certificate) -> tuple[list[str], str]:
    usage = key_usage_names(cert)
    return usage, f"{describe(cert)}, with " + _usage_text(usage)


def digital_signature_usage(cert: x509.Certificate, purpose: str) -> None:
    """M-08: the leaf's KeyUsage allows digitalSignature."""
    usage, observed = _usage_observed(cert)
    if "digitalSignature" not in usage:
        raise Violation("M-08", f"KeyUsage digitalSignature on the {_PURPOSE_LABEL[purpose]}", observed)


def non_repudiation_usage(cert: x509.Certificate, purpose: str) -> None:
    """M-08 (BR-12): an issuing authority's leaf also allows nonRepudiation."""
    usage, observed = _usage_observed(cert)
    if purpose == AUTHORITY and "nonRepudiation" not in usage:
        raise Violation("M-08", f"KeyUsage nonRepudiation on the {_PURPOSE_LABEL[purpose]}", observed)


def nsw_extended_key_usage(cert: x509.Certificate, purpose: str) -> None:
    """M-08: an NSW certificate has ExtendedKeyUsage serverAuth and clientAuth."""
    if purpose == NSW:
        _check_nsw_eku(cert, _PURPOSE_LABEL[purpose])


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


def _invalid(cert: x509.Certificate, at: datetime, state: str) -> Violation:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    observed = f"{describe(cert)}, valid {start.isoformat()} to {end.isoformat()} ({state})"
    return Violation("M-09", f"a signer certificate valid at {at.isoformat()}", observed)


def not_before(cert: x509.Certificate, at: datetime) -> None:
    """M-09: a certificate of the chain is valid at ``at``: from its notBefore (inclusive, RFC 5280)."""
    if at < cert.not_valid_before_utc:
        raise _invalid(cert, at, "not yet valid")


def not_after(cert: x509.Certificate, at: datetime) -> None:
    """M-09: ... up to its notAfter (inclusive)."""
    if at > cert.not_valid_after_utc:
        raise _invalid(cert, at, "expired")


def chain_to_party_ca(store: TrustStore, chain: Sequence[x509.Certificate], party: str) -> tuple:
    """M-08: the chain ends at the CA of the party it signs for (returned without that root)."""
    return store.chain_to_ca(chain, party)


def not_revoked(
    store: TrustStore, chain: Sequence[x509.Certificate], party: str, at: datetime
) -> datetime | None:
    """M-10: the certificate the party's CA issued is not on its current CRL; returns the CRL's
    nextUpdate (after which the answer may change)."""
    crl = store.check_revocation(chain[-1], store.issuing_party(chain[-1], party), at)
    return crl.next_update_utc


def country_of_party(cert: x509.Certificate, party: str) -> None:
    """M-11: the signer certificate's subject countryName is the party it signs for."""
    countries = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)]
    if countries != [party]:
        shown = ", ".join(str(c) for c in countries) or "none"
        observed = f"{describe(cert)}, with countryName {shown}"
        raise Violation("M-11", f"a signer certificate with countryName {party}", observed)


CHECKS = (
    Check("signer.chain", "M-08", chain_to_party_ca),
    Check("signer.key-usage", "M-08", digital_signature_usage),
    Check("signer.non-repudiation", "M-08", non_repudiation_usage),
    Check("signer.extended-key-usage", "M-08", nsw_extended_key_usage),
    Check("signer.not-before", "M-09", not_before),
    Check("signer.not-after", "M-09", not_after),
    Check("signer.revocation", "M-10", not_revoked),
    Check("signer.country", "M-11", country_of_party),
)
SPEC_CHECKS = Checks.of(CHECKS)
