"""The suite's G-01..G-03 (EFDX section 9) with the harness as the candidate's gateway: how the ICS
says so (claiming ``gateway``: the candidate's peer for the harness's party is the harness's gateway
inbox), the harness inbox on both paths, and runs of layer G against the embedded reference over
plain HTTP (G-02 not applicable) and mutual TLS (all pass). Each seeded fault of the layer is caught
by its purpose's tests in tests/test_fault_matrix.py; the fault-free reference passes each G
requirement alone in tests/test_single_requirement_runs.py. Real parts only, on loopback."""

from __future__ import annotations

import json

import pytest

from conformance.app.reference_process import command, direct_peers_beside_gateways
from conformance.app.run import RunOptions, run
from conformance.core.client import CandidateClient
from conformance.core.profile import ReferenceSettings, gateway_inbox_path
from conformance.harness import registry
from conformance.harness.config import ConfigError, parse
from conformance.harness.session import Harness
from tests.results_helpers import requirement_rows


def ics(**harness) -> dict:
    return {
        "candidate": {
            "party": "KH",
            "inbox_url": "http://127.0.0.1:8080/efdx/1/messages",
            "capabilities": ["gateway"],
        },
        "harness": harness,
    }


def test_the_gateway_inbox_of_a_party_is_its_inbox_path_with_the_party_before_the_last_step():
    assert gateway_inbox_path("/efdx/1/messages", "SG") == "/efdx/1/SG/messages"
    assert registry.get("rcpx").gateway_path("JP") == "/rcpx/1/JP/messages"


def test_claiming_gateway_the_harness_url_is_the_gateway_inbox_of_the_harness_party():
    config = parse(ics(url="https://h.example.test/efdx/1/SG/messages"))
    assert config.claims("gateway") and config.harness_url.endswith("/efdx/1/SG/messages")


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            ics(url="http://h.example.test/efdx/1/messages"),
            "harness.url: the candidate claims gateway, so the harness is its gateway and its peer inbox "
            "for the harness's party is the harness's gateway inbox: expected a URL ending "
            "/efdx/1/SG/messages, got 'http://h.example.test/efdx/1/messages'",
        ),
        (  # another party's gateway inbox: the candidate's messages for SG would go to TH
            ics(url="http://h.example.test/efdx/1/TH/messages"),
            "expected a URL ending /efdx/1/SG/messages",
        ),
        (
            {
                "candidate": {"party": "KH", "inbox_url": "http://127.0.0.1:8080/efdx/1/messages"},
                "harness": {"url": "http://h.example.test/efdx/1/SG/messages"},
            },
            "harness.url: 'http://h.example.test/efdx/1/SG/messages' is a gateway inbox "
            "(/efdx/1/SG/messages); claim the capability 'gateway' (candidate.capabilities) for the "
            "harness to be the candidate's gateway, or give the harness's own inbox (/efdx/1/messages)",
        ),
    ],
    ids=["own-inbox-path", "another-partys-gateway-inbox", "gateway-inbox-not-claimed"],
)
def test_a_harness_url_that_does_not_go_with_the_gateway_claim_is_one_config_error(data, said):
    with pytest.raises(ConfigError) as error:
        parse(data)
    assert said in str(error.value)
    assert str(error.value).startswith("harness.url: ")


def test_each_claimed_profile_gets_the_gateway_inbox_of_the_party_the_harness_plays_in_it():
    data = ics(url="https://h.example.test:8443/efdx/1/SG/messages")
    data["candidate"]["profiles"] = ["efdx", "rcpx"]
    config = parse(data)
    assert config.for_profile("efdx").harness_url == "https://h.example.test:8443/efdx/1/SG/messages"
    assert config.for_profile("rcpx").harness_url == "https://h.example.test:8443/rcpx/1/SG/messages"
    data["harness"]["profiles"] = {"rcpx": {"party": "JP"}}  # the harness plays JP in RCPX
    config = parse(data)
    assert config.for_profile("rcpx").harness_url == "https://h.example.test:8443/rcpx/1/JP/messages"


