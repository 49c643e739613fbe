"""A profile's requirement catalogue and test purposes: the model and the loaders, profile-free.

Every profile names its requirements by stable IDs with a layer, a level, a wording, an HTTP status
and a wire code, and splits each into test purposes (``<requirement>/<clause>``); only the layers,
the capabilities and the files differ. One loader serves every pack, so that a second profile is two
TOML files and a few constants, not a copy of this code. The pack reads its own files (package data)
and hands the bytes in; the ``Catalogue`` answers lookups with errors that name the profile.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

LEVELS: tuple[str, ...] = ("MUST", "SHOULD")
ROLES: tuple[str, ...] = ("importing", "exporting")

_FIELDS = frozenset(
    {"id", "layer", "level", "title", "text", "http_status", "error_code", "role", "capability", "judged_by"}
)
JUDGED_BY: tuple[str, ...] = ("suite", "load")  # a functional run's tests, or `conformance load`
_REQUIRED = frozenset({"id", "layer", "level", "title", "text"})


@dataclass(frozen=True)
class Requirement:
    """One requirement of a profile (a row of its spec's requirement tables)."""

    id: str
    layer: str
    level: str
    title: str
    text: str
    http_status: int | None = None
    error_code: str | None = None
    role: str | None = None
    capability: str | None = None
    # "load": judged and certified by a load run, never by the functional suite (capacity, EFDX
    # errata 2); a functional run shows it as such and certifies around it
    judged_by: str = "suite"

    @property
    def mandatory(self) -> bool:
        """True for MUST, False for SHOULD."""
        return self.level == "MUST"


@dataclass(frozen=True)
class Purpose:
    """One test purpose: an atomic clause of a requirement, ``<requirement>/<clause>``."""

    id: str
    clause: str
    # Not observable over the wire (a candidate's own CRL handling): the candidate states it in its
    # ICS (candidate.declarations) instead of a test showing it (EFDX errata 2); never a pass.
    declarable: bool = False
    # What the candidate NSW must do to satisfy the clause, for its team (issue 19 item 2): shown by
    # ``conformance spec`` and beside each failure in report.html. Optional in the TOML.
    remedy: str = ""
    # A clause whose test waits for an issue ("20: <what waits>"), said where the purpose is written
    # (as trace.toml marks a clause "pending: 20"): while no test covers it, ``conformance list`` shows
    # it as pending, not as a gap, and a run leaves its requirement not-tested. Never a pass.
    pending: str = ""

    @property
    def requirement(self) -> str:
        return self.id.split("/")[0]


def _requirement_from(
    entry: dict[str, object],
    position: int,
    resource: str,
    layers: tuple[str, ...],
    capabilities: tuple[str, ...],
) -> Requirement:
    where = f"{resource}: requirement #{position} ({entry.get('id', '?')})"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    missing = _REQUIRED - set(entry)
    if missing:
        raise ValueError(f"{where}: missing field(s) {sorted(missing)}")
    req = Requirement(**entry)  # type: ignore[arg-type]
    if req.layer not in layers:
        raise ValueError(f"{where}: layer {req.layer!r} is not one of {layers}")
    if not req.id.startswith(req.layer + "-"):
        raise ValueError(f"{where}: id {req.id!r} does not belong to layer {req.layer!r}")
    if req.level not in LEVELS:
        raise ValueError(f"{where}: level {req.level!r} is not one of {LEVELS}")
    if req.http_status is not None and (
        not isinstance(req.http_status, int) or not 100 <= req.http_status <= 599
    ):
        raise ValueError(f"{where}: http_status {req.http_status!r} is not an HTTP status")
    if req.role is not None and req.role not in ROLES:
        raise ValueError(f"{where}: role {req.role!r} is not one of {ROLES}")
    if req.capability is not None and req.capability not in capabilities:
        raise ValueError(f"{where}: capability {req.capability!r} is not one of {capabilities}")
    if req.judged_by not in JUDGED_BY:
        raise ValueError(f"{where}: judged_by {req.judged_by!r} is not one of {JUDGED_BY}")
    return req


def load_requirements(
    raw: bytes, resource: str, layers: tuple[str, ...], capabilities: tuple[str, ...]
) -> tuple[Requirement, ...]:
    """The ``[[requirement]]`` tables of a TOML file, checked field by field, in file order;
    ``ValueError`` naming the entry for an unknown or missing field, a bad value or a duplicate ID."""
    entries = tomllib.loads(raw.decode("utf-8")).get("requirement", [])
    found: dict[str, Requirement] = {}
    for position, entry in enumerate(entries, start=1):
        req = _requirement_from(entry, position, resource, layers, capabilities)
        if req.id in found:
            raise ValueError(f"{resource}: requirement {req.id} is listed twice")
        found[req.id] = req
    return tuple(found.values())


def load_purposes(raw: bytes, resource: str = "purposes.toml") -> tuple[Purpose, ...]:
    """The ``[[purpose]]`` tables of a TOML file, in file order; ``ValueError`` for a duplicate ID."""
    found: dict[str, Purpose] = {}
    for entry in tomllib.loads(raw.decode("utf-8")).get("purpose", []):
        item = Purpose(
            entry["id"],
            entry["clause"],
            bool(entry.get("declarable", False)),
            str(entry.get("remedy", "")),
            str(entry.get("pending", "")),
        )
        if item.id in found:
            raise ValueError(f"{resource}: purpose {item.id} is listed twice")
        found[item.id] = item
    return tuple(found.values())


class Catalogue:
    """One profile's requirements and test purposes, with lookups that name the profile."""

    def __init__(
        self,
        title: str,
        requirements: tuple[Requirement, ...],
        purposes: tuple[Purpose, ...],
        layers: tuple[str, ...],
        *,
        example_ids: str = "",
        aliases: Mapping[str, str | None] | None = None,
    ) -> None:
        self.title = title
        self.layers = layers
        self.example_ids = example_ids
        # IDs of the profile this one is written as a difference from, and what they are here (None:
        # no counterpart), so that a suite shared by both can name the other's IDs (RCPX: BR-15 ->
        # RBR-14). The catalogue's own IDs always mean themselves.
        self.aliases = dict(aliases or {})
        self._requirements = {req.id: req for req in requirements}
        for item in purposes:
            if item.requirement not in self._requirements:
                raise KeyError(f"test purpose {item.id!r} names no requirement of the {title} catalogue")
        self._purposes = {item.id: item for item in purposes}

    def requirements(self) -> tuple[Requirement, ...]:
        """Every requirement, in catalogue (= spec) order."""
        return tuple(self._requirements.values())

    def canonical(self, item_id: str) -> str | None:
        """A requirement or purpose ID as the catalogue writes it, whatever its case (``m-06`` ->
        ``M-06``, ``m-10/REVOKED`` -> ``M-10/revoked``); None when it has no such item."""
        if item_id in self._requirements or item_id in self._purposes:
            return item_id
        folded = item_id.strip().casefold()
        return next(
            (known for known in (*self._requirements, *self._purposes) if known.casefold() == folded), None
        )

    def requirement(self, requirement_id: str) -> Requirement:
        """The requirement with this ID, exactly as the catalogue writes it (a suite's markers must;
        what a user types goes through ``canonical`` first); ``KeyError`` naming the ID otherwise."""
        try:
            return self._requirements[requirement_id]
        except KeyError:
            hint = f" (IDs look like {self.example_ids})" if self.example_ids else ""
            raise KeyError(f"no requirement {requirement_id!r} in the {self.title} catalogue{hint}") from None

    def by_layer(self, layer: str) -> tuple[Requirement, ...]:
        """The requirements of one layer, in catalogue order."""
        if layer not in self.layers:
            raise ValueError(f"unknown layer {layer!r}; {self.title} layers are {', '.join(self.layers)}")
        return tuple(req for req in self._requirements.values() if req.layer == layer)

    def resolve(self, item_id: str) -> str | None:
        """A requirement or purpose ID as this profile names it (None: it has no counterpart here)."""
        if item_id in self._requirements or item_id in self._purposes:
            return item_id
        return self.aliases.get(item_id, item_id)

    def order(self, requirement_id: str) -> tuple[int, int]:
        """Sort key of an ID: its layer in the profile's order, then its number."""
        layer, _, number = requirement_id.rpartition("-")
        return self.layers.index(layer), int(number)

    def purposes(self) -> tuple[Purpose, ...]:
        """Every test purpose, in catalogue order."""
        return tuple(self._purposes.values())

    def purpose(self, purpose_id: str) -> Purpose:
        """The purpose with this ID, exactly (see ``requirement``); ``KeyError`` naming it otherwise."""
        try:
            return self._purposes[purpose_id]
        except KeyError:
            raise KeyError(f"no test purpose {purpose_id!r} in the {self.title} catalogue") from None

    def declarable(self) -> tuple[Purpose, ...]:
        """The purposes a candidate states instead of a test showing them (errata 2), in order."""
        return tuple(item for item in self._purposes.values() if item.declarable)

    def of_requirement(self, requirement_id: str) -> tuple[Purpose, ...]:
        """The test purposes of one requirement, in catalogue order."""
        return tuple(item for item in self._purposes.values() if item.requirement == requirement_id)
