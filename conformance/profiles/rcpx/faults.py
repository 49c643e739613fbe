"""RCPX 1.0's seeded faults: the reference NSW's deliberate defects, one test purpose each.

The reference NSW's code is EFDX's, run with RCPX's dialect, so its faults of the transport, message
and application layers (and of the CO signature, BR-12 there, RBR-12 here) are EFDX's, named by the
same purposes. Each business rule gets a fault that switches it off (the purposes it breaks are all
of the rule's), and the one behaviour fault on a rule's boundary (the 12-month window) is mapped.
"""

from __future__ import annotations

import functools

from conformance.profiles.efdx.reference.faults import FAULTS as EFDX_FAULTS
from conformance.profiles.efdx.reference.faults import Fault
from conformance.profiles.efdx.reference.lax import dropping
from conformance.profiles.rcpx.catalogue import catalogue

SIGNATURE_RULE = "RBR-12"  # judged by the CO signature check, whose faults are EFDX's (mapped)


def _shared() -> list[Fault]:
    """EFDX's faults whose purposes RCPX has too (T, M, A and the CO signature's), renamed to RCPX's."""
    found = []
    for fault in EFDX_FAULTS:
        if fault.policy.dropped_rules:  # switches an EFDX rule off: RCPX's rules get their own below
            continue
        purpose = _ours(fault.purpose)
        if purpose is None:
            continue
        also = tuple(p for p in map(_ours, fault.also) if p is not None)
        found.append(Fault(fault.name, purpose, fault.description, fault.policy, also, fault.load_only))
    return found


def _ours(purpose: str) -> str | None:
    """An EFDX purpose as RCPX names it, if RCPX has it."""
    found = catalogue().resolve(purpose)
    return found if found is not None and found in {item.id for item in catalogue().purposes()} else None


def _ignoring(rule: str) -> Fault:
    """Switching a rule off breaks every purpose of it that a document breaks; not its boundaries,
    where the right answer is acceptance (those need a fault of their own, or show as a gap)."""
    purposes = [item.id for item in catalogue().of_requirement(rule) if "inclusive" not in item.id]
    title = catalogue().requirement(rule).title
    return Fault(
        f"ignore-{rule.lower()}",
        purposes[0],
        f"does not apply {rule} ({title})",
        dropping(rule),
        tuple(purposes[1:]),
    )


@functools.cache
def faults() -> tuple[Fault, ...]:
    rules = [req.id for req in catalogue().by_layer("RBR") if req.id != SIGNATURE_RULE]
    return (*_shared(), *(_ignoring(rule) for rule in rules))
