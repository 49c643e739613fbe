"""A candidate asked through its trigger to cancel a CO it never issued may refuse (the spec says
nothing of such a request): it still passes A-05's "unknown CO" test, which then only asks it to
verify the CO. The candidate is the reference NSW refusing such cancellations
(``Settings.refuse_unknown_cancel``), on loopback; the sending reference is covered by the suite's
own runs, and a reference that takes the cancelled CO for its own fails (seeded fault
cancel-adopts-unknown-co, in the fault matrix)."""

from __future__ import annotations

import json

import pytest

from conformance.app import cli
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx.dialect import EFDX
from tests.loopback import free_port

TOKEN = "unknown-cancel-token"
CONFIG = """[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "{inbox}"
roles = ["exporting", "importing"]
capabilities = ["trigger", "cancel", "verification"]

[candidate.windows]
status_s = 2
verification_s = 5

[candidate.trigger]
url = "{trigger}"
token = "{token}"

[harness]
party = "SG"
listen = "127.0.0.1:{port}"
"""


def run_never_issued(tmp_path, capsys, *, manual: bool = False, refuses: bool = False) -> dict:
    """Run the never-issued A-05 test against a KH reference on loopback (with its trigger, or in
    manual mode without one, non-interactive); its record from results.json, after the run passed."""
    port = free_port()
    settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": f"http://127.0.0.1:{port}/efdx/1/messages"},
        trigger_token=None if manual else TOKEN,
        refuse_unknown_cancel=refuses,
        dialect=EFDX,
    )
    toml = CONFIG
    if manual:  # no trigger claimed, no trigger table
        toml = (
            toml.replace('"trigger", ', "").split("[candidate.trigger]")[0]
            + toml.split('token = "{token}"')[1]
        )
    with RunningReference(settings) as reference:
        config = tmp_path / "kh.toml"
        config.write_text(
            toml.format(inbox=reference.url, trigger=reference.trigger_url, token=TOKEN, port=port)
        )
        argv = ["run", "--config", str(config), "--report-dir", str(tmp_path / "r"), "--non-interactive"]
        code = cli.main([*argv, "-k", "never_issued"])
    out = capsys.readouterr().out
    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    (test,) = json.loads((folder / "results.json").read_text())["tests"]
    assert test["verdict"] == "pass", out[-3000:]
    assert code == 0
    return test


@pytest.mark.parametrize("refuses", [True, False], ids=["refuses", "sends"])
def test_a_candidate_may_refuse_to_cancel_a_co_it_never_issued(tmp_path, capsys, refuses) -> None:
    test = run_never_issued(tmp_path, capsys, refuses=refuses)
    trigger = [exchange for exchange in test["exchanges"] if exchange.get("label") == "trigger CancelCO"]
    assert [exchange["status"] for exchange in trigger] == [400 if refuses else 202]
    cancel_kept = any("CancelCO" in (arrival.get("body") or "") for arrival in test["received"])
    assert cancel_kept is not refuses  # the CancelCO it sent is kept in the test's record


def test_in_manual_mode_no_operator_is_asked_to_cancel_a_co_nobody_issued(tmp_path, capsys) -> None:
    """An operator's NSW has no such CO to cancel: the test asks nobody and only verifies it."""
    test = run_never_issued(tmp_path, capsys, manual=True)
    assert not [exchange for exchange in test["exchanges"] if "trigger" in (exchange.get("label") or "")]
    assert any("no CancelCO asked for" in note for note in test["notes"])
