"""Runs over several profiles (RCPX section 4), in process: where each claimed profile's inbox and
trigger are ([candidate.endpoints.<key>], or candidate.inbox_url's base with the profile's paths),
which profiles a selection runs, and how a run of several is judged and written (each profile's
verdict; a claimed profile not run leaves the run incomplete and unable to certify; every ID
qualified). A second profile, TWIN 1.0, is EFDX 1.0 under another key, title and paths, put into
the registry for the test (the toy pack's end-to-end runs are in tests/test_profile_pack.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from conformance.app.run import RunOptions, shares
from conformance.core.records import TestRecord as Record
from conformance.harness import registry
from conformance.harness.config import ConfigError, Endpoint, parse
from conformance.profiles.efdx.catalogue import requirements
from conformance.results import diff
from conformance.results.html import write_html
from conformance.results.results import RunResult, RunSet, write_junit
from conformance.results.view import ProfileText

EFDX = registry.get("efdx")
TWIN = dataclasses.replace(
    EFDX,
    key="twin",
    title="TWIN 1.0",
    inbox_path="/twin/1/messages",
    trigger_path="/twin/1/test/trigger",
)
MOMENT = datetime(2026, 11, 30, 12, tzinfo=UTC)
ALL_CAPABILITIES = ["cancel", "ecdsa", "replace", "trigger", "utilisation", "verification"]


@pytest.fixture(autouse=True)
def twin_installed(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", lambda: ({"efdx": EFDX, "twin": TWIN}, {}))


def config(extra: str = "", inbox: str = "https://nsw.kh.example/efdx/1/messages", tls: bool = True):
    import tomllib

    text = (
        f'[candidate]\nparty = "KH"\nprofiles = ["efdx", "TWIN 1.0"]\ninbox_url = "{inbox}"\n'
        'capabilities = ["trigger"]\n[candidate.trigger]\nurl = "https://nsw.kh.example/efdx/1/test/trigger"\n'
        f"[tls]\nenabled = {str(tls).lower()}\n{extra}"
    )
    return parse(tomllib.loads(text))


# --- where each profile lives ------------------------------------------------------------------


def test_one_base_url_serves_every_claimed_profile_on_its_own_paths():
    found = config()
    assert found.profiles == ("efdx", "twin")
    assert found.endpoint("efdx") == Endpoint(
        "https://nsw.kh.example/efdx/1/messages", "https://nsw.kh.example/efdx/1/test/trigger"
    )
    twin = found.for_profile("twin")
    assert (twin.inbox_url, twin.trigger_url) == (
        "https://nsw.kh.example/twin/1/messages",
        "https://nsw.kh.example/twin/1/test/trigger",
    )


def test_a_profile_on_another_base_url_is_given_its_own_table():
    found = config(
        '[candidate.endpoints.twin]\ninbox_url = "https://twin.kh.example/gw/in"\n'
        'trigger_url = "https://twin.kh.example/gw/trigger"\n'
    )
    assert found.endpoint("twin") == Endpoint(
        "https://twin.kh.example/gw/in", "https://twin.kh.example/gw/trigger"
    )
    assert found.endpoint("efdx").inbox_url == "https://nsw.kh.example/efdx/1/messages"


def test_an_own_inbox_url_on_the_profiles_path_tells_its_trigger_url():
    """Its own inbox on another base, ending with the profile's inbox path: the trigger is that base
    with the profile's trigger path; a candidate without a test trigger has none there either."""
    import tomllib

    table = '[candidate.endpoints.twin]\ninbox_url = "https://twin.kh.example/gw/twin/1/messages"\n'
    assert config(table).endpoint("twin") == Endpoint(
        "https://twin.kh.example/gw/twin/1/messages", "https://twin.kh.example/gw/twin/1/test/trigger"
    )
    plain = '[candidate]\nparty = "KH"\nprofiles = ["efdx", "twin"]\ninbox_url = "http://x/efdx/1/messages"\n'
    for inbox in ("http://y/in", "http://y/twin/1/messages"):
        found = parse(tomllib.loads(f'{plain}[candidate.endpoints.twin]\ninbox_url = "{inbox}"\n'))
        assert found.endpoint("twin") == Endpoint(inbox, None)
        assert found.endpoint("efdx") == Endpoint("http://x/efdx/1/messages", None)


