"""RCPX 1.0 as a pack (entry point ``conformance.profiles``: ``rcpx``): EFDX's protocol code with
RCPX's dialect (family.py), its own suite package, reference NSW party and seeded faults."""

from __future__ import annotations

from typing import Any

from conformance.family.profile import family_profile
from conformance.profiles.rcpx import spec
from conformance.profiles.rcpx.dialect import RCPX


def _pki_generator() -> Any:
    from conformance.profiles.rcpx.pki_gen import GENERATOR

    return GENERATOR


PROFILE = family_profile(
    RCPX,
    description="RCEP electronic certificate of origin exchange between the fifteen RCEP parties",
    suite_package="conformance.profiles.rcpx.suite",
    reference_party="AU",
    spec=spec,
    extras={"pki_generator": _pki_generator, "spec_file": "conformance/profiles/rcpx/spec/RCPX-1.0.md"},
)
