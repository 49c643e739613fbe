"""Certificates are earned: a run certifies only with a site key whose chain holds no TEST ONLY
material of any installed pack (EFDX's, RCPX's, a third party's), and `conformance pki site` makes
such a key, encrypted, for `[site] key_file`, `cert_file` and `passphrase_env`.

The end-to-end runs serve a reference NSW in a process of its own over mutual TLS, as a candidate,
and drive it with the real `conformance run --config`.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from site_pki import make_site_pki
from test_certificate import certifying_result, config_file

from conformance.app import cli, site_pki
from conformance.app.run import profile_text, site_signer, write_reports
from conformance.core.testpki import TestMaterial
from conformance.harness import registry
from conformance.harness.config import ConfigError, load
from conformance.profiles.efdx.pki import TestPki
from conformance.profiles.rcpx.pki import TestPki as RcpxPki
from tests.loopback import free_port, stop_reference

PASSPHRASE = "a site passphrase, long enough"
ENV = "CONFORMANCE_TEST_SITE_PASSPHRASE"


def make_site(tmp_path: Path, monkeypatch, capsys) -> site_pki.SiteFiles:
    """The site's PKI, as a certification officer makes it: `conformance pki site`."""
    monkeypatch.setenv(ENV, PASSPHRASE)
    out = tmp_path / "site"
    assert cli.main(["pki", "site", "--out", str(out), "--passphrase-env", ENV, "--name", "KH Test Lab"]) == 0
    capsys.readouterr()
    return site_pki.site_files(out)


# --- conformance pki site ---------------------------------------------------------------------------------


