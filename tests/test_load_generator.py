"""The load generator makes what the vector builders make, byte for byte, and the judge takes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.app.load.generator import ACTIONS, Generator, sample_build
from conformance.app.load.stats import Histogram
from conformance.profiles.efdx.judge import Receiver
from conformance.profiles.efdx.pki import TestPki


@pytest.fixture(scope="module")
def generator():
    return Generator(TestPki.load(), "SG", "KH")


@pytest.mark.parametrize("action", ACTIONS)
def test_a_made_message_is_the_builders_own_bytes_and_is_taken(generator, action):
    pki, at = TestPki.load(), datetime(2026, 11, 30, 8, 1, 2, tzinfo=UTC)
    made = generator.make(action, "LD-TEST-000042", "1234@sg.efdx", at, replaces="LD-TEST-000041")
    built = sample_build(
        action,
        pki,
        "SG",
        "KH",
        datetime.now(UTC).date(),
        reference="LD-TEST-000042",
        replaces="LD-TEST-000041",
        message_id="1234@sg.efdx",
        at=at,
    ).bytes()
    assert made.body == built
    judgement = Receiver("KH", pki.trust_store()).judge(made.body, at=at)
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
