"""BR-01..BR-16 at their boundaries, on CertificateOfOrigin elements built here from a baseline dict."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.family.judge import Judgement
from conformance.profiles.efdx import rules
from conformance.profiles.efdx.catalogue import by_layer
from conformance.profiles.efdx.codes import EFORMD_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.rules import (
    Context,
    Finding,
    check_cancellation,
    check_certificate,
    earliest_issue_date,
    failed_rules,
    months_before,
)

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

NS = {"f": EFORMD_NS}

# --- building payloads --------------------------------------------------------------------------------
# A dict maps child names to values in document order: a str is the element's text, a dict its
# children, a list repeats the element, None leaves it out. Keys starting with "@" are attributes,
# "#text" is the text of an element that also has attributes.


def _item(number: int, code: str = "WO", percent: str | None = None, fob: str | None = None) -> dict:
    return {
        "ItemNumber": str(number),
        "MarksAndNumbers": f"MARK-{number}",
        "PackageCount": "10",
        "PackageType": "CT",
        "Description": "Canned pineapple",
        "HSCode": "200820",
        "OriginCriterion": {"Code": code, "Percent": percent},
        "Quantity": {"@unitCode": "KGM", "#text": "1200"},
        "FOBValue": None if fob is None else {"@currencyId": "USD", "#text": fob},
    }


BASELINE: dict[str, Any] = {
    "@Id": "co",
    "ReferenceNumber": "SG-2025-000123",
    "IssuingCountry": "SG",
    "IssueDate": "2025-03-10",
    "Exporter": {"Name": "Lion Foods Pte Ltd", "Address": "1 Harbour Road, Singapore", "Country": "SG"},
    "Consignee": {"Name": "Saigon Trading JSC", "Address": "2 Le Loi, Ho Chi Minh City", "Country": "VN"},
    "Transport": {
        "DepartureDate": "2025-03-08",
        "Mode": "SEA",
        "VesselOrFlight": "MV Merlion 042",
        "PortOfLoading": "SGSIN",
        "PortOfDischarge": "VNSGN",
    },
    "Item": [_item(1), _item(2, "RVC", "45.00", "12000.00")],
    "Invoice": [{"Number": "INV-77", "Date": "2025-03-07"}],
    "ThirdCountryInvoice": None,
    "Declaration": {
        "ProducingCountry": "SG",
        "ImportingCountry": "VN",
        "Place": "Singapore",
        "Date": "2025-03-09",
        "SignatoryName": "Tan Mei Ling",
    },
    "Certification": {
        "AuthorityName": "Singapore Customs",
        "Place": "Singapore",
        "Date": "2025-03-10",
        "OfficerName": "Lim Wei",
    },
    "Flags": {
        "ThirdCountryInvoicing": "false",
        "Exhibition": "false",
        "Accumulation": "false",
        "DeMinimis": "false",
        "BackToBack": "false",
        "IssuedRetroactively": "false",
        "PartialCumulation": "false",
    },
    "OriginalCO": None,
    "ExhibitionDetails": None,
    "Replaces": None,
}

RECEIVED = date(2025, 3, 12)


def _fill(parent: etree._Element, spec: dict[str, Any]) -> None:
    for key, value in spec.items():
        if key.startswith("@"):
            parent.set(key[1:], value)
        elif key == "#text":
            parent.text = value
        elif value is None:
            continue
        else:
            for one in value if isinstance(value, list) else [value]:
                child = etree.SubElement(parent, f"{{{EFORMD_NS}}}{key}")
                if isinstance(one, dict):
                    _fill(child, one)
                else:
                    child.text = one


def build(spec: dict[str, Any], root: str = "CertificateOfOrigin") -> etree._Element:
    element = etree.Element(f"{{{EFORMD_NS}}}{root}", nsmap={None: EFORMD_NS})
    _fill(element, spec)
    return element


def co_dict(**top: Any) -> dict[str, Any]:
    """A deep copy of the baseline with top-level children replaced (``Flags`` is merged)."""
    d = copy.deepcopy(BASELINE)
    for key, value in top.items():
        if key == "Flags":
            d["Flags"].update(value)
        else:
            d[key] = value
    return d


def co(**top: Any) -> etree._Element:
    return build(co_dict(**top))


def ctx(action: str = "IssueCO", history: Any = None, **kw: Any) -> Context:
    values = {"sender": "SG", "receiver": "VN", "received_on": RECEIVED, **kw}
    return Context(action=action, history=history, **values)


def resolve(payload: etree._Element, location: str) -> list[etree._Element]:
    """The nodes a Finding's relative location names."""
    return payload.xpath("/".join(f"f:{step}" for step in location.split("/")), namespaces=NS)


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


