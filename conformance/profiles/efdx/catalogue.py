"""The EFDX 1.0 requirement catalogue (spec section 5), loaded from ``requirements.toml``.

The TOML file ships inside the package and is read once, on first use, through
``importlib.resources``, so the catalogue works from a checkout, an editable install or a wheel.
Tests, reports and error codes refer to requirements by their stable IDs; this module is the one
place that maps an ID to its level, wording, HTTP status and wire code.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

LAYERS: tuple[str, ...] = ("T", "M", "A", "BR")
LEVELS: tuple[str, ...] = ("MUST", "SHOULD")
ROLES: tuple[str, ...] = ("importing", "exporting")
CAPABILITIES: tuple[str, ...] = ("replace", "cancel", "verification", "utilisation", "ecdsa", "trigger")

# Section 5: the synchronous checks run in this order and the first failure decides the answer.
# The spec writes "T-03/T-04" and "M-17/M-16" as pairs; they are listed here one after the other.
CHECK_ORDER: tuple[str, ...] = (
    "T-03",
    "T-04",
    "M-01",
    "M-02",
    "M-03",
    "M-18",
    "M-05",
    "M-07",
    "M-12",
    "M-06",
    "M-08",
    "M-09",
    "M-10",
    "M-11",
    "M-13",
    "M-14",
    "M-04",
    "M-15",
    "M-17",
    "M-16",
)

_RESOURCE = "requirements.toml"
_FIELDS = frozenset(
    {"id", "layer", "level", "title", "text", "http_status", "error_code", "role", "capability"}
)
_REQUIRED = frozenset({"id", "layer", "level", "title", "text"})


@dataclass(frozen=True)
class Requirement:
    """One row of the spec's section 5."""

    id: str
    layer: str
    level: str
    title: str
    text: str
    http_status: int | None = None
    error_code: str | None = None
    role: str | None = None
    capability: str | None = None

    @property
    def mandatory(self) -> bool:
        """True for MUST, False for SHOULD."""
        return self.level == "MUST"


def _requirement_from(entry: dict[str, object], position: int) -> Requirement:
    where = f"{_RESOURCE}: requirement #{position} ({entry.get('id', '?')})"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    missing = _REQUIRED - set(entry)
    if missing:
        raise ValueError(f"{where}: missing field(s) {sorted(missing)}")
    req = Requirement(**entry)  # type: ignore[arg-type]
    if req.layer not in LAYERS:
        raise ValueError(f"{where}: layer {req.layer!r} is not one of {LAYERS}")
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
    if req.capability is not None and req.capability not in CAPABILITIES:
        raise ValueError(f"{where}: capability {req.capability!r} is not one of {CAPABILITIES}")
    return req


@functools.cache
def _catalogue() -> dict[str, Requirement]:
    raw = resources.files("conformance.profiles.efdx").joinpath(_RESOURCE).read_bytes()
    entries = tomllib.loads(raw.decode("utf-8")).get("requirement", [])
    catalogue: dict[str, Requirement] = {}
    for position, entry in enumerate(entries, start=1):
        req = _requirement_from(entry, position)
        if req.id in catalogue:
            raise ValueError(f"{_RESOURCE}: requirement {req.id} is listed twice")
        catalogue[req.id] = req
    unknown_in_order = [rid for rid in CHECK_ORDER if rid not in catalogue]
    if unknown_in_order:
        raise ValueError(f"CHECK_ORDER names requirements not in {_RESOURCE}: {unknown_in_order}")
    return catalogue


def requirements() -> tuple[Requirement, ...]:
    """Every requirement, in catalogue (= spec) order."""
    return tuple(_catalogue().values())


def requirement(requirement_id: str) -> Requirement:
    """The requirement with this ID; ``KeyError`` naming the ID when EFDX 1.0 has no such requirement."""
    try:
        return _catalogue()[requirement_id]
    except KeyError:
        raise KeyError(
            f"no requirement {requirement_id!r} in the EFDX 1.0 catalogue "
            f"(IDs look like T-01, M-06, A-03, BR-12)"
        ) from None


def by_layer(layer: str) -> tuple[Requirement, ...]:
    """The requirements of one layer ("T", "M", "A" or "BR"), in catalogue order."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; EFDX 1.0 layers are {', '.join(LAYERS)}")
    return tuple(req for req in _catalogue().values() if req.layer == layer)
