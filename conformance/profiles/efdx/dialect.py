"""EFDX 1.0 as a dialect of the family's protocol code (conformance/family/dialect.py): its codes,
messages, rules and catalogue, its schemas, its view of the family's TEST ONLY PKI and its seeded
faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.family.dialect import Dialect
from conformance.profiles.efdx import catalogue, codes, messages, rules


def _pki(directory: Path | None = None) -> Any:
    from conformance.profiles.efdx.pki import TestPki

    return TestPki.load(directory)


def _faults() -> Any:
    from conformance.profiles.efdx.reference.seeded_faults import FAULTS

    return FAULTS


EFDX = Dialect(
    key="efdx",
    codes=codes,
    messages=messages,
    rules=rules,
    catalogue=catalogue,
    payload_schema="eformd.xsd",
    load_pki=_pki,
    faults=_faults,
    vector_parties={"sender": "SG", "receiver": "KH"},  # SG: the harness's default partner in EFDX
)

# EFDX's field table registers its vectors' builders with the family's (family/vectors.py BUILDERS)
# whenever EFDX is loaded, as RCPX's own builders do (rcpx/dialect.py). (Not efdx/vectors.py: the
# builders that file held are the family's now, conformance/family/vectors.py.)
from conformance.profiles.efdx import field_vectors as _field_vectors  # noqa: E402, F401
