"""EFDX 1.0's own vector builders: those of its field table (fields.py CASES), registered with the
family's (conformance/family/vectors.py: the builders of every vector of test_vectors/efdx/manifest.toml
and of the family's vectors other packs reuse) when EFDX's dialect is loaded."""

from __future__ import annotations

from conformance.family.vectors import field_builders
from conformance.profiles.efdx import fields

field_builders(fields.CASES)
