"""The TEST ONLY PKI of the EFDX profile as objects: each party's CA, NSW and issuing-authority
credentials, CRLs and every party's bad signers, loaded from the folder
`conformance.family.pki_gen` writes. The folder is the family's (RCPX reads it too, with its
own parties); EFDX's trust store holds EFDX's ten parties' CAs.

Reading the folder is the core's (``core/testpki.PkiFolder``), trust itself (chain, validity,
revocation, key usages, country) is ``core/trust.py``; this module only knows where EFDX's material is.
"""

from __future__ import annotations

from pathlib import Path

from conformance.core.testpki import PkiFolder
from conformance.family.pki_gen import SPEC, pki_loader
from conformance.family.pki_gen import default_pki_dir as default_pki_dir
from conformance.profiles.efdx.codes import PARTIES

BAD_PARTY = SPEC.bad_party  # the default party of a bad signer (every party has them all)


class TestPki(PkiFolder):
    """EFDX's TEST ONLY PKI in a folder written by `conformance pki generate`; files are read on first use."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, PARTIES, BAD_PARTY, SPEC.label)

    @classmethod
    def load(cls, directory: Path | None = None) -> TestPki:
        """The PKI in ``directory`` (default: the committed one), loaded once per folder."""
        return _load(directory)


_load = pki_loader(TestPki)
