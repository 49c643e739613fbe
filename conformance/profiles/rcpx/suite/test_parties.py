"""RCPX 1.0: EFDX's party-list test (conformance/family/suite/test_parties.py) over RCPX's
fifteen parties (RCPX section 1)."""

import pytest

from conformance.family.suite.test_parties import party_is_taken, pytestmark  # noqa: F401
from conformance.harness.session import Harness
from conformance.profiles.rcpx.codes import PARTIES


@pytest.mark.parametrize("party", PARTIES)
def test_every_party_is_taken(harness: Harness, party: str) -> None:
    """A valid IssueCO from ``party`` (to it, when it is the candidate's) gets a Receipt."""
    party_is_taken(harness, party)