def test_harness_url_follows_each_profiles_inbox_path():
    found = config('[harness]\nurl = "https://harness.example.test:8443/efdx/1/messages"\n')
    assert found.for_profile("twin").harness_url == "https://harness.example.test:8443/twin/1/messages"


@pytest.mark.parametrize(
    ("extra", "inbox", "message"),
    [
        ("", "https://nsw.kh.example/gateway", "candidate.endpoints.twin: missing"),
        (
            '[candidate.endpoints.nope]\ninbox_url = "https://x/"\n',
            None,
            "candidate.endpoints.nope: no profile",
        ),
        (
            '[candidate.endpoints.twin]\ninbox_url = "http://twin.kh.example/twin/1/messages"\n',
            None,
            "candidate.endpoints.twin.inbox_url: http:// does not go with tls.enabled = true",
        ),
        (
            '[candidate.endpoints.twin]\ninbox_url = "https://twin.kh.example/in"\n',
            None,
            "candidate.endpoints.twin.trigger_url: missing",
        ),
        (
            '[candidate.endpoints.twin]\ninbox = "https://x/"\n',
            None,
            "candidate.endpoints.twin.inbox: unknown key",
        ),
        ('[candidate.endpoints]\ntwin = "https://x/"\n', None, "candidate.endpoints.twin: expected a table"),
        (
            '[candidate.endpoints.twin]\ninbox_url = "ftp://twin.kh.example/in"\n',
            None,
            "candidate.endpoints.twin.inbox_url: expected an http:// or https:// URL",
        ),
        (
            '[candidate.endpoints.twin]\ninbox_url = "https://twin.kh.example/in"\ntrigger_url = 5\n',
            None,
            "candidate.endpoints.twin.trigger_url: expected a string",
        ),
        (
            '[candidate.endpoints.twin]\ntrigger_url = "ftp://twin.kh.example/t"\n',
            None,
            "candidate.endpoints.twin.trigger_url: expected an http:// or https:// URL",
        ),
    ],
    ids=[
        "no-base",
        "unknown-profile",
        "scheme",
        "trigger-untold",
        "unknown-key",
        "not-a-table",
        "inbox-not-http",
        "trigger-not-a-string",
        "trigger-not-http",
    ],
)
def test_endpoints_that_cannot_be_told_are_named(extra, inbox, message):
    with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.").replace("+", r"\+")):
        config(extra, **({"inbox": inbox} if inbox else {}))


def test_an_endpoint_of_a_profile_not_claimed_is_refused():
    import tomllib

    text = '[candidate]\nparty = "KH"\ninbox_url = "http://x/efdx/1/messages"\n[candidate.endpoints.twin]\n'
    with pytest.raises(ConfigError, match="candidate.endpoints.twin: twin is not claimed"):
        parse(tomllib.loads(text + 'inbox_url = "http://y/"\n'))


# --- which profiles a run runs ------------------------------------------------------------------


def keys(options: RunOptions) -> list[tuple[str, tuple[str, ...]]]:
    return [(share.profile.key, share.requirements) for share in shares(options)]


