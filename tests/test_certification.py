"""Rehearsal or certification: a run can certify only when it judged a real candidate over mutual
TLS, with the whole suite and every claimed MUST requirement run, its evidence signed with a site
key. Anything else says "rehearsal: cannot certify" and why; a rehearsal is never shown as able to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from conformance.core.records import TestRecord as Record
from conformance.harness import registry
from conformance.profiles.efdx.catalogue import requirements
from conformance.results.results import RunResult

MOMENT = datetime(2026, 11, 30, 12, tzinfo=UTC)
ALL_CAPABILITIES = ["cancel", "ecdsa", "replace", "trigger", "utilisation", "verification"]
DECLARATIONS = ["M-10/crl-missing", "M-10/crl-expired", "M-10/crl-bad-signature"]  # errata 2


def certifying() -> RunResult:
    records = [
        Record(f"test_x.py::test_{r.id}", r.id, (r.id,), verdict="pass")
        for r in requirements()
        if r.judged_by == "suite"  # the P rows are a load run's (errata 2)
    ]
    return RunResult(
        sut={"url": "https://nsw.kh.example/efdx/1/messages", "party": "KH", "reference": False},
        ics={
            "roles": ["importing", "exporting"],
            "capabilities": ALL_CAPABILITIES,
            "declarations": DECLARATIONS,
            "tls": True,
        },
        started=MOMENT,
        finished=MOMENT,
        records=records,
        test_only_signer=False,
        profile=registry.get("efdx"),
    )


def test_the_whole_suite_over_tls_against_a_real_candidate_with_a_site_key_certifies():
    assert certifying().certification() == {"can_certify": True, "reasons": []}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sut": {"reference": True}}, "the embedded reference NSW"),
        (
            {
                "ics": {
                    "roles": ["importing", "exporting"],
                    "capabilities": ALL_CAPABILITIES,
                    "declarations": DECLARATIONS,
                    "tls": False,
                }
            },
            "plain HTTP",
        ),
        ({"partial": True}, "a subset of the suite was run"),
        ({"interrupted": True}, "interrupted"),
        ({"test_only_signer": True}, "TEST ONLY key"),
    ],
    ids=["reference", "plain-http", "subset", "interrupted", "test-only-signer"],
)
def test_a_rehearsal_says_why_it_cannot_certify(change, reason):
    certification = replace(certifying(), **change).certification()
    assert not certification["can_certify"] and any(reason in r for r in certification["reasons"])


def test_a_must_requirement_not_run_prevents_it_unless_its_capability_is_not_claimed():
    result = certifying()
    result.records = [r for r in result.records if r.requirements[0] not in ("T-05", "A-07")]
    result.ics = dict(result.ics, capabilities=[c for c in ALL_CAPABILITIES if c != "utilisation"])
    reasons = result.certification()["reasons"]
    assert reasons == ["MUST requirements not applicable or not run: EFDX 1.0 T-05"]  # unclaimed


def test_the_record_keeps_build_site_operator_and_the_configuration_hash(tmp_path):
    import hashlib

    from conformance.app.run import RunOptions, certification_record
    from conformance.harness.config import load

    text = (
        '[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n'
        'build = "kh-nsw 4.2.1"\n'
        '[site]\nname = "KH customs test lab"\noperator = "S. Dara"\n'
    )
    path = tmp_path / "candidate.toml"
    path.write_text(text)
    config = load(path)
    record = certification_record(RunOptions(requirements=("M-10",), command=("conformance", "run")), config)
    assert (record["candidate_build"], record["site"], record["operator"]) == (
        "kh-nsw 4.2.1",
        "KH customs test lab",
        "S. Dara",
    )
    assert record["config_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert record["selection"]["requirements"] == ["M-10"] and record["command"] == ["conformance", "run"]


def test_a_run_records_its_command_line(tmp_path, capsys):
    import json

    from conformance.app import cli

    argv = ["run", "--requirement", "M-16", "--report-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    data = json.loads((folder / "results.json").read_text())
    assert data["record"]["command"] == ["conformance", *argv]
    assert data["certification"]["can_certify"] is False
    assert "rehearsal: cannot certify" in capsys.readouterr().out
    assert "Rehearsal: this run cannot certify" in (folder / "report.html").read_text()


def test_a_declarable_clause_not_stated_prevents_it_and_a_stated_one_is_declared_never_passed():
    """Errata 2: the candidate states what a partner cannot observe (its own CRL handling); the report
    shows it as declared, never as passed, and a certifying run needs every declarable purpose."""
    result = certifying()
    rows = {row["purpose"]: row for row in result.purpose_rows()}
    assert {rows[pid]["verdict"] for pid in DECLARATIONS} == {"declared"}
    result.ics = dict(result.ics, declarations=DECLARATIONS[:1])
    reasons = result.certification()["reasons"]
    assert reasons == [
        "clauses not observable over the wire and not stated in candidate.declarations: "
        "EFDX 1.0 M-10/crl-expired, EFDX 1.0 M-10/crl-bad-signature"
    ]
    rows = {row["purpose"]: row for row in result.purpose_rows()}
    assert rows["M-10/crl-expired"]["verdict"] == "not-tested"


def test_capacity_rows_are_not_applicable_unless_claimed_and_then_left_to_a_load_run():
    """Errata 2: P-01..P-03 apply only when `capacity` is claimed, and are judged and certified by a
    load run, never by the functional suite: claimed, they neither fail nor block its certificate."""
    unclaimed = certifying()
    rows = {row["requirement"]: row["verdict"] for row in unclaimed.requirement_rows()}
    assert [rows[rid] for rid in ("P-01", "P-02", "P-03")] == ["not-applicable"] * 3
    claimed = certifying()
    claimed.ics = dict(claimed.ics, capabilities=[*ALL_CAPABILITIES, "capacity"])
    rows = {row["requirement"]: row["verdict"] for row in claimed.requirement_rows()}
    assert [rows[rid] for rid in ("P-01", "P-02", "P-03")] == ["by-load-run"] * 3
    assert claimed.verdict == "conformant"
    assert claimed.certification() == {"can_certify": True, "reasons": []}