class FakeHistory:
    def __init__(
        self, accepted: Iterable[tuple[str, str]] = (), gone: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._accepted, self._gone = set(accepted), set(gone)

    def accepted(self, issuing_country: str, reference: str) -> bool:
        return (issuing_country, reference) in self._accepted

    def superseded_or_cancelled(self, issuing_country: str, reference: str) -> bool:
        return (issuing_country, reference) in self._gone


# --- the baseline and the enumerations -----------------------------------------------------------------


def test_baseline_passes_every_rule() -> None:
    assert check_certificate(co(), ctx()) == []
    assert check_certificate(co(), ctx(history=FakeHistory())) == []


def test_rule_tables_cover_the_catalogue() -> None:
    catalogue_brs = [r.id for r in by_layer("BR")]
    assert sorted([*rules.RULES, *rules.SIGNATURE_RULES]) == catalogue_brs
    assert "BR-12" not in rules.RULES
    assert set(rules.STATELESS_RULES) | set(rules.STATEFUL_RULES) == set(rules.RULES)
    assert not set(rules.STATELESS_RULES) & set(rules.STATEFUL_RULES)
    assert rules.STATEFUL_RULES == ("BR-11", "BR-14", "BR-15")


def test_findings_locate_existing_nodes_and_name_their_rule() -> None:
    broken = co(
        IssuingCountry="MY",
        Item=[_item(1, "WO", "10"), _item(3, "RVC", "39.99"), _item(3, "PC", "41")],
        Flags={"BackToBack": "true", "IssuedRetroactively": "true"},
        IssueDate="2025-03-13",
    )
    findings = check_certificate(broken, ctx())
    assert findings
    for finding in findings:
        assert finding.rule in rules.RULES
        assert finding.text
        if finding.location is not None:
            assert len(resolve(broken, finding.location)) == 1, finding


def test_failed_rules_reports_each_id_once_in_order() -> None:
    findings = [Finding("BR-13", "a"), Finding("BR-03", "b"), Finding("BR-03", "c"), Finding("BR-04", "d")]
    assert failed_rules(findings) == ("BR-03", "BR-04", "BR-13")


def test_rule_ids_have_one_order_by_number_padded_or_not() -> None:
    """A StatusNotification's Reasons (failed_rules) and the judge's (Judgement.reasons) agree."""
    findings = [Finding("BR-10", "a"), Finding("BR-9", "b"), Finding("BR-09", "c"), Finding("RBR-1", "d")]
    assert failed_rules(findings) == ("BR-09", "BR-9", "BR-10", "RBR-1")
    assert Judgement(body_digest="", findings=findings, dialect=EFDX).reasons == list(failed_rules(findings))
    assert failed_rules([Finding("X", "e"), Finding("BR-2", "f")]) == ("BR-2", "X")


def test_finding_str() -> None:
    assert str(Finding("BR-03", "bad", "Item[2]")) == "BR-03 at Item[2]: bad"
    assert str(Finding("BR-16", "bad")) == "BR-16: bad"


def test_entry_points_refuse_the_wrong_payload() -> None:
    with pytest.raises(ValueError):
        check_certificate(build({"ReferenceNumber": "X"}, "Cancellation"), ctx())
    with pytest.raises(ValueError):
        check_cancellation(co(), ctx("CancelCO"))


def test_three_rules_broken_at_once_yield_all_three_ids() -> None:
    bad_item = _item(2, "RVC", "39.99")  # BR-03 and, without FOBValue, BR-04
    bad_item["HSCode"] = "770100"  # BR-13
    findings = check_certificate(co(Item=[_item(1), bad_item]), ctx())
    assert failed_rules(findings) == ("BR-03", "BR-04", "BR-13")


# --- BR-01 / BR-02 --------------------------------------------------------------------------------------


def test_br01_holds_when_all_four_agree() -> None:
    assert rules.br01_exporting_country(co(), ctx()) == []


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"IssuingCountry": "MY"}, "IssuingCountry"),
        ({"Exporter": {"Name": "n", "Address": "a", "Country": "MY"}}, "Exporter/Country"),
        (
            {"Declaration": {**BASELINE["Declaration"], "ProducingCountry": "TH"}},
            "Declaration/ProducingCountry",
        ),
    ],
)
def test_br01_fails_when_one_differs(change: dict, location: str) -> None:
    findings = rules.br01_exporting_country(co(**change), ctx())
    assert ids(findings) == {"BR-01"}
    assert location in {f.location for f in findings}


