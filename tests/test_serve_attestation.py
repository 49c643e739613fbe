"""Attested service runs (issue 21 item 5): a test bed started with a site key (made by `conformance
pki site`, not test material) runs a registered system over mutual TLS (the reference NSW in a
process of its own, allow-listed on loopback); the run certifies, its evidence.zip is signed with the
site key (the service's, put into the run's [site]), its in-toto attestation is served with the other
report files, and `conformance evidence verify` accepts the downloaded pair against the site's CA."""

from __future__ import annotations

import contextlib
import io
import tomllib

import pytest

from conformance.app import cli
from conformance.app.serve import site_key
from conformance.app.serve.server import ServeError, open_testbed
from conformance.app.serve.settings import ServeSettings
from conformance.app.serve.systems import SystemRefused, check_config
from conformance.profiles.efdx.pki import TestPki as EfdxPki
from tests.loopback import free_port, serve_reference, stop_reference
from tests.serve_helpers import login, serving
from tests.test_certifying_run import CONFIG, PASSPHRASE_ENV, TOKEN

ATTESTATION = "evidence.zip.intoto.jsonl"


def member_toml(served, harness_port: int, candidate_cert: str = "kh-client.pem") -> str:
    """The certifying run's TOML, its [site] naming the lab but no key (the service brings its own),
    its harness inbox admitting only ``candidate_cert``."""
    text = CONFIG.format(
        inbox=served.inbox_url,
        trigger=served.trigger_url,
        token=TOKEN,
        harness_port=harness_port,
        key="unused",
        cert="unused",
        passphrase="",
    )
    text = text.replace(
        "[tls]\nenabled = true", f'[tls]\nenabled = true\ncandidate_cert = "{candidate_cert}"'
    )
    return "\n".join(line for line in text.splitlines() if not line.startswith(("key_file", "cert_file")))


def _kh_client_pem() -> bytes:
    """The client certificate the reference NSW KH presents: the TEST ONLY PKI's."""
    return EfdxPki.load().nsw("KH").cert_path.read_bytes()


def test_a_certifying_service_run_is_signed_with_the_site_key_and_its_attestation_verifies(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(PASSPHRASE_ENV, "the test bed's passphrase, not a test key's")
    site = tmp_path / "site"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["pki", "site", "--out", str(site), "--passphrase-env", PASSPHRASE_ENV]) == 0
    keys = {
        "site_cert": site / "site.pem",
        "site_key": site / "site.key.pem",
        "site_passphrase_env": PASSPHRASE_ENV,
    }
    harness_port = free_port()
    served = serve_reference(tmp_path / "kh.sqlite", harness_port, TOKEN, tls=True)
    try:
        with serving(tmp_path / "testbed", **keys) as bed:
            admin = login(bed.url, "admin", bed.testbed.first_password)
            assert admin.put("/api/admin/egress", json={"allow": ["127.0.0.1"]}).status_code == 200
            made = admin.post(
                "/api/systems",
                data={"name": "KH over TLS"},
                files=[
                    ("ics", ("kh.toml", member_toml(served, harness_port))),
                    ("tls", ("kh-client.pem", _kh_client_pem())),
                ],
            )
            assert made.status_code == 201, made.text
            run = admin.post("/api/runs", json={"system": made.json()["id"], "wait": 400}).json()
            assert run["state"] == "finished" and run["can_certify"] is True, run
            assert run["verdict"] == "conformant", run
            assert ATTESTATION in run["files"]
            downloaded = tmp_path / "downloaded"
            downloaded.mkdir()
            for name in ("evidence.zip", ATTESTATION):
                answer = admin.get(run["files"][name])
                assert answer.status_code == 200, name
                (downloaded / name).write_bytes(answer.content)
            assert 'id="certify-note"' not in admin.get(f"/runs/{run['id']}").text
    finally:
        stop_reference(served.process)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = cli.main(
            [
                "evidence",
                "verify",
                str(downloaded / "evidence.zip"),
                "--trust-anchor",
                str(site / "site-ca.pem"),
            ]
        )
    lines = output.getvalue().splitlines()
    assert code == 0, lines
    assert sum(line.startswith(str(downloaded / ATTESTATION)) for line in lines) == 4, lines


def test_a_site_key_that_cannot_sign_stops_the_start_with_one_line(tmp_path):
    settings = ServeSettings(
        data=tmp_path / "bed", site_cert=tmp_path / "none.pem", site_key=tmp_path / "none.key"
    )
    with pytest.raises(ServeError) as refused:
        open_testbed(settings)
    assert str(refused.value).startswith("--site-key: ") and "\n" not in str(refused.value)


