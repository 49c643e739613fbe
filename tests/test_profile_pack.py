"""A profile pack is installed with pip and found through the ``conformance.profiles`` entry points.

The toy pack (tests/data/toy_pack, two requirements) is built and installed with pip into a folder
of its own (``--target``), which the commands then see through PYTHONPATH: the harness's own
environment is left as it was, and what is tested is what a member state does with a private pack.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.core.profile import Profile
from conformance.harness import registry

TOY = Path(__file__).parent / "data" / "toy_pack"


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("toy-site")
    source = tmp_path_factory.mktemp("toy-source") / "toy_pack"  # pip builds in the tree: not ours
    shutil.copytree(TOY, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
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
    assert results["verdict"] == "conformant"
    assert {row["id"]: row["verdict"] for row in results["requirements"]} == {
        "TOY-1": "pass",
        "TOY-2": "pass",
    }
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
    assert {row["id"]: row["verdict"] for row in results["requirements"]} == {
        "TOY-1": "pass",
        "TOY-2": "fail",
    }


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