def test_br01_fails_when_envelope_from_differs() -> None:
    findings = rules.br01_exporting_country(co(), ctx(sender="MY"))
    assert [f.location for f in findings] == ["IssuingCountry"]
    assert "MY" in findings[0].text and "SG" in findings[0].text


def test_br02_holds_and_fails() -> None:
    assert rules.br02_importing_country(co(), ctx()) == []
    assert [f.location for f in rules.br02_importing_country(co(), ctx(receiver="TH"))] == [
        "Consignee/Country",
        "Declaration/ImportingCountry",
    ]
    consignee = {**BASELINE["Consignee"], "Country": "TH"}
    findings = rules.br02_importing_country(co(Consignee=consignee), ctx())
    assert [f.location for f in findings] == ["Consignee/Country"]
    declaration = {**BASELINE["Declaration"], "ImportingCountry": "TH"}
    findings = rules.br02_importing_country(co(Declaration=declaration), ctx())
    assert [f.location for f in findings] == ["Declaration/ImportingCountry"]


# --- BR-03 / BR-04 --------------------------------------------------------------------------------------


def _br03(code: str, percent: str | None, partial: str = "false") -> list[Finding]:
    payload = co(Item=[_item(1), _item(2, code, percent, "100.00")], Flags={"PartialCumulation": partial})
    return rules.br03_origin_percent(payload, ctx())


@pytest.mark.parametrize("percent", ["40", "40.00", "40.01", "100"])
def test_br03_rvc_at_or_above_40_passes(percent: str) -> None:
    assert _br03("RVC", percent) == []


@pytest.mark.parametrize("percent", ["39.99", "0", "20"])
def test_br03_rvc_below_40_fails(percent: str) -> None:
    findings = _br03("RVC", percent)
    assert len(findings) == 1
    assert findings[0].rule == "BR-03"
    assert findings[0].location == "Item[2]/OriginCriterion/Percent"
    assert percent in findings[0].text and ">= 40" in findings[0].text


def test_br03_message_shape() -> None:
    assert _br03("RVC", "39.99")[0].text == "Item 2: RVC with Percent 39.99; RVC needs Percent >= 40"


def test_br03_rvc_without_percent_fails() -> None:
    assert ids(_br03("RVC", None)) == {"BR-03"}


@pytest.mark.parametrize("percent", ["20", "20.00", "30", "39.99"])
def test_br03_pc_in_range_with_flag_passes(percent: str) -> None:
    assert _br03("PC", percent, partial="true") == []


