"""EFDX 1.0's seeded faults: the family's base list (conformance/family/reference/faults.py, written
in EFDX's words), with EFDX's field-line faults (section 3's field lines, fields.py, and its party
list) among them, in the order `conformance reference faults` lists them."""

from __future__ import annotations

from conformance.family.reference.faults import FAULTS as FAMILY_FAULTS
from conformance.family.reference.faults import LATER_FAULTS, Fault, field_faults
from conformance.family.vectors import RECEIVER, SENDER
from conformance.profiles.efdx import fields
from conformance.profiles.efdx.codes import PARTIES


def _field_faults() -> tuple[Fault, ...]:
    """A declaration of the reference's copy of EFDX's schemas changed, one per field case, and one
    per party but those of the plain exchange (SG and KH: every test has them)."""
    return field_faults(fields.CASES, [party for party in PARTIES if party not in (SENDER, RECEIVER)])


FAULTS: tuple[Fault, ...] = (*FAMILY_FAULTS, *_field_faults(), *LATER_FAULTS)
