"""Manual mode (section 2, test control): a candidate without a trigger is driven by its operator.

The harness prints what the operator must do in the candidate's own interface (which CO, to which
party) and waits, bounded by the ICS's operator window, for the message; with --non-interactive such
tests are inconclusive with that reason instead of waiting.

Here the candidate is the reference NSW (KH) and the test plays its operator: it reads each printed
instruction and acts on it through the reference NSW's trigger, as an operator would in the NSW's UI.
The harness's config does not claim the capability "trigger", so the harness itself never uses it.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import requests
from lxml import etree

import conformance.harness.session
from conformance.app import cli
from conformance.app.run import REFERENCE_WINDOWS, RunOptions, run
from conformance.core.profile import gateway_inbox_path
from conformance.core.verdicts import Inconclusive
from conformance.family.reference.nsw import Settings
from conformance.family.reference.runner import RunningReference
from conformance.family.suite.test_exporting import candidate_co
from conformance.harness.config import Config
from conformance.harness.control import ask_to_send
from conformance.harness.operator import Prompt
from conformance.harness.session import Harness
from conformance.profiles.efdx.catalogue import CAPABILITIES
from conformance.profiles.efdx.codes import EFORMD_NS
from conformance.profiles.efdx.dialect import EFDX
from tests.loopback import free_port
from tests.results_helpers import requirement_rows

TOKEN = "manual-mode-test-token"
OPERATOR_S = 10.0
WINDOWS = replace(REFERENCE_WINDOWS, request_timeout_s=5.0, operator_s=OPERATOR_S)
NO_TRIGGER = frozenset(CAPABILITIES) - {"trigger", "capacity"}  # capacity: claimed by its table
ISSUE = "test_issue_co_sent_by_the_candidate_conforms"
REPLACE = "test_replace_co_sent_by_the_candidate_conforms"
CANCEL = "test_cancel_co_sent_by_the_candidate_conforms"


def manual_toml(
    harness_listen: str,
    status_s: float,
    operator_s: float,
    inbox_url: str = "http://127.0.0.1:9/efdx/1/messages",
    capabilities: frozenset[str] = NO_TRIGGER,
) -> str:
    """An exporting KH candidate's ICS claiming no test trigger: manual mode (--sut gives the inbox)."""
    claimed = ", ".join(f'"{name}"' for name in sorted(capabilities))
    return f"""
[candidate]
party = "KH"
inbox_url = "{inbox_url}"
roles = ["exporting"]
capabilities = [{claimed}]

[candidate.windows]
status_s = {status_s:g}
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 5
grace_s = 0.3
peer_timeout_s = 1
operator_s = {operator_s:g}

[harness]
party = "SG"
listen = "{harness_listen}"
"""


CO_SCENARIOS = f"{ISSUE} or {REPLACE} or {CANCEL}"
_F = f"{{{EFORMD_NS}}}"


@contextlib.contextmanager
def candidate_without_trigger(workdir: Path, **changes) -> Iterator[tuple[RunningReference, Config]]:
    """The reference NSW (KH) with SG's inbox on a fixed free port, and a harness config for it that
    claims the exporting role but not the capability "trigger" (so the harness is in manual mode)."""
    port = free_port()
    # it claims gateway (every capability but the trigger): the harness is its gateway, and its peer
    # for SG the harness's gateway inbox of SG (EFDX section 9)
    harness_url = f"http://127.0.0.1:{port}{gateway_inbox_path(EFDX.codes.INBOX_PATH, 'SG')}"
    settings = Settings(
        party="KH",
        db=workdir / "kh.sqlite",
        peers={"SG": harness_url},
        retry_schedule=WINDOWS.retry_schedule_s,
        outbound_timeout=WINDOWS.peer_timeout_s,
        trigger_token=TOKEN,  # the operator's "UI"; the harness is not told about it
        dialect=EFDX,
    )
    with RunningReference(settings) as reference:
        config = Config(
            party="KH",
            inbox_url=reference.url,
            roles=("exporting",),
            capabilities=NO_TRIGGER,
            windows=WINDOWS,
            harness_party="SG",
            harness_listen=f"127.0.0.1:{port}",
        )
        yield reference, replace(config, **changes)