@pytest.mark.parametrize("percent", ["19.99", "40", "40.00", "55"])
def test_br03_pc_out_of_range_fails(percent: str) -> None:
    findings = _br03("PC", percent, partial="true")
    assert [f.location for f in findings] == ["Item[2]/OriginCriterion/Percent"]


@pytest.mark.parametrize("partial", ["false"])
def test_br03_pc_without_flag_fails(partial: str) -> None:
    findings = _br03("PC", "25", partial=partial)
    assert [f.location for f in findings] == ["Flags/PartialCumulation"]


def test_br03_pc_without_flags_element_fails() -> None:
    d = co_dict(Item=[_item(1, "PC", "25", "1.00")])
    del d["Flags"]["PartialCumulation"]
    assert ids(rules.br03_origin_percent(build(d), ctx())) == {"BR-03"}


def test_br03_pc_without_percent_fails() -> None:
    assert ids(_br03("PC", None, partial="true")) == {"BR-03"}


@pytest.mark.parametrize("code", ["WO", "PE", "CC", "CTH", "CTSH", "SP"])
def test_br03_other_codes_take_no_percent(code: str) -> None:
    assert _br03(code, None) == []
    assert [f.location for f in _br03(code, "50")] == ["Item[2]/OriginCriterion/Percent"]


def test_br03_uses_decimal_not_float() -> None:
    # 39.999999999999999999 is 40.0 as a float; as a decimal it is below 40
    assert ids(_br03("RVC", "39.999999999999999999")) == {"BR-03"}


def test_br03_reports_every_failing_item() -> None:
    payload = co(Item=[_item(1, "RVC", "10", "1"), _item(2), _item(3, "RVC", "39", "1")])
    assert [f.location for f in rules.br03_origin_percent(payload, ctx())] == [
        "Item[1]/OriginCriterion/Percent",
        "Item[3]/OriginCriterion/Percent",
    ]


@pytest.mark.parametrize("code", ["RVC", "PC"])
def test_br04_fob_value_needed_for_rvc_and_pc(code: str) -> None:
    percent = "45" if code == "RVC" else "25"
    with_fob = co(Item=[_item(1), _item(2, code, percent, "9.99")], Flags={"PartialCumulation": "true"})
    without = co(Item=[_item(1), _item(2, code, percent)], Flags={"PartialCumulation": "true"})
    assert rules.br04_fob_value(with_fob, ctx()) == []
    findings = rules.br04_fob_value(without, ctx())
    assert [(f.rule, f.location) for f in findings] == [("BR-04", "Item[2]")]


def test_br04_other_codes_need_no_fob_value() -> None:
    assert rules.br04_fob_value(co(Item=[_item(1, "CTH"), _item(2, "WO")]), ctx()) == []


# --- BR-05 / BR-06 --------------------------------------------------------------------------------------


def _br05(days_after: int, flag: str) -> list[Finding]:
    departure = date(2025, 3, 1)
    issue = departure + timedelta(days=days_after)
    transport = {**BASELINE["Transport"], "DepartureDate": departure.isoformat()}
    payload = co(IssueDate=issue.isoformat(), Transport=transport, Flags={"IssuedRetroactively": flag})
    return rules.br05_retroactive_flag(payload, ctx())


@pytest.mark.parametrize("days", [-2, 0, 1, 3])
def test_br05_up_to_3_days_is_not_retroactive(days: int) -> None:
    assert _br05(days, "false") == []
    findings = _br05(days, "true")
    assert [(f.rule, f.location) for f in findings] == [("BR-05", "Flags/IssuedRetroactively")]


@pytest.mark.parametrize("days", [4, 5, 30])
def test_br05_more_than_3_days_is_retroactive(days: int) -> None:
    assert _br05(days, "true") == []
    findings = _br05(days, "false")
    assert [(f.rule, f.location) for f in findings] == [("BR-05", "Flags/IssuedRetroactively")]
    assert f"{days} days" in findings[0].text


