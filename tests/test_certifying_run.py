"""A certifying run end to end, as a certification officer makes one: the reference NSW served in a
process of its own over mutual TLS (standing in for a real candidate), an ICS claiming everything,
the site's own evidence key made by `conformance pki site` (encrypted; its passphrase in the
environment). The whole suite passes, so the run certifies: certificate.html names the candidate
and the evidence bundle's SHA-256, and `evidence verify --trust-anchor site-ca.pem` checks the
bundle back to the site's CA (without the anchor: exit 3, the signer unchecked). With a TEST ONLY
key configured as the site key instead, the run cannot certify and says why. Everything else about
certificates is in test_certificate.py and test_site_pki.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

from conformance.app import cli
from conformance.profiles.rcpx.pki import TestPki as RcpxPki
from tests.loopback import free_port, serve_reference, stop_reference

TOKEN = "certifying-run-token"
CONFIG = """[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "{inbox}"
build = "reference (certifying-run test)"
capabilities = ["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]
declarations = ["M-10/crl-missing", "M-10/crl-expired", "M-10/crl-bad-signature"]
[candidate.windows]
status_s = 5
verification_s = 5
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 15
grace_s = 0.3
peer_timeout_s = 1
operator_s = 10
[candidate.trigger]
url = "{trigger}"
token = "{token}"
[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
url = "https://127.0.0.1:{harness_port}/efdx/1/messages"
[tls]
enabled = true
[site]
name = "Test lab"
operator = "A. Tester"
key_file = "{key}"
cert_file = "{cert}"
{passphrase}
"""
PASSPHRASE_ENV = "CONFORMANCE_TEST_SITE_PASSPHRASE"


def certifying_run(base: Path) -> tuple[int, str, Path, Path]:
    """A certifying run as a certification officer makes one, under ``base``: the site's key made by
    `conformance pki site` (its passphrase in PASSPHRASE_ENV, which the caller sets), the reference
    NSW served over mutual TLS. Returns (exit code, what it printed, the report folder or base when
    none was written, the site folder)."""
    site_dir = base / "site"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["pki", "site", "--out", str(site_dir), "--passphrase-env", PASSPHRASE_ENV]) == 0
    site = {"key": site_dir / "site.key.pem", "cert": site_dir / "site.pem"}
    code, out, folder = run_signed_by(base, **site, passphrase=f'passphrase_env = "{PASSPHRASE_ENV}"')
    return code, out, folder, site_dir


def run_signed_by(
    base: Path, key: Path, cert: Path, passphrase: str, *selection: str
) -> tuple[int, str, Path]:
    """`conformance run --config` of the reference KH served over mutual TLS, its [site] naming
    ``key`` and ``cert`` (and ``passphrase``, a TOML line): (exit code, what it printed, the report
    folder, or ``base`` when none was written)."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        harness_port = free_port()
        served = serve_reference(base / "kh.sqlite", harness_port, TOKEN, tls=True)
        try:
            config = base / "kh.toml"
            config.write_text(
                CONFIG.format(
                    inbox=served.inbox_url,
                    trigger=served.trigger_url,
                    token=TOKEN,
                    harness_port=harness_port,
                    key=key,
                    cert=cert,
                    passphrase=passphrase,
                )
            )
            code = cli.main(
                ["run", "--config", str(config), "--report-dir", str(base / "reports"), *selection]
            )
        finally:
            stop_reference(served.process)
    reports = base / "reports"
    folders = [path for path in reports.iterdir() if path.is_dir()] if reports.is_dir() else []
    return code, out.getvalue(), folders[0] if len(folders) == 1 else base


def test_a_conformant_certifying_run_writes_a_certificate_that_verifies(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, "the lab's passphrase, not a test key's")
    code, out, folder, site_dir = certifying_run(tmp_path)
    assert code == 0, out[-3000:]
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "conformant" and results["certification"]["can_certify"], results[
        "certification"
    ]
    certificate = (folder / "certificate.html").read_text()
    bundle_sha256 = hashlib.sha256((folder / "evidence.zip").read_bytes()).hexdigest()
    assert bundle_sha256 in certificate and "reference (certifying-run test)" in certificate
    anchor = site_dir / "site-ca.pem"
    assert cli.main(["evidence", "verify", str(folder / "evidence.zip"), "--trust-anchor", str(anchor)]) == 0
    assert "chains to the trust anchor" in capsys.readouterr().out
    assert cli.main(["evidence", "verify", str(folder / "evidence.zip")]) == 3
    assert "signer not checked" in capsys.readouterr().out


def test_a_test_only_key_as_the_site_key_cannot_certify_and_says_why(tmp_path):
    """RCPX's TEST ONLY NSW key (JP's, of the family's PKI) configured as [site] of an EFDX run:
    whatever the profile, test material."""
    folder = RcpxPki.load().directory / "JP"
    key, cert = folder / "nsw.key.pem", folder / "nsw.pem"
    code, out, run = run_signed_by(tmp_path, key, cert, "", "--requirement", "T-01")
    assert code == 0, out[-3000:]
    results = json.loads((run / "results.json").read_text())
    reasons = results["certification"]["reasons"]
    assert results["certification"]["can_certify"] is False and results["signer"]["test_only"] is True
    assert any("EFDX TEST ONLY" in reason for reason in reasons), reasons
    assert "rehearsal: cannot certify" in out and "EFDX TEST ONLY" in out
