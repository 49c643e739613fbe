"""Manual mode's operator through files (`conformance run --operator-dir`, the test bed's channel):
the prompt written whole, the answer read under a cap, the wait bounded by the operator window;
ask_to_send's window with and without an answer; and a CLI run against the reference NSW (KH)
without a trigger claim, a thread of this test playing the operator through the files (it makes the
reference send through the reference's own trigger, as an operator would in the NSW's UI)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from conformance.app.operator_files import ANSWER_CAP, FileChannel, read_answer
from conformance.app.serve import operator_prompts
from conformance.core import records
from conformance.core.verdicts import Inconclusive
from conformance.family.suite.test_exporting import candidate_co
from conformance.harness.config import Config
from conformance.harness.control import ask_to_send
from conformance.harness.operator import Answer, Prompt
from conformance.harness.session import Harness
from tests.serve_helpers import wait_for
from tests.test_manual_mode import (
    CO_SCENARIOS,
    ISSUE,
    NO_TRIGGER,
    TOKEN,
    WINDOWS,
    candidate_without_trigger,
    manual_toml,
    run_manual,
)

STATUS_S = 5.0


def prompt(window_s: float = 5.0, action: str = "IssueCO") -> Prompt:
    return Prompt(
        instruction=(
            f"OPERATOR: in the candidate NSW (KH), issue the e-Form D X-1 to SG.\n  action: {action}\n"
            "  document: /tmp/not-read.xml"
        ),
        action=action,
        to="SG",
        document="<CertificateOfOrigin>X-1</CertificateOfOrigin>",
        document_path="/tmp/not-read.xml",
        window_s=window_s,
    )


def answer_later(folder: Path, n: int, content: bytes, after_s: float = 0.3) -> threading.Thread:
    folder.mkdir(parents=True, exist_ok=True)

    def write() -> None:
        time.sleep(after_s)
        (folder / f"answer-{n}.json").write_bytes(content)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_the_prompt_is_written_whole_with_what_the_browser_shows(tmp_path):
    channel = FileChannel(tmp_path / "operator")
    assert channel.publish(prompt()) == 1
    assert channel.publish(prompt(action="CancelCO")) == 2
    data = json.loads((tmp_path / "operator" / "prompt-1.json").read_text(encoding="utf-8"))
    assert data["n"] == 1 and data["action"] == "IssueCO" and data["to"] == "SG"
    assert data["document"] == "<CertificateOfOrigin>X-1</CertificateOfOrigin>"
    assert data["instruction"].startswith("OPERATOR: in the candidate NSW (KH)")
    # the run's own path means nothing in the browser: the page offers the document itself
    assert data["instruction"].endswith("document: (the document below)")
    assert data["window_s"] == 5.0
    assert datetime.fromisoformat(data["asked"]).tzinfo is not None
    assert sorted(os.listdir(tmp_path / "operator")) == ["prompt-1.json", "prompt-2.json"]  # no temporaries
    # a second channel on the same folder (the run's next profile) does not take a number in use
    assert FileChannel(tmp_path / "operator").publish(prompt()) == 3


def test_the_answer_ends_the_wait_and_is_told_with_its_time(tmp_path):
    folder = tmp_path / "operator"
    shown: list[str] = []
    channel = FileChannel(folder, also=shown.append, poll_s=0.05)
    answer_later(folder, 1, b'{"answer": "done", "by": "tester"}')
    started = time.monotonic()
    heard = channel(prompt(window_s=10))
    assert heard.answer == "done" and heard.at is not None and heard.at.tzinfo is timezone.utc
    assert time.monotonic() - started < 3
    assert shown == [prompt().instruction]  # the run's display says it too


def test_without_an_answer_the_wait_ends_with_the_window(tmp_path):
    channel = FileChannel(tmp_path / "operator", poll_s=0.05)
    started = time.monotonic()
    assert channel(prompt(window_s=0.4)) == Answer(None)
    assert 0.4 <= time.monotonic() - started < 2


@pytest.mark.parametrize(
    "content",
    [b'{"answer": "maybe"}', b"not json", b'["done"]', b'{"answer": "done"' + b" " * ANSWER_CAP + b"}"],
    ids=["unknown-answer", "not-json", "not-an-object", "oversized"],
)
def test_anything_but_an_answer_is_ignored(tmp_path, content):
    folder = tmp_path / "operator"
    channel = FileChannel(folder, poll_s=0.05)
    answer_later(folder, 1, content, after_s=0.05).join()
    assert (folder / "answer-1.json").read_bytes() == content
    assert channel(prompt(window_s=0.3)) == Answer(None)


def test_an_answer_behind_a_link_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"answer": "done"}')
    folder = tmp_path / "operator"
    folder.mkdir()
    (folder / "answer-1.json").symlink_to(elsewhere)
    assert read_answer(folder / "answer-1.json") is None
    assert read_answer(elsewhere) == "done"


# --- ask_to_send's window -------------------------------------------------------------------------


@pytest.fixture
def manual_harness():
    config = Config(
        party="KH",
        inbox_url="http://127.0.0.1:9/efdx/1/messages",
        roles=("exporting",),
        capabilities=NO_TRIGGER,
        windows=replace(WINDOWS, status_s=STATUS_S),
    )
    harness = Harness(config).start()
    record = records.TestRecord("efdx/test_x.py::test_y", "test_y", ())
    harness.begin(record)
    try:
        yield harness, record
    finally:
        harness.end()
        harness.stop()


def _ask(harness, heard: Answer | None) -> float:
    told: list[Prompt] = []

    def channel(given: Prompt) -> Answer | None:
        told.append(given)
        return heard

    harness.tell_operator = channel
    window = ask_to_send(harness, "IssueCO", candidate_co(harness, "OP-0001"), "issue the e-Form D OP-0001")
    (given,) = told
    assert given.action == "IssueCO" and given.to == harness.party
    assert "OP-0001" in given.document
    assert Path(given.document_path).read_text(encoding="utf-8") == given.document
    assert given.window_s == WINDOWS.operator_s
    return window


def test_a_channel_without_answers_leaves_the_operator_window(manual_harness):
    harness, record = manual_harness
    assert _ask(harness, None) == WINDOWS.operator_s  # the terminal: as the CLI always did
    assert len(record.notes) == 1 and record.notes[0].startswith("OPERATOR:")


def test_done_waits_the_status_window_and_is_noted(manual_harness):
    harness, record = manual_harness
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert _ask(harness, Answer("done", at)) == STATUS_S
    assert record.notes[-1] == "the operator answered done at 03:04:05 UTC"


def test_no_answer_waits_the_status_window_and_is_noted(manual_harness):
    harness, record = manual_harness
    assert _ask(harness, Answer(None)) == STATUS_S
    assert record.notes[-1] == f"the operator did not answer within {WINDOWS.operator_s:g} s"


def test_cannot_is_inconclusive_at_once(manual_harness):
    harness, record = manual_harness
    with pytest.raises(Inconclusive, match="the operator answered they cannot issue the e-Form D OP-0001"):
        _ask(harness, Answer("cannot", datetime.now(timezone.utc)))
    assert record.notes[-1].startswith("the operator answered cannot at ")


# --- a CLI run with --operator-dir ------------------------------------------------------------------


class FileOperator(threading.Thread):
    """Plays the operator through the files: for each new prompt, does what it says through the
    reference NSW's trigger (its own UI, for the test) and answers "done", or answers "cannot" for
    the prompts of ``refuse`` (by action)."""

    def __init__(self, folder: Path, trigger_url: str, refuse: tuple[str, ...] = ()) -> None:
        super().__init__(daemon=True)
        self.folder, self.trigger_url, self.refuse = folder, trigger_url, refuse
        self.stopping = threading.Event()
        self.handled: list[tuple[int, str, str]] = []  # (n, action, answer)
        self.errors: list[str] = []

    def run(self) -> None:
        done: set[int] = set()
        while not self.stopping.wait(0.1):
            for path in sorted(self.folder.glob("prompt-*.json")) if self.folder.is_dir() else []:
                n = int(re.findall(r"\d+", path.name)[0])
                if n in done:
                    continue
                done.add(n)
                data = json.loads(path.read_text(encoding="utf-8"))
                answer = "cannot" if data["action"] in self.refuse else "done"
                if answer == "done":
                    request = {"action": data["action"], "to": data["to"], "document": data["document"]}
                    sent = requests.post(
                        self.trigger_url, json=request, headers={"X-EFDX-Test-Token": TOKEN}, timeout=5
                    )
                    if sent.status_code != 202:
                        self.errors.append(f"trigger said {sent.status_code}")
                (self.folder / f"answer-{n}.json").write_text(json.dumps({"answer": answer}))
                self.handled.append((n, data["action"], answer))


def _cli_run(tmp_path, refuse: tuple[str, ...], keyword: str) -> tuple[int, dict, FileOperator, float]:
    operator_dir = tmp_path / "operator"
    with candidate_without_trigger(tmp_path) as (reference, config):
        operator = FileOperator(operator_dir, reference.trigger_url, refuse)
        operator.start()
        started = time.monotonic()
        try:
            toml = manual_toml(config.harness_listen, 20, 60)
            code, data = run_manual(
                tmp_path, reference.url, toml, keyword, "--operator-dir", str(operator_dir)
            )
        finally:
            operator.stopping.set()
            operator.join(timeout=10)
        elapsed = time.monotonic() - started
    return code, data, operator, elapsed


def test_a_cli_run_with_an_operator_answering_through_files_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")  # --operator-dir is interactive even in CI, without a terminal
    code, data, operator, elapsed = _cli_run(tmp_path, (), CO_SCENARIOS)
    verdicts = {test["id"].partition("::")[2]: test["verdict"] for test in data["tests"]}
    assert set(verdicts.values()) == {"pass"}, data["tests"]
    assert code == 0 and operator.errors == []
    assert sorted(action for _, action, _ in operator.handled) == [
        "CancelCO", "IssueCO", "IssueCO", "IssueCO", "ReplaceCO",
    ]  # fmt: skip
    for test in data["tests"]:
        said = r"the operator answered done at \d\d:\d\d:\d\d UTC"
        assert any(re.fullmatch(said, note) for note in test["notes"]), test["notes"]
    assert elapsed < 60  # each answer ended its wait: no window was waited out


def test_cannot_makes_the_test_inconclusive_saying_so(tmp_path):
    code, data, operator, elapsed = _cli_run(tmp_path, ("IssueCO",), ISSUE)
    (test,) = data["tests"]
    assert code == 1 and test["verdict"] == "inconclusive", test
    assert "the operator answered they cannot issue the e-Form D" in test["reason"]
    assert operator.handled == [(1, "IssueCO", "cannot")]
    assert elapsed < 30


def test_no_answer_and_no_utilisation_notice_is_inconclusive_not_a_fail_of_a07(tmp_path):
    """A-07's test asks the operator to record a utilisation; nobody answers (an attended run whose
    operator stepped away) and nothing comes: inconclusive, as every other manual-mode test whose
    message does not come (the operator may not have acted), not a fail of a conforming candidate."""
    operator_dir = tmp_path / "operator"
    with candidate_without_trigger(tmp_path) as (reference, config):
        toml = manual_toml(config.harness_listen, 3, 1)
        toml = toml.replace('roles = ["exporting"]', 'roles = ["exporting", "importing"]')
        keyword = "test_utilisation_notice_sent_by_the_candidate"
        code, data = run_manual(tmp_path, reference.url, toml, keyword, "--operator-dir", str(operator_dir))
    assert len(data["tests"]) == 2 and code == 1, data["tests"]
    for test in data["tests"]:
        assert test["verdict"] == "inconclusive", test
        assert "the operator may not have acted" in test["reason"], test
        assert "the operator did not answer within 1 s" in test["notes"], test["notes"]
    prompts = sorted(path.name for path in operator_dir.glob("prompt-*.json"))
    assert prompts == ["prompt-1.json", "prompt-2.json"]


# --- the test bed's side: listing the prompts and writing the answer -----------------------------


def test_the_test_bed_lists_the_prompts_and_writes_one_answer(tmp_path):
    folder = tmp_path / "operator"
    channel = FileChannel(folder)
    channel.publish(prompt(window_s=60))
    channel.publish(prompt(window_s=0.0))  # its window is over at once
    (folder / "prompt-3.json").write_text('{"n": 3, "instruction": 42}')  # not a prompt: left out
    (folder / "prompt-4.json").write_bytes(b"{" * 10_000)  # nor this
    listed = operator_prompts.prompts(folder)
    assert [(p["n"], p["state"]) for p in listed] == [(1, "pending"), (2, "expired")]
    assert 0 < listed[0]["left_s"] <= 60 and listed[0]["answer"] is None
    answered = operator_prompts.answer(folder, 1, "done", "kh-operator")
    assert answered["state"] == "answered" and answered["answer"]["by"] == "kh-operator"
    assert read_answer(folder / "answer-1.json") == "done"  # what the run's process reads
    assert operator_prompts.prompts(folder)[0]["answer"]["answer"] == "done"
    for n, status in ((1, 409), (2, 409), (3, 404), (9, 404)):
        with pytest.raises(operator_prompts.AnswerRefused) as refused:
            operator_prompts.answer(folder, n, "cannot", "kh-operator")
        assert refused.value.status == status, n
    assert operator_prompts.document(folder, 1) == ("IssueCO-1.xml", prompt().document)


@pytest.mark.parametrize("window", ["1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 400, "-5"])
def test_a_prompt_whose_window_is_no_finite_number_is_left_out(tmp_path, window):
    """JSON's Infinity and NaN, or an integer too large for a float: left out, not listed as a window
    the API's JSON (which refuses NaN) and the browser's JSON.parse cannot take, nor a crash."""
    folder = tmp_path / "operator"
    FileChannel(folder).publish(prompt(window_s=60))
    asked = datetime.now(timezone.utc).isoformat()
    (folder / "prompt-2.json").write_text(
        f'{{"n": 2, "instruction": "i", "action": "IssueCO", "to": "SG", "document": "<d/>", '
        f'"window_s": {window}, "asked": "{asked}"}}'
    )
    listed = operator_prompts.prompts(folder)
    assert [p["n"] for p in listed] == [1]
    json.dumps(listed, allow_nan=False)  # what the prompts' route and the events send
    with pytest.raises(operator_prompts.AnswerRefused) as refused:
        operator_prompts.document(folder, 2)
    assert refused.value.status == 404


def test_the_document_s_file_name_is_ascii(tmp_path):
    folder = tmp_path / "operator"
    FileChannel(folder).publish(prompt(window_s=60, action="Issue\u4e2dCO\u00e9"))
    name, _ = operator_prompts.document(folder, 1)
    assert name == "IssueCO-1.xml"
    name.encode("latin-1")  # a header's encoding


def test_the_test_bed_follows_no_link_the_run_left(tmp_path):
    target = tmp_path / "target.json"
    folder = tmp_path / "operator"
    FileChannel(folder).publish(prompt(window_s=60))
    (folder / "answer-1.json").symlink_to(target)  # planted where the answer goes
    with pytest.raises(operator_prompts.AnswerRefused) as refused:
        operator_prompts.answer(folder, 1, "done", "kh-operator")
    assert refused.value.status == 409 and not target.exists()
    linked = tmp_path / "linked"
    linked.symlink_to(folder)  # the folder itself a link: nothing listed
    assert operator_prompts.prompts(linked) == []
    with pytest.raises(operator_prompts.AnswerRefused):
        operator_prompts.document(linked, 1)


def test_a_stopped_run_stops_waiting_for_the_operator(tmp_path):
    """SIGTERM (the test bed stopping the run) ends the wait for an answer as any other wait: the
    test in flight is inconclusive, the report written, well before the operator window's end."""
    operator_dir = tmp_path / "operator"
    with candidate_without_trigger(tmp_path) as (reference, config):
        config_file = tmp_path / "candidate.toml"
        config_file.write_text(manual_toml(config.harness_listen, 20, 60), encoding="utf-8")
        command = [sys.executable, "-m", "conformance.app.cli", "run", "--sut", reference.url]
        command += ["--config", str(config_file), "--operator-dir", str(operator_dir), "-k", ISSUE]
        command += ["--report-dir", str(tmp_path / "reports")]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: (operator_dir / "prompt-1.json").exists() or child.poll() is not None, 60)
            assert child.poll() is None, "the run ended without asking the operator"
            stopped = time.monotonic()
            child.send_signal(signal.SIGTERM)
            code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert time.monotonic() - stopped < 20  # the operator window is 60 s
    assert code != 0
    (folder,) = [path for path in (tmp_path / "reports").iterdir() if path.is_dir()]
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "incomplete"
    assert [test["verdict"] for test in data["tests"]] in ([], ["inconclusive"])