def test_a_members_own_site_key_is_replaced_by_the_services_or_dropped(tmp_path):
    member = (
        '[candidate]\nparty = "KH"\nwindows = {status_s = 5}\n'
        '[site]\nname = "Lab \\u00e9"\nkey_file = "/etc/x"\ncert_file = "/etc/y"\n'
    )
    kept = tomllib.loads(site_key.with_site_key(member, ServeSettings(data=tmp_path)))
    assert kept["site"] == {"name": "Lab é"} and kept["candidate"]["windows"] == {"status_s": 5}
    service = ServeSettings(
        data=tmp_path, site_cert=tmp_path / "s.pem", site_key=tmp_path / "s.key", site_passphrase_env="P"
    )
    replaced = tomllib.loads(site_key.with_site_key(member, service))["site"]
    assert replaced == {
        "name": "Lab é",
        "key_file": str((tmp_path / "s.key").resolve()),
        "cert_file": str((tmp_path / "s.pem").resolve()),
        "passphrase_env": "P",
    }


def test_a_system_over_mutual_tls_registers_its_client_certificate(tmp_path):
    """Its harness inbox admits only that certificate (tls.candidate_cert): without one, the
    registration is refused with one line naming the key, and so it is when the file holds no
    certificate; plain HTTP stays registrable."""
    toml = (
        '[candidate]\nparty = "KH"\ninbox_url = "https://127.0.0.1:9/efdx/1/messages"\n'
        '[harness]\nlisten = "127.0.0.1:0"\n[tls]\nenabled = true\n'
    )
    with serving(tmp_path / "testbed") as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        refused = admin.post("/api/systems", data={"name": "no pin"}, files={"ics": ("kh.toml", toml)})
        assert refused.status_code == 422, refused.text
        said = refused.json()["detail"]
        assert said.startswith("tls.candidate_cert: ") and "\n" not in said, said
        pinned = toml + 'candidate_cert = "kh-client.pem"\n'
        not_pem = admin.post(
            "/api/systems",
            data={"name": "pinned to nothing"},
            files=[("ics", ("kh.toml", pinned)), ("tls", ("kh-client.pem", b"not a certificate\n"))],
        )
        assert not_pem.status_code == 422, not_pem.text
        assert not_pem.json()["detail"] == "tls.candidate_cert: kh-client.pem holds no PEM certificate"
        made = admin.post(
            "/api/systems",
            data={"name": "pinned"},
            files=[("ics", ("kh.toml", pinned)), ("tls", ("kh-client.pem", _kh_client_pem()))],
        )
        assert made.status_code == 201, made.text


NAMED_FILES = [("tls", "candidate_cert"), ("tls", "inbox_key"), ("tls", "ca_bundle"), ("site", "key_file")]


@pytest.mark.parametrize(("table", "key"), NAMED_FILES)
def test_a_system_s_toml_names_only_its_uploaded_files_not_the_service_s(tmp_path, table, key):
    """An absolute path or ../ would name a file of the service's machine (its site key as the
    harness's TLS key; whether a file exists, by the loader's message): refused, on the TOML's text,
    with one line naming the key, whether that file exists or not; the uploaded file's name is taken."""
    outside = tmp_path / "site.key.pem"
    outside.write_bytes(_kh_client_pem())
    base = (
        '[candidate]\nparty = "KH"\ninbox_url = "https://127.0.0.1:9/efdx/1/messages"\n'
        '[harness]\nlisten = "127.0.0.1:0"\n'
    )
    pair = {"inbox_key": "inbox_cert", "key_file": "cert_file"}

    def toml(value: str) -> str:
        tls = {"enabled": "true", "candidate_cert": '"kh-client.pem"'}
        site = {}
        into = tls if table == "tls" else site
        into[key] = f'"{value}"'
        if key in pair:
            into[pair[key]] = '"kh-client.pem"'
        lines = ["[tls]", *(f"{k} = {v}" for k, v in tls.items())]
        if site:
            lines += ["[site]", *(f"{k} = {v}" for k, v in site.items())]
        return base + "\n".join(lines) + "\n"

    uploads = {"kh-client.pem": _kh_client_pem()}
    for named in (str(outside), str(tmp_path / "missing.pem"), "../site.key.pem", "/etc/hostname"):
        with pytest.raises(SystemRefused) as refused:
            check_config(toml(named), uploads)
        said = str(refused.value)
        assert said.startswith(f"{table}.{key}: name one of the TLS files uploaded"), said
        assert "\n" not in said and named not in said, said
    check_config(toml("kh-client.pem"), uploads)  # the uploaded one: taken
