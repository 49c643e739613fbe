"""Generate RCPX 1.0's TEST ONLY PKI: one CA per RCEP party (AU BN CN ID JP KH KR LA MM MY NZ PH SG
TH VN), its NSW and issuing-authority ("issuing body") certificates, CRLs, and bad signers. The
generator is the core's (``core/testpki.py``); this module says what is RCPX's.

The bad signers claim to be Japan's (JP, the sample CO's issuing party) and the wrong-country ones
carry C=KR. Adding a party (Timor-Leste, say) is one command:
``conformance pki add-party TL --profile rcpx``
(or ``python -m conformance.profiles.rcpx.pki_gen add-party TL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.core import testpki
from conformance.core.testpki import ROGUE_CA as ROGUE_CA
from conformance.profiles.rcpx.codes import PARTIES

ORG = "RCPX TEST ONLY"
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "test_vectors" / "rcpx" / "pki"
PROG = "python -m conformance.profiles.rcpx.pki_gen"

SPEC = testpki.PkiSpec(
    label=ORG,
    domain="rcpx",
    parties=PARTIES,
    co_rule="RBR-12",
    regenerate=(
        f"    {PROG} [--out DIR]              # or: conformance pki generate --profile rcpx\n"
        f"    {PROG} add-party TL [--out DIR] # one more party, the others untouched"
    ),
    bad_party="JP",
    other_country="KR",
)
GENERATOR = testpki.PkiGenerator(SPEC, DEFAULT_OUT, f"{ORG} PKI")
BAD_SIGNERS: dict[str, str] = SPEC.bad_signers()


def generate(out: Path, parties: Sequence[str] = PARTIES) -> None:
    """Generate the whole TEST ONLY PKI into ``out`` (files are overwritten, nothing else is removed)."""
    testpki.generate(out, SPEC, parties)


def add_party(out: Path, party: str) -> None:
    """Add one party (TL, say) to the PKI in ``out`` without touching the others."""
    testpki.add_party(out, SPEC, party)


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATOR.main(argv, "conformance pki generate --profile rcpx")


if __name__ == "__main__":
    raise SystemExit(main())
