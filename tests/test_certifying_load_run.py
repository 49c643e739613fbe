"""A certifying load run end to end (EFDX errata 2: capacity, P-01..P-03, is judged and certified by
a load run): the reference NSW in a process of its own over mutual TLS stands in for a real
candidate claiming a (short) capacity; the site's own evidence key signs. Held at the declared rate
and duration, the run certifies: certificate.html names the evidence bundle, which verifies back to
the site's CA. The same run as a rehearsal (a shorter duration than declared) cannot certify and
says why, and without a site key it says the TEST ONLY key signed."""

from __future__ import annotations

import hashlib
import json

from conformance.app import cli
from tests.loopback import free_port, serve_reference, stop_reference

TOKEN = "certifying-load-token"
CONFIG = """[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "{inbox}"
build = "reference (certifying-load test)"
[candidate.capacity]
rate_per_s = 8
duration_s = 3
receipt_p95_s = 1
status_p95_s = 2
[candidate.windows]
status_s = 10
[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
[tls]
enabled = true
{site}
"""
PASSPHRASE_ENV = "CONFORMANCE_TEST_SITE_PASSPHRASE"


def _load(tmp_path, capsys, site: str, *extra: str) -> tuple[int, dict, str]:
    harness_port = free_port()
    served = serve_reference(tmp_path / "kh.sqlite", harness_port, TOKEN, tls=True)
    reports = tmp_path / "reports"
    try:
        config = tmp_path / "kh.toml"
        config.write_text(CONFIG.format(inbox=served.inbox_url, harness_port=harness_port, site=site))
        code = cli.main(
            ["load", "--config", str(config), "--ramp", "0.5", "--report-dir", str(reports), *extra]
        )
    finally:
        stop_reference(served.process)
    out = capsys.readouterr().out
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    return code, json.loads((folder / "results.json").read_text()), out


def test_a_held_certifying_load_run_writes_a_certificate_that_verifies(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, "the lab's passphrase, not a test key's")
    site_dir = tmp_path / "site"
    assert cli.main(["pki", "site", "--out", str(site_dir), "--passphrase-env", PASSPHRASE_ENV]) == 0
    capsys.readouterr()
    site = (
        f'[site]\nname = "Test lab"\nkey_file = "{site_dir / "site.key.pem"}"\n'
        f'cert_file = "{site_dir / "site.pem"}"\npassphrase_env = "{PASSPHRASE_ENV}"'
    )
    code, results, out = _load(tmp_path, capsys, site)
    assert (code, results["verdict"]) == (0, "held"), out
    assert results["certification"] == {"can_certify": True, "reasons": []}, out
    assert "certifying run: certificate.html" in out
    folder = next(path for path in (tmp_path / "reports").iterdir() if path.is_dir())
    certificate = (folder / "certificate.html").read_text()
    bundle_sha256 = hashlib.sha256((folder / "evidence.zip").read_bytes()).hexdigest()
    assert bundle_sha256 in certificate and "reference (certifying-load test)" in certificate
    assert "Certificate of capacity" in certificate and "P-01, P-02, P-03" in certificate
    anchor = site_dir / "site-ca.pem"
    assert cli.main(["evidence", "verify", str(folder / "evidence.zip"), "--trust-anchor", str(anchor)]) == 0
    assert "chains to the trust anchor" in capsys.readouterr().out
    assert "This run can certify" in (folder / "report.html").read_text()


def test_a_load_rehearsal_cannot_certify_and_says_why(tmp_path, capsys):
    code, results, out = _load(tmp_path, capsys, "", "--duration", "2")
    reasons = results["certification"]["reasons"]
    assert results["certification"]["can_certify"] is False
    assert any("shorter than the declared 3 s" in reason for reason in reasons), reasons
    assert any("EFDX TEST ONLY" in reason for reason in reasons), reasons  # no site key: the test key signed
    assert "rehearsal: cannot certify" in out
    folder = next(path for path in (tmp_path / "reports").iterdir() if path.is_dir())
    assert not (folder / "certificate.html").exists() and (folder / "evidence.zip").exists()
