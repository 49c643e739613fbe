"""RCPX 1.0 as a dialect of the family's protocol code (conformance/family/dialect.py): RCPX is
written as a difference from EFDX 1.0, so its envelope, signals and T/M/A behaviour are the family's
code run with RCPX's names, CO, rules, schemas and test PKI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.family.dialect import Dialect
from conformance.profiles.rcpx import catalogue, codes, messages, rules


def _pki(directory: Path | None = None) -> Any:
    from conformance.profiles.rcpx.pki import TestPki

    return TestPki.load(directory)


def _faults() -> tuple:
    from conformance.profiles.rcpx.reference.seeded_faults import faults

    return faults()


RCPX = Dialect(
    key="rcpx",
    codes=codes,
    messages=messages,
    rules=rules,
    catalogue=catalogue,
    payload_schema="co.xsd",
    load_pki=_pki,
    faults=_faults,
    vector_parties={"sender": "JP", "receiver": "AU"},  # JP: the harness's default partner in RCPX
)

# RCPX's own vector builders register with the family's (family/vectors.py BUILDERS) whenever RCPX is
# loaded, so that build_vector(..., dialect=RCPX) finds every id of test_vectors/rcpx/manifest.toml.
# Imported last: rcpx/vectors.py imports family/vectors.py, which never imports this module.
from conformance.profiles.rcpx import vectors as _vectors  # noqa: E402, F401
