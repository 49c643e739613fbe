"""RBR-01..RBR-14: for every RBR test purpose, the sample RCEP CO with one field changed breaks exactly
that rule; the boundaries a receiver must still take pass; the sample passes every rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pytest
from lxml import etree

from conformance.core.business_rules import add_months, months_before
from conformance.profiles.rcpx import rules
from conformance.profiles.rcpx.catalogue import by_layer, purposes
from conformance.profiles.rcpx.codes import CO_NS
from conformance.profiles.rcpx.messages import certificate, render, sample_certificate, sample_item
from conformance.profiles.rcpx.rules import (
    Context,
    Finding,
    check_cancellation,
    check_certificate,
    failed_rules,
)

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

RECEIVED = date(2026, 11, 26)
ISSUER, IMPORTER = "JP", "AU"
NS = {"c": CO_NS}


class FakeHistory:
    def __init__(
        self, accepted: Iterable[tuple[str, str]] = (), gone: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._accepted, self._gone = set(accepted), set(gone)

    def accepted(self, issuing_country: str, reference: str) -> bool:
        return (issuing_country, reference) in self._accepted

    def superseded_or_cancelled(self, issuing_country: str, reference: str) -> bool:
        return (issuing_country, reference) in self._gone


def data(issue_date: date = RECEIVED, **top: Any) -> dict[str, Any]:
    """The sample CO's template data (JP to AU), top-level keys replaced."""
    return sample_certificate(issuing_country=ISSUER, importing_country=IMPORTER, issue_date=issue_date) | top


def ctx(action: str = "IssueCO", history: Any = None, **kw: Any) -> Context:
    values = {"sender": ISSUER, "receiver": IMPORTER, "received_on": RECEIVED, **kw}
    return Context(action=action, history=history, **values)


def judge(payload: etree._Element, context: Context) -> list[Finding]:
    if payload.tag == f"{{{CO_NS}}}Cancellation":
        return check_cancellation(payload, context)
    return check_certificate(payload, context)


Case = Callable[[], tuple[etree._Element, Context]]
BROKEN: dict[str, Case] = {}  # purpose -> a payload breaking that clause alone
TAKEN: dict[str, Case] = {}  # purpose -> a boundary payload that must pass


