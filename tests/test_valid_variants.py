"""The valid variants of sections 2-4 (a candidate must take each) and the over-strict seeded faults.

Each variant vector is taken (and ACCEPTED) by the strict judge, and refused (or REJECTED) by every
seeded fault named for it, judged offline on the vector's own day: so that the fault kill matrix,
which stops at a purpose's first failing test, is backed per vector. Both profiles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree

from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.judge import Receiver
from conformance.family.vectors import LIVE_EDGE_MARGIN, build_vector, load_manifest
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.rcpx.dialect import RCPX

DAY = date(2026, 12, 6)
NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)

REFUSED_BY = {
    "valid-issue-co-sha384": ("refuse-sha384", "refuse-co-sha384-sha512"),
    "valid-issue-co-sha512": ("refuse-sha512", "refuse-co-sha384-sha512"),
    "valid-issue-co-ecdsa": ("refuse-ecdsa", "refuse-co-ecdsa"),
    "valid-timestamp-exactly-24h-old": ("exclusive-timestamp-window",),
    "valid-timestamp-exactly-15min-ahead": ("exclusive-timestamp-window",),
    "valid-message-id-255-chars": ("refuse-longest-message-id",),
    "valid-co-maximum-lengths": ("refuse-longest-co-texts",),
    "valid-ncname-ids": ("refuse-unusual-ids",),
    "valid-ref-to-message-id-on-request": ("refuse-ref-on-requests",),
    "valid-co-all-optional-elements": ("refuse-optional-co-elements",),
    "valid-co-no-optional-elements": ("require-vessel-or-flight",),
    "valid-rcep-co-all-optional-elements": ("refuse-optional-co-elements",),
    "valid-rcep-co-no-optional-elements": ("require-vessel-or-flight",),
}
CASES = [
    pytest.param(dialect, vector_id, fault, id=f"{dialect.key}:{vector_id}:{fault}")
    for dialect in (EFDX, RCPX)
    for vector_id, faults in REFUSED_BY.items()
    if vector_id in {vector.id for vector in load_manifest(dialect=dialect)}
    for fault in faults
]


def _judge(dialect, vector_id: str, lax=None):
    pki, parties = dialect.load_pki(), dialect.vector_parties
    body = build_vector(vector_id, DAY, pki, dialect=dialect, **parties)
    options = {"policy": lax.policy, "checks": lax.checks(), "rules": lax.rules(dialect.rules)} if lax else {}
    return Receiver(parties["receiver"], pki.trust_store(), dialect=dialect, **options).judge(body, at=NOON)


def test_every_variant_is_in_both_manifests_as_valid_and_accepted():
    for dialect in (EFDX, RCPX):
        manifest = {vector.id: vector for vector in load_manifest(dialect=dialect)}
        ours = [vector_id for vector_id in REFUSED_BY if vector_id in manifest]
        assert len(ours) == 11, (dialect.key, ours)
        for vector_id in ours:
            assert (
                manifest[vector_id].expect_code == "valid" and manifest[vector_id].expect_status == "ACCEPTED"
            )
            assert manifest[vector_id].purposes, vector_id


@pytest.mark.parametrize(("dialect", "vector_id", "fault"), CASES)
def test_the_strict_judge_takes_the_variant_and_its_fault_does_not(dialect, vector_id, fault):
    strict = _judge(dialect, vector_id)
    assert strict.violation is None and strict.status == "ACCEPTED", strict.violation or strict.reasons
    faulty = _judge(dialect, vector_id, dialect.fault(fault).lax)
    assert faulty.violation is not None or faulty.status != "ACCEPTED", f"{fault} took {vector_id}"


@pytest.mark.parametrize(
    ("vector_id", "offset"),
    [
        ("valid-timestamp-exactly-24h-old", -timedelta(hours=24)),
        ("valid-timestamp-exactly-15min-ahead", timedelta(minutes=15)),
    ],
)
def test_window_edges_are_exact_offline_and_just_inside_live(vector_id, offset):
    pki = EFDX.load_pki()

    def timestamp(body: bytes) -> datetime:
        text = etree.fromstring(body).findtext("{*}Header/{*}Timestamp")
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert timestamp(build_vector(vector_id, DAY, pki, dialect=EFDX)) == NOON + offset
    moment = NOON + timedelta(hours=3)
    live = timestamp(build_vector(vector_id, DAY, pki, moment=moment, dialect=EFDX)) - moment
    assert abs(live) == abs(offset) - LIVE_EDGE_MARGIN


def test_over_long_message_ids_need_not_be_echoed():
    """An Error cannot carry a 256-character MessageId back schema-validly: the reference's Error
    omits it, and the harness takes an Error without it (any shorter one must still be echoed)."""
    judged = _judge(EFDX, "m03-message-id-256-chars")
    assert judged.codes == ["EFDX-M03"] and len(judged.message_id) == 256
    pki = EFDX.load_pki()
    body = signals.error(
        judged.violation,
        ref_to_message_id=judged.message_id,
        sender="KH",
        receiver="SG",
        at=NOON,
        credential=pki.nsw("KH"),
        dialect=EFDX,
    )
    common = {
        "sender": "SG",
        "receiver": "KH",
        "expected_code": "EFDX-M03",
        "trust": pki.trust_store(),
        "at": NOON,
        "dialect": EFDX,
    }
    error = signals.check_error(body, message_id=judged.message_id, **common)
    assert error.text("RefToMessageId") is None
    with pytest.raises(Violation):
        signals.check_error(body, message_id="a" * 255, **common)
