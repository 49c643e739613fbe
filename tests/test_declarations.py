"""Clauses not observable over the wire (EFDX errata 2): the catalogue marks which purposes a candidate
may declare (its own CRL handling), the ICS lists those it states (candidate.declarations), `list`
shows them as declared, not as gaps, and the report shows them as declared, never as passed."""

from __future__ import annotations

import dataclasses

import pytest
from lxml import html

from conformance.app import coverage
from conformance.harness import registry
from conformance.harness.config import ConfigError, Windows, parse
from conformance.results.html import write_html
from conformance.results.results import RunSet, write_json
from tests.test_certification import DECLARATIONS, certifying


def ics(declarations) -> dict:
    return {
        "candidate": {
            "party": "KH",
            "inbox_url": "http://127.0.0.1:8080/efdx/1/messages",
            "declarations": declarations,
        }
    }


@pytest.mark.parametrize("key", ["efdx", "rcpx"])
def test_each_pack_marks_its_crl_handling_declarable(key):
    assert [p.id for p in registry.get(key).catalogue().declarable()] == DECLARATIONS


def test_the_ics_states_declarable_purposes_and_nothing_else():
    assert parse(ics(DECLARATIONS + DECLARATIONS[:1])).declarations == tuple(DECLARATIONS)
    assert parse(ics([])).declarations == ()
    for wrong in ("M-10/revoked", "M-10/crl-forgotten", 7):
        with pytest.raises(ConfigError, match=r"^candidate\.declarations: .* is no declarable test purpose"):
            parse(ics([wrong]))


def test_a_declarable_purpose_is_listed_as_declared_not_as_a_gap():
    profile = registry.get("efdx")
    gaps = {row.purpose.id for row in coverage.gaps(profile)}
    assert not gaps & set(DECLARATIONS)
    assert coverage.listing(profile).count("declared  by the candidate") == len(DECLARATIONS)


def test_the_report_shows_stated_clauses_as_declared(tmp_path):
    part = certifying()
    part.ics = {
        **part.ics,
        **{"party": "KH", "profiles": ["EFDX 1.0"], "trigger": False, "harness_party": "SG"},
        "windows": dataclasses.asdict(Windows()),
    }
    result = RunSet.of(part)

    data = write_json(result, tmp_path / "results.json")
    write_html(data, result.counts(), tmp_path / "report.html")
    page = html.fromstring((tmp_path / "report.html").read_text())
    (line,) = page.xpath("//p[@id='declared']")
    assert [span.text for span in line.xpath("span")] == [f"EFDX 1.0 {pid}" for pid in DECLARATIONS]
    assert "never counted as passed" in line.text_content()
    rows = page.xpath("//table[@id='purposes']//tr")
    verdicts = {row.xpath("string(td[1])"): row.xpath("string(td[3])") for row in rows}
    assert verdicts["EFDX 1.0 M-10/crl-missing"] == "declared"
