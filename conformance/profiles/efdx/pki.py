"""The TEST ONLY PKI of the EFDX profile as objects: each party's CA, NSW and issuing-authority
credentials, CRLs and the bad signers, loaded from the folder `conformance.profiles.efdx.pki_gen` writes.

Trust itself (a signer's chain, validity, revocation, key usages, country) is the core's
(``core/trust.py``); this module only knows where the test material is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from cryptography import x509

from conformance.core.trust import Credential, TrustStore, load_credential
from conformance.profiles.efdx.codes import PARTIES
from conformance.profiles.efdx.pki_gen import BAD_SIGNERS, ROGUE_CA

T = TypeVar("T")
BAD_PARTY = "SG"  # every bad signer claims to be SG's


# ------------------------------------------------------------------------------------- test PKI


def default_pki_dir() -> Path:
    """The committed PKI shipped as package data (``test_vectors/pki`` in the repository)."""
    folder = files("conformance.test_vectors") / "efdx" / "pki"
    if not isinstance(folder, Path):
        raise RuntimeError(f"the TEST ONLY PKI must be installed on the file system, not in {folder}")
    return folder


class TestPki:
    """The TEST ONLY PKI in a folder written by `conformance pki generate`; files are read on first use."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path) -> None:
        if not (directory / "README.md").is_file():
            raise FileNotFoundError(
                f"no TEST ONLY PKI in {directory}: run `conformance pki generate --out {directory}`"
            )
        self.directory = directory
        self._cache: dict[str, object] = {}

    @classmethod
    def load(cls, directory: Path | None = None) -> TestPki:
        """The PKI in ``directory`` (default: the committed one), loaded once per folder."""
        return _load(Path(directory or default_pki_dir()).resolve())

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

    def bad(self, name: str) -> Credential:
        """A bad signer (see `bad_names`) or the rogue CA (``rogue-ca``); all claim to be SG's."""
        if name not in BAD_SIGNERS and name != ROGUE_CA:
            raise KeyError(f"no bad signer {name!r}; known: {', '.join(self.bad_names())}")
        return self._credential(f"bad/{name}", BAD_PARTY)

    @staticmethod
    def bad_names() -> list[str]:
        return list(BAD_SIGNERS)

    def trust_store(self, parties: Iterable[str] = PARTIES) -> TrustStore:
        parties = tuple(parties)
        return TrustStore({p: self.ca_cert(p) for p in parties}, {p: self.crl(p) for p in parties})

    def _party(self, party: str) -> str:
        if party == "bad" or not (self.directory / party / "ca.pem").is_file():
            raise KeyError(f"no TEST ONLY credentials for party {party!r} in {self.directory}")
        return party

    def _credential(self, stem: str, party: str) -> Credential:
        return self._cached(stem, lambda: load_credential(self.directory, stem, party))

    def _cached(self, key: str, load: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]  # type: ignore[return-value]


@functools.cache
def _load(directory: Path) -> TestPki:
    return TestPki(directory)
