"""Other runs' folders are untrusted (DESIGN.md): a corrupt results.json in an older sibling folder
never keeps a run from writing its report, and history, the index and `conformance diff` skip it
with a note; nothing under the reports folder is written through a symbolic link."""

from __future__ import annotations

import json
import os

import pytest
from test_certification import certifying

from conformance.app import cli
from conformance.app.run import write_reports
from conformance.profiles.efdx.pki import TestPki
from conformance.results.safe_read import MAX_JSON_BYTES

OLDER = "20000101T000000Z"


def a_result():
    result = certifying()
    result.ics = {**result.ics, "windows": {}, "trigger": True, "harness_party": "SG", "profiles": ["efdx"]}
    result.sut = {**result.sut, "fault": None, "urls": {}}
    return result  # sorts before any run made today


def plant(folder, content: bytes | None, size: int | None = None) -> None:
    folder.mkdir(parents=True)
    path = folder / "results.json"
    if size is not None:
        with open(path, "wb") as file:
            file.truncate(size)  # sparse: huge to a reader, nothing on disk
    else:
        path.write_bytes(content or b"")


def run_m10(reports, capsys) -> tuple[int, str]:
    code = cli.main(["run", "--profile", "efdx", "--requirement", "M-10", "--report-dir", str(reports)])
    return code, capsys.readouterr().err


def this_run(reports):
    (folder,) = [
        f for f in reports.iterdir() if f.is_dir() and not f.name.startswith(OLDER) and not f.is_symlink()
    ]
    return folder


CORRUPT = {
    "profiles-not-a-list": b'{"tests": [], "profiles": 5}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "not-utf8": b'{"tests": [], "verdict": "\xff\xfe"}',
    "test-not-an-object": b'{"tests": [1]}',
    "test-without-verdict": b'{"tests": [{"id": "efdx/x.py::t"}]}',
}


@pytest.mark.parametrize("content", [*CORRUPT.values(), None], ids=[*CORRUPT, "huge"])
def test_a_corrupt_older_run_never_stops_this_runs_report(tmp_path, capsys, content):
    reports = tmp_path / "reports"
    plant(reports / OLDER, content, size=MAX_JSON_BYTES + 1 if content is None else None)
    code, err = run_m10(reports, capsys)
    assert code == 0, err
    folder = this_run(reports)
    for name in ("results.json", "report.html", "junit.xml", "evidence.zip"):
        assert (folder / name).is_file(), name
    assert f"previous run {OLDER} skipped" in err
    assert "Traceback" not in err
    index = (reports / "index.html").read_text()
    assert folder.name in index and OLDER in index and "cannot be read" in index


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_diff_of_a_corrupt_side_is_one_line_and_exit_4(tmp_path, capsys, content):
    plant(tmp_path / "run", content)
    path = tmp_path / "run" / "results.json"
    assert cli.main(["diff", str(path), str(path)]) == 4
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a run's results.json" in err


def test_diff_of_a_huge_side_is_refused_before_it_is_read(tmp_path, capsys):
    plant(tmp_path / "run", None, size=MAX_JSON_BYTES + 1)
    assert cli.main(["diff", str(tmp_path / "run"), str(tmp_path / "run")]) == 4
    assert "more than" in capsys.readouterr().err


def test_diff_does_not_follow_a_link(tmp_path, capsys):
    plant(tmp_path / "run", b'{"tests": []}')
    (tmp_path / "link.json").symlink_to(tmp_path / "run" / "results.json")
    assert cli.main(["diff", str(tmp_path / "link.json"), str(tmp_path / "run")]) == 4
    assert "symbolic link" in capsys.readouterr().err


def test_a_symlinked_index_is_replaced_not_followed(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (reports / "index.html").symlink_to(victim)
    code, err = run_m10(reports, capsys)
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    assert not (reports / "index.html").is_symlink()
    assert this_run(reports).name in (reports / "index.html").read_text()


def test_a_link_planted_in_a_run_folder_is_not_followed(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    victims = {}
    for name in ("results.json", "report.html", "junit.xml", "ctrf.json", "evidence.zip"):
        victims[name] = tmp_path / f"victim-{name}"
        victims[name].write_text("precious\n")
        (folder / name).symlink_to(victims[name])
    write_reports(a_result(), folder, TestPki.load().nsw("SG"))
    assert all(victim.read_text() == "precious\n" for victim in victims.values())
    assert json.loads((folder / "results.json").read_text())["tests"]


def test_a_run_folder_that_is_a_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "run")
    with pytest.raises(OSError, match="symbolic link"):
        write_reports(a_result(), tmp_path / "run", TestPki.load().nsw("SG"))
    assert list(elsewhere.iterdir()) == []


def test_a_load_run_beside_is_listed_not_skipped(tmp_path, capsys):
    from lxml import html

    reports = tmp_path / "reports"
    load = {"kind": "load", "profile": "EFDX 1.0", "verdict": "held", "sut": {"party": "KH", "url": "u"}}
    plant(reports / f"{OLDER}-load", json.dumps({**load, "started": "2000", "load": {}}).encode())
    code, err = run_m10(reports, capsys)
    assert code == 0 and "skipped" not in err, err
    page = html.fromstring((reports / "index.html").read_text())
    assert [row.xpath("string(td[1])") for row in page.xpath("//table[@id='runs']/tbody/tr")][1:] == [
        f"{OLDER}-load"
    ]
    assert not page.xpath("//*[@id='skipped']")
