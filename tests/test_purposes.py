"""The test-purpose catalogue: every requirement split into clauses, every clause with tests and a
seeded fault, and `conformance list` saying so without running anything."""

from __future__ import annotations

from conformance.app import cli, coverage
from conformance.family.vectors import load_manifest
from conformance.profiles.efdx.catalogue import requirements
from conformance.profiles.efdx.dialect import EFDX as EFDX_DIALECT
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.profiles.efdx.purposes import of_requirement, purpose, purposes
from conformance.profiles.efdx.reference.seeded_faults import FAULTS


def test_every_requirement_has_test_purposes():
    assert [req.id for req in requirements() if not of_requirement(req.id)] == []


def test_every_purpose_named_anywhere_is_in_the_catalogue():
    named = {p for vector in load_manifest(dialect=EFDX_DIALECT) for p in vector.purposes}
    named |= {fault.purpose for fault in FAULTS}
    named |= {p for test in coverage.suite_tests(EFDX) for p in test.purposes}
    for purpose_id in sorted(named):
        assert purpose(purpose_id).id == purpose_id


def test_no_purpose_lacks_a_test_or_a_fault():
    assert [(row.purpose.id, row.gap) for row in coverage.gaps(EFDX)] == []


def test_every_negative_vector_names_the_purpose_it_breaks():
    for vector in load_manifest(dialect=EFDX_DIALECT):
        if vector.expect_code != "valid" or vector.expect_reasons:
            assert vector.purposes, vector.id
            assert {p.split("/")[0] for p in vector.purposes} <= set(vector.requirements) | {"A-01"}, (
                vector.id
            )


def test_conformance_list_prints_every_purpose_and_no_gap(capsys):
    assert cli.main(["list", "--profile", "efdx"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for item in purposes():
        assert f"  {item.id}  {item.clause}" in out
    assert out.rstrip().endswith(
        f"{len(purposes())} test purposes, {len(coverage.suite_tests(EFDX))} tests, gaps: 0"
    )


def test_conformance_list_without_a_profile_lists_every_installed_one(capsys):
    from conformance.harness import registry

    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for profile in registry.installed().values():
        assert f"\n{profile.title} ({profile.key})\n" in f"\n{out}"
    assert out.count("gaps: 0") == len(registry.installed())


def test_conformance_list_with_a_config_never_asks_for_the_trigger_token(tmp_path, capsys, monkeypatch):
    """`list` runs nothing: an ICS whose trigger token comes from an unset variable is listed all the same
    (`run` with it stops at once, naming the variable)."""
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = tmp_path / "candidate.toml"
    config.write_text(
        '[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n'
        'capabilities = ["trigger"]\n[candidate.trigger]\nurl = "http://127.0.0.1:9/efdx/1/test/trigger"\n'
        'token_env = "NOT_SET_ANYWHERE"\n'
    )
    assert cli.main(["list", "--config", str(config)]) == 0
    assert "for candidate KH:" in capsys.readouterr().out
    assert cli.main(["run", "--config", str(config)]) == 4
    assert "environment variable NOT_SET_ANYWHERE is not set" in capsys.readouterr().err


def test_conformance_list_with_a_config_marks_what_does_not_apply(tmp_path, capsys):
    config = tmp_path / "candidate.toml"
    config.write_text(
        '[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n'
        'roles = ["importing"]\ncapabilities = ["replace"]\n'
    )
    assert cli.main(["list", "--config", str(config), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "(not applicable: the ICS does not claim the exporting role)" in out
    assert "[valid-cancel-co]  (not applicable: the ICS does not claim the capability 'cancel')" in out
    assert "[valid-replace-co]  (not applicable" not in out
    applicable = [t for t in coverage.suite_tests(EFDX) if not {"exporting"} & set(t.roles)]
    applicable = [t for t in applicable if set(t.capabilities) <= {"replace"}]
    assert f"for candidate KH: {len(applicable)} of {len(coverage.suite_tests(EFDX))} tests apply" in out
