"""The load mix's kinds: every kind gets its share of every run of messages, over all the partners
(Locust users) of one process, so that a short rehearsal sends each kind it weighs."""

from __future__ import annotations

from collections import Counter

from conformance.family.load.adapter import Traffic
from conformance.family.load.mix import DEFAULT_WEIGHTS, KindSchedule
from conformance.profiles.efdx.dialect import EFDX


def test_every_hundred_messages_have_the_weights_and_every_twelve_each_kind():
    schedule = KindSchedule(DEFAULT_WEIGHTS)
    picked = [schedule.next() for _ in range(300)]
    for start in range(0, 300, 100):
        assert Counter(picked[start : start + 100]) == DEFAULT_WEIGHTS
    assert set(picked[:12]) == set(DEFAULT_WEIGHTS)


def test_the_partners_of_one_process_share_one_schedule():
    traffic = Traffic(EFDX, EFDX.load_pki(), "SG", "KH")
    partners = [traffic.partner(f"p{index}", dict(DEFAULT_WEIGHTS), settle_s=1.0) for index in range(9)]
    assert len({id(partner.kinds) for partner in partners}) == 1
    sent = [partners[index % 9].next(now=0.0).kind for index in range(20)]  # 2 or 3 messages a partner
    assert {"issue", "invalid", "verify"} <= set(sent)  # a schedule each: issue, issue, then a duplicate