def broken(*purpose_ids: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        for purpose_id in purpose_ids:
            BROKEN[purpose_id] = case
        return case

    return register


def taken(purpose_id: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        TAKEN[purpose_id] = case
        return case

    return register


def with_item(d: dict[str, Any], index: int, **fields: Any) -> dict[str, Any]:
    d["items"][index].update(fields)
    return d


def with_remarks(d: dict[str, Any], **flags: bool) -> dict[str, Any]:
    d["remarks"] = d["remarks"] | flags
    return d


def proof(issuing_country: str = "KR", origin: str = "KR") -> dict[str, str]:
    return {
        "reference_number": "KR-2026-0042",
        "issuing_country": issuing_country,
        "issue_date": (RECEIVED - timedelta(days=20)).isoformat(),
        "origin": origin,
    }


def with_departure(d: dict[str, Any], departure: date, retroactive: bool) -> dict[str, Any]:
    d["transport"]["departure_date"] = departure.isoformat()
    return with_remarks(d, IssuedRetroactively=retroactive)


def cancellation(issuing_country: str = ISSUER, reference: str = "CO-0001") -> etree._Element:
    return render(
        "Cancellation",
        {
            "reference_number": reference,
            "issuing_country": issuing_country,
            "cancel_date": RECEIVED.isoformat(),
            "reason": "Exporter withdrew the application",
        },
    )


def replace_co(replaces: str | None = "CO-0001") -> etree._Element:
    return certificate(data(reference_number="CO-0002", replaces=replaces))


# --- RBR-01 / RBR-02 ----------------------------------------------------------------------------------

broken("RBR-01/issuing-country-from")(lambda: (certificate(data()), ctx(sender="KR")))
broken("RBR-01/exporter-country")(
    lambda: (certificate(data(exporter={**data()["exporter"], "country": "KR"})), ctx())
)
broken("RBR-02/importer-country")(
    lambda: (certificate(data(importer={**data()["importer"], "country": "NZ"})), ctx())
)

# --- RBR-03 / RBR-04: item 1 is WO, item 2 CTC/CTH, item 3 RVC 45.00 with FOBValue ---------------------

ITEM_CHANGES: dict[str, tuple[int, dict[str, Any]]] = {
    "RBR-03/ctc-without-level": (1, {"ctc_level": None}),
    "RBR-03/ctc-with-percent": (1, {"percent": "50.00"}),
    "RBR-03/rvc-without-percent": (2, {"percent": None}),
    "RBR-03/rvc-below-40": (2, {"percent": "39.99"}),
    "RBR-03/rvc-with-level": (2, {"ctc_level": "CTH"}),
    "RBR-03/wo-with-percent": (0, {"percent": "50.00"}),
    "RBR-03/wo-with-level": (0, {"ctc_level": "CC"}),
    "RBR-03/pe-with-percent": (0, {"criterion": "PE", "percent": "50.00"}),
    "RBR-03/pe-with-level": (0, {"criterion": "PE", "ctc_level": "CTSH"}),
    "RBR-03/cr-with-percent": (0, {"criterion": "CR", "percent": "50.00"}),
    "RBR-03/cr-with-level": (0, {"criterion": "CR", "ctc_level": "CC"}),
    "RBR-04/rvc-without-fob": (2, {"fob_value": None}),
    "RBR-05/not-a-party": (0, {"origin": "US"}),
    "RBR-05/not-issuing-country": (0, {"origin": "KR"}),
    "RBR-13/chapter-77": (0, {"hs_code": "770100"}),
    "RBR-13/chapter-00": (0, {"hs_code": "000100"}),
    "RBR-13/chapter-above-97": (0, {"hs_code": "980100"}),
    "RBR-13/every-item": (2, {"hs_code": "000100"}),  # Items 1 and 2 valid: the last is checked too
}
for _purpose, (_index, _fields) in ITEM_CHANGES.items():
    broken(_purpose)(lambda i=_index, f=_fields: (certificate(with_item(data(), i, **f)), ctx()))

taken("RBR-03/rvc-40-inclusive")(lambda: (certificate(with_item(data(), 2, percent="40.00")), ctx()))


@broken("RBR-04/every-rvc-item")
def _second_rvc_without_fob() -> tuple[etree._Element, Context]:
    d = data()
    d["items"].append(sample_item(4, origin=ISSUER, invoice_date=RECEIVED, criterion="RVC", percent="50.00"))
    return certificate(d), ctx()


# --- RBR-05 / RBR-08: back-to-back ----------------------------------------------------------------------


@broken("RBR-05/back-to-back-origin")
def _back_to_back_with_own_origin() -> tuple[etree._Element, Context]:
    return certificate(with_remarks(data(original_proof=proof()), BackToBack=True)), ctx()


@taken("RBR-05/back-to-back-taken")
def _back_to_back() -> tuple[etree._Element, Context]:
    d = with_remarks(data(original_proof=proof()), BackToBack=True)
    for item in d["items"]:
        item["origin"] = "KR"
    return certificate(d), ctx()


broken("RBR-08/flag-without-proof")(lambda: (certificate(with_remarks(data(), BackToBack=True)), ctx()))
broken("RBR-08/proof-without-flag")(lambda: (certificate(data(original_proof=proof(origin=ISSUER))), ctx()))


@taken("RBR-08/proof-of-any-other-party")
def _back_to_back_on_an_earlier_party() -> tuple[etree._Element, Context]:
    """CN's proof for a JP CO: its code sorts before the issuer's (KR's, above, after it)."""
    d = with_remarks(data(original_proof=proof(issuing_country="CN", origin="CN")), BackToBack=True)
    for item in d["items"]:
        item["origin"] = "CN"
    return certificate(d), ctx()


@broken("RBR-08/same-issuing-country")
def _original_from_the_issuer() -> tuple[etree._Element, Context]:
    d = with_remarks(data(original_proof=proof(issuing_country=ISSUER, origin=ISSUER)), BackToBack=True)
    return certificate(d), ctx()


# --- RBR-06 / RBR-07: dates -----------------------------------------------------------------------------

broken("RBR-06/future")(lambda: (certificate(data(issue_date=RECEIVED + timedelta(days=1))), ctx()))
broken("RBR-06/too-old")(
    lambda: (certificate(data(issue_date=months_before(RECEIVED, 12) - timedelta(days=1))), ctx())
)
taken("RBR-06/twelve-months-inclusive")(
    lambda: (certificate(data(issue_date=months_before(RECEIVED, 12))), ctx())
)
broken("RBR-07/not-flagged")(
    lambda: (certificate(with_departure(data(), RECEIVED - timedelta(days=4), False)), ctx())
)
broken("RBR-07/wrongly-flagged")(
    lambda: (certificate(with_departure(data(), RECEIVED - timedelta(days=3), True)), ctx())
)
broken("RBR-07/over-twelve-months-after-departure")(
    lambda: (certificate(with_departure(data(), add_months(RECEIVED, -12) - timedelta(days=1), True)), ctx())
)
taken("RBR-07/issued-before-departure")(
    lambda: (certificate(with_departure(data(), RECEIVED + timedelta(days=5), False)), ctx())
)
taken("RBR-07/twelve-months-after-departure-inclusive")(
    lambda: (certificate(with_departure(data(), add_months(RECEIVED, -12), True)), ctx())
)

# --- RBR-09 / RBR-10 ------------------------------------------------------------------------------------

THIRD_PARTY = {"issuer_name": "Pacific Trade Services Ltd", "issuer_country": "HK"}
broken("RBR-09/flag-without-invoice")(
    lambda: (certificate(with_remarks(data(), ThirdPartyInvoicing=True)), ctx())
)
broken("RBR-09/invoice-without-flag")(lambda: (certificate(data(third_party_invoice=THIRD_PARTY)), ctx()))
taken("RBR-09/non-party-issuer")(
    lambda: (
        certificate(with_remarks(data(third_party_invoice=THIRD_PARTY), ThirdPartyInvoicing=True)),
        ctx(),
    )
)

NUMBERINGS = {
    "RBR-10/gap": (1, 2, 4),
    "RBR-10/repeat": (1, 2, 2),
    "RBR-10/not-from-one": (2, 3, 4),
    "RBR-10/document-order": (2, 1, 3),
}


def _numbered(numbers: tuple[int, ...]) -> dict[str, Any]:
    d = data()
    for item, number in zip(d["items"], numbers, strict=True):
        item["number"] = number
    return d


for _purpose, _numbers in NUMBERINGS.items():
    broken(_purpose)(lambda n=_numbers: (certificate(_numbered(n)), ctx()))

# The stateless rules on a ReplaceCO (its Replaces names CO-0001; no history: RBR-14 is not judged).
broken("RBR-10/replace-co")(
    lambda: (
        certificate(_numbered((1, 2, 2)) | {"reference_number": "CO-0002", "replaces": "CO-0001"}),
        ctx("ReplaceCO"),
    )
)
broken("RBR-03/replace-co")(
    lambda: (
        certificate(with_item(data(reference_number="CO-0002", replaces="CO-0001"), 2, percent="39.99")),
        ctx("ReplaceCO"),
    )
)

# --- RBR-11 / RBR-13 / RBR-14: history and chapters -------------------------------------------------------

broken("RBR-11/reference-reused")(
    lambda: (certificate(data()), ctx(history=FakeHistory(accepted=[(ISSUER, "CO-0001")])))
)
broken("RBR-11/replace-reuses-reference")(
    lambda: (
        certificate(data(replaces="CO-0000")),
        ctx("ReplaceCO", FakeHistory(accepted=[(ISSUER, "CO-0000"), (ISSUER, "CO-0001")])),
    )
)
broken("RBR-11/after-cancel", "RBR-11/after-supersede")(
    lambda: (
        certificate(data()),
        ctx(history=FakeHistory(accepted=[(ISSUER, "CO-0001")], gone=[(ISSUER, "CO-0001")])),
    )
)
taken("RBR-11/per-issuing-country")(
    lambda: (certificate(data()), ctx(history=FakeHistory(accepted=[("KR", "CO-0001")])))
)


@taken("RBR-13/chapters-01-and-97")
def _chapter_ends() -> tuple[etree._Element, Context]:
    return certificate(with_item(with_item(data(), 0, hs_code="010121"), 1, hs_code="970110")), ctx()


ACCEPTED = FakeHistory(accepted=[(ISSUER, "CO-0001"), ("KR", "CO-0001")])
GONE = FakeHistory(accepted=[(ISSUER, "CO-0001")], gone=[(ISSUER, "CO-0001")])
broken("RBR-14/cancel-unknown")(lambda: (cancellation(), ctx("CancelCO", FakeHistory())))
broken("RBR-14/replace-unknown")(lambda: (replace_co(), ctx("ReplaceCO", FakeHistory())))
broken("RBR-14/replace-without-replaces")(lambda: (replace_co(None), ctx("ReplaceCO", FakeHistory())))
broken("RBR-14/cancel-other-issuing-country")(lambda: (cancellation("KR"), ctx("CancelCO", ACCEPTED)))
# CN sorts before the sender JP (KR, above, after it): BR-14 compares the countries for equality
EARLIER = FakeHistory(accepted=[(ISSUER, "CO-0001"), ("CN", "CO-0001")])
broken("RBR-14/cancel-country-sorting-before-sender")(lambda: (cancellation("CN"), ctx("CancelCO", EARLIER)))
# A CO received but rejected is not in the history of accepted COs.
broken("RBR-14/named-co-rejected")(lambda: (cancellation(), ctx("CancelCO", FakeHistory())))
taken("RBR-11/rejected-reference-free")(lambda: (certificate(data()), ctx(history=FakeHistory())))
taken("RBR-14/replacement-current")(
    lambda: (replace_co(), ctx("ReplaceCO", FakeHistory(accepted=[(ISSUER, "CO-0001"), (ISSUER, "CO-0000")])))
)
broken("RBR-14/replace-other-issuing-country")(
    lambda: (replace_co(), ctx("ReplaceCO", FakeHistory(accepted=[("KR", "CO-0001")])))
)
broken("RBR-14/cancel-cancelled", "RBR-14/cancel-superseded")(lambda: (cancellation(), ctx("CancelCO", GONE)))
broken("RBR-14/replace-superseded", "RBR-14/replace-cancelled")(
    lambda: (replace_co(), ctx("ReplaceCO", GONE))
)


# --- the tests --------------------------------------------------------------------------------------------


def resolve(payload: etree._Element, location: str) -> list[etree._Element]:
    return payload.xpath("/".join(f"c:{step}" for step in location.split("/")), namespaces=NS)


def test_the_sample_passes_every_rule() -> None:
    co = certificate(data())
    assert check_certificate(co, ctx()) == []
    assert check_certificate(co, ctx(history=FakeHistory())) == []


def test_every_rbr_purpose_has_a_case_here_but_the_signature_ones() -> None:
    rbr = {p.id for p in purposes() if p.requirement.startswith("RBR-")}
    signature = {p for p in rbr if p.split("/")[0] in rules.SIGNATURE_RULES}
    assert set(BROKEN) | set(TAKEN) == rbr - signature
    assert not set(BROKEN) & set(TAKEN)


def test_rule_tables_cover_the_catalogue() -> None:
    assert sorted([*rules.RULES, *rules.SIGNATURE_RULES]) == [r.id for r in by_layer("RBR")]
    assert set(rules.STATELESS_RULES) | set(rules.STATEFUL_RULES) == set(rules.RULES)
    assert not set(rules.STATELESS_RULES) & set(rules.STATEFUL_RULES)


@pytest.mark.parametrize("purpose_id", sorted(BROKEN))
def test_a_document_breaking_one_clause_fails_exactly_that_rule(purpose_id: str) -> None:
    payload, context = BROKEN[purpose_id]()
    findings = judge(payload, context)
    assert failed_rules(findings) == (purpose_id.split("/")[0],), [str(f) for f in findings]
    for finding in findings:
        assert finding.text
        if finding.location is not None:
            assert len(resolve(payload, finding.location)) == 1, finding


@pytest.mark.parametrize("purpose_id", sorted(TAKEN))
def test_a_boundary_document_passes_every_rule(purpose_id: str) -> None:
    payload, context = TAKEN[purpose_id]()
    assert judge(payload, context) == []


@pytest.mark.parametrize("percent", ["40", "40.00", "40.01", "100"])
def test_rbr03_rvc_at_or_above_40_passes(percent: str) -> None:
    assert rules.rbr03_origin_criterion(certificate(with_item(data(), 2, percent=percent)), ctx()) == []


@pytest.mark.parametrize("percent", ["39.99", "0", "39.999999999999999999"])
def test_rbr03_rvc_below_40_fails_as_a_decimal(percent: str) -> None:
    findings = rules.rbr03_origin_criterion(certificate(with_item(data(), 2, percent=percent)), ctx())
    assert [(f.rule, f.location) for f in findings] == [("RBR-03", "Item[3]/OriginCriterion/Percent")]


@pytest.mark.parametrize(
    ("days", "retroactive"), [(-1, False), (0, False), (3, False), (4, True), (30, True)]
)
def test_rbr07_more_than_3_calendar_days_is_retroactive(days: int, retroactive: bool) -> None:
    departure = RECEIVED - timedelta(days=days)
    assert (
        rules.rbr07_retroactive_issue(certificate(with_departure(data(), departure, retroactive)), ctx())
        == []
    )
    findings = rules.rbr07_retroactive_issue(
        certificate(with_departure(data(), departure, not retroactive)), ctx()
    )
    assert [(f.rule, f.location) for f in findings] == [("RBR-07", "Remarks/IssuedRetroactively")]


def test_rbr07_twelve_months_after_departure_clamps_at_the_month_end() -> None:
    assert rules.latest_issue_date(date(2024, 2, 29)) == date(2025, 2, 28)
    issued_on_the_29th = data(issue_date=date(2025, 2, 28))
    d = with_departure(issued_on_the_29th, date(2024, 2, 29), True)
    assert rules.rbr07_retroactive_issue(certificate(d), ctx(received_on=date(2025, 2, 28))) == []
    d = with_departure(data(issue_date=date(2025, 3, 1)), date(2024, 2, 29), True)
    findings = rules.rbr07_retroactive_issue(certificate(d), ctx(received_on=date(2025, 3, 1)))
    assert [f.location for f in findings] == ["IssueDate"]


def test_rbr06_twelve_months_before_receipt_are_inclusive() -> None:
    assert rules.earliest_issue_date(RECEIVED) == date(2025, 11, 26)
    assert rules.earliest_issue_date(date(2024, 2, 29)) == date(2023, 2, 28)


@pytest.mark.parametrize("hs", ["010121", "290110", "760110", "780110", "970110"])
def test_rbr13_chapters_in_range_pass(hs: str) -> None:
    assert rules.rbr13_hs_chapter(certificate(with_item(data(), 0, hs_code=hs)), ctx()) == []


@pytest.mark.parametrize("hs", ["000100", "770100", "980100", "990100", "", "9"])
def test_rbr13_other_chapters_fail(hs: str) -> None:
    findings = rules.rbr13_hs_chapter(certificate(with_item(data(), 0, hs_code=hs)), ctx())
    assert [(f.rule, f.location) for f in findings] == [("RBR-13", "Item[1]/HSCode")]


def test_rbr05_admits_a_party_added_by_configuration() -> None:
    co = certificate(with_item(data(), 0, origin="TL"))
    (default,) = rules.rbr05_country_of_origin(co, ctx())
    assert "not an RCEP party" in default.text
    (configured,) = rules.rbr05_country_of_origin(co, ctx(parties=frozenset({"JP", "AU", "TL"})))
    assert "not an RCEP party" not in configured.text and "IssuingCountry is JP" in configured.text


def test_stateful_rules_are_skipped_without_a_history() -> None:
    assert check_certificate(certificate(data()), ctx()) == []
    assert check_cancellation(cancellation(), ctx("CancelCO")) == []
    assert check_certificate(replace_co(), ctx("ReplaceCO")) == []


def test_a_replace_without_replaces_fails_even_without_a_history() -> None:
    assert failed_rules(check_certificate(replace_co(None), ctx("ReplaceCO"))) == ("RBR-14",)


def test_several_broken_rules_are_all_reported_once() -> None:
    d = with_item(with_item(data(), 2, percent="39.99", fob_value=None), 0, hs_code="770100")
    assert failed_rules(check_certificate(certificate(d), ctx(receiver="NZ"))) == (
        "RBR-02",
        "RBR-03",
        "RBR-04",
        "RBR-13",
    )


def test_missing_elements_are_reported_not_crashed_on() -> None:
    bare = etree.Element(f"{{{CO_NS}}}RCEPCertificateOfOrigin")
    findings = check_certificate(bare, ctx(history=FakeHistory()))
    assert {"RBR-01", "RBR-02", "RBR-06", "RBR-07"} <= set(failed_rules(findings))


def test_entry_points_refuse_the_wrong_payload() -> None:
    with pytest.raises(ValueError):
        check_certificate(cancellation(), ctx())
    with pytest.raises(ValueError):
        check_cancellation(certificate(data()), ctx("CancelCO"))


def test_finding_str() -> None:
    assert str(Finding("RBR-03", "bad", "Item[2]")) == "RBR-03 at Item[2]: bad"


# --- issue 17: the stateless rules on a ReplaceCO (Replaces names CO-0001; no history), RBR-06's bounds


def _replacing(d: dict[str, Any]) -> dict[str, Any]:
    return d | {"reference_number": "CO-0002", "replaces": "CO-0001"}


ON_REPLACE: dict[str, Callable[[], dict[str, Any]]] = {
    "RBR-01/replace-co": lambda: data(exporter={**data()["exporter"], "country": "KR"}),
    "RBR-02/replace-co": lambda: data(importer={**data()["importer"], "country": "NZ"}),
    "RBR-04/replace-co": lambda: with_item(data(), 2, fob_value=None),
    "RBR-05/replace-co": lambda: with_item(data(), 0, origin="US"),
    "RBR-06/replace-co": lambda: data(issue_date=RECEIVED + timedelta(days=1)),
    "RBR-07/replace-co": lambda: with_departure(data(), RECEIVED - timedelta(days=4), False),
    "RBR-08/replace-co": lambda: with_remarks(data(), BackToBack=True),
    "RBR-09/replace-co": lambda: with_remarks(data(), ThirdPartyInvoicing=True),
    "RBR-13/replace-co": lambda: with_item(data(), 0, hs_code="770100"),
}
for _purpose, _make in ON_REPLACE.items():
    broken(_purpose)(lambda make=_make: (certificate(_replacing(make())), ctx("ReplaceCO")))

taken("RBR-06/day-of-receipt")(lambda: (certificate(data(issue_date=RECEIVED)), ctx()))
broken("RBR-06/one-day-over-12-months")(
    lambda: (certificate(data(issue_date=months_before(RECEIVED, 12) - timedelta(days=1))), ctx())
)
