"""`conformance run --rerun-failed DIR` reads an untrusted results.json: only test IDs of the installed
suites are run; a test ID naming any other Python file (absolute, or climbing out with ``..``) is
named on one line and ignored, never imported; nothing valid left is exit 4."""

from __future__ import annotations

import json

from conformance.app import cli


def hostile(tmp_path, ids: list[str], profiles: bool = True):
    marker = tmp_path / "executed"
    evil = tmp_path / "evil" / "test_evil.py"
    evil.parent.mkdir()
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n\ndef test_evil():\n    pass\n")
    tests = [{"id": i.format(evil=evil, up="/".join([".."] * 12)), "verdict": "fail"} for i in ids]
    data = {"tests": tests, "verdict": "not-conformant"}
    if profiles:
        data["profiles"] = [{"key": "efdx", "title": "EFDX 1.0", "run": True, "verdict": "not-conformant"}]
    folder = tmp_path / "earlier"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(data))
    return folder, marker


def test_only_hostile_ids_is_a_usage_error_and_nothing_is_imported(tmp_path, capsys):
    folder, marker = hostile(
        tmp_path,
        ["efdx/{evil}::test_evil", "efdx/{up}{evil}::test_evil", "efdx/../../x.py::test_y"],
    )
    code = cli.main(["run", "--rerun-failed", str(folder), "--report-dir", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 4, err
    assert not marker.exists()
    assert "not a test of the installed suites" in err and "test_evil" in err


def test_an_older_results_json_with_a_bare_hostile_id_is_refused(tmp_path, capsys):
    folder, marker = hostile(tmp_path, ["{evil}::test_evil"], profiles=False)
    assert cli.main(["run", "--rerun-failed", str(folder), "--report-dir", str(tmp_path / "r")]) == 4
    assert not marker.exists()


def test_hostile_ids_are_ignored_and_the_valid_ones_run(tmp_path, capsys):
    folder, marker = hostile(
        tmp_path, ["efdx/{evil}::test_evil", "efdx/test_transport.py::test_text_xml_is_tolerated"]
    )
    reports = tmp_path / "reports"
    code = cli.main(["run", "--rerun-failed", str(folder), "--report-dir", str(reports)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert not marker.exists()
    ignored = [line for line in captured.err.splitlines() if "not a test of the installed suites" in line]
    assert len(ignored) == 1 and "test_evil" in ignored[0]
    (run_folder,) = [p for p in reports.iterdir() if p.is_dir()]
    ran = json.loads((run_folder / "results.json").read_text())["tests"]
    assert [t["id"] for t in ran] == ["efdx/test_transport.py::test_text_xml_is_tolerated"]
