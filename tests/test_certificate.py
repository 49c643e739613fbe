"""Site-signed evidence and the certificate of conformance.

A certifying run (a real candidate, mutual TLS, the whole suite, every claimed MUST run, a site key)
that is conformant writes certificate.html (and certificate.pdf with Chromium) naming the candidate,
its build, the profiles, the date, the site and the evidence bundle's SHA-256; `evidence verify
--trust-anchor` names the site's signer and checks its chain. A rehearsal gets no certificate, and
its report says the TEST ONLY key signed. The RunResult is built directly (test_certification's),
so that the rendering is tested without a candidate of our own.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from site_pki import make_site_pki
from test_certification import certifying

from conformance.app import cli
from conformance.app.run import (
    RunOptions,
    certification_record,
    ics_of,
    profile_text,
    site_signer,
    write_reports,
)
from conformance.harness import registry
from conformance.harness.config import ConfigError, load
from conformance.profiles.efdx.pki import TestPki
from conformance.results.evidence import SiteKeyError, load_site_signer

CONFIG = """[candidate]
party = "KH"
inbox_url = "https://nsw.kh.example/efdx/1/messages"
build = "kh-nsw 4.2.1"
declarations = ["M-10/crl-missing", "M-10/crl-expired", "M-10/crl-bad-signature"]
[tls]
enabled = true
[site]
name = "KH customs test lab"
operator = "S. Dara"
{site_keys}
"""


def config_file(tmp_path, site):
    keys = f'key_file = "{site.key.name}"\ncert_file = "{site.cert.name}"' if site else ""
    path = tmp_path / "candidate.toml"
    path.write_text(CONFIG.format(site_keys=keys))
    return path


def certifying_result(config):
    result = certifying()
    result.ics = {**ics_of(config), "capabilities": result.ics["capabilities"]}
    result.extra["record"] = certification_record(RunOptions(command=("conformance", "run")), config)
    return result


def test_a_certifying_conformant_run_gets_a_certificate_naming_the_bundle(tmp_path, capsys):
    site = make_site_pki(tmp_path / "site")
    config = load(config_file(tmp_path / "site", site))
    signer = site_signer(config)
    folder = tmp_path / "run"
    written = write_reports(certifying_result(config), folder, signer, profile_text(registry.default()))

    data = json.loads((folder / "results.json").read_text())
    assert data["verdict"] == "conformant" and data["certification"] == {"can_certify": True, "reasons": []}
    assert data["signer"]["subject"] == site.subject and data["signer"]["test_only"] is False
    assert written[0] == folder / "certificate.html"
    page = written[0].read_text(encoding="utf-8")
    bundle_sha256 = hashlib.sha256((folder / "evidence.zip").read_bytes()).hexdigest()
    for shown in ("KH", "kh-nsw 4.2.1", "EFDX 1.0", data["finished"][:10], "KH customs test lab", "S. Dara"):
        assert shown in page, shown
    assert f'id="bundle-sha256">{bundle_sha256}<' in page
    assert "This run can certify" in (folder / "report.html").read_text(encoding="utf-8")
    if shutil.which("chromium"):
        assert written[1] == folder / "certificate.pdf"
        assert written[1].read_bytes()[:5] == b"%PDF-"

    assert cli.main(["evidence", "verify", str(folder / "evidence.zip"), "--trust-anchor", str(site.ca)]) == 0
    out = capsys.readouterr().out
    assert (
        f"signed by {site.subject}" in out and "chains to the trust anchor" in out and "TEST ONLY" not in out
    )


def test_a_rehearsal_gets_no_certificate_and_says_the_test_only_key_signed(tmp_path):
    config = load(config_file(tmp_path, None))
    assert site_signer(config) is None
    folder = tmp_path / "run"
    written = write_reports(certifying_result(config), folder, TestPki.load().nsw("SG"))
    assert written == [] and not (folder / "certificate.html").exists()
    data = json.loads((folder / "results.json").read_text())
    assert data["certification"]["can_certify"] is False and data["signer"]["test_only"] is True
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Rehearsal: this run cannot certify" in page and 'id="test-only-signer"' in page


def test_a_not_conformant_certifying_run_gets_no_certificate(tmp_path):
    site = make_site_pki(tmp_path / "site")
    config = load(config_file(tmp_path / "site", site))
    result = certifying_result(config)
    result.records[0].verdict, result.records[0].failed_requirements = "fail", result.records[0].requirements
    assert write_reports(result, tmp_path / "run", site_signer(config)) == []


def test_another_sites_anchor_and_a_test_only_bundle_are_refused(tmp_path, capsys):
    site, other = make_site_pki(tmp_path / "site"), make_site_pki(tmp_path / "other", "other")
    config = load(config_file(tmp_path / "site", site))
    signed = tmp_path / "signed"
    write_reports(certifying_result(config), signed, site_signer(config))
    rehearsal = tmp_path / "rehearsal"
    write_reports(certifying_result(config), rehearsal, TestPki.load().nsw("SG"))

    def verify(folder, *extra) -> tuple[int, str]:
        code = cli.main(["evidence", "verify", str(folder / "evidence.zip"), *extra])
        return code, capsys.readouterr().out

    code, out = verify(signed, "--trust-anchor", str(other.ca))
    assert code == 1 and "chain leads to the trust anchor" in out
    code, out = verify(rehearsal, "--trust-anchor", str(site.ca))
    assert code == 1 and "invalid" in out
    code, out = verify(signed)  # no anchor: intact, but who signed is unchecked (errata 2: not 0)
    assert code == 3 and site.subject in out and "signer was not checked" in out
    assert (
        cli.main(["evidence", "verify", str(signed / "evidence.zip"), "--trust-anchor", str(tmp_path)]) == 4
    )


def test_site_keys_come_in_pairs_and_must_match(tmp_path):
    site, other = make_site_pki(tmp_path, "site"), make_site_pki(tmp_path, "other")
    path = tmp_path / "candidate.toml"
    path.write_text(CONFIG.format(site_keys=f'key_file = "{site.key.name}"'))
    with pytest.raises(ConfigError, match="site.cert_file: missing"):
        load(path)
    path.write_text(CONFIG.format(site_keys=f'key_file = "{other.key.name}"\ncert_file = "{site.cert.name}"'))
    with pytest.raises(ConfigError, match="site.key_file: does not match"):
        site_signer(load(path))
    with pytest.raises(SiteKeyError, match="site.cert_file"):
        load_site_signer(site.key, site.key)


def test_the_certificate_of_a_candidate_claiming_capacity_says_a_load_run_certifies_it(tmp_path):
    site = make_site_pki(tmp_path / "site")
    config = load(config_file(tmp_path / "site", site))
    result = certifying_result(config)
    result.ics = dict(result.ics, capabilities=[*result.ics["capabilities"], "capacity"])
    folder = tmp_path / "run"
    written = write_reports(result, folder, site_signer(config), profile_text(registry.default()))
    page = written[0].read_text(encoding="utf-8")
    assert (
        'id="by-load-run">EFDX 1.0 P-01, EFDX 1.0 P-02, EFDX 1.0 P-03: certified separately, by a load run'
        in page
    )
