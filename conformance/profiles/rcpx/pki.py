"""The TEST ONLY PKI of the RCPX profile as objects: the EFDX family's (``test_vectors/efdx/pki``,
RCPX section 5, errata 1), read with RCPX's fifteen parties as its trust list and JP's bad signers as
the default. Reading is the core's (``core/testpki.PkiFolder``); trust is ``core/trust.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conformance.core.testpki import PkiFolder, TestMaterial
from conformance.family.pki_gen import default_pki_dir as default_pki_dir
from conformance.family.pki_gen import pki_loader
from conformance.profiles.rcpx.codes import PARTIES
from conformance.profiles.rcpx.pki_gen import BAD_PARTY, LEGACY_ORG, SPEC


class TestPki(PkiFolder):
    """RCPX's view of the family's TEST ONLY PKI; files are read on first use."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, PARTIES, BAD_PARTY, SPEC.label)

    def test_material(self) -> TestMaterial:
        """The folder's declaration, and the subject O of the RCPX PKI it replaced."""
        material = super().test_material()
        return dataclasses.replace(material, organisations=material.organisations | {LEGACY_ORG})

    @classmethod
    def load(cls, directory: Path | None = None) -> TestPki:
        """The PKI in ``directory`` (default: the committed one), loaded once per folder."""
        return _load(directory)


_load = pki_loader(TestPki)
