"""How the harness judges a candidate's Error (M-20), section 7's RefToMessageId rule above all: an
Error for a body refused unread (T-03, T-04) or unparsable (M-01, M-02) may omit RefToMessageId,
but where present it must be right; every other Error must carry it. M-03 and M-04 need a Location."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conformance.core.violations import Violation
from conformance.family import signals
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

AT = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
SENT = "5c2b0c1e-0000-4000-8000-000000000001@sg.efdx"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


def error_body(pki, code: str, ref: str | None, location: str | None = "/Envelope/Header") -> bytes:
    requirement = f"{code[5]}-{code[6:]}"
    return signals.error(
        Violation(requirement, "something", "something else", location),
        ref_to_message_id=ref,
        sender="KH",
        receiver="SG",
        at=AT,
        credential=pki.nsw("KH"),
        dialect=EFDX,
    )


def judge(pki, body: bytes, code: str, *, optional: bool, location: str | None = None):
    return signals.check_error(
        body,
        message_id=SENT,
        sender="SG",
        receiver="KH",
        expected_code=code,
        trust=pki.trust_store(),
        at=AT,
        ref_optional=optional,
        location_required=location,
        dialect=EFDX,
    )


@pytest.mark.parametrize("code", ["EFDX-T03", "EFDX-T04", "EFDX-M01", "EFDX-M02"])
def test_an_error_for_a_body_refused_unread_may_omit_ref(pki, code):
    judge(pki, error_body(pki, code, None), code, optional=True)


@pytest.mark.parametrize("code", ["EFDX-T03", "EFDX-M01"])
def test_where_present_it_must_be_right(pki, code):
    with pytest.raises(Violation, match="RefToMessageId") as raised:
        judge(pki, error_body(pki, code, "someone-else@sg.efdx"), code, optional=True)
    assert raised.value.requirement == "M-20"


def test_every_other_error_must_carry_it(pki):
    with pytest.raises(Violation, match="RefToMessageId"):
        judge(pki, error_body(pki, "EFDX-M06", None), "EFDX-M06", optional=False)
    judge(pki, error_body(pki, "EFDX-M06", SENT), "EFDX-M06", optional=False)


def test_a_schema_error_without_location_fails_its_own_requirement(pki):
    with pytest.raises(Violation, match="Location") as raised:
        judge(
            pki, error_body(pki, "EFDX-M03", SENT, location=None), "EFDX-M03", optional=False, location="M-03"
        )
    assert raised.value.requirement == "M-03"
    judge(pki, error_body(pki, "EFDX-M03", SENT), "EFDX-M03", optional=False, location="M-03")
