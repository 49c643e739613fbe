"""`pip install .` must work from any directory: schemas, templates, manifest and test PKI ship inside."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# What a build never reads: copying them for it would only cost time.
NOT_BUILT = shutil.ignore_patterns(
    ".venv", ".git", "build", "*.egg-info", "__pycache__", "reports", "testbed"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the source tree: setuptools writes build/ and *.egg-info into
    the tree it builds, so two test processes building the one checkout at once break each other."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source") / "conformance"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("conformance-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize(
    "name",
    [
        "conformance/schemas/efdx/envelope.xsd",
        "conformance/schemas/efdx/eformd.xsd",
        "conformance/schemas/efdx/codelists.xsd",
        "conformance/schemas/efdx/xmldsig-core-schema.xsd",
        "conformance/test_vectors/efdx/manifest.toml",
        "conformance/test_vectors/efdx/pki/README.md",
        "conformance/test_vectors/efdx/pki/KH/nsw.pem",
        "conformance/test_vectors/efdx/pki/SG/authority.key.pem",
        "conformance/test_vectors/efdx/pki/SG/crl.pem",
        "conformance/test_vectors/efdx/pki/bad/SG/expired.pem",
        "conformance/test_vectors/efdx/pki/bad/JP/revoked.key.pem",
        "conformance/test_vectors/efdx/pki/bad/rogue-ca.pem",
        "conformance/test_vectors/efdx/pki/JP/nsw.pem",
        "conformance/profiles/efdx/requirements.toml",
        "conformance/profiles/efdx/templates/CertificateOfOrigin.xml.j2",
        "conformance/profiles/efdx/templates/envelope.xml.j2",
        "conformance/schemas/rcpx/envelope.xsd",
        "conformance/schemas/rcpx/co.xsd",
        "conformance/schemas/rcpx/codelists.xsd",
        "conformance/schemas/rcpx/xmldsig-core-schema.xsd",
        "conformance/profiles/rcpx/requirements.toml",
        "conformance/profiles/rcpx/purposes.toml",
        "conformance/profiles/rcpx/spec/RCPX-1.0.md",
        "conformance/profiles/rcpx/templates/RCEPCertificateOfOrigin.xml.j2",
    ],
)
def test_wheel_carries_the_data(wheel_names, name):
    assert name in wheel_names


def test_every_repository_data_file_is_in_the_wheel(wheel_names):
    shipped = [
        *ROOT.glob("schemas/*/*.xsd"),
        *ROOT.glob("test_vectors/**/*.pem"),
        *ROOT.glob("conformance/profiles/*/templates/*.j2"),
        *ROOT.glob("conformance/profiles/*/spec/*.md"),
        *ROOT.glob("conformance/profiles/*/*.toml"),
        *ROOT.glob("conformance/results/templates/*.j2"),
    ]
    missing = []
    for path in shipped:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("schemas/", "test_vectors/")):
            relative = f"conformance/{relative}"
        if relative not in wheel_names:
            missing.append(relative)
    assert missing == []


def test_every_module_is_in_the_wheel(wheel_names):
    modules = [path.relative_to(ROOT).as_posix() for path in (ROOT / "conformance").rglob("*.py")]
    assert modules and [module for module in modules if module not in wheel_names] == []


def test_the_command_and_the_pytest_plugin_are_registered(wheel, wheel_names):
    (name,) = [name for name in wheel_names if name.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(name).decode()
    assert "conformance = conformance.app.cli:main" in entry_points
    assert "[pytest11]" in entry_points and "conformance = conformance.harness.plugin" in entry_points


def test_the_core_contract_forbids_every_module_outside_the_core():
    """A module added beside the core is forbidden to it too, not silently allowed (import-linter
    forbids what it is told to; this keeps the list in pyproject.toml whole)."""
    import pkgutil
    import tomllib
    from pathlib import Path

    import conformance

    root = Path(__file__).resolve().parent.parent
    contract = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    outside = {
        f"conformance.{module.name}"
        for module in pkgutil.iter_modules(conformance.__path__)
        if module.name not in ("core", "schemas", "test_vectors")
    }
    assert contract["source_modules"] == ["conformance.core"]
    assert set(contract["forbidden_modules"]) == outside


def test_the_layers_contract_places_every_package_but_the_packs():
    """A package added to ``conformance`` gets a place in the layers (app > results > harness > core),
    or import-linter would let it import anything: only the packs stand outside, held by their own
    contract (the engine knows no profile)."""
    import pkgutil
    import tomllib
    from pathlib import Path

    import conformance

    root = Path(__file__).resolve().parent.parent
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    packages = {
        f"conformance.{module.name}"
        for module in pkgutil.iter_modules(conformance.__path__)
        if module.ispkg and module.name not in ("schemas", "test_vectors")
    }
    assert set(layers) | {"conformance.profiles"} == packages


def test_an_installed_harness_run_from_the_checkout_uses_itself_not_the_checkout(wheel, tmp_path):
    """`pip install .` then `conformance run` in the checkout (the README's command): the embedded
    reference's process, started with `python -m`, must import the installed harness too, not the
    checkout's source, which lacks the data an install maps in (conformance/test_vectors). A venv of
    its own, as after `pip install .`: this venv's editable install would map that data in."""
    target, venv = tmp_path / "installed", tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    # the harness as installed, then this venv's libraries (a PYTHONPATH folder's .pth files, the
    # editable install's among them, are not read)
    path = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    command = [str(venv / "bin" / "python"), "-P", "-m", "conformance.app.cli", "run"]  # -P: as the script
    done = subprocess.run(
        [*command, "--report-dir", str(tmp_path / "reports"), "--profile", "efdx", "-k", "valid-ping"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "tests: pass 1" in done.stdout


def test_ci_runs_exactly_the_readmes_two_commands_test_command():
    """.ci/run calls the README's test command as it is written (a newcomer's command is CI's)."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(python3 -m venv \.venv && [^\n]+)\n```", readme)
    assert len(commands) == 2, commands  # install and run; install and test
    test_command = next(command for command in commands if "pytest" in command)
    assert test_command in (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
