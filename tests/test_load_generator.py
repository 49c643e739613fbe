"""The load generator makes what the vector builders make, byte for byte, and the judge takes it,
in each profile of the family (EFDX 1.0 and RCPX 1.0, each with its own parties)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.app.load.stats import Histogram
from conformance.family.judge import Receiver
from conformance.family.load.generator import ACTIONS, Generator, sample_build
from conformance.harness import registry

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

FAMILY = {"efdx": ("SG", "KH"), "rcpx": ("JP", "AU")}  # sender, receiver
MOMENT = datetime(2026, 11, 30, 8, 1, 2, tzinfo=UTC)  # the day the COs are issued and judged: not today


@pytest.fixture(scope="module", params=sorted(FAMILY))
def made_by(request):
    dialect = registry.get(request.param).extras["dialect"]
    sender, receiver = FAMILY[request.param]
    pki = dialect.load_pki()
    return dialect, pki, sender, receiver, Generator(pki, sender, receiver, MOMENT.date(), dialect=dialect)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_made_message_is_the_builders_own_bytes_and_is_taken(made_by, action):
    dialect, pki, sender, receiver, generator = made_by
    at, message_id = MOMENT, dialect.messages.message_id(sender, "42")
    made = generator.make(action, "LD-TEST-000042", message_id, at, replaces="LD-TEST-000041")
    built = sample_build(
        action,
        pki,
        sender,
        receiver,
        at.date(),
        reference="LD-TEST-000042",
        replaces="LD-TEST-000041",
        message_id=message_id,
        at=at,
        dialect=dialect,
    ).bytes()
    assert made.body == built
    judgement = Receiver(receiver, pki.trust_store(), dialect=dialect).judge(made.body, at=at)
    assert judgement.accepted and judgement.reasons == [], (judgement.violation, judgement.reasons)
    assert judgement.received_digests == made.digests
    assert made.conversation_id == judgement.header.conversation_id


def test_histogram_percentiles_are_within_a_bucket():
    histogram = Histogram()
    for ms in range(1, 1001):
        histogram.add(ms / 1000)
    summary = histogram.summary()
    assert summary["count"] == 1000 and summary["max_ms"] == 1000.0
    for key, expected in (("p50_ms", 500), ("p95_ms", 950), ("p99_ms", 990)):
        assert expected <= summary[key] <= expected * 1.03, (key, summary[key])
    assert Histogram().summary()["p95_ms"] is None
