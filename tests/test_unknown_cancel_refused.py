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


@pytest.mark.parametrize("refuses", [True, False], ids=["refuses", "sends"])
def test_a_candidate_may_refuse_to_cancel_a_co_it_never_issued(tmp_path, capsys, refuses) -> None:
    port = free_port()
    settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": f"http://127.0.0.1:{port}/efdx/1/messages"},
        trigger_token=TOKEN,
        refuse_unknown_cancel=refuses,
        dialect=EFDX,
    )
    with RunningReference(settings) as reference:
        config = tmp_path / "kh.toml"
        config.write_text(
            CONFIG.format(inbox=reference.url, trigger=reference.trigger_url, token=TOKEN, port=port)
        )
        code = cli.main(
            ["run", "--config", str(config), "--report-dir", str(tmp_path / "r"), "-k", "never_issued"]
        )
    out = capsys.readouterr().out
    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    (test,) = json.loads((folder / "results.json").read_text())["tests"]
    assert test["verdict"] == "pass", out[-3000:]
    assert code == 0
    trigger = [exchange for exchange in test["exchanges"] if exchange.get("label") == "trigger CancelCO"]
    assert [exchange["status"] for exchange in trigger] == [400 if refuses else 202]


def test_in_manual_mode_no_operator_is_asked_to_cancel_a_co_nobody_issued(tmp_path, capsys) -> None:
    """An operator's NSW has no such CO to cancel: the test asks nobody and only verifies it."""
    port = free_port()
    settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": f"http://127.0.0.1:{port}/efdx/1/messages"},
        dialect=EFDX,
    )
    manual = (
        CONFIG.replace('"trigger", ', "").split("[candidate.trigger]")[0]
        + CONFIG.split('token = "{token}"')[1]
    )
    with RunningReference(settings) as reference:
        config = tmp_path / "kh.toml"
        config.write_text(manual.format(inbox=reference.url, port=port))
        argv = ["run", "--config", str(config), "--report-dir", str(tmp_path / "r"), "--non-interactive"]
        code = cli.main([*argv, "-k", "never_issued"])
    out = capsys.readouterr().out
    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    (test,) = json.loads((folder / "results.json").read_text())["tests"]
    assert test["verdict"] == "pass", out[-3000:]
    assert code == 0
    assert not [exchange for exchange in test["exchanges"] if "trigger" in (exchange.get("label") or "")]
    assert any("no CancelCO asked for" in note for note in test["notes"])
