"""`conformance report pdf DIR` of a folder from elsewhere: its report.html may hold script and
``<iframe src="file:///...">``; the PDF is printed with no script run and no local file embedded
(the page is rendered again from the folder's results.json, and Chromium runs with script off)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conformance.app import cli
from tests.conftest import require_tool

SECRET = "TOPSECRET-0451-LOCAL-FILE"
MARKER = "SCRIPT-RAN-IN-THE-PDF"


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


@pytest.fixture(scope="module")
def a_run(tmp_path_factory):
    require_tool("pdftotext", "poppler-utils")
    reports = tmp_path_factory.mktemp("reports")
    assert cli.main(["run", "--profile", "efdx", "--requirement", "M-10", "--report-dir", str(reports)]) == 0
    (folder,) = [f for f in reports.iterdir() if f.is_dir()]
    return folder


def test_a_hostile_report_html_neither_runs_nor_embeds_a_local_file(a_run, tmp_path, capsys):
    from conformance.results.pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium is not installed")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    folder = tmp_path / "from-elsewhere"
    folder.mkdir()
    shutil.copy(a_run / "results.json", folder / "results.json")
    (folder / "report.html").write_text(
        "<!DOCTYPE html><html><body><h1>Hostile</h1>"
        f'<iframe src="{secret.as_uri()}" width="800" height="200"></iframe>'
        f'<object data="{secret.as_uri()}" type="text/plain" width="800" height="200"></object>'
        f"<script>document.body.append('{MARKER}')</script></body></html>"
    )
    assert cli.main(["report", "pdf", str(folder)]) == 0, capsys.readouterr().err
    text = pdf_text(folder / "report.pdf")
    assert SECRET not in text
    assert MARKER not in text and "Hostile" not in text
    assert "M-10" in text  # the report, rendered from results.json


def test_a_report_pdf_that_is_a_link_is_replaced_not_followed(a_run, tmp_path, capsys):
    from conformance.results.pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium is not installed")
    folder = tmp_path / "run"
    shutil.copytree(a_run, folder)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (folder / "report.pdf").symlink_to(victim)
    assert cli.main(["report", "pdf", str(folder)]) == 0, capsys.readouterr().err
    assert victim.read_text() == "precious\n"
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_a_folder_with_an_unreadable_results_json_is_one_line_exit_4(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "report.html").write_text("<p>hello</p>")
    (folder / "results.json").write_bytes(b"[" * 100_000)
    assert cli.main(["report", "pdf", str(folder)]) == 4
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
