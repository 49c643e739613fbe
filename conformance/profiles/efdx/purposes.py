"""EFDX 1.0 test purposes (``purposes.toml``): each requirement split into its atomic clauses.

Requirement IDs are too coarse to count coverage by (BR-12 alone has a dozen ways to be broken), so
the suite is measured by purpose: each one has a stable ID ``<requirement>/<clause>``, the clause in
words, the tests that cover it (declared by the tests) and a seeded fault that proves those tests
can fail (declared by the fault). ``conformance list`` and the report show every purpose that lacks
either as a gap. The model is the core's (``core/catalogue.py``); this module reads EFDX's.
"""

from __future__ import annotations

from conformance.core.catalogue import Purpose as Purpose
from conformance.profiles.efdx.catalogue import catalogue


def purposes() -> tuple[Purpose, ...]:
    """Every test purpose, in catalogue order."""
    return catalogue().purposes()


def purpose(purpose_id: str) -> Purpose:
    """The purpose with this ID; KeyError naming it otherwise."""
    return catalogue().purpose(purpose_id)


def of_requirement(requirement_id: str) -> tuple[Purpose, ...]:
    return catalogue().of_requirement(requirement_id)
