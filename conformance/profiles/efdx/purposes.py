"""EFDX 1.0 test purposes (``purposes.toml``): each requirement split into its atomic clauses.

Requirement IDs are too coarse to count coverage by (BR-12 alone has a dozen ways to be broken), so
the suite is measured by purpose: each one has a stable ID ``<requirement>/<clause>``, the clause in
words, the tests that cover it (declared by the tests) and a seeded fault that proves those tests
can fail (declared by the fault). ``conformance list`` and the report show every purpose that lacks
either as a gap.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

from conformance.profiles.efdx.catalogue import requirement

_RESOURCE = "purposes.toml"


@dataclass(frozen=True)
class Purpose:
    id: str
    clause: str

    @property
    def requirement(self) -> str:
        return self.id.split("/")[0]


@functools.cache
def _purposes() -> dict[str, Purpose]:
    raw = resources.files("conformance.profiles.efdx").joinpath(_RESOURCE).read_bytes()
    found: dict[str, Purpose] = {}
    for entry in tomllib.loads(raw.decode("utf-8"))["purpose"]:
        purpose = Purpose(entry["id"], entry["clause"])
        requirement(purpose.requirement)  # KeyError for a purpose of no requirement
        if purpose.id in found:
            raise ValueError(f"{_RESOURCE}: purpose {purpose.id} is listed twice")
        found[purpose.id] = purpose
    return found


def purposes() -> tuple[Purpose, ...]:
    """Every test purpose, in catalogue order."""
    return tuple(_purposes().values())


def purpose(purpose_id: str) -> Purpose:
    """The purpose with this ID; KeyError naming it otherwise."""
    try:
        return _purposes()[purpose_id]
    except KeyError:
        raise KeyError(f"no test purpose {purpose_id!r} in the EFDX 1.0 catalogue") from None


def of_requirement(requirement_id: str) -> tuple[Purpose, ...]:
    return tuple(p for p in _purposes().values() if p.requirement == requirement_id)