def test_br05_accepts_xs_boolean_digits_and_zoned_dates() -> None:
    transport = {**BASELINE["Transport"], "DepartureDate": "2025-03-01+08:00"}
    payload = co(IssueDate="2025-03-05Z", Transport=transport, Flags={"IssuedRetroactively": "1"})
    assert rules.br05_retroactive_flag(payload, ctx()) == []


def _br06(issue: date, received: date = RECEIVED) -> list[Finding]:
    return rules.br06_issue_date(co(IssueDate=issue.isoformat()), ctx(received_on=received))


def test_br06_issued_on_the_day_of_receipt_passes() -> None:
    assert _br06(RECEIVED) == []


def test_br06_issued_after_the_day_of_receipt_fails() -> None:
    findings = _br06(RECEIVED + timedelta(days=1))
    assert [(f.rule, f.location) for f in findings] == [("BR-06", "IssueDate")]


def test_br06_exactly_12_months_before_passes_and_one_day_more_fails() -> None:
    earliest = date(2024, 3, 12)
    assert earliest_issue_date(RECEIVED) == earliest
    assert _br06(earliest) == []
    findings = _br06(earliest - timedelta(days=1))
    assert [(f.rule, f.location) for f in findings] == [("BR-06", "IssueDate")]
    assert "2024-03-12" in findings[0].text


def test_br06_clamps_at_month_end() -> None:
    received = date(2024, 2, 29)
    assert earliest_issue_date(received) == date(2023, 2, 28)
    assert _br06(date(2023, 2, 28), received) == []
    assert ids(_br06(date(2023, 2, 27), received)) == {"BR-06"}


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 15), 12, date(2024, 3, 15)),
        (date(2025, 1, 31), 1, date(2024, 12, 31)),
        (date(2025, 5, 31), 3, date(2025, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 1), 12, date(2024, 1, 1)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


# --- BR-07 / BR-08 / BR-09 -----------------------------------------------------------------------------

PRESENCE = [
    (
        "BR-07",
        "BackToBack",
        "OriginalCO",
        {"ReferenceNumber": "MY-1", "IssuingCountry": "MY", "IssueDate": "2025-01-02"},
    ),
    (
        "BR-08",
        "ThirdCountryInvoicing",
        "ThirdCountryInvoice",
        {"IssuerName": "HK Traders", "IssuerCountry": "HK"},
    ),
    ("BR-09", "Exhibition", "ExhibitionDetails", {"Name": "Food Asia", "Place": "Singapore"}),
]


@pytest.mark.parametrize(("rule", "flag", "element", "content"), PRESENCE)
def test_flag_true_exactly_when_element_present(rule: str, flag: str, element: str, content: dict) -> None:
    function = rules.RULES[rule]
    assert function(co(), ctx()) == []  # false and absent
    assert function(co(**{element: content}, Flags={flag: "true"}), ctx()) == []  # true and present
    for payload in (co(**{element: content}), co(Flags={flag: "true"})):  # false+present, true+absent
        findings = function(payload, ctx())
        assert [(f.rule, f.location) for f in findings] == [(rule, f"Flags/{flag}")]


# --- BR-10 ---------------------------------------------------------------------------------------------


def _numbered(numbers: list[str]) -> etree._Element:
    items = []
    for position, number in enumerate(numbers, start=1):
        item = _item(position)
        item["ItemNumber"] = number
        items.append(item)
    return co(Item=items)


@pytest.mark.parametrize(
    ("numbers", "first_bad"),
    [(["1", "3"], 2), (["2"], 1), (["1", "1"], 2), (["1", "2", "2", "3"], 3), (["2", "1"], 1), (["0"], 1)],
)
def test_br10_gaps_repeats_and_order_fail(numbers: list[str], first_bad: int) -> None:
    findings = rules.br10_item_numbers(_numbered(numbers), ctx())
    assert [(f.rule, f.location) for f in findings] == [("BR-10", f"Item[{first_bad}]/ItemNumber")]


def test_br10_one_to_n_passes() -> None:
    assert rules.br10_item_numbers(_numbered(["1", "2", "3"]), ctx()) == []


@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=12))
def test_br10_holds_exactly_for_one_to_n(numbers: list[int]) -> None:
    findings = rules.br10_item_numbers(_numbered([str(n) for n in numbers]), ctx())
    assert (findings == []) == (numbers == list(range(1, len(numbers) + 1)))


