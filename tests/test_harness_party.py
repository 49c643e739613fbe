"""The harness can play any partner party, with every vector: the test PKI has bad signers for every
party (RCPX section 5, errata 1), so the bad-signer vectors are judged (not inconclusive) when the
harness plays TH, each signer claiming TH; a PKI without a party's bad signers says so."""

from __future__ import annotations

import json

from conformance.app.run import REFERENCE_WINDOWS, RunOptions, run
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.family.vectors import BAD_SIGNER_VECTORS
from conformance.harness.config import Config
from conformance.profiles.efdx.dialect import EFDX
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
        dialect=EFDX,
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
    assert code == 0, [t for t in tests.values() if t["verdict"] not in ("pass", "not-applicable")]
    for test in tests.values():
        assert test["verdict"] in ("pass", "not-applicable"), test  # ecdsa is not claimed here
    assert {"m09-expired-signer", "m10-revoked-signer", "valid-issue-co"} <= set(tests)
    assert {vector_id for vector_id, test in tests.items() if test["verdict"] == "pass"} >= {
        "m09-expired-signer",
        "m09-not-yet-valid-signer",
        "m10-revoked-signer",
        "br02-importing-country-mismatch",
    } and BAD_SIGNER_VECTORS & set(tests)


def test_bad_signer_vectors_sent_as_th_carry_ths_bad_signers():
    """Each bad-signer vector is signed by the bad signer of the party that sends it."""
    from datetime import date

    from lxml import etree

    from conformance.core.trust import chain_from_der
    from conformance.family.vectors import build_vector
    from conformance.profiles.efdx.pki import TestPki

    pki = TestPki.load()
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    body = build_vector(
        "m10-revoked-signer", date(2026, 12, 6), pki, sender="TH", receiver="KH", dialect=EFDX
    )
    certificate = (
        etree.fromstring(body).find(f"{ds}Signature/{ds}KeyInfo/{ds}X509Data/{ds}X509Certificate").text
    )
    assert chain_from_der([certificate])[0] == pki.bad("revoked", "TH").cert
