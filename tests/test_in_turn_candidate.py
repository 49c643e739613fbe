"""A candidate that delivers one message at a time, a retried one holding up the rest (allowed: the
spec asks for no parallel delivery), passes M-21, although the suite starts M-21's conversations
together and its status window is shorter than one conversation's retries. The candidate is the
reference NSW with its outbox in turn (``Settings.outbox_in_turn``), on loopback."""

from __future__ import annotations

import json

from conformance.app import cli
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx.dialect import EFDX
from tests.loopback import free_port

TOKEN = "in-turn-token"
SCHEDULE = (0.3, 0.6, 1.2)  # one flaky-gateway conversation: about 2.1 s, twice the status window
CONFIG = """[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "{inbox}"
capabilities = ["trigger"]

[candidate.windows]
status_s = 1
retry_schedule_s = [0.3, 0.6, 1.2]
grace_s = 0.3
peer_timeout_s = 1

[candidate.trigger]
url = "{trigger}"
token = "{token}"

[harness]
party = "SG"
listen = "127.0.0.1:{port}"
url = "http://127.0.0.1:{port}/efdx/1/messages"
"""
M21 = "test_transient_failures or test_a_timeout or test_a_4xx"


def test_a_candidate_delivering_in_turn_passes_m21(tmp_path, capsys) -> None:
    port = free_port()
    settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": f"http://127.0.0.1:{port}/efdx/1/messages"},
        retry_schedule=SCHEDULE,
        outbound_timeout=1.0,
        trigger_token=TOKEN,
        outbox_in_turn=True,
        dialect=EFDX,
    )
    with RunningReference(settings) as reference:
        config = tmp_path / "kh.toml"
        config.write_text(
            CONFIG.format(inbox=reference.url, trigger=reference.trigger_url, token=TOKEN, port=port)
        )
        code = cli.main(["run", "--config", str(config), "--report-dir", str(tmp_path / "r"), "-k", M21])
    out = capsys.readouterr().out
    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    tests = json.loads((folder / "results.json").read_text())["tests"]
    assert len(tests) == 9, out[-2000:]  # M-21: 3 transient, a timeout, one refusal per 4xx of section 5
    verdicts = {test["id"]: test["verdict"] for test in tests}
    assert verdicts == dict.fromkeys(verdicts, "pass"), out[-3000:]
    assert code == 0
    transient = [test for test in tests if "test_transient_failures" in test["id"]]
    spans = [sorted(arrival["received_at"] for arrival in test["received"]) for test in transient]
    assert all(len(span) == 4 for span in spans)
    # it did deliver in turn: each conversation's first try after the last try of the one before
    assert all(later[0] >= earlier[-1] for earlier, later in zip(spans, spans[1:], strict=False))
