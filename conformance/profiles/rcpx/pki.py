"""The TEST ONLY PKI of the RCPX profile as objects (``test_vectors/rcpx/pki``): each RCEP party's CA,
NSW and issuing-authority credentials, CRLs and the bad signers (JP's). Reading is the core's
(``core/testpki.PkiFolder``); trust is ``core/trust.py``; this module knows where RCPX's material is.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from conformance.core.testpki import PkiFolder
from conformance.profiles.rcpx.codes import PARTIES
from conformance.profiles.rcpx.pki_gen import SPEC

BAD_PARTY = SPEC.bad_party  # every bad signer claims to be JP's


def default_pki_dir() -> Path:
    """The committed PKI shipped as package data (``test_vectors/rcpx/pki`` in the repository)."""
    folder = files("conformance.test_vectors") / "rcpx" / "pki"
    if not isinstance(folder, Path):
        raise RuntimeError(f"the TEST ONLY PKI must be installed on the file system, not in {folder}")
    return folder


class TestPki(PkiFolder):
    """RCPX's TEST ONLY PKI in a folder written by ``pki_gen``; files are read on first use."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, PARTIES, BAD_PARTY, SPEC.label)

    @classmethod
    def load(cls, directory: Path | None = None) -> TestPki:
        """The PKI in ``directory`` (default: the committed one), loaded once per folder."""
        return _load(Path(directory or default_pki_dir()).resolve())


@functools.cache
def _load(directory: Path) -> TestPki:
    return TestPki(directory)
