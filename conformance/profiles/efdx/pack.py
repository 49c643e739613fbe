"""EFDX 1.0 as a pack: the one object the engine is given (entry point ``conformance.profiles``:
``efdx``), built from its dialect (family.py); heavy parts load on first use."""

from __future__ import annotations

from typing import Any

from conformance.family.profile import family_profile
from conformance.profiles.efdx import spec
from conformance.profiles.efdx.dialect import EFDX


def _pki_generator() -> Any:
    from conformance.family.pki_gen import GENERATOR

    return GENERATOR


PROFILE = family_profile(
    EFDX,
    description="e-Form D (ATIGA certificate of origin) exchange between ASEAN NSWs",
    suite_package="conformance.profiles.efdx.suite",
    reference_party="KH",
    spec=spec,
    extras={"pki_generator": _pki_generator, "spec_file": "conformance/profiles/efdx/spec/EFDX-1.0.md"},
)
