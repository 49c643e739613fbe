"""The EFDX 1.0 requirement catalogue (spec section 5), loaded from ``requirements.toml``.

The TOML file ships inside the package and is read once, on first use, through
``importlib.resources``, so the catalogue works from a checkout, an editable install or a wheel.
Tests, reports and error codes refer to requirements by their stable IDs; this module is the one
place that maps an ID to its level, wording, HTTP status and wire code.
"""

from __future__ import annotations

import functools

from conformance.core.catalogue import LEVELS as LEVELS
from conformance.core.catalogue import ROLES as ROLES
from conformance.core.catalogue import Catalogue
from conformance.core.catalogue import Requirement as Requirement
from conformance.family import catalogue as family_catalogue

LAYERS: tuple[str, ...] = ("T", "M", "A", "BR", "P", "G")
# The family's capabilities and section 5's check order (conformance/family/catalogue.py).
CAPABILITIES = family_catalogue.CAPABILITIES
CHECK_ORDER = family_catalogue.CHECK_ORDER


@functools.cache
def catalogue() -> Catalogue:
    """EFDX 1.0's requirements and test purposes, read once from the package data."""
    return family_catalogue.load_pack_catalogue(
        "conformance.profiles.efdx", "EFDX 1.0", LAYERS, example_ids="T-01, M-06, A-03, BR-12"
    )


def requirements() -> tuple[Requirement, ...]:
    """Every requirement, in catalogue (= spec) order."""
    return catalogue().requirements()


def requirement(requirement_id: str) -> Requirement:
    """The requirement with this ID; ``KeyError`` naming the ID when EFDX 1.0 has no such requirement."""
    return catalogue().requirement(requirement_id)


def by_layer(layer: str) -> tuple[Requirement, ...]:
    """The requirements of one layer ("T", "M", "A" or "BR"), in catalogue order."""
    return catalogue().by_layer(layer)
