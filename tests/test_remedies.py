"""Every test purpose tells the candidate's team what to do (issue 19 item 2): a remedy in each
pack's purposes.toml, short, not the clause again; `conformance spec` prints it, and report.html
shows it under a failed requirement, by cause and in the card of a failing test."""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from lxml import html

from conformance.app import cli
from conformance.app.run import RunOptions, run
from conformance.harness import registry
from conformance.profiles.efdx.pack import PROFILE as EFDX

MAX_REMEDY = 240  # "one or two sentences, about 200 characters"; over this it is no longer short
REVOKED = "Check every envelope signer against its CA's CRL (load <P>/crl.pem of each party)"


def _words(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def _restates(remedy: str, clause: str) -> bool:
    """The remedy says the clause again: the same words, inside it, or nearly the same sentence."""
    mine, theirs = _words(remedy), _words(clause)
    return mine in theirs or theirs in mine or SequenceMatcher(None, mine, theirs).ratio() > 0.75


@pytest.mark.parametrize("key", sorted(registry.installed()))
def test_every_purpose_of_a_pack_has_a_short_remedy_that_is_not_its_clause(key):
    purposes = registry.get(key).catalogue().purposes()
    missing = [item.id for item in purposes if not item.remedy.strip()]
    too_long = [(item.id, len(item.remedy)) for item in purposes if len(item.remedy) > MAX_REMEDY]
    restated = [item.id for item in purposes if item.remedy and _restates(item.remedy, item.clause)]
    assert not missing, f"{key}: {len(missing)} purposes without a remedy: {missing}"
    assert not too_long, f"{key}: remedies over {MAX_REMEDY} characters: {too_long}"
    assert not restated, f"{key}: remedies that repeat their clause: {restated}"


@pytest.mark.parametrize("key", sorted(registry.installed()))
def test_a_remedy_names_what_to_do_not_what_is_expected(key):
    """Imperative, for the NSW's team: no 'expects HTTP 403', and a pack's remedies use its own codes."""
    profile = registry.get(key)
    other = {"efdx": "RCPX-", "rcpx": "EFDX-"}.get(key)
    for item in profile.catalogue().purposes():
        assert not re.match(r"(?i)(the harness )?expect", item.remedy), item.id
        assert not (other and other in item.remedy), f"{item.id}: another pack's code in {item.remedy!r}"


def test_a_remedy_not_in_the_toml_is_empty():
    from conformance.core.catalogue import load_purposes

    (item,) = load_purposes(b'[[purpose]]\nid = "M-06/digest"\nclause = "c"\n')
    assert item.remedy == ""
    (item,) = load_purposes(b'[[purpose]]\nid = "M-06/digest"\nclause = "c"\nremedy = "Do it."\n')
    assert item.remedy == "Do it."


def test_spec_of_a_purpose_prints_what_to_do(capsys):
    assert cli.main(["spec", "M-10/revoked"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("  what to do: " + REVOKED), lines


def test_spec_of_a_requirement_prints_what_to_do_under_each_purpose(capsys):
    assert cli.main(["spec", "M-10"]) == 0
    out = capsys.readouterr().out
    assert "    M-10/revoked  " in out
    assert "      what to do: " + REVOKED in out
    assert out.count("what to do:") == len(EFDX.catalogue().of_requirement("M-10"))


@pytest.fixture(scope="module")
def crl_run(tmp_path_factory) -> Path:
    """M-10 against the embedded reference that ignores CRLs: M-10/revoked fails."""
    code, folder = run(
        RunOptions(
            report_dir=tmp_path_factory.mktemp("crl"),
            live=False,
            requirements=("M-10",),
            reference_fault="ignore-crl",
            profile=EFDX,
        )
    )
    assert code == 1
    return folder


def test_results_json_has_the_remedy_of_each_purpose(crl_run):
    rows = {row["purpose"]: row for row in json.loads((crl_run / "results.json").read_text())["purposes"]}
    assert rows["M-10/revoked"]["verdict"] == "fail"
    assert rows["M-10/revoked"]["remedy"].startswith(REVOKED)
    assert all(row["remedy"] for row in rows.values())


def test_report_shows_the_remedy_under_the_failed_requirement(crl_run):
    page = html.fromstring((crl_run / "report.html").read_text(encoding="utf-8"))
    (root,) = page.xpath("//section[@id='failed-requirements']//div[@class='root']")
    assert "M-10" in root.xpath("string(h3)")
    shown = [" ".join(li.text_content().split()) for li in root.xpath(".//li[@class='remedy']")]
    assert shown and shown[0].startswith("EFDX 1.0 M-10/revoked: " + REVOKED), shown
    assert "What to do" in root.text_content()
    # only the purposes that failed: the declared CRL clauses are no failure
    assert not [line for line in shown if "crl-missing" in line or "crl-expired" in line]


def test_report_shows_the_remedy_by_cause_and_in_the_failing_test_card(crl_run):
    page = html.fromstring((crl_run / "report.html").read_text(encoding="utf-8"))
    causes = page.xpath("//section[@id='causes']//li[@class='cause-group']")
    assert causes and REVOKED in causes[0].xpath("string(.//div[@class='remedy'])")
    failing = page.xpath("//details[@class='test'][@data-verdict='fail']")
    assert failing
    for card in failing:
        assert REVOKED in card.xpath("string(.//dd[@class='remedies'])"), card.get("id")
    passing = page.xpath("//details[@class='test'][@data-verdict='pass']")
    assert all(not card.xpath(".//dd[@class='remedies']") for card in passing)
