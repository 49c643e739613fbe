"""The receiving pipeline: section 5's order decides which failure answers, duplicates, statuses."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from conformance.family.judge import Receiver
from conformance.family.vectors import Build
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

DAY = date(2026, 11, 26)
NOON = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


class Log:
    """A MessageLog that remembers body digests, as the reference NSW's store does."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def digest_of(self, sender: str, message_id: str) -> str | None:
        return self.seen.get((sender, message_id))


def build(pki: TestPki, vector_id: str = "order", **changes) -> Build:
    made = Build(vector_id=vector_id, day=DAY, pki=pki, dialect=EFDX)
    for name, value in changes.items():
        setattr(made, name, value)
    return made


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"envelope_signer": None, "receiver": "TH"}, "EFDX-M05"),  # M-05 before M-13
        ({"profile_version": "0.9", "envelope_signer": None}, "EFDX-M18"),  # M-18 before M-05
        ({"envelope_signer": "expired", "timestamp": datetime(2020, 1, 1, tzinfo=timezone.utc)}, "EFDX-M09"),
        ({"envelope_signer": "rsa-1024", "receiver": "TH"}, "EFDX-M12"),  # M-12 before trust and M-13
        (
            {"receiver": "TH", "action": "CancelCO", "envelope_action": "IssueCO"},
            "EFDX-M13",
        ),  # M-13 before M-14
    ],
    ids=["m05-before-m13", "m18-before-m05", "m09-before-m15", "m12-before-m13", "m13-before-m14"],
)
def test_first_failure_in_section_5_order_decides(pki, changes, code):
    if changes.get("envelope_signer") in ("expired", "rsa-1024"):
        changes["envelope_signer"] = pki.bad(changes["envelope_signer"])
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(build(pki, **changes).bytes(), at=NOON)
    assert judgement.codes == [code]


def test_wrong_content_type_is_t03_415(pki):
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(
        build(pki).bytes(), "application/json", at=NOON
    )
    assert judgement.codes == ["EFDX-T03"] and judgement.http_status == 415


def test_text_xml_is_tolerated(pki):
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(
        build(pki).bytes(), "text/xml; charset=utf-8", at=NOON
    )
    assert judgement.accepted and judgement.status == "ACCEPTED"


def test_same_bytes_again_is_a_duplicate_and_not_processed(pki):
    log = Log()
    receiver = Receiver("KH", pki.trust_store(), log=log, dialect=EFDX)
    body = build(pki).bytes()
    first = receiver.judge(body, at=NOON)
    log.seen[(first.header.sender, first.header.message_id)] = first.body_digest
    second = receiver.judge(body, at=NOON)
    assert second.accepted and second.duplicate and second.http_status == 200
    assert second.status is None  # processed once only: no second status


def test_same_message_id_other_content_is_m17_409(pki):
    log = Log()
    receiver = Receiver("KH", pki.trust_store(), log=log, dialect=EFDX)
    first = receiver.judge(build(pki).bytes(), at=NOON)
    log.seen[(first.header.sender, first.header.message_id)] = first.body_digest
    changed = build(pki, timestamp=datetime(2026, 11, 26, 12, 1, tzinfo=timezone.utc)).bytes()
    second = receiver.judge(changed, at=NOON)
    assert second.codes == ["EFDX-M17"] and second.http_status == 409


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [(-24 * 60, True), (-24 * 60 - 1, False), (15, True), (16, False)],
    ids=["24h-old", "24h1m-old", "15min-ahead", "16min-ahead"],
)
def test_timestamp_window_both_sides(pki, minutes, accepted):
    from datetime import timedelta

    body = build(pki, timestamp=NOON + timedelta(minutes=minutes)).bytes()
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, at=NOON)
    assert judgement.accepted is accepted
    assert judgement.codes == ([] if accepted else ["EFDX-M15"])


def test_received_digests_are_the_envelope_reference_digests_in_order(pki):
    from lxml import etree

    body = build(pki).bytes()
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, at=NOON)
    root = etree.fromstring(body)
    values = root.xpath(
        "/*/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue/text()",
        namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"},
    )
    assert list(judgement.received_digests) == values and len(values) == 2


def test_message_id_is_read_even_when_the_envelope_is_invalid(pki):
    body = build(pki, envelope_signer=None, profile_version="9").bytes()
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, at=NOON)
    assert judgement.codes == ["EFDX-M18"] and judgement.message_id.endswith("@sg.efdx")


def test_a_comment_inside_signed_text_cannot_change_what_is_read(pki):
    """Exclusive C14N ignores comments: a receiver must not read `87b` where `87b<!---->0...` was sent."""
    log = Log()
    receiver = Receiver("KH", pki.trust_store(), log=log, dialect=EFDX)
    body = build(pki).bytes()
    first = receiver.judge(body, at=NOON)
    log.seen[(first.header.sender, first.header.message_id)] = first.body_digest
    message_id = first.header.message_id.encode()
    replay = body.replace(b"<MessageId>" + message_id[:3], b"<MessageId>" + message_id[:3] + b"<!---->", 1)
    judgement = receiver.judge(replay, at=NOON)
    assert judgement.message_id == first.header.message_id
    assert judgement.codes == ["EFDX-M17"]


def test_a_processing_instruction_inside_signed_text_is_dropped_before_anything_reads_it(pki):
    body = build(pki).bytes().replace(b"<To>KH", b"<To>K<?x y?>H", 1)
    judgement = Receiver("KH", pki.trust_store(), dialect=EFDX).judge(body, at=NOON)
    assert judgement.codes == [] and judgement.header.receiver == "KH"
