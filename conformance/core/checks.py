"""A receiver's checks by name: each a small function with its requirement, the spec's in ``Checks``.

The parser, the signature verifier, the trust store and the judge do not branch on switches: at
each step they call the check of that name from the ``Checks`` they are given. Candidates are
always judged with the spec's checks (each layer's ``CHECKS``, gathered by the judge); a seeded
fault of the reference NSW is the same table with one check swapped, wrapped or passed over
(``swapped``, ``wrapped``), its wrong function written in the reference's own modules. So no code
that judges candidates holds a switch that only a fault turns, and ``Policy`` keeps only the spec's
parameters (size limit, media types, encodings, algorithm lists and key size, the M-15 window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Check:
    """One named check: what it runs and the requirement whose clause it judges."""

    name: str
    requirement: str
    run: Callable[..., Any]


@dataclass(frozen=True)
class Checks:
    """An immutable table of checks, by name; every name is fixed by the spec's checks."""

    table: Mapping[str, Check] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", MappingProxyType(dict(self.table)))

    @classmethod
    def of(cls, *groups: Iterable[Check]) -> Checks:
        table: dict[str, Check] = {}
        for check in (check for group in groups for check in group):
            if check.name in table:
                raise ValueError(f"two checks named {check.name!r}")
            table[check.name] = check
        return cls(table)

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self.table[name].run

    def __contains__(self, name: object) -> bool:
        return name in self.table

    def swapped(self, name: str, run: Callable[..., Any]) -> Checks:
        """The same checks with ``name`` done by ``run`` (a seeded fault's wrong check)."""
        if name not in self.table:
            raise KeyError(f"no check named {name!r}")
        return Checks({**self.table, name: Check(name, self.table[name].requirement, run)})

    def wrapped(self, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Checks:
        """The same checks with ``name`` done by ``wrapper(the check it had)``."""
        return self.swapped(name, wrapper(self[name]))

    def key(self, names: Iterable[str]) -> tuple[Callable[..., Any], ...]:
        """The functions the checks ``names`` run: what a cache of their verdicts is keyed by."""
        return tuple(self[name] for name in names)
