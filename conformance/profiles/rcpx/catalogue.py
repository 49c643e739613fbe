"""The RCPX 1.0 requirement catalogue and test purposes (``requirements.toml``, ``purposes.toml``).

The model and the loaders are the core's (``core/catalogue.py``); this module says what is RCPX's:
its layers (RBR in place of EFDX's BR), its check order (EFDX section 5's, unchanged by RCPX) and
its files. Read once, on first use, from the package data.
"""

from __future__ import annotations

import functools

from conformance.core.catalogue import Catalogue, Purpose, Requirement
from conformance.family import catalogue as family_catalogue

LAYERS: tuple[str, ...] = ("T", "M", "A", "RBR", "P", "G")
# RCPX keeps the family's capabilities and EFDX section 5's order (the first failure decides the answer).
CAPABILITIES: tuple[str, ...] = family_catalogue.CAPABILITIES
CHECK_ORDER: tuple[str, ...] = family_catalogue.CHECK_ORDER

# EFDX IDs that the suite and the seeded faults shared with EFDX name, and what they are in RCPX
# (RCPX is written as a difference from EFDX; section 3 renumbers the rules). None: no counterpart.
ALIASES: dict[str, str | None] = {
    "BR-01": "RBR-01",
    "BR-02": "RBR-02",
    "BR-03": "RBR-03",
    "BR-04": "RBR-04",
    "BR-05": "RBR-07",
    "BR-06": "RBR-06",
    "BR-07": "RBR-08",
    "BR-08": "RBR-09",
    "BR-09": None,  # exhibitions: not in the RCEP CO
    "BR-10": "RBR-10",
    "BR-11": "RBR-11",
    "BR-12": "RBR-12",
    "BR-13": "RBR-13",
    "BR-14": "RBR-14",
    "BR-15": "RBR-14",  # RBR-14 is EFDX's BR-14 and BR-15 in one
    "BR-16": None,
    "BR-06/twelve-months-inclusive": "RBR-06/twelve-months-inclusive",
    "BR-11/reference-reused": "RBR-11/reference-reused",
    "BR-11/replace-reuses-reference": "RBR-11/replace-reuses-reference",
    "BR-11/after-cancel": "RBR-11/after-cancel",
    "BR-11/after-supersede": "RBR-11/after-supersede",
    "BR-03/replace-co": "RBR-03/replace-co",
    "BR-05/issued-before-departure": "RBR-07/issued-before-departure",
    "BR-10/replace-co": "RBR-10/replace-co",
    "BR-11/per-issuing-country": "RBR-11/per-issuing-country",
    **{
        f"BR-12/{clause}": f"RBR-12/{clause}"
        for clause in (
            "unsigned",
            "tampered",
            "signature-value",
            "authority-key-usage",
            "other-party-authority",
            "wrong-country-authority",
            "expired-authority",
            "not-yet-valid-authority",
            "revoked-authority",
            "untrusted-authority",
            "weak-algorithm",
            "foreign-transform",
            "allowed-digests",
            "ecdsa",
            "short-key",
            "replace-co",
            "weak-signature-method",
            "canonicalization",
            "extra-reference",
        )
    },
    "BR-14/cancel-unknown": "RBR-14/cancel-unknown",
    "BR-14/replace-unknown": "RBR-14/replace-unknown",
    "BR-15/cancel-twice": "RBR-14/cancel-cancelled",
    "BR-15/superseded": "RBR-14/cancel-superseded",
    "BR-14/cancel-other-issuing-country": "RBR-14/cancel-other-issuing-country",
    "BR-14/cancel-country-sorting-before-sender": "RBR-14/cancel-country-sorting-before-sender",
    "BR-14/replace-other-issuing-country": "RBR-14/replace-other-issuing-country",
    "BR-15/replace-cancelled": "RBR-14/replace-cancelled",
    "BR-15/replacement-current": "RBR-14/replacement-current",
    "BR-14/named-co-rejected": "RBR-14/named-co-rejected",
    "BR-11/rejected-reference-free": "RBR-11/rejected-reference-free",
    "BR-16/replace-without-replaces": "RBR-14/replace-without-replaces",
    "BR-16/replaces-on-issue": None,
}


@functools.cache
def catalogue() -> Catalogue:
    """RCPX 1.0's requirements and test purposes, read once from the package data."""
    return family_catalogue.load_pack_catalogue(
        "conformance.profiles.rcpx",
        "RCPX 1.0",
        LAYERS,
        example_ids="T-01, M-06, A-03, RBR-12",
        aliases=ALIASES,
    )


def requirements() -> tuple[Requirement, ...]:
    """Every requirement, in catalogue (= spec) order."""
    return catalogue().requirements()


def requirement(requirement_id: str) -> Requirement:
    """The requirement with this ID; ``KeyError`` naming the ID when RCPX 1.0 has none."""
    return catalogue().requirement(requirement_id)


def by_layer(layer: str) -> tuple[Requirement, ...]:
    """The requirements of one layer ("T", "M", "A" or "RBR"), in catalogue order."""
    return catalogue().by_layer(layer)


def purposes() -> tuple[Purpose, ...]:
    """Every test purpose, in catalogue order."""
    return catalogue().purposes()


def purpose(purpose_id: str) -> Purpose:
    """The purpose with this ID; ``KeyError`` naming it otherwise."""
    return catalogue().purpose(purpose_id)


def of_requirement(requirement_id: str) -> tuple[Purpose, ...]:
    """The test purposes of one requirement, in catalogue order."""
    return catalogue().of_requirement(requirement_id)


# issue 17: the CO signature's further clauses, shared with EFDX's seeded faults
ALIASES.update({f"BR-12/{clause}": f"RBR-12/{clause}" for clause in ("ecdsa-p384", "md5-digest", "rsa-2048")})
# RCPX's RBR-11/replace-reuses-reference is tested with another accepted CO's number already
# (test_rcpx_sequences.py); EFDX's test of that clause counts for it too.
ALIASES["BR-11/replace-reuses-other-reference"] = "RBR-11/replace-reuses-reference"
ALIASES["BR-12/ecdsa-sha1"] = "RBR-12/ecdsa-sha1"
