"""EFDX 1.0's TEST ONLY PKI is the family's (``conformance.family.pki_gen`` generates it: a CA for
each party of the family, its NSW and issuing-authority certificates, and bad signers for every
party). This module keeps the names EFDX's callers use and its old command,
``python -m conformance.profiles.efdx.pki_gen`` (as ``conformance pki generate``).
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.family.pki_gen import (  # noqa: F401  (re-exported)
    BAD_SIGNERS,
    DEFAULT_OUT,
    FAMILY_PARTIES,
    GENERATOR,
    ORG,
    REVOKED_BAD_SIGNERS,
    ROGUE_CA,
    ROGUE_ISSUED,
    SPEC,
    add_party,
    authority_cn,
    ca_cn,
    generate,
    nsw_cn,
    readme,
)
from conformance.profiles.efdx.codes import PARTIES

assert set(PARTIES) <= set(FAMILY_PARTIES), "every EFDX party has a CA in the family's PKI"


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATOR.main(argv, "conformance pki generate")


if __name__ == "__main__":
    raise SystemExit(main())
