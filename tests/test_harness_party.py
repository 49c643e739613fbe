"""The harness can play any partner party, and then never fails a conforming candidate on what the
test PKI cannot express: the bad signers claim SG, so with another harness party those vectors are
inconclusive (said so), while everything else is judged as usual."""

from __future__ import annotations

import json

from conformance.app.run import REFERENCE_WINDOWS, RunOptions, run
from conformance.harness.config import Config
from conformance.profiles.efdx.reference.nsw import Settings
from conformance.profiles.efdx.reference.runner import RunningReference
from conformance.profiles.efdx.vectors import BAD_SIGNER_VECTORS
from tests.loopback import free_port


def test_playing_th_against_kh(tmp_path):
    port = free_port()
    inbox = f"http://127.0.0.1:{port}/efdx/1/messages"
    settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"TH": inbox},
        retry_schedule=REFERENCE_WINDOWS.retry_schedule_s,
        outbound_timeout=1.0,
    )
    with RunningReference(settings) as reference:
        config = Config(
            party="KH",
            inbox_url=reference.url,
            windows=REFERENCE_WINDOWS,
            harness_party="TH",
            harness_listen=f"127.0.0.1:{port}",
            capabilities=frozenset({"replace", "cancel"}),
        )
        keyword = "m09 or m10 or valid-issue-co or br02 or m13 or valid-cancel-co"
        code, folder = run(RunOptions(config=config, keyword=keyword, report_dir=tmp_path, live=False))
    tests = {
        test["id"].split("[")[-1].rstrip("]"): test
        for test in json.loads((folder / "results.json").read_text())["tests"]
    }
    assert code == 1  # inconclusive tests: not every applicable test passed
    for vector_id, test in tests.items():
        if vector_id in BAD_SIGNER_VECTORS:
            assert test["verdict"] == "inconclusive" and "bad signers claim SG" in test["reason"], test
        else:
            assert test["verdict"] in ("pass", "not-applicable"), test  # ecdsa is not claimed here
    assert {"m09-expired-signer", "valid-issue-co", "br02-importing-country-mismatch"} <= set(tests)
