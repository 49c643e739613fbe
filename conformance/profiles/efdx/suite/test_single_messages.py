"""EFDX 1.0: one message each, from EFDX's vector manifest (the family's single-message tests,
conformance/family/suite/single_messages.py)."""

import pytest

from conformance.family.suite.single_messages import early_of, single_message, vector_params
from conformance.family.vectors import Vector
from conformance.harness.session import Harness
from conformance.profiles.efdx.dialect import EFDX

VECTORS = vector_params(EFDX)


@pytest.mark.parametrize("vector", VECTORS)
def test_single_message(harness: Harness, vector: Vector, request: pytest.FixtureRequest) -> None:
    """The manifest's vector gets the manifest's answer (and status)."""
    single_message(harness, vector, early_of(request))
