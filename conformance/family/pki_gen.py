"""Generate the TEST ONLY PKI of the family (EFDX 1.0 and the profiles written as a difference
from it, RCPX 1.0): one CA per party of any of them, its NSW and issuing-authority certificates, and
bad signers for every party, and the gateway CA and certificate of EFDX section 9 (``gateway/``,
``OU=gateway``, trusted for TLS only). One PKI for the family (RCPX section 5, errata 1), so that an
NSW serving EFDX and RCPX from one TLS endpoint has one TLS identity, and the harness has bad signers
for every party it may play. The generator is the core's (``core/testpki.py``); this module says what is the
family's (label, parties, host names, the rule a bad CO signer breaks) and keeps the names the packs
and their tests use. Run as ``conformance pki generate`` (``add-party TL`` adds one party).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from conformance.core import testpki
from conformance.core.testpki import ROGUE_CA as ROGUE_CA

ORG = "EFDX TEST ONLY"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "test_vectors" / "efdx" / "pki"
PROG = "python -m conformance.family.pki_gen"
# EFDX's parties (the ASEAN members party to ATIGA) and the RCEP parties outside ASEAN (RCPX's): every
# party of the family has a CA. A profile's trust store holds its own parties' CAs only (PkiFolder.parties).
FAMILY_PARTIES = ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "AU", "CN", "JP", "KR", "NZ")

SPEC = testpki.PkiSpec(
    label=ORG,
    domain="efdx",
    parties=FAMILY_PARTIES,
    co_rule="BR-12 / RBR-12",
    regenerate=(
        f"    {PROG} [--out DIR]              # or: conformance pki generate [--profile rcpx]\n"
        f"    {PROG} add-party TL [--out DIR] # one more party, the others untouched"
    ),
)
GENERATOR = testpki.PkiGenerator(SPEC, DEFAULT_OUT, f"{ORG} PKI")

# name -> what it is; the order is the order of the README table.
BAD_SIGNERS: dict[str, str] = SPEC.bad_signers()
REVOKED_BAD_SIGNERS = testpki.REVOKED_BAD_SIGNERS
ROGUE_ISSUED = testpki.ROGUE_ISSUED


def default_pki_dir() -> Path:
    """The committed PKI shipped as package data (``test_vectors/efdx/pki`` in the repository)."""
    folder = files("conformance.test_vectors") / "efdx" / "pki"
    if not isinstance(folder, Path):
        raise RuntimeError(f"the TEST ONLY PKI must be installed on the file system, not in {folder}")
    return folder


_Pki = TypeVar("_Pki")


def pki_loader(make: Callable[[Path], _Pki]) -> Callable[[Path | None], _Pki]:
    """A pack's ``TestPki.load``: the PKI in a folder (default: the committed one), made once per
    resolved folder, so that every caller of one folder shares one object (and its files read once)."""
    made = functools.cache(make)

    def load(directory: Path | None = None) -> _Pki:
        return made(Path(directory or default_pki_dir()).resolve())

    return load


def nsw_cn(party: str) -> str:
    return SPEC.nsw_cn(party)


def authority_cn(party: str) -> str:
    return SPEC.authority_cn(party)


def ca_cn(party: str) -> str:
    return SPEC.ca_cn(party)


def generate(out: Path, parties: Sequence[str] = FAMILY_PARTIES) -> None:
    """Generate the whole TEST ONLY PKI into ``out`` (files are overwritten, nothing else is removed)."""
    testpki.generate(out, SPEC, parties)


def add_party(out: Path, party: str) -> None:
    """Add one party (TL, say) to the PKI in ``out`` without touching the others."""
    testpki.add_party(out, SPEC, party)


def add_gateway(out: Path) -> bool:
    """Give the PKI in ``out`` the gateway CA and certificate of EFDX section 9 (RCPX's too) if it
    lacks them, nothing else touched but its README; False when it has them already."""
    return testpki.add_gateway(out, SPEC)


def readme(parties: Sequence[str] = FAMILY_PARTIES) -> str:
    return testpki.readme(SPEC, parties)


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATOR.main(argv, "conformance pki generate")


if __name__ == "__main__":
    raise SystemExit(main())
