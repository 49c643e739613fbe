"""Every form of an ID the outputs print is taken back by the commands: `conformance spec` and
`--requirement` read ``EFDX 1.0 M-06`` (reports, junit), ``efdx:M-06``, ``M-06`` and ``m-06``, and a
bare ID of one profile only (``RBR-03``) finds that profile without ``--profile``."""

from __future__ import annotations

import pytest

from conformance.app import cli
from conformance.app.run import _knows, _per_profile, locate
from conformance.harness import registry
from conformance.harness.config import ConfigError

EFDX, RCPX = registry.get("efdx"), registry.get("rcpx")


@pytest.mark.parametrize(
    ("given", "first_line"),
    [
        ("EFDX 1.0 M-06", "M-06  MUST  Envelope signature valid"),
        ("efdx:M-06", "M-06  MUST  Envelope signature valid"),
        ("M-06", "M-06  MUST  Envelope signature valid"),
        ("m-06", "M-06  MUST  Envelope signature valid"),
        ("RBR-03", "RBR-03  MUST  Origin criterion details"),
        ("rcpx 1.0 rbr-03", "RBR-03  MUST  Origin criterion details"),
        ("m-10/REVOKED", "M-10/revoked  (M-10 MUST: Signer certificate not revoked)"),
    ],
)
def test_spec_takes_every_form_of_an_id(given, first_line, capsys):
    assert cli.main(["spec", given]) == 0
    assert capsys.readouterr().out.splitlines()[0] == first_line


def test_spec_of_an_id_no_profile_has_is_one_line_and_exit_4(capsys):
    assert cli.main(["spec", "X-99"]) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "X-99: not a requirement or test purpose of EFDX 1.0, RCPX 1.0" in line


def test_a_bare_id_belongs_to_the_first_profile_that_has_it():
    assert locate("M-06", (EFDX, RCPX), "x") == (EFDX, "M-06")
    assert locate("M-06", (RCPX, EFDX), "x") == (RCPX, "M-06")
    assert locate("rbr-14", (EFDX, RCPX), "x") == (RCPX, "RBR-14")
    with pytest.raises(ConfigError, match="not a requirement or test purpose of RCPX 1.0"):
        locate("rcpx:BR-99", (EFDX, RCPX), "x")


def test_requirement_selection_takes_any_case_and_selects_as_the_tests_declare():
    chosen = _per_profile(
        ("m-06", "efdx:a-01", "RCPX 1.0 rbr-03"), (EFDX, RCPX), "--requirement", _knows("requirement")
    )
    assert chosen[EFDX] == ["M-06", "A-01"]
    assert chosen[RCPX] == ["M-06", "RBR-03"]
