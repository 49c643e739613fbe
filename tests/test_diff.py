"""`conformance diff OLD NEW`: a fault-free run against a run with a seeded fault names exactly the
fault's requirement as newly failing and exits 1; the other way round as fixed, exit 0. IDs are
profile-qualified; a results.json from before (bare IDs) is read as EFDX 1.0's."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conformance.app import cli
from conformance.app.run import RunOptions, run
from conformance.profiles.efdx.pack import PROFILE as EFDX


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folders = {}
    for name, fault in (("clean", None), ("faulty", "ignore-crl")):
        options = RunOptions(
            reference_fault=fault,
            requirements=("M-10", "M-11"),
            report_dir=tmp_path_factory.mktemp(name),
            live=False,
            profile=EFDX,
        )
        folders[name] = run(options)[1]
    return folders


NOTHING_CHANGED = (
    "run: incomplete -> incomplete; newly failing 0 requirements, 0 tests; fixed 0 requirements, 0 tests; "
    "changed 0 requirements, 0 tests"
)


def diff(capsys, old, new) -> tuple[int, list[str]]:
    code = cli.main(["diff", str(old), str(new)])
    return code, capsys.readouterr().out.splitlines()


def test_a_seeded_fault_is_a_regression_of_its_requirement_only(runs, capsys):
    code, lines = diff(capsys, runs["clean"], runs["faulty"])
    assert code == 1
    newly = [line for line in lines if line.startswith("newly failing requirement:")]
    assert newly == ["newly failing requirement: EFDX 1.0 M-10 (pass -> fail)"], lines
    assert any(line.startswith("newly failing test:") and "m10-revoked-signer" in line for line in lines)


def test_the_other_way_round_it_is_fixed(runs, capsys):
    code, lines = diff(capsys, runs["faulty"] / "results.json", runs["clean"])
    assert code == 0
    assert "fixed requirement: EFDX 1.0 M-10 (fail -> pass)" in lines
    assert not [line for line in lines if line.startswith("newly failing")]


def test_the_same_run_twice_changes_nothing(runs, capsys):
    assert diff(capsys, runs["clean"], runs["clean"]) == (
        0,
        [
            NOTHING_CHANGED,
            "no requirement or test changed its verdict",
        ],
    )


def test_the_summary_line_counts_and_regressions_only_prints_only_what_fails_newly(runs, capsys):
    code, lines = diff(capsys, runs["clean"], runs["faulty"])
    assert lines[0].startswith("run: incomplete -> not-conformant; newly failing 1 requirements, ")
    assert code == 1
    assert cli.main(["diff", "--regressions-only", str(runs["clean"]), str(runs["faulty"])]) == 1
    only = capsys.readouterr().out.splitlines()
    assert only[0] == lines[0]
    assert all(line.startswith("newly failing ") for line in only[1:]) and len(only) > 1
    assert cli.main(["diff", "--regressions-only", str(runs["faulty"]), str(runs["clean"])]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["no regression"]


def test_unreadable_input_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("{not json")
    assert cli.main(["diff", str(tmp_path / "junk.json"), str(tmp_path / "missing")]) == 4
    assert "not a run's results.json" in capsys.readouterr().err


def test_rerun_failed_runs_only_what_did_not_pass(runs, tmp_path, capsys):
    """`conformance run --rerun-failed DIR` (here against the fault-free reference, the fault fixed)."""
    earlier = json.loads((runs["faulty"] / "results.json").read_text())
    not_passed = {t["id"] for t in earlier["tests"] if t["verdict"] not in ("pass", "not-applicable")}
    assert cli.main(["run", "--rerun-failed", str(runs["faulty"]), "--report-dir", str(tmp_path)]) == 0
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    again = json.loads((folder / "results.json").read_text())
    assert {t["id"] for t in again["tests"]} == not_passed and again["partial"]
    assert {t["verdict"] for t in again["tests"]} == {"pass"}


def test_rerun_failed_of_a_run_that_passed_is_a_usage_error(runs, capsys):
    assert cli.main(["run", "--rerun-failed", str(runs["clean"])]) == 4
    assert "nothing to run" in capsys.readouterr().err


def test_a_reports_folder_keeps_its_history(tmp_path, capsys):
    """Two runs in one reports folder: the second says what changed since the first, and index.html
    lists both with their verdicts, newest first."""
    from lxml import html

    for fault in (None, "ignore-crl"):
        options = RunOptions(reference_fault=fault, requirements=("M-10",), report_dir=tmp_path, live=False)
        run(dataclasses.replace(options, profile=EFDX))
    first, second = sorted(folder for folder in tmp_path.iterdir() if folder.is_dir())
    since = json.loads((second / "results.json").read_text())["since_previous"]
    assert (since["run"], since["newly_failing"], since["fixed"]) == (first.name, ["EFDX 1.0 M-10"], [])
    assert "newly failing EFDX 1.0 M-10" in (second / "report.html").read_text()
    page = html.fromstring((tmp_path / "index.html").read_text())
    rows = page.xpath("//table[@id='runs']/tbody/tr")
    assert [row.xpath("string(td[1])") for row in rows] == [second.name, first.name]
    assert "seeded fault ignore-crl" in rows[0].text_content()
    assert "EFDX 1.0: not-conformant" in rows[0].xpath("string(td[@class='profiles'])")
    assert not page.xpath("//script | //*[@src]")


def bare_ids(data: dict) -> dict:
    """``data`` as a results.json written before runs covered several profiles: bare IDs, no
    ``profiles``, no bare-part fields."""
    old = {key: value for key, value in data.items() if key != "profiles"}
    old["requirements"] = [
        {
            "id": row["requirement"],
            "verdict": row["verdict"],
            "tests": [t.split("/", 1)[1] for t in row["tests"]],
        }
        for row in data["requirements"]
    ]
    old["tests"] = [
        {**{k: v for k, v in test.items() if k not in ("profile", "nodeid")}, "id": test["nodeid"]}
        for test in data["tests"]
    ]
    return old


def test_an_older_results_json_with_bare_ids_compares_as_efdx(runs, tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(bare_ids(json.loads((runs["clean"] / "results.json").read_text()))))
    assert diff(capsys, old, runs["clean"]) == (
        0,
        # the older format knew one profile; the run against the reference claims every installed one
        [
            NOTHING_CHANGED,
            "changed profile: RCPX 1.0 (absent -> incomplete)",
        ],
    )
    code, lines = diff(capsys, old, runs["faulty"])
    assert code == 1
    assert [line for line in lines if line.startswith("newly failing requirement:")] == [
        "newly failing requirement: EFDX 1.0 M-10 (pass -> fail)"
    ]
    absent = [line for line in lines if "absent" in line]
    assert absent == ["changed profile: RCPX 1.0 (absent -> incomplete)"], lines  # every ID matched


def test_rerun_failed_takes_an_older_results_json(runs, tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(bare_ids(json.loads((runs["faulty"] / "results.json").read_text()))))
    reports = tmp_path / "reports"
    assert cli.main(["run", "--rerun-failed", str(old), "--report-dir", str(reports)]) == 0
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    again = json.loads((folder / "results.json").read_text())
    assert again["tests"] and all(t["id"].startswith("efdx/") for t in again["tests"])