def parse_instruction(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a printed instruction (action, to, document)."""
    return {key: value.strip() for key, value in re.findall(r"^\s+(action|to|document): (.+)$", text, re.M)}


def reference_number(document: str) -> str:
    return etree.fromstring(document.encode("utf-8")).findtext(f"{_F}ReferenceNumber")


@dataclass
class Operator:
    """Plays the candidate's operator: takes each instruction and, a moment later (the harness is
    waiting by then), does it in the candidate's interface, here the reference NSW's trigger."""

    trigger_url: str | None = None  # None: an operator who never acts
    delay_s: float = 0.3
    instructions: list[str] = field(default_factory=list)
    documents: list[tuple[str, str]] = field(default_factory=list)  # (path, content when instructed)
    answers: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def __call__(self, prompt: Prompt) -> None:
        text = prompt.instruction
        self.instructions.append(text)
        fields = parse_instruction(text)
        try:
            document = Path(fields["document"]).read_text(encoding="utf-8")
        except (KeyError, OSError) as exc:
            self.errors.append(f"cannot follow {text!r}: {exc!r}")
            return
        self.documents.append((fields["document"], document))
        if self.trigger_url is None:
            return
        request = {"action": fields.get("action"), "to": fields.get("to"), "document": document}
        thread = threading.Thread(target=self._act, args=(request,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _act(self, request: dict) -> None:
        time.sleep(self.delay_s)
        try:
            with requests.Session() as session:
                session.trust_env = False
                answer = session.post(
                    self.trigger_url, json=request, headers={"X-EFDX-Test-Token": TOKEN}, timeout=5
                )
            self.answers.append(answer.status_code)
            if answer.status_code != 202:
                self.errors.append(f"trigger said {answer.status_code}: {answer.text[:200]}")
        except requests.RequestException as exc:
            self.errors.append(f"trigger unreachable: {exc!r}")

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in self.threads), "an operator action hung"


def run_manual(tmp_path: Path, reference_url: str, toml: str, keyword: str, *flags: str) -> tuple[int, dict]:
    """`conformance run --sut REFERENCE --config (toml) FLAGS -k KEYWORD` into tmp_path/reports:
    its exit code and results.json."""
    config_file = tmp_path / "candidate.toml"
    config_file.write_text(toml, encoding="utf-8")
    reports = tmp_path / "reports"
    command = ["run", "--sut", reference_url, "--config", str(config_file), *flags, "-k", keyword]
    code = cli.main([*command, "--report-dir", str(reports)])
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    return code, results(folder)


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def named_tests(data: dict) -> dict[str, dict]:
    return {test["id"].partition("::")[2]: test for test in data["tests"]}


@dataclass
class ManualRun:
    code: int
    data: dict
    operator: Operator
    harness_url: str
    elapsed_s: float


@pytest.fixture(scope="module")
def manual_run(tmp_path_factory) -> ManualRun:
    """One run of the IssueCO, ReplaceCO and CancelCO scenarios in manual mode, the operator acting.

    The terminal's channel is the module default that every Harness takes as its ``tell_operator``
    when it is built: replaced here (the test bed's channel, through files: test_operator_files.py)."""
    workdir = tmp_path_factory.mktemp("manual")
    with candidate_without_trigger(workdir) as (reference, config), pytest.MonkeyPatch.context() as patch:
        operator = Operator(trigger_url=reference.trigger_url)
        patch.setattr(conformance.harness.session, "_print_for_operator", operator)
        started = time.monotonic()
        code, folder = run(
            RunOptions(config=config, keyword=CO_SCENARIOS, report_dir=workdir / "reports", live=False)
        )
        elapsed = time.monotonic() - started
        operator.join()
        harness_url = reference.settings.peers["SG"]
    return ManualRun(code, results(folder), operator, harness_url, elapsed)


def test_the_operator_acting_on_the_instructions_makes_the_scenarios_pass(manual_run):
    verdicts = {name: test["verdict"] for name, test in named_tests(manual_run.data).items()}
    assert verdicts == {ISSUE: "pass", REPLACE: "pass", CANCEL: "pass"}, manual_run.data["tests"]
    assert manual_run.code == 0
    assert manual_run.operator.errors == []
    # IssueCO in each scenario, then the ReplaceCO and the CancelCO: five instructions, five sends
    actions = [parse_instruction(text)["action"] for text in manual_run.operator.instructions]
    assert sorted(actions) == ["CancelCO", "IssueCO", "IssueCO", "IssueCO", "ReplaceCO"]
    assert manual_run.operator.answers == [202] * 5
    assert manual_run.elapsed_s < OPERATOR_S  # the harness went on as each message arrived


def test_the_harness_itself_used_no_trigger_the_operator_made_the_candidate_send(manual_run):
    data = manual_run.data
    assert "trigger" not in data["ics"]["capabilities"]
    for test in data["tests"]:
        for exchange in test["exchanges"]:
            assert "/test/trigger" not in exchange["url"] and not exchange["label"].startswith("trigger")
            assert "X-EFDX-Test-Token" not in exchange["request_headers"]
    # what the operator made the candidate send arrived at the harness and is in the record
    sent = {name: " ".join(r["body"] for r in test["received"]) for name, test in named_tests(data).items()}
    for (_, document), text in zip(
        manual_run.operator.documents, manual_run.operator.instructions, strict=True
    ):
        number = reference_number(document)
        action = parse_instruction(text)["action"]
        assert any(number in body and f">{action}<" in body for body in sent.values()), (action, number)


def test_the_instruction_names_the_action_the_co_and_the_party(manual_run):
    for text, (path, document) in zip(
        manual_run.operator.instructions, manual_run.operator.documents, strict=True
    ):
        fields = parse_instruction(text)
        assert text.startswith("OPERATOR: in the candidate NSW (KH), ")
        assert fields["to"] == "SG"
        assert fields["action"] in ("IssueCO", "ReplaceCO", "CancelCO")
        assert fields["document"] == path
        number = reference_number(document)
        first_line = text.splitlines()[0]
        assert number in first_line, text  # which CO, in words, not only in the file
        if fields["action"] == "IssueCO":
            assert f"issue the e-Form D {number} to SG" in first_line
        elif fields["action"] == "ReplaceCO":
            replaced = etree.fromstring(document.encode()).findtext(f"{_F}Replaces")
            assert f"replace the e-Form D {replaced} by {number}" in first_line
        else:
            assert f"cancel the e-Form D {number}" in first_line
        # bounded by the ICS's operator window, and where the message must go
        assert f"waits up to {OPERATOR_S:g} s for it to arrive at {manual_run.harness_url}" in text


def test_each_instruction_has_a_document_file_of_its_own(manual_run):
    """An operator who keeps the instructions must find each one's document still there unchanged."""
    paths = [path for path, _ in manual_run.operator.documents]
    assert len(set(paths)) == len(paths), f"document files used for more than one instruction: {paths}"


def test_non_interactive_makes_the_scenarios_inconclusive_instead_of_waiting(tmp_path, monkeypatch):
    operator = Operator()
    monkeypatch.setattr(conformance.harness.session, "_print_for_operator", operator)
    with candidate_without_trigger(tmp_path) as (_reference, config):
        code, folder = run(
            RunOptions(
                config=config,
                keyword=CO_SCENARIOS,
                non_interactive=True,
                report_dir=tmp_path / "reports",
                live=False,
            )
        )
    data = results(folder)
    tests = named_tests(data)
    assert code == 1
    assert set(tests) == {ISSUE, REPLACE, CANCEL}
    for name, test in tests.items():
        assert test["verdict"] == "inconclusive", (name, test)
        assert "manual mode" in test["reason"] and "--non-interactive" in test["reason"], test["reason"]
        assert test["duration_s"] < OPERATOR_S / 2  # did not wait for an operator
    assert re.search(r"nobody can issue the e-Form D A06-ISSUE-\w+ to SG$", tests[ISSUE]["reason"])
    assert operator.instructions == []  # nobody was told anything
    assert data["verdict"] == "incomplete"
    a06 = requirement_rows(data)["A-06"]
    assert a06["verdict"] == "inconclusive"


def test_without_the_operator_the_wait_ends_with_the_operator_window(tmp_path, monkeypatch):
    window = 1.0
    operator = Operator(trigger_url=None)  # reads the instruction, never acts
    monkeypatch.setattr(conformance.harness.session, "_print_for_operator", operator)
    with candidate_without_trigger(tmp_path, windows=replace(WINDOWS, operator_s=window)) as (_, config):
        started = time.monotonic()
        code, folder = run(RunOptions(config=config, keyword=ISSUE, report_dir=tmp_path / "r", live=False))
        elapsed = time.monotonic() - started
    (test,) = results(folder)["tests"]
    assert len(operator.instructions) == 1
    assert code == 1
    assert test["verdict"] in ("fail", "inconclusive")
    assert f"within {window:g} s" in test["reason"], test["reason"]
    assert window <= test["duration_s"] < window + 4
    assert elapsed < window + 10


def test_results_ics_says_no_trigger_when_the_capability_is_not_claimed(tmp_path, monkeypatch):
    """A trigger URL left in the config without the claim is not used (manual mode), and the ICS in
    results.json must not say the candidate was driven by a trigger."""
    monkeypatch.setattr(conformance.harness.session, "_print_for_operator", Operator())
    with candidate_without_trigger(tmp_path) as (reference, config):
        config = replace(config, trigger_url=reference.trigger_url, trigger_token=TOKEN)
        code, folder = run(
            RunOptions(
                config=config, keyword=ISSUE, non_interactive=True, report_dir=tmp_path / "r", live=False
            )
        )
    data = results(folder)
    assert code == 1 and data["tests"][0]["verdict"] == "inconclusive"  # manual mode all the same
    assert data["ics"]["trigger"] is False, data["ics"]


@pytest.mark.parametrize(
    ("flags", "ci", "said"),
    [
        (["--non-interactive"], None, None),
        (
            [],
            "true",
            "non-interactive: CI is set: manual-mode tests are inconclusive (--interactive to wait)",
        ),
        ([], None, "non-interactive: stdin is not a terminal: manual-mode tests are inconclusive"),
    ],
    ids=["asked", "in-ci", "no-terminal"],
)
def test_cli_non_interactive_without_the_trigger_capability_is_inconclusive(
    tmp_path, capsys, monkeypatch, flags, ci, said
):
    """Asked with --non-interactive, or so by default in CI or without a terminal (stdin here is
    pytest's, not a terminal): a forgotten flag waited the operator window for each manual test."""
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    with candidate_without_trigger(tmp_path) as (reference, config):
        toml = manual_toml(config.harness_listen, 5, OPERATOR_S)
        code, data = run_manual(tmp_path, reference.url, toml, ISSUE, *flags)
    _out, err = capsys.readouterr()
    assert code == 1
    assert data["sut"]["url"] == reference.url
    (test,) = data["tests"]
    assert test["id"].endswith(ISSUE)
    assert test["verdict"] == "inconclusive"
    assert "manual mode" in test["reason"] and "--non-interactive" in test["reason"]
    assert data["verdict"] == "incomplete"
    assert "OPERATOR:" not in err
    assert (said in _out) if said else ("non-interactive:" not in _out + err)  # a progress line


def test_the_default_printer_tells_the_operator_on_stderr(tmp_path, capfd):
    config = Config(
        party="KH",
        inbox_url="http://127.0.0.1:9/efdx/1/messages",
        roles=("exporting",),
        capabilities=NO_TRIGGER,
        windows=WINDOWS,
    )
    harness = Harness(config).start()
    try:
        assert harness.tell_operator is conformance.harness.session._print_for_operator
        document = candidate_co(harness, "MANUAL-0001")
        window = ask_to_send(harness, "IssueCO", document, "issue the e-Form D MANUAL-0001 to SG")
        out, err = capfd.readouterr()
        fields = parse_instruction(err)
        assert window == OPERATOR_S
        assert out == ""
        assert "OPERATOR: in the candidate NSW (KH), issue the e-Form D MANUAL-0001 to SG." in err
        assert fields["action"] == "IssueCO" and fields["to"] == "SG"
        written = Path(fields["document"]).read_bytes()
        assert etree.fromstring(written).findtext(f"{_F}ReferenceNumber") == "MANUAL-0001"
        assert f"waits up to {OPERATOR_S:g} s for it to arrive at {harness.inbox_url}" in err

        harness.non_interactive = True
        with pytest.raises(Inconclusive, match="--non-interactive"):
            ask_to_send(harness, "IssueCO", document, "issue the e-Form D MANUAL-0001 to SG")
        assert capfd.readouterr() == ("", "")
    finally:
        harness.stop()