@given(st.integers(min_value=1, max_value=30))
def test_br10_holds_for_every_length(n: int) -> None:
    assert rules.br10_item_numbers(_numbered([str(i) for i in range(1, n + 1)]), ctx()) == []


# --- BR-13 ---------------------------------------------------------------------------------------------


def _hs(code: str) -> list[Finding]:
    item = _item(1)
    item["HSCode"] = code
    return rules.br13_hs_chapter(co(Item=[item]), ctx())


@pytest.mark.parametrize("code", ["010121", "970110", "200820", "760110", "7801100000"])
def test_br13_chapters_01_to_97_pass(code: str) -> None:
    assert _hs(code) == []


@pytest.mark.parametrize("code", ["770000", "000000", "980000", "990100"])
def test_br13_chapter_77_00_and_above_97_fail(code: str) -> None:
    findings = _hs(code)
    assert [(f.rule, f.location) for f in findings] == [("BR-13", "Item[1]/HSCode")]
    assert code in findings[0].text


@given(st.integers(min_value=0, max_value=99))
def test_br13_property(chapter: int) -> None:
    ok = 1 <= chapter <= 97 and chapter != 77
    assert (_hs(f"{chapter:02d}0110") == []) == ok


# --- BR-16 ---------------------------------------------------------------------------------------------


def test_br16_replaces_exactly_on_replace_co() -> None:
    assert rules.br16_replaces_on_replace(co(), ctx("IssueCO")) == []
    assert rules.br16_replaces_on_replace(co(Replaces="SG-OLD"), ctx("ReplaceCO")) == []
    findings = rules.br16_replaces_on_replace(co(Replaces="SG-OLD"), ctx("IssueCO"))
    assert [(f.rule, f.location) for f in findings] == [("BR-16", "Replaces")]
    findings = rules.br16_replaces_on_replace(co(), ctx("ReplaceCO"))
    assert [f.rule for f in findings] == ["BR-16"]


# --- stateful: BR-11, BR-14, BR-15 ---------------------------------------------------------------------

SEEN = ("SG", "SG-2025-000123")
OLD = ("SG", "SG-OLD")


def cancellation(reference: str = "SG-OLD", country: str = "SG") -> etree._Element:
    return build(
        {
            "ReferenceNumber": reference,
            "IssuingCountry": country,
            "CancelDate": "2025-03-12",
            "Reason": "typo",
        },
        "Cancellation",
    )


def test_stateful_rules_are_skipped_without_history() -> None:
    replacing = co(Replaces="SG-UNKNOWN")
    for rid in rules.STATEFUL_RULES:
        assert rules.RULES[rid](replacing, ctx("ReplaceCO")) == [], rid
    assert check_certificate(replacing, ctx("ReplaceCO")) == []
    assert check_cancellation(cancellation("SG-UNKNOWN"), ctx("CancelCO")) == []


@pytest.mark.parametrize("action", ["IssueCO", "ReplaceCO"])
def test_br11_reference_accepted_before_fails(action: str) -> None:
    history = FakeHistory(accepted={SEEN, OLD})
    replaces = "SG-OLD" if action == "ReplaceCO" else None
    findings = rules.br11_reference_unused(co(Replaces=replaces), ctx(action, history))
    assert [(f.rule, f.location) for f in findings] == [("BR-11", "ReferenceNumber")]
    assert rules.br11_reference_unused(co(Replaces=replaces), ctx(action, FakeHistory(accepted={OLD}))) == []