def test_the_reference_runs_every_installed_profile_and_a_selection_narrows_them():
    assert [share.profile.key for share in shares(RunOptions())] == ["efdx", "twin"]
    assert keys(RunOptions(requirements=("M-06",))) == [("efdx", ("M-06",)), ("twin", ("M-06",))]
    assert keys(RunOptions(requirements=("twin:M-06",))) == [("twin", ("M-06",))]
    assert keys(RunOptions(requirements=("EFDX 1.0 M-06", "twin:T-01"))) == [
        ("efdx", ("M-06",)),
        ("twin", ("T-01",)),
    ]
    assert keys(RunOptions(requirements=("M-06",), profiles=(TWIN,))) == [("twin", ("M-06",))]
    rerun = ("twin/test_transport.py::test_text_xml_is_tolerated",)
    (share,) = shares(RunOptions(rerun=rerun))
    assert (share.profile, share.rerun) == (TWIN, ("test_transport.py::test_text_xml_is_tolerated",))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(requirements=("Z-99",)), "--requirement Z-99: not an ID of EFDX 1.0, TWIN 1.0"),
        (RunOptions(requirements=("twin:Z-99",)), "--requirement twin:Z-99: TWIN 1.0 has no 'Z-99'"),
        (RunOptions(requirements=("twin:M-06",), profiles=(EFDX,)), "not among the profiles of this run"),
        (RunOptions(layers=("Q",)), "--layer Q: not a layer of the profiles run"),
        (RunOptions(rerun=("other/test_x.py::test_y",)), "--rerun-failed: none of its tests"),
    ],
    ids=["unknown", "unknown-in-profile", "profile-not-run", "layer", "rerun"],
)
def test_a_selection_that_names_nothing_is_a_usage_error(options, message):
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        shares(options)


def test_with_an_ics_only_claimed_profiles_run():
    assert [share.profile.key for share in shares(RunOptions(config=config()))] == ["efdx", "twin"]
    with pytest.raises(ConfigError, match="--profile twin: the ICS does not claim TWIN 1.0"):
        shares(RunOptions(config=dataclasses.replace(config(), profiles=("efdx",)), profiles=(TWIN,)))


# --- how a run of several is judged and written ----------------------------------------------------


def part(profile, verdict: str = "pass", **changes) -> RunResult:
    records = [Record(f"test_x.py::test_{r.id}", r.id, (r.id,), verdict=verdict) for r in requirements()]
    base = RunResult(
        sut={"url": f"https://nsw.kh.example{profile.inbox_path}", "party": "KH", "reference": False},
        ics={
            "roles": ["importing", "exporting"],
            "capabilities": ALL_CAPABILITIES,
            "declarations": ["M-10/crl-missing", "M-10/crl-expired", "M-10/crl-bad-signature"],
            "tls": True,
            "trigger": True,
            "windows": {"status_s": 60.0},
            "harness_party": "SG",
        },
        started=MOMENT,
        finished=MOMENT,
        records=records,
        test_only_signer=False,
        profile=profile,
    )
    return dataclasses.replace(base, **changes)


def test_every_claimed_profile_run_and_conformant_makes_a_conformant_run_that_can_certify():
    run = RunSet([part(EFDX), part(TWIN)], (EFDX, TWIN))
    assert run.verdict == "conformant" and run.certification() == {"can_certify": True, "reasons": []}
    data = run.as_json()
    assert data["profile"] == "EFDX 1.0 + TWIN 1.0"
    assert [
        (row["key"], row["verdict"], row["certification"]["can_certify"]) for row in data["profiles"]
    ] == [
        ("efdx", "conformant", True),
        ("twin", "conformant", True),
    ]
    assert data["sut"]["urls"] == {
        "EFDX 1.0": "https://nsw.kh.example/efdx/1/messages",
        "TWIN 1.0": "https://nsw.kh.example/twin/1/messages",
    }
    ids = [row["id"] for row in data["requirements"]]
    assert "EFDX 1.0 M-06" in ids and "TWIN 1.0 M-06" in ids and len(ids) == len(set(ids))
    tests = [test["id"] for test in data["tests"]]
    assert "efdx/test_x.py::test_M-06" in tests and "twin/test_x.py::test_M-06" in tests


def test_a_claimed_profile_not_run_leaves_the_run_incomplete_and_unable_to_certify():
    run = RunSet([part(TWIN)], (EFDX, TWIN))
    assert run.parts[0].verdict == "conformant"
    assert run.verdict == "incomplete" and run.partial
    certification = run.certification()
    assert not certification["can_certify"]
    assert certification["reasons"] == ["claimed profiles not run: EFDX 1.0"]
    rows = run.as_json()["profiles"]
    assert [(row["title"], row["run"], row["verdict"]) for row in rows] == [
        ("TWIN 1.0", True, "conformant"),
        ("EFDX 1.0", False, "incomplete"),
    ]