def test_the_harness_inbox_takes_both_paths_and_says_which_came(tmp_path):
    """Claiming gateway, the harness's URL is its gateway inbox of SG; its own inbox path still takes
    messages, so a candidate sending around the gateway is seen (G-01), each arrival with its path."""
    config = parse(ics())
    profile = registry.get("efdx")
    harness = Harness(config, profile=profile).start()
    try:
        assert harness.inbox_url.endswith("/efdx/1/SG/messages")
        assert harness.direct_inbox_url.endswith("/efdx/1/messages")
        client = CandidateClient(timeout_s=10.0)
        body = harness.profile.build_vector(
            "valid-ping", harness.now().date(), harness.pki, moment=harness.now(), sender="KH", receiver="SG"
        )
        for url in (harness.inbox_url, harness.direct_inbox_url):
            assert client.post(url, body, content_type="application/xml").status == 200
        paths = [arrival.path for arrival in harness.inbox.arrivals]
        assert paths == ["/efdx/1/SG/messages", "/efdx/1/messages"]
        other = harness.inbox.url.replace("/efdx/1/messages", "/efdx/1/TH/messages")
        assert client.post(other, body, content_type="application/xml").status == 404
    finally:
        harness.stop()


def test_the_embedded_reference_gets_the_harness_own_inbox_as_its_direct_peer(tmp_path):
    """`conformance run` gives the embedded reference the harness's gateway inbox as its peer; the
    reference process is also told the harness's own inbox, where only gateway-bypassed sends."""
    profile = registry.get("efdx")
    settings = ReferenceSettings(
        party="KH", db=tmp_path / "kh.sqlite", peers={"SG": "http://127.0.0.1:5/efdx/1/SG/messages"}
    )
    assert direct_peers_beside_gateways(profile, settings) == {"SG": "http://127.0.0.1:5/efdx/1/messages"}
    argv = command(profile, settings)
    assert argv[argv.index("--direct-peer") + 1] == "SG=http://127.0.0.1:5/efdx/1/messages"
    plain = ReferenceSettings(
        party="KH", db=tmp_path / "kh.sqlite", peers={"SG": "http://127.0.0.1:5/efdx/1/messages"}
    )
    assert direct_peers_beside_gateways(profile, plain) == {}


def _layer_g(tmp_path, tls: bool, profile: str = "efdx"):
    code, folder = run(
        RunOptions(layers=("G",), report_dir=tmp_path, live=False, tls=tls, profile=registry.get(profile))
    )
    return code, json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize("profile", ["efdx", "rcpx"])
def test_layer_g_over_mutual_tls_passes_on_the_embedded_reference(tmp_path, capsys, profile):
    code, results = _layer_g(tmp_path, tls=True, profile=profile)
    verdicts = {t["id"].split("::")[-1]: t["verdict"] for t in results["tests"]}
    assert len(verdicts) == 11 and set(verdicts.values()) == {"pass"}, verdicts
    rows = requirement_rows(results, registry.get(profile).title)
    assert {rid: rows[rid]["verdict"] for rid in ("G-01", "G-02", "G-03")} == dict.fromkeys(
        ("G-01", "G-02", "G-03"), "pass"
    )
    assert code == 0


def test_over_plain_http_g02_is_not_applicable_and_the_rest_pass(tmp_path, capsys):
    code, results = _layer_g(tmp_path, tls=False)
    verdicts = {t["id"].split("::")[-1]: t["verdict"] for t in results["tests"]}
    g02 = {name: verdict for name, verdict in verdicts.items() if "gateways_tls" in name or "signer" in name}
    assert len(g02) == 5 and set(g02.values()) == {"not-applicable"}
    assert {v for name, v in verdicts.items() if name not in g02} == {"pass"}
    rows = requirement_rows(results, "EFDX 1.0")
    assert rows["G-01"]["verdict"] == rows["G-03"]["verdict"] == "pass"
    assert rows["G-02"]["verdict"] == "not-applicable"