def test_br11_keys_on_the_issuing_country() -> None:
    history = FakeHistory(accepted={("MY", SEEN[1])})
    assert rules.br11_reference_unused(co(), ctx("IssueCO", history)) == []


def test_br14_replace_of_accepted_co_passes_and_of_unknown_fails() -> None:
    replacing = co(Replaces="SG-OLD")
    assert rules.br14_named_co_accepted(replacing, ctx("ReplaceCO", FakeHistory(accepted={OLD}))) == []
    findings = rules.br14_named_co_accepted(replacing, ctx("ReplaceCO", FakeHistory()))
    assert [(f.rule, f.location) for f in findings] == [("BR-14", "Replaces")]
    # accepted, but from another issuing country
    other = FakeHistory(accepted={("MY", "SG-OLD")})
    assert ids(rules.br14_named_co_accepted(replacing, ctx("ReplaceCO", other))) == {"BR-14"}


def test_br14_and_br15_do_not_apply_to_issue_co() -> None:
    history = FakeHistory(gone={OLD})
    payload = co(Replaces="SG-OLD")  # BR-16's business, not BR-14's or BR-15's
    assert rules.br14_named_co_accepted(payload, ctx("IssueCO", history)) == []
    assert rules.br15_named_co_current(payload, ctx("IssueCO", history)) == []


def test_br15_replace_of_superseded_or_cancelled_co_fails() -> None:
    replacing = co(Replaces="SG-OLD")
    assert rules.br15_named_co_current(replacing, ctx("ReplaceCO", FakeHistory(accepted={OLD}))) == []
    findings = rules.br15_named_co_current(
        replacing, ctx("ReplaceCO", FakeHistory(accepted={OLD}, gone={OLD}))
    )
    assert [(f.rule, f.location) for f in findings] == [("BR-15", "Replaces")]


def test_check_certificate_on_replace_co_with_history() -> None:
    replacing = co(Replaces="SG-OLD")
    assert check_certificate(replacing, ctx("ReplaceCO", FakeHistory(accepted={OLD}))) == []
    history = FakeHistory(accepted={OLD, SEEN}, gone={OLD})
    assert failed_rules(check_certificate(replacing, ctx("ReplaceCO", history))) == ("BR-11", "BR-15")


def test_cancellation_of_accepted_co_passes() -> None:
    assert check_cancellation(cancellation(), ctx("CancelCO", FakeHistory(accepted={OLD}))) == []


def test_cancellation_of_unknown_co_fails_br14() -> None:
    findings = check_cancellation(cancellation(), ctx("CancelCO", FakeHistory()))
    assert [(f.rule, f.location) for f in findings] == [("BR-14", "ReferenceNumber")]


def test_cancellation_of_superseded_or_cancelled_co_fails_br15() -> None:
    findings = check_cancellation(cancellation(), ctx("CancelCO", FakeHistory(accepted={OLD}, gone={OLD})))
    assert [(f.rule, f.location) for f in findings] == [("BR-15", "ReferenceNumber")]


def test_cancellation_of_another_partys_co_fails_br14() -> None:
    history = FakeHistory(accepted={("MY", "MY-1")})
    findings = check_cancellation(cancellation("MY-1", "MY"), ctx("CancelCO", history))
    assert [(f.rule, f.location) for f in findings] == [("BR-14", "IssuingCountry")]


def test_cancellation_applies_nothing_but_br14_and_br15() -> None:
    # a Cancellation whose sender/receiver would break BR-01/BR-02 if they applied
    history = FakeHistory(accepted={OLD})
    assert check_cancellation(cancellation(), ctx("CancelCO", history, receiver="TH")) == []


def test_br11_applies_only_to_issue_co_and_replace_co() -> None:
    history = FakeHistory(accepted={SEEN})
    assert rules.br11_reference_unused(co(), ctx("CancelCO", history)) == []
