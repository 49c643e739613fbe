"""EFDX 1.0: the family's party-list test (conformance/family/suite/test_parties.py) over EFDX's
ten parties (section 1)."""

import pytest

from conformance.family.suite.test_parties import party_is_taken, pytestmark  # noqa: F401
from conformance.harness.session import Harness
from conformance.profiles.efdx.codes import PARTIES


@pytest.mark.parametrize("party", PARTIES)
def test_every_party_is_taken(harness: Harness, party: str) -> None:
    """A valid IssueCO from ``party`` (to it, when it is the candidate's) gets a Receipt."""
    party_is_taken(harness, party)
