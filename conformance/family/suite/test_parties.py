"""The party-list test of every pack of the family (its suite's ``test_parties.py`` gives its parties).

Section 1's party list: every listed party is taken wherever a party is coded (M-03/party-list).

A valid IssueCO comes from each party but the candidate's, the harness playing that party with its
own certificates (From, IssuingCountry, Exporter/Country, Declaration/ProducingCountry are that
party); the candidate's own party is To in every message (To, Consignee/Country,
Declaration/ImportingCountry). Only the synchronous answer is judged for another party's message:
the candidate sends its status to the inbox it has for that party (as for M-16/keyed-by-sender).
"""

from __future__ import annotations

import pytest

from conformance.family.suite import steps
from conformance.harness.session import Harness

pytestmark = [
    pytest.mark.role("importing"),
    pytest.mark.requirements("M-03", "M-04", "M-19"),
    pytest.mark.purposes("M-03/party-list"),
]


def party_is_taken(harness: Harness, party: str) -> None:
    """The body of test_every_party_is_taken, for any profile of the family."""
    sender = harness.party if party == harness.config.party else party
    build = harness.build(f"party-list-{party}", sender=sender)
    client = harness.client_as(sender) if sender != harness.party else None
    sent = steps.send(
        harness, build.bytes(), label=f"IssueCO from {sender} to {harness.config.party}", client=client
    )
    steps.expect_receipt(harness, sent, sender=sender)
