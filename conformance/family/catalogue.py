"""What every profile of the family shares in its catalogue: the capabilities a candidate claims and
EFDX 1.0 section 5's order of the synchronous checks (the first failure decides the answer), which
RCPX 1.0 keeps. Each pack's own catalogue (requirements.toml, purposes.toml, layers) is its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from conformance.core.catalogue import Catalogue, load_purposes, load_requirements

CAPABILITIES: tuple[str, ...] = (
    "replace",
    "cancel",
    "verification",
    "utilisation",
    "ecdsa",
    "trigger",
    "capacity",  # section 8: claimed by [candidate.capacity]
    "gateway",  # section 9: it routes through, and takes messages from, a gateway (G-01..G-03)
)

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


def load_pack_catalogue(
    package: str,
    title: str,
    layers: tuple[str, ...],
    *,
    example_ids: str,
    aliases: Mapping[str, str | None] | None = None,
) -> Catalogue:
    """A pack's catalogue from its package data (``requirements.toml``, ``purposes.toml``, read through
    ``importlib.resources`` so that a checkout, an editable install and a wheel all work), with the
    family's capabilities; ``ValueError`` when the family's CHECK_ORDER names a requirement the pack
    lacks. One loader for every pack, so that no pack reads its catalogue differently."""
    files = resources.files(package)
    requirements, purposes = "requirements.toml", "purposes.toml"
    loaded = Catalogue(
        title,
        load_requirements(files.joinpath(requirements).read_bytes(), requirements, layers, CAPABILITIES),
        load_purposes(files.joinpath(purposes).read_bytes(), purposes),
        layers,
        example_ids=example_ids,
        aliases=aliases,
    )
    ids = {req.id for req in loaded.requirements()}
    unknown_in_order = [rid for rid in CHECK_ORDER if rid not in ids]
    if unknown_in_order:
        raise ValueError(f"CHECK_ORDER names requirements not in {requirements}: {unknown_in_order}")
    return loaded
