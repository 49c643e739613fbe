"""The site's evidence PKI, and what is TEST ONLY material.

`conformance pki site --out DIR --passphrase-env NAME` makes what a certification site signs its
evidence with: a site CA (the trust anchor that partner states give `conformance evidence verify
--trust-anchor`) and a signing key and certificate it issued, both keys encrypted with a passphrase
read from the environment, never from the command line, never printed. `[site] key_file`,
`cert_file` and `passphrase_env` then name them.

A run certifies only with a site key whose chain holds no TEST ONLY material: every installed pack
is asked what its test material is (``Profile.declared_test_material``), third-party packs included;
no label is written here. The results are given the answer as data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conformance.core.profile import Profile
from conformance.core.testpki import TestMaterial, key_usage
from conformance.core.trust import Credential
from conformance.harness import registry

CA_FILE, CA_KEY_FILE, CERT_FILE, KEY_FILE = "site-ca.pem", "site-ca.key.pem", "site.pem", "site.key.pem"
CA_DAYS, SIGNER_DAYS = 10 * 366, 3 * 366
MIN_PASSPHRASE = 12  # characters
NO_SITE_KEY = "not a site key ([site] key_file and cert_file are not configured)"


class SitePkiError(ValueError):
    """Why the site PKI cannot be made; one line, never a key."""


# ------------------------------------------------------------------------------- test material


def installed_test_material(also: Iterable[Profile] = ()) -> tuple[list[TestMaterial], list[str]]:
    """What every installed pack (and ``also``) declares TEST ONLY; and, for each pack whose
    declaration could not be read, why (then no signer can be told apart from its material)."""
    packs = {profile.key: profile for profile in (*registry.installed().values(), *also)}
    found: list[TestMaterial] = []
    unreadable: list[str] = []
    for profile in packs.values():
        try:
            found.append(profile.declared_test_material())
        except Exception as exc:  # a pack's broken PKI must not pass for "no test material"
            unreadable.append(f"the test material of {profile.title} cannot be read ({type(exc).__name__})")
    unreadable += [f"the pack {name} does not load" for name in registry.broken()]
    return found, unreadable


def signer_test_material(signer: Credential, also: Iterable[Profile] = ()) -> str | None:
    """Why ``signer`` may not certify a run (its chain holds some installed pack's TEST ONLY
    material, or it is not a site key at all), or None when it may."""
    chain: Sequence[x509.Certificate] = signer.chain or (signer.cert,)
    material, unreadable = installed_test_material(also)
    for declared in material:
        reason = declared.in_chain(chain)
        if reason is not None:
            return reason
    if signer.name != "site":
        return NO_SITE_KEY
    if unreadable:
        return f"{unreadable[0]}: the site key cannot be told apart from it"
    return None


# ------------------------------------------------------------------------------------ site PKI


@dataclass(frozen=True)
class SiteFiles:
    ca: Path
    ca_key: Path
    cert: Path
    key: Path

    def all(self) -> tuple[Path, ...]:
        return (self.ca, self.ca_key, self.cert, self.key)


def site_files(out: Path) -> SiteFiles:
    return SiteFiles(out / CA_FILE, out / CA_KEY_FILE, out / CERT_FILE, out / KEY_FILE)


def passphrase_from(
    variable: str | None, what: str = "--passphrase-env", minimum: int = MIN_PASSPHRASE
) -> bytes:
    """The passphrase held by the environment variable ``variable`` (at least ``minimum``
    characters: a new key gets a real one, an existing key's is whatever it was made with);
    SitePkiError when there is none. The message names the variable, never its value."""
    if not variable:
        raise SitePkiError(f"{what}: name the environment variable that holds the passphrase")
    value = os.environ.get(variable)
    if value is None:
        raise SitePkiError(f"{what}: environment variable {variable} is not set")
    if len(value) < max(minimum, 1):
        raise SitePkiError(
            f"{what}: the passphrase in {variable} is shorter than {max(minimum, 1)} characters"
        )
    return value.encode("utf-8")


def _name(organisation: str, country: str | None, common: str) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)] if country else []
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ]
    return x509.Name(attributes)


def generate(
    out: Path, passphrase: bytes, organisation: str, country: str | None = None, now: datetime | None = None
) -> SiteFiles:
    """Write the site CA and the evidence signer it issues into ``out`` (created), keys encrypted with
    ``passphrase``; SitePkiError when a file is there already (nothing is overwritten) or the name
    would be taken for TEST ONLY material."""
    if country is not None and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise SitePkiError(f"--country: {country!r} is not an ISO 3166-1 alpha-2 code")
    if "TEST ONLY" in organisation.upper():
        raise SitePkiError(f"--name: {organisation!r} reads as TEST ONLY material; name the site")
    files = site_files(out)
    there = [path for path in files.all() if path.exists() or path.is_symlink()]
    if there:
        raise SitePkiError(f"--out: {there[0]} exists already; nothing was overwritten")
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    key = ec.generate_private_key(ec.SECP256R1())
    country = country.upper() if country else None
    ca_name = _name(organisation, country, f"{organisation} evidence CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA384())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, country, f"{organisation} evidence signer"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=SIGNER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA384())
    )
    pem = serialization.Encoding.PEM
    encryption = serialization.BestAvailableEncryption(passphrase)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for path, body, mode in (
            (files.ca_key, ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, encryption), 0o600),
            (files.key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, encryption), 0o600),
            (files.ca, ca.public_bytes(pem), 0o644),
            (files.cert, cert.public_bytes(pem) + ca.public_bytes(pem), 0o644),
        ):
            _create(path, body, mode)
            written.append(path)
    except FileExistsError as exc:  # made by someone else meanwhile: leave theirs, take back ours
        for path in written:
            path.unlink(missing_ok=True)
        raise SitePkiError(f"--out: {exc.filename} exists already; nothing was overwritten") from None
    return files


def _create(path: Path, body: bytes, mode: int) -> None:
    """Write a new file (never an existing one, nor through a link), readable only as ``mode`` says."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(body)


def config_lines(files: SiteFiles, variable: str) -> str:
    """The [site] section that uses them."""
    return (
        "[site]\n"
        f"key_file = {json.dumps(str(files.key))}\n"
        f"cert_file = {json.dumps(str(files.cert))}\n"
        f"passphrase_env = {json.dumps(variable)}\n"
    )
