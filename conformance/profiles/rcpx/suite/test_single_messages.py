"""RCPX 1.0: one message each, from RCPX's vector manifest, judged as EFDX's single-message tests."""

import pytest

from conformance.family.suite.single_messages import early_of, single_message, vector_params
from conformance.family.vectors import Vector
from conformance.harness.session import Harness
from conformance.profiles.rcpx.dialect import RCPX

VECTORS = vector_params(RCPX)


@pytest.mark.parametrize("vector", VECTORS)
def test_single_message(harness: Harness, vector: Vector, request: pytest.FixtureRequest) -> None:
    """The manifest's vector gets the manifest's answer (and status)."""
    single_message(harness, vector, early_of(request))
