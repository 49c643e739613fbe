"""RCPX 1.0's TEST ONLY PKI is the EFDX family's (RCPX section 5, errata 1: one TEST ONLY PKI may
serve the whole family, so that an NSW serving both profiles from one TLS endpoint has one TLS
identity): ``conformance.family.pki_gen`` generates it, with a CA for each of the fifteen RCEP
parties (AU BN CN ID JP KH KR LA MM MY NZ PH SG TH VN) and bad signers for every party. This module
keeps the names RCPX's callers use. Adding a party (Timor-Leste, say) is one command:
``conformance pki add-party TL --profile rcpx`` (the same folder as without ``--profile``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.core.testpki import ROGUE_CA as ROGUE_CA
from conformance.family import pki_gen as family
from conformance.profiles.rcpx.codes import PARTIES

ORG = family.ORG
DEFAULT_OUT = family.DEFAULT_OUT
SPEC = family.SPEC
GENERATOR = family.GENERATOR
BAD_PARTY = "JP"  # whose bad signers RCPX's callers get when they name no party (its vectors' sender)
BAD_SIGNERS: dict[str, str] = SPEC.bad_signers(BAD_PARTY)
# The RCPX TEST ONLY PKI (test_vectors/rcpx/pki) that this replaced: its subjects said so, and its
# keys were published too; it is still declared as test material (rcpx/pki.py).
LEGACY_ORG = "RCPX TEST ONLY"

assert set(PARTIES) <= set(SPEC.parties), "every RCPX party has a CA in the family's PKI"


def generate(out: Path, parties: Sequence[str] = SPEC.parties) -> None:
    """Generate the family's TEST ONLY PKI into ``out`` (files are overwritten, nothing else removed)."""
    family.generate(out, parties)


def add_party(out: Path, party: str) -> None:
    """Add one party (TL, say) to the PKI in ``out`` without touching the others."""
    family.add_party(out, party)


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATOR.main(argv, "conformance pki generate --profile rcpx")


if __name__ == "__main__":
    raise SystemExit(main())