def test_pki_site_writes_encrypted_keys_prints_none_and_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV, PASSPHRASE)
    out = tmp_path / "site"
    code = cli.main(["pki", "site", "--out", str(out), "--passphrase-env", ENV, "--country", "KH"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    files = site_pki.site_files(out)
    assert all(path.is_file() for path in files.all())
    for key in (files.key, files.ca_key):
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert key.stat().st_mode & 0o077 == 0
        serialization.load_pem_private_key(key.read_bytes(), password=PASSPHRASE.encode())
    assert "PRIVATE KEY" not in printed.out + printed.err and PASSPHRASE not in printed.out + printed.err
    assert f'passphrase_env = "{ENV}"' in printed.out and str(files.key) in printed.out
    chain = x509.load_pem_x509_certificates(files.cert.read_bytes())
    assert chain[1] == x509.load_pem_x509_certificate(files.ca.read_bytes())
    assert site_pki.signer_test_material(site_signer(load_site_config(tmp_path, files))) is None

    before = {path: path.read_bytes() for path in files.all()}
    assert cli.main(["pki", "site", "--out", str(out), "--passphrase-env", ENV]) == 4
    assert "exists already" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in files.all()} == before


@pytest.mark.parametrize(
    ("environment", "argv", "said"),
    [
        ({}, ["--passphrase-env", "CONFORMANCE_TEST_UNSET"], "is not set"),
        ({ENV: "short"}, ["--passphrase-env", ENV], "shorter than"),
        ({ENV: PASSPHRASE}, [], "--passphrase-env"),
    ],
    ids=["unset", "short", "no-option"],
)
def test_pki_site_refuses_to_run_without_a_passphrase(tmp_path, monkeypatch, capsys, environment, argv, said):
    monkeypatch.delenv("CONFORMANCE_TEST_UNSET", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["pki", "site", "--out", str(tmp_path / "site"), *argv]) == 4
    assert said in capsys.readouterr().err
    assert not (tmp_path / "site").exists() or not any((tmp_path / "site").iterdir())


# --- [site] with an encrypted key -------------------------------------------------------------------------

OFFLINE = """[candidate]
party = "KH"
inbox_url = "https://127.0.0.1:{port}/efdx/1/messages"
declarations = ["M-10/crl-missing", "M-10/crl-expired", "M-10/crl-bad-signature"]
[tls]
enabled = true
[site]
name = "KH Test Lab"
{site}
"""


def load_site_config(tmp_path: Path, files: site_pki.SiteFiles, env: str = ENV):
    path = tmp_path / "site.toml"
    path.write_text(
        OFFLINE.format(port=free_port(), site=site_pki.config_lines(files, env).split("\n", 1)[1])
    )
    return load(path)


def test_passphrase_env_needs_a_key_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(OFFLINE.format(port=1, site='passphrase_env = "X"'))
    with pytest.raises(ConfigError, match="site.passphrase_env: given without site.key_file"):
        load(path)


@pytest.mark.parametrize(
    "problem", ["wrong-passphrase", "unset-variable", "no-variable", "missing-file", "other-key"]
)
def test_a_misconfigured_site_key_stops_the_run_before_the_first_test(tmp_path, monkeypatch, capsys, problem):
    files = make_site(tmp_path, monkeypatch, capsys)
    other = make_site_pki(tmp_path / "other")
    lines = {"key": files.key, "cert": files.cert, "env": f'passphrase_env = "{ENV}"'}
    if problem == "wrong-passphrase":
        monkeypatch.setenv(ENV, "not the passphrase of this key")
    elif problem == "unset-variable":
        monkeypatch.delenv(ENV)
    elif problem == "no-variable":
        lines["env"] = ""
    elif problem == "missing-file":
        lines["key"] = tmp_path / "nowhere.key.pem"
    else:
        lines["key"], lines["env"] = other.key, ""
    config = tmp_path / "candidate.toml"
    site = f'key_file = "{lines["key"]}"\ncert_file = "{lines["cert"]}"\n{lines["env"]}'
    config.write_text(OFFLINE.format(port=free_port(), site=site))
    reports = tmp_path / "reports"
    code = cli.main(["run", "--config", str(config), "--report-dir", str(reports)])
    printed = capsys.readouterr()
    assert code == 4
    (line,) = printed.err.strip().splitlines()
    assert "site." in line and "Traceback" not in printed.err and PASSPHRASE not in line
    assert not reports.exists() or not any(path.is_dir() for path in reports.iterdir())  # no test ran


def test_a_site_key_on_an_odd_curve_stops_the_run(tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric import ec

    site = make_site_pki(tmp_path / "site")
    key = ec.generate_private_key(ec.SECP256K1())
    site.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    config = tmp_path / "candidate.toml"
    config.write_text(
        OFFLINE.format(port=free_port(), site=f'key_file = "{site.key}"\ncert_file = "{site.cert}"')
    )
    assert cli.main(["run", "--config", str(config), "--report-dir", str(tmp_path / "r")]) == 4
    err = capsys.readouterr().err
    assert "site.key_file" in err and "secp256k1" in err and len(err.strip().splitlines()) == 1


# --- test material: every installed pack's, a third party's included ---------------------------------------


@pytest.mark.parametrize(
    ("cert", "key", "pack"),
    # RCPX's test PKI is the EFDX family's (RCPX errata 1): its keys say EFDX TEST ONLY as well
    [("SG/nsw.pem", "SG/nsw.key.pem", "EFDX"), ("JP/nsw.pem", "JP/nsw.key.pem", "RCPX")],
    ids=["efdx-test-key", "rcpx-test-key"],
)
def test_a_test_pki_key_configured_as_the_site_key_cannot_certify(tmp_path, cert, key, pack):
    folder = (TestPki.load() if pack == "EFDX" else RcpxPki.load()).directory
    path = tmp_path / "candidate.toml"
    path.write_text(
        OFFLINE.format(port=1, site=f'key_file = "{folder / key}"\ncert_file = "{folder / cert}"')
    )
    config = load(path)
    write_reports(
        certifying_result(config), tmp_path / "run", site_signer(config), profile_text(registry.default())
    )
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["certification"]["can_certify"] is False and data["signer"]["test_only"] is True
    (reason,) = data["certification"]["reasons"]
    assert "EFDX TEST ONLY" in reason and not (tmp_path / "run" / "certificate.html").exists()


def test_an_rcpx_test_signer_without_a_site_key_cannot_certify(tmp_path):
    """The evidence of an RCPX run without a site key is signed by RCPX's TEST ONLY NSW of JP."""
    rcpx = registry.get("rcpx")
    result = certifying_result(load(config_file(tmp_path, None)))
    result = dataclasses.replace(result, profile=rcpx, records=[], test_only_signer=False)
    written = write_reports(result, tmp_path / "run", RcpxPki.load().nsw("JP"))
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert written == [] and data["signer"]["test_only"] is True
    assert any("TEST ONLY key" in reason for reason in data["certification"]["reasons"])


def test_a_third_party_packs_declared_test_material_cannot_certify(tmp_path, monkeypatch):
    """A pack declares its test material by fingerprint: a site key that is that material is refused,
    though nothing in its subject says TEST ONLY; the same key is fine while no pack declares it."""
    site = make_site_pki(tmp_path / "site")
    config = load(config_file(tmp_path / "site", site))
    signer = site_signer(config)
    assert site_pki.signer_test_material(signer) is None
    declared = TestMaterial.of_certificates("ACME TEST ONLY PKI", [signer.cert])
    acme = dataclasses.replace(
        registry.get("efdx"), key="acme", title="ACME 1.0", test_material=lambda: declared
    )
    monkeypatch.setattr(registry, "installed", lambda: {"efdx": registry.get("efdx"), "acme": acme})
    write_reports(certifying_result(config), tmp_path / "run", signer, profile_text(registry.default()))
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["certification"]["can_certify"] is False
    assert any("ACME TEST ONLY PKI" in reason for reason in data["certification"]["reasons"])


def test_every_shipped_pack_declares_its_test_material():
    for profile in registry.installed().values():
        material = profile.declared_test_material()
        pki = profile.load_pki()
        nsw = pki.nsw(profile.partner_party)
        assert material.why(nsw.cert) is not None and material.anchors, profile.key


# --- end to end: RCPX over mutual TLS without a site key; EFDX with the site key `pki site` made ------------

RCPX_CONFIG = """[candidate]
party = "AU"
profiles = ["rcpx"]
inbox_url = "{inbox}"
build = "reference (rcpx certifying-run test)"
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
party = "JP"
listen = "127.0.0.1:{harness_port}"
url = "https://127.0.0.1:{harness_port}/rcpx/1/messages"
[tls]
enabled = true
"""


def serve_rcpx_reference(db: Path, harness_port: int, token: str):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance.app.cli",
            "reference",
            "serve",
            "--profile",
            "rcpx",
            "--party",
            "AU",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            str(db),
            "--peer",
            f"JP=https://127.0.0.1:{harness_port}/rcpx/1/messages",
            "--trigger-token",
            token,
            "--retry-schedule",
            "0.2,0.4,0.8",
            "--outbound-timeout",
            "1",
            "--tls",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first, second = process.stdout.readline(), process.stdout.readline()
    if not first.startswith("reference NSW AU at "):
        stop_reference(process)
        raise RuntimeError(f"reference serve did not start: {first!r} {second!r}")
    return process, first.split(" at ")[1].strip(), second.split(" at ")[1].strip()


def test_an_rcpx_only_run_over_mutual_tls_without_a_site_key_cannot_certify(tmp_path, capsys):
    token, harness_port = "rcpx-certifying-token", free_port()
    process, inbox, trigger = serve_rcpx_reference(tmp_path / "au.sqlite", harness_port, token)
    try:
        config = tmp_path / "au.toml"
        config.write_text(
            RCPX_CONFIG.format(inbox=inbox, trigger=trigger, token=token, harness_port=harness_port)
        )
        code = cli.main(["run", "--config", str(config), "--report-dir", str(tmp_path / "reports")])
    finally:
        stop_reference(process)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    (folder,) = [path for path in (tmp_path / "reports").iterdir() if path.is_dir()]
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "conformant" and results["profile"] == "RCPX 1.0"
    assert results["certification"] == {
        "can_certify": False,
        "reasons": ["the evidence is signed with a TEST ONLY key (no site key is configured)"],
    }
    assert results["signer"]["test_only"] and "EFDX TEST ONLY" in results["signer"]["test_material"]
    assert not (folder / "certificate.html").exists() and not (folder / "certificate.pdf").exists()
    assert "rehearsal: cannot certify" in out and "TEST ONLY key" in out


def test_a_pack_that_declares_nothing_has_its_trusted_cas_taken_as_test_material():
    """A third-party pack whose PKI object has no test_material(): what its CAs issued is refused."""
    pki = TestPki.load()

    class BarePki:  # what the Profile contract promises of load_pki(): nsw(party) and trust_store()
        nsw = pki.nsw

        def trust_store(self):
            return pki.trust_store()

    bare = dataclasses.replace(registry.get("efdx"), key="bare", title="BARE 1.0", load_pki=BarePki)
    material = bare.declared_test_material()
    assert material.name == "BARE 1.0 TEST ONLY PKI" and not material.organisations
    assert "was issued by" in (material.why(pki.nsw("KH").cert) or "")
    assert material.why(x509.load_pem_x509_certificate(make_cert_pem())) is None


def make_cert_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec
    from test_evidence_trust import certificate

    key = ec.generate_private_key(ec.SECP256R1())
    return certificate(key.public_key(), key).public_bytes(serialization.Encoding.PEM)
