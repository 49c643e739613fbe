"""The specification ships with the package: the copy is the project's spec, and `conformance spec`
prints it, or one requirement with its test purposes, or one purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.app import cli
from conformance.profiles.efdx.spec import spec_path, spec_text

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "EFDX-1.0.md"


def test_the_shipped_spec_is_the_projects_spec():
    if not SHARED.is_file():
        pytest.skip(f"the project's spec is not beside the checkout ({SHARED})")
    assert spec_text() == SHARED.read_text(encoding="utf-8")


def test_spec_prints_the_whole_text(capsys):
    assert cli.main(["spec"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# EFDX 1.0") and "## 7. Clarifications" in out


def test_spec_id_prints_the_requirement_and_its_purposes(capsys):
    assert cli.main(["spec", "M-10"]) == 0
    out = capsys.readouterr().out
    assert "signer certificate revoked by its CA's CRL" in out and "M-10/revoked" in out
    assert spec_path().as_posix().endswith("conformance/profiles/efdx/spec/EFDX-1.0.md")
    assert "conformance/profiles/efdx/spec/EFDX-1.0.md" in out


def test_spec_of_a_purpose_and_of_nothing_known(capsys):
    assert cli.main(["spec", "BR-12/revoked-authority"]) == 0
    assert "revoked by its CA's CRL is REJECTED with BR-12" in capsys.readouterr().out
    assert cli.main(["spec", "X-99"]) == 4


def test_a_requirements_text_names_the_spec_as_shipped_not_this_machines_path():
    """Reports quote it, and are read on other machines."""
    from conformance.harness import registry

    for profile in registry.installed().values():
        text = profile.spec_text(profile.catalogue().requirements()[0].id)
        assert "/work/" not in text and str(Path.cwd()) not in text
        assert f"conformance/profiles/{profile.key}/spec/" in text
