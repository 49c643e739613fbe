"""A KH NSW claiming EFDX 1.0 and RCPX 1.0, end to end with the real command (RCPX sections 4 and 5,
errata 1): `conformance reference serve --party KH --profile efdx --profile rcpx [--tls]` in a
process of its own stands in for the candidate, serving both profiles from one endpoint (over mutual
TLS with one TLS identity, the family's TEST ONLY PKI), and `conformance run --config ics.toml` with
`profiles = ["efdx", "rcpx"]` and `[harness] party = "JP"` judges both: the harness plays SG in EFDX
(JP is no EFDX party: the pack's default partner) and JP in RCPX, with bad signers of its own party
in each. Both profiles, and the run, end `conformant`, every applicable test passed.

Before the errata, this could not pass: harness.party JP was refused for EFDX (exit 4), SG left 13
RCPX tests inconclusive (the bad signers claimed JP), and `--tls` with two profiles was refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import free_port, stop_reference

TOKEN = "both-profiles-token"
CAPABILITIES = '["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]'
ICS = """[candidate]
party = "KH"
profiles = ["efdx", "rcpx"]
inbox_url = "{base}/efdx/1/messages"
build = "reference (both profiles, one endpoint)"
capabilities = {capabilities}
[candidate.windows]
status_s = 5
verification_s = 5
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 15
grace_s = 0.3
peer_timeout_s = 1
operator_s = 10
[candidate.trigger]
url = "{base}/efdx/1/test/trigger"
token = "{token}"
[harness]
party = "{harness_party}"
listen = "127.0.0.1:{harness_port}"
url = "{scheme}://127.0.0.1:{harness_port}/efdx/1/messages"
[tls]
enabled = {tls}
"""


def serve_both(db: Path, harness_port: int, tls: bool, jp: bool) -> tuple[subprocess.Popen, str]:
    """`conformance reference serve --party KH --profile efdx --profile rcpx`, its peer SG (on the
    EFDX path, which the RCPX NSW takes on its own) and, with ``jp``, JP (RCPX path) the harness
    inbox; the base URL it serves both profiles on."""
    scheme = "https" if tls else "http"
    harness = f"{scheme}://127.0.0.1:{harness_port}"
    jp_peer = ["--peer", f"JP={harness}/rcpx/1/messages"] if jp else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance.app.cli",
            "reference",
            "serve",
            "--party",
            "KH",
            "--profile",
            "efdx",
            "--profile",
            "rcpx",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            str(db),
            "--peer",
            f"SG={harness}/efdx/1/messages",
            *jp_peer,
            "--trigger-token",
            TOKEN,
            "--retry-schedule",
            "0.2,0.4,0.8",
            "--outbound-timeout",
            "1",
            *(["--tls"] if tls else []),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    if not first.startswith("reference NSW KH at "):
        stop_reference(process)
        raise AssertionError(f"reference serve did not start: {first!r} {process.stderr.read()[-2000:]!r}")
    lines = [first] + [process.stdout.readline() for _ in range(3)]
    assert [line.split("/")[3] for line in lines] == ["efdx", "efdx", "rcpx", "rcpx"], lines
    return process, first.split(" at ")[1].strip().removesuffix("/efdx/1/messages")


@pytest.mark.parametrize(
    ("tls", "harness_party", "played"),
    [
        (False, "JP", {"efdx": "SG", "rcpx": "JP"}),
        (True, "JP", {"efdx": "SG", "rcpx": "JP"}),
        # SG in both: RCPX's bad-signer tests were inconclusive (the bad signers claimed JP)
        (False, "SG", {"efdx": "SG", "rcpx": "SG"}),
    ],
    ids=["http", "mutual-tls", "http-sg-in-both"],
)
def test_a_kh_nsw_serving_efdx_and_rcpx_from_one_endpoint_is_conformant_in_both(
    tmp_path, tls, harness_party, played
):
    harness_port = free_port()
    process, base = serve_both(tmp_path / "kh.sqlite", harness_port, tls, jp="JP" in played.values())
    try:
        assert base.startswith("https://" if tls else "http://")
        ics = tmp_path / "ics.toml"
        ics.write_text(
            ICS.format(
                base=base,
                capabilities=CAPABILITIES,
                token=TOKEN,
                harness_port=harness_port,
                scheme="https" if tls else "http",
                tls=str(tls).lower(),
                harness_party=harness_party,
            )
        )
        reports = tmp_path / "reports"
        run = subprocess.run(
            [sys.executable, "-m", "conformance.app.cli", "run", "--config", str(ics)]
            + ["--report-dir", str(reports), "--non-interactive"],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
    finally:
        stop_reference(process)
        process.stderr.close()
    assert run.returncode == 0, (run.stdout[-4000:], run.stderr[-2000:])
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "conformant"
    by_key = {profile["key"]: profile for profile in results["profiles"]}
    assert {key: p["verdict"] for key, p in by_key.items()} == {"efdx": "conformant", "rcpx": "conformant"}
    assert {key: p["ics"]["harness_party"] for key, p in by_key.items()} == played
    verdicts = {test["verdict"] for test in results["tests"]}
    assert verdicts <= {"pass", "not-applicable"}, [
        (t["id"], t["verdict"], t["reason"]) for t in results["tests"] if t["verdict"] != "pass"
    ]
    not_applicable = [t["id"] for t in results["tests"] if t["verdict"] == "not-applicable"]
    # it does not claim gateway (its peers are the harness's own inboxes): G-01..G-03 not applicable
    gateway = [test for test in not_applicable if "test_gateway.py" in test]
    assert len(gateway) == 22  # 11 tests in each profile
    not_applicable = [test for test in not_applicable if test not in gateway]
    if tls:  # T-05's clients, JP's own bad signers among them in RCPX, are judged over TLS
        assert not_applicable == [], not_applicable
        t05 = [t for t in results["tests"] if any(r.endswith("T-05") for r in t["requirements"])]
        assert {t["profile"] for t in t05} == {"EFDX 1.0", "RCPX 1.0"} and len(t05) == 10
    else:
        assert all("test_tls.py" in test for test in not_applicable), not_applicable
    bad_signer_tests = [t for t in results["tests"] if "m10-revoked-signer" in t["id"]]
    assert {t["profile"] for t in bad_signer_tests} == {"EFDX 1.0", "RCPX 1.0"}


def test_profiles_with_different_nsw_certificates_cannot_share_one_tls_endpoint():
    """The handshake comes before the path: one endpoint has one TLS identity, or it is refused."""
    from types import SimpleNamespace

    from conformance.family.reference.server import server_tls_context
    from conformance.profiles.efdx.pki import TestPki

    pki = TestPki.load()

    def nsw(title: str, party: str) -> SimpleNamespace:
        return SimpleNamespace(
            nsw_credential=pki.nsw(party),
            dialect=SimpleNamespace(codes=SimpleNamespace(TITLE=title)),
            party="KH",
        )

    with pytest.raises(ValueError, match="one TLS endpoint has one TLS identity"):
        server_tls_context(nsw("EFDX 1.0", "KH"), [nsw("OTHER 1.0", "TH")])
