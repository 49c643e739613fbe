"""The single-message and sequence tests' status waits overlap (family/suite/status_group.py, issue 19
item 8), and that never changes a verdict. Each test drives the reference NSW on loopback, as a
candidate, through eight tests with a status (two ACCEPTED, five REJECTED for BR-10, one ReplaceCO
whose IssueCO must be ACCEPTED first), with a status window of 1 s:

- a slow candidate (one delivery at a time, 0.4 s each: every status on time alone, the later ones
  of eight sent together not) passes: the late ones run again alone, as the README says;
- a candidate that never sends a status fails every test on A-01, after one probe per Status run
  alone (not a lone run per test);
- a candidate whose statuses come after the window even alone fails every test, as in series;
- a slow candidate passes a sequence whose next step follows its first CO's status, and the CO sent
  as text/xml, whose tests stand in other modules: the group is one across modules, its tests run
  one after another, and a next step waits until the group's statuses came (``settle``).
"""

from __future__ import annotations

import json

from conformance.app import cli
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.profiles.efdx.dialect import EFDX
from tests.loopback import free_port

CONFIG = """[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "{inbox}"
capabilities = ["replace"]

[candidate.windows]
status_s = 1
grace_s = 0.3
peer_timeout_s = 1

[harness]
party = "SG"
listen = "127.0.0.1:{port}"
url = "http://127.0.0.1:{port}/efdx/1/messages"
"""
SELECTED = "test_single_message and (br10 or valid-issue-co-sha)"
STATUS_TESTS = 8


def run(
    tmp_path, capsys, selected: str = SELECTED, count: int = STATUS_TESTS, **settings
) -> tuple[int, list[dict], str]:
    port = free_port()
    reference_settings = Settings(
        party="KH",
        db=tmp_path / "kh.sqlite",
        peers={"SG": f"http://127.0.0.1:{port}/efdx/1/messages"},
        dialect=EFDX,
        **settings,
    )
    with RunningReference(reference_settings) as reference:
        config = tmp_path / "kh.toml"
        config.write_text(CONFIG.format(inbox=reference.url, port=port))
        code = cli.main(["run", "--config", str(config), "--report-dir", str(tmp_path / "r"), "-k", selected])
    out = capsys.readouterr().out
    (folder,) = [path for path in (tmp_path / "r").iterdir() if path.is_dir()]
    tests = json.loads((folder / "results.json").read_text())["tests"]
    assert len(tests) == count, out[-2000:]
    return code, tests, out


def run_alone_notes(test: dict) -> list[str]:
    return [note for note in test.get("notes") or [] if note.startswith("run again alone")]


def test_a_slow_candidate_passes_its_late_statuses_run_again_alone(tmp_path, capsys) -> None:
    code, tests, out = run(tmp_path, capsys, outbox_in_turn=True, outbox_pause=0.4)
    verdicts = {test["id"]: test["verdict"] for test in tests}
    assert verdicts == dict.fromkeys(verdicts, "pass"), out[-3000:]
    assert code == 0
    alone = [test for test in tests if run_alone_notes(test)]
    assert alone, "eight statuses 0.4 s apart: the later ones miss a 1 s window, and run again alone"
    assert len(alone) < STATUS_TESTS  # the first ones came in time


def test_a_candidate_that_never_sends_a_status_fails_after_one_probe_per_status(tmp_path, capsys) -> None:
    code, tests, out = run(tmp_path, capsys, fault="never-send-status")
    assert code == 1
    assert {test["verdict"] for test in tests} == {"fail"}, out[-3000:]
    assert all("EFDX 1.0 A-01" in test["failed_requirements"] for test in tests), out[-3000:]
    probes = [test for test in tests if run_alone_notes(test)]
    assert 1 <= len(probes) <= 2, [test["id"] for test in probes]  # ACCEPTED and REJECTED at most
    assert all("a probe of" in run_alone_notes(test)[0] for test in probes)
    others = [test for test in tests if test not in probes]
    assert all("run alone (a probe)" in test["observed"] for test in others), [t["observed"] for t in others]


def test_statuses_late_even_alone_fail_as_in_series(tmp_path, capsys) -> None:
    code, tests, out = run(tmp_path, capsys, fault="late-status", late_status_delay=1.6)
    assert code == 1
    assert {test["verdict"] for test in tests} == {"fail"}, out[-3000:]
    assert all("EFDX 1.0 A-01" in test["failed_requirements"] for test in tests), out[-3000:]
    assert all(run_alone_notes(test) for test in tests)  # late in the group, then late alone


ACROSS_MODULES = f"test_replaced_co_is_superseded or test_text_xml_co_is_accepted or ({SELECTED})"


def test_a_slow_candidate_passes_next_steps_after_the_groups_statuses(tmp_path, capsys) -> None:
    """Without settle, the ReplaceCO's status would queue behind eight owed ones (3.2 s > 1 s)."""
    code, tests, out = run(
        tmp_path, capsys, ACROSS_MODULES, STATUS_TESTS + 2, outbox_in_turn=True, outbox_pause=0.4
    )
    verdicts = {test["id"]: test["verdict"] for test in tests}
    assert verdicts == dict.fromkeys(verdicts, "pass"), out[-3000:]
    assert code == 0
    order = [test["id"].split("::")[0].rsplit("/", 1)[-1] for test in tests]
    assert order == ["test_sequences.py"] + ["test_single_messages.py"] * STATUS_TESTS + ["test_transport.py"]
    replaced = next(test for test in tests if "test_replaced_co_is_superseded" in test["id"])
    assert not run_alone_notes(replaced), "its first IssueCO is sent first: on time"
