"""A profile pack is installed with pip and found through the ``conformance.profiles`` entry points.

The toy pack (two requirements) is built from the README's own text ("Writing a profile pack": the
documented way to write one) and installed with pip into a folder of its own (``--target``), which the
commands then see through PYTHONPATH: the harness's own environment is left as it was, and what is
tested is what a member state does with a private pack, following the README alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.core.profile import Profile
from conformance.harness import registry
from tests.results_helpers import profile_row, requirement_verdicts, verdicts_by_test

README = Path(__file__).resolve().parent.parent / "README.md"
# A fenced block whose info string names a file of the toy pack: ```python toy_pack/toy_profile/pack.py
README_FILE = re.compile(r"^```\w+ (toy_pack/[\w/.]+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def write_toy_pack_from_readme(folder: Path, edit=lambda name, text: text) -> Path:
    """The toy pack's files, as the README's "Writing a profile pack" gives them, under ``folder``
    (``edit(name, text)`` may change one, for a pack missing a piece)."""
    section = README.read_text(encoding="utf-8").split("### Writing a profile pack", 1)[1]
    files = dict(README_FILE.findall(section))
    assert set(files) == {
        "toy_pack/pyproject.toml", "toy_pack/toy_profile/pack.py", "toy_pack/toy_profile/suite/test_toy.py"
    }  # fmt: skip
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(edit(name, text), encoding="utf-8")
    for package in ("toy_profile", "toy_profile/suite"):
        (folder / "toy_pack" / package / "__init__.py").touch()
    return folder / "toy_pack"


def install(source: Path, target: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        timeout=300,
        cwd=source,
    )
    return target


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory) -> Path:
    source = write_toy_pack_from_readme(tmp_path_factory.mktemp("toy-source"))
    return install(source, tmp_path_factory.mktemp("toy-site"))


def conformance(toy_site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(toy_site)}
    command = [sys.executable, "-c", "import sys; from conformance.app.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def results_of(report_dir: Path) -> dict:
    (folder,) = [path for path in report_dir.iterdir() if path.is_dir()]
    return json.loads((folder / "results.json").read_text())


def test_installed_packs_are_listed(toy_site, tmp_path):
    listed = conformance(toy_site, "profiles", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    keys = [line.split()[0] for line in listed.stdout.splitlines()]
    assert "efdx" in keys and "toy" in keys
    assert "TOY 0.1" in listed.stdout


def test_the_toy_pack_runs_conformant_against_its_reference(toy_site, tmp_path):
    ran = conformance(toy_site, "run", "--profile", "toy", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = results_of(tmp_path / "r")
    assert results["profile"] == "TOY 0.1"
    # the reference claims every installed pack (EFDX errata 2): a run of one is incomplete
    assert results["verdict"] == "incomplete"
    assert [(row["title"], row["verdict"]) for row in results["profiles"] if row["run"]] == [
        ("TOY 0.1", "conformant")
    ]
    assert requirement_verdicts(results, "TOY 0.1") == {"TOY-1": "pass", "TOY-2": "pass"}
    assert [row["id"] for row in results["requirements"]] == ["TOY 0.1 TOY-1", "TOY 0.1 TOY-2"]
    assert results["purpose_gaps"] == []


def test_the_toy_packs_seeded_fault_fails_its_requirement(toy_site, tmp_path):
    ran = conformance(
        toy_site,
        "run",
        "--profile",
        "toy",
        "--reference-fault",
        "always-200",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    results = results_of(tmp_path / "r")
    assert results["verdict"] == "not-conformant"
    assert requirement_verdicts(results, "TOY 0.1") == {"TOY-1": "pass", "TOY-2": "fail"}


def test_a_pack_whose_fault_lacks_a_piece_is_named_in_one_line_and_never_runs(tmp_path):
    """The README's toy with its Fault's ``also`` left out (as a pack written from an older README
    was): the pack is checked when it loads, not found out by a crash in the middle of a run."""
    source = write_toy_pack_from_readme(
        tmp_path / "src", lambda name, text: text.replace("    also: tuple[str, ...] = ()\n", "")
    )
    site = install(source, tmp_path / "site")
    listed = conformance(site, "profiles", cwd=tmp_path)
    assert listed.returncode == 1
    assert (
        "seeded fault 'refuses-ping' lacks also (README: Writing a profile pack)"
        in listed.stdout + listed.stderr
    )
    ran = conformance(site, "run", "--profile", "toy", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert ran.returncode == 4, ran.stdout + ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    assert "profile 'toy' is installed but does not load" in line and "lacks also" in line
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_pack_whose_harness_inbox_lacks_a_piece_stops_before_the_first_test(tmp_path):
    """The toy's harness inbox without ``bodies_cut`` (which a run reports): one line naming it, exit 4,
    before any test; it was an AttributeError after the tests."""
    source = write_toy_pack_from_readme(
        tmp_path / "src", lambda name, text: text.replace("    bodies_cut: int = 0\n", "")
    )
    site = install(source, tmp_path / "site")
    ran = conformance(site, "run", "--profile", "toy", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert ran.returncode == 4, ran.stdout + ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    assert (
        "profile toy: its harness inbox (make_inbox) lacks bodies_cut (README: Writing a profile pack)"
        in line
    )
    assert "Traceback" not in ran.stdout + ran.stderr and "test_toy.py" not in ran.stdout


def test_an_unknown_profile_is_a_usage_error(toy_site, tmp_path):
    ran = conformance(toy_site, "run", "--profile", "nope", cwd=tmp_path)
    assert ran.returncode == 4
    assert "no profile 'nope' is installed" in ran.stderr and "toy (TOY 0.1)" in ran.stderr


def test_without_the_pack_only_the_shipped_profiles_are_known():
    assert "toy" not in registry.installed()
    assert isinstance(registry.get("EFDX 1.0"), Profile) and registry.get("efdx") is registry.default()


def test_a_pack_that_does_not_load_is_named_not_fatal(monkeypatch):
    class Broken:
        name, value = "broken", "nowhere:PROFILE"

        def load(self):
            raise ImportError("No module named 'nowhere'")

    real = registry.entry_points

    def with_broken(group: str):
        return [*real(group=group), Broken()]

    registry._loaded.cache_clear()
    monkeypatch.setattr(registry, "entry_points", with_broken)
    try:
        assert "efdx" in registry.installed()
        assert "No module named 'nowhere'" in registry.broken()["broken"]
        with pytest.raises(registry.ProfileError, match="does not load"):
            registry.get("broken")
    finally:
        monkeypatch.undo()
        registry._loaded.cache_clear()


# --- runs over several profiles (RCPX section 4) --------------------------------------------------


def test_a_default_run_covers_every_installed_profile_each_with_its_verdict(toy_site, tmp_path):
    """`conformance run` with the toy pack installed: EFDX 1.0, RCPX 1.0 and TOY 0.1, one after the other
    against their reference NSWs, in one report folder; every ID qualified by its profile."""
    from lxml import etree

    ran = conformance(toy_site, "run", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = results_of(tmp_path / "r")
    assert results["profile"] == "EFDX 1.0 + RCPX 1.0 + TOY 0.1" and results["verdict"] == "conformant"
    assert [(row["key"], row["title"], row["verdict"]) for row in results["profiles"]] == [
        ("efdx", "EFDX 1.0", "conformant"),
        ("rcpx", "RCPX 1.0", "conformant"),
        ("toy", "TOY 0.1", "conformant"),
    ]
    assert profile_row(results, "TOY 0.1")["counts"] == {"pass": 2}
    assert requirement_verdicts(results, "TOY 0.1") == {"TOY-1": "pass", "TOY-2": "pass"}
    assert requirement_verdicts(results)["M-06"] == "pass"
    assert {"EFDX 1.0 M-06", "TOY 0.1 TOY-2"} <= {row["id"] for row in results["requirements"]}
    assert verdicts_by_test(results, "TOY 0.1") == {
        "test_toy.py::test_ping_is_answered": "pass",
        "test_toy.py::test_garbage_is_refused": "pass",
    }
    keys = {"EFDX 1.0": "efdx", "RCPX 1.0": "rcpx", "TOY 0.1": "toy"}
    for test in results["tests"]:
        key = keys[test["profile"]]
        assert test["id"] == f"{key}/{test['nodeid']}"
        assert all(rid.startswith(f"{test['profile']} ") for rid in test["requirements"])
    assert "toy/test_toy.py::test_ping_is_answered" in ran.stdout
    assert "run: conformant (EFDX 1.0 conformant; RCPX 1.0 conformant; TOY 0.1 conformant)" in ran.stdout

    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    junit = etree.parse(str(folder / "junit.xml"))
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit-common.xsd")))
    assert schema.validate(junit), schema.error_log
    suites = junit.getroot().findall("testsuite")
    names = ["EFDX 1.0 conformance", "RCPX 1.0 conformance", "TOY 0.1 conformance"]
    assert [suite.get("name") for suite in suites] == names
    toy = {p.get("name"): p.get("value") for p in suites[2].find("properties")}
    assert (toy["profile"], toy["verdict"], toy["run_verdict"]) == ("TOY 0.1", "conformant", "conformant")
    assert toy["requirement TOY 0.1 TOY-2"] == "pass" and "requirement EFDX 1.0 M-06" not in toy
    assert {case.get("classname") for case in suites[2].iter("testcase")} == {"toy/test_toy"}
    assert all(case.get("classname").startswith("efdx/") for case in suites[0].iter("testcase"))
    page = (folder / "report.html").read_text()
    assert 'data-group="profile" value="TOY 0.1"' in page and 'data-group="profile" value="EFDX 1.0"' in page


def serve_toy(toy_site: Path, tmp_path: Path):
    """`conformance reference serve --profile toy` in its own process: (process, base URL)."""
    env = {**os.environ, "PYTHONPATH": str(toy_site)}
    command = [sys.executable, "-c", "import sys; from conformance.app.cli import main; sys.exit(main())"]
    process = subprocess.Popen(
        [*command, "reference", "serve", "--profile", "toy", "--party", "KH", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # "reference NSW KH at http://127.0.0.1:N/toy/1/messages"
    assert "/toy/1/messages" in line, line
    return process, line.split(" at ")[1].strip().removesuffix("/toy/1/messages")


def test_a_profile_chosen_out_of_those_claimed_is_judged_but_the_run_cannot_conclude(toy_site, tmp_path):
    """The ICS claims EFDX 1.0 and TOY 0.1 on one base URL (TOY's inbox is told from EFDX's by its
    path); `--profile toy` runs TOY alone: it is conformant, the run is incomplete and cannot certify."""
    process, base = serve_toy(toy_site, tmp_path)
    try:
        ics = tmp_path / "candidate.toml"
        ics.write_text(
            '[candidate]\nparty = "KH"\nprofiles = ["efdx", "TOY 0.1"]\n'
            f'inbox_url = "{base}/efdx/1/messages"\n'
        )
        ran = conformance(
            toy_site,
            "run",
            "--config",
            str(ics),
            "--profile",
            "toy",
            "--report-dir",
            str(tmp_path / "r"),
            cwd=tmp_path,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert ran.returncode == 0, ran.stdout + ran.stderr  # every applicable test passed
    results = results_of(tmp_path / "r")
    assert results["verdict"] == "incomplete" and results["partial"]
    assert results["sut"]["url"] == f"{base}/toy/1/messages"
    assert [(row["title"], row["run"], row["verdict"]) for row in results["profiles"]] == [
        ("TOY 0.1", True, "conformant"),
        ("EFDX 1.0", False, "incomplete"),
    ]
    assert results["ics"]["profiles"] == ["EFDX 1.0", "TOY 0.1"]
    certification = results["certification"]
    assert not certification["can_certify"]
    assert "claimed profiles not run: EFDX 1.0" in certification["reasons"]
    assert {test["profile"] for test in results["tests"]} == {"TOY 0.1"}
    assert "claimed and not run: EFDX 1.0" in ran.stdout


def test_a_profile_the_ics_does_not_claim_is_a_usage_error(toy_site, tmp_path):
    ics = tmp_path / "candidate.toml"
    ics.write_text('[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n')
    ran = conformance(toy_site, "run", "--config", str(ics), "--profile", "toy", cwd=tmp_path)
    assert ran.returncode == 4
    assert "--profile toy: the ICS does not claim TOY 0.1" in ran.stderr
