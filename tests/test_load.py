"""`conformance load` against the embedded reference NSW: short runs (seconds) that show the verdict,
the seeded faults it must catch, gateway faults that are counted and not misjudged, and Locust's
distributed mode with every record merged. Speeds are measured in bench/, never asserted here:
the runs are at a rate far below what the reference holds, against its declared bounds."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conformance.app import cli
from conformance.app.load.session import LoadOptions, run_load

SHORT = dict(rate=8.0, duration_s=3.0, ramp_s=0.5)


def load(tmp_path, **options) -> tuple[int, dict]:
    code, folder = run_load(LoadOptions(report_dir=tmp_path, live=False, **(SHORT | options)))
    return code, json.loads((folder / "results.json").read_text())


def check(results: dict, requirement: str, what: str) -> dict:
    return next(
        c for c in results["load"]["checks"] if c["requirement"] == requirement and what in c["expected"]
    )


def test_the_reference_holds_its_declared_capacity(tmp_path, capsys):
    code = cli.main(
        ["load", "--duration", "3", "--rate", "8", "--ramp", "0.5", "--report-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    folder = next(tmp_path.iterdir())
    results = json.loads((folder / "results.json").read_text())
    load = results["load"]
    assert (code, results["verdict"]) == (0, "held"), (load["checks"], load["notes"], load["examples"])
    assert "EFDX 1.0 capacity: held" in out and "report: " in out
    assert load["capacity"]["rate_per_s"] == 20.0  # the reference's own claim
    counts = load["counts"]
    assert counts["sent"] == counts["right"] == load["merged"]["records"] > 10
    assert load["lost_statuses"] == load["duplicate_statuses"] == load["unexpected_statuses"] == 0
    assert counts["statuses"] > 0 and load["status_lag"]["p95_ms"] is not None
    assert {"issue", "invalid"} <= set(load["sent_by_kind"])
    assert load["over_time"] and "<svg" in (folder / "report.html").read_text()
    assert any("rehearsal" in note for note in load["notes"])  # 3 s at 8/s is not the 60 s claim


def test_rcpx_loads_through_its_pack_against_the_embedded_reference(tmp_path, capsys):
    code = cli.main(
        ["load", "--profile", "rcpx", "--duration", "5", "--rate", "8", "--ramp", "0.5"]
        + ["--report-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    results = json.loads((next(tmp_path.iterdir()) / "results.json").read_text())
    load = results["load"]
    assert (code, results["verdict"]) == (0, "held"), (load["checks"], load["notes"], load["examples"])
    assert "RCPX 1.0 capacity: held" in out and results["profile"] == "RCPX 1.0"
    assert results["sut"]["url"].endswith("/rcpx/1/messages") and results["sut"]["party"] == "AU"
    counts = load["counts"]
    assert counts["sent"] == counts["right"] > 10 and counts["statuses"] > 0
    assert {"issue", "invalid"} <= set(load["sent_by_kind"])


def test_a_profile_without_a_load_adapter_is_a_usage_error(monkeypatch, capsys, tmp_path):
    from conformance.harness import registry

    unloadable = dataclasses.replace(registry.get("rcpx"), load=None)
    monkeypatch.setattr(registry, "get", lambda name: unloadable)
    assert cli.main(["load", "--profile", "rcpx", "--report-dir", str(tmp_path)]) == 4
    assert "RCPX 1.0 cannot be load-tested" in capsys.readouterr().err


def test_duplicates_processed_twice_fail_the_run(tmp_path):
    code, results = load(
        tmp_path, reference_fault="process-duplicates-twice", weights={"issue": 50, "duplicate": 50}
    )
    assert code == 1 and results["verdict"] == "not-held"
    assert results["load"]["duplicate_statuses"] >= 1
    assert not check(results, "P-03", "no second status")["held"]


def test_gateway_faults_make_retries_that_are_counted_not_misjudged(tmp_path):
    code, results = load(tmp_path, gateway_faults=0.3, seed=7, weights={"issue": 1})
    load_block = results["load"]
    assert sum(load_block["gateway_faults"].values()) >= 1
    assert load_block["redelivered_statuses"] >= 1  # the reference retried (M-21)
    assert load_block["lost_statuses"] == load_block["duplicate_statuses"] == 0
    assert load_block["wrong_answers"] == {}


def test_distributed_mode_merges_every_record_of_two_workers(tmp_path):
    code, results = load(tmp_path, workers=2)
    merged = results["load"]["merged"]
    assert merged["complete"], results["load"]["notes"]
    assert len(merged["made_by_worker"]) == 2 and all(merged["made_by_worker"].values())
    assert sum(merged["made_by_worker"].values()) == merged["records"] == results["load"]["counts"]["sent"]
    assert sorted(merged["by_worker"].values()) == sorted(merged["made_by_worker"].values())
    # Locust's own statistics reach the master on its reporting interval and a busy machine can cut
    # the last report at shutdown; the harness's ledger, merged above, is the count that must be whole.
    assert 0 < results["load"]["locust"]["requests"] <= merged["records"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "--rate: out of range"),
        (["--gateway-faults", "1.5"], "--gateway-faults: out of range"),
        (["--sut", "http://127.0.0.1:9/efdx/1/messages"], "--sut needs --config"),
        (["--reference-fault", "no-such-fault"], "no seeded fault 'no-such-fault'"),
        (["--expect-workers", "2"], "--expect-workers needs --master-bind"),
    ],
)
def test_usage_errors_exit_4(argv, message, capsys, tmp_path):
    assert cli.main(["load", *argv, "--report-dir", str(tmp_path)]) == 4
    assert message in capsys.readouterr().err