def test_the_reasons_a_run_of_several_cannot_certify_are_each_said_once():
    """Each profile's unrun MUST requirements on one line, and a reason both give once."""

    def rehearsal(profile):
        unrun = dataclasses.replace(part(profile), test_only_signer=True)
        unrun.records = [record for record in unrun.records if record.name != "T-05"]
        return unrun

    reasons = RunSet([rehearsal(EFDX), rehearsal(TWIN)], (EFDX, TWIN)).certification()["reasons"]
    assert reasons == [
        "MUST requirements not applicable or not run: EFDX 1.0 T-05, TWIN 1.0 T-05",
        "the evidence is signed with a TEST ONLY key (no site key is configured)",
    ]


def test_one_profile_not_conformant_makes_the_run_not_conformant():
    run = RunSet([part(EFDX), part(TWIN, verdict="fail")], (EFDX, TWIN))
    assert [p.verdict for p in run.parts] == ["conformant", "not-conformant"]
    assert run.verdict == "not-conformant"


def test_junit_has_a_suite_per_profile_with_qualified_properties(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(RunSet([part(EFDX), part(TWIN, verdict="fail")], (EFDX, TWIN)), path)
    tree = etree.parse(str(path))
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit-common.xsd")))
    assert schema.validate(tree), schema.error_log
    efdx, twin = tree.getroot().findall("testsuite")
    properties = {p.get("name"): p.get("value") for p in twin.find("properties")}
    assert (properties["profile"], properties["verdict"], properties["run_verdict"]) == (
        "TWIN 1.0",
        "not-conformant",
        "not-conformant",
    )
    assert properties["requirement TWIN 1.0 M-06"] == "fail" and "requirement EFDX 1.0 M-06" not in properties
    assert {case.get("classname") for case in twin.iter("testcase")} == {"twin/test_x"}
    assert "requirements: TWIN 1.0 M-06" in twin.find("testcase[@name='test_M-06']").findtext("system-out")


def test_the_report_gives_each_row_its_own_profiles_text_and_filter(tmp_path):
    run = RunSet([part(EFDX), part(TWIN, verdict="fail")], (EFDX, TWIN))
    text = ProfileText(
        profiles={
            "EFDX 1.0": ProfileText(requirement=lambda rid: f"efdx text of {rid}"),
            "TWIN 1.0": ProfileText(requirement=lambda rid: f"twin text of {rid}"),
        }
    )
    write_html(run.as_json(), run.counts(), tmp_path / "report.html", text)
    from lxml import html

    page = html.fromstring((tmp_path / "report.html").read_text())
    assert page.xpath("//fieldset[legend='Profile']//input/@value") == ["EFDX 1.0", "TWIN 1.0"]
    assert "twin text of M-06" in page.xpath("string(//div[@id='root-TWIN_1_0_M-06'])")
    assert page.xpath("string(//section[@id='spec-EFDX_1_0_M-06']//blockquote)") == "efdx text of M-06"
    ids = set(page.xpath("//@id"))
    assert not [h for h in page.xpath("//a/@href") if h.startswith("#") and h[1:] not in ids]
    assert "TWIN 1.0: not-conformant" in page.xpath("string(//ul[@id='profile-verdicts'])")


def test_diff_compares_each_profiles_verdict_and_keeps_same_bare_ids_apart():
    before = RunSet([part(EFDX), part(TWIN)], (EFDX, TWIN)).verdicts()
    after = RunSet([part(EFDX), part(TWIN, verdict="fail")], (EFDX, TWIN)).verdicts()
    changes = diff.compare(before, after)
    assert changes.regression
    assert ("TWIN 1.0", "conformant", "not-conformant") in changes.profiles.newly_failing
    newly = {item for item, _, _ in changes.requirements.newly_failing}
    assert "TWIN 1.0 M-06" in newly and not any(item.startswith("EFDX 1.0") for item in newly)
