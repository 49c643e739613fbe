"""The pytest plugin: inert in ordinary runs; attached to a run, it turns each test's outcome into a
verdict (with expected/observed), applies the ICS (capability, role) and selects by requirement/layer.

The suite-like test files run in a fresh pytest session (``pytester``), with a stand-in harness."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest

from conformance.core.profile import Profile
from conformance.core.records import TestRecord as Record  # (not collected as a test class)
from conformance.core.verdicts import ERROR, FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, VERDICTS
from conformance.harness import registry
from conformance.harness.config import ROLES
from conformance.harness.plugin import Selection, SuiteRun

pytest_plugins = ["pytester"]

HEADER = """
import pytest
from conformance.core.verdicts import Inconclusive, NotApplicable
from conformance.core.violations import Violation
"""


@dataclass
class FakeConfig:
    roles: tuple[str, ...] = ROLES
    capabilities: frozenset[str] = frozenset()
    party: str = "KH"

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass
class FakeHarness:
    """What SuiteRun needs of a Harness: config, begin/end, the current record, the tests awaiting the
    run-wide "exactly one status" check (none here)."""

    config: FakeConfig = field(default_factory=FakeConfig)
    current: Record | None = None
    single_answers: list = field(default_factory=list)
    begun: list[str] = field(default_factory=list)
    ended: int = 0
    profile: Profile = field(default_factory=registry.default)

    def begin(self, record: Record) -> None:
        self.current = record
        self.begun.append(record.nodeid)

    def end(self) -> None:
        self.current = None
        self.ended += 1

    @contextlib.contextmanager
    def recording_into(self, record: Record):
        saved, self.current = self.current, record
        try:
            yield
        finally:
            self.current = saved


@dataclass
class Outcome:
    ret: int
    plugin: SuiteRun
    harness: FakeHarness
    reprec: object

    @property
    def records(self) -> dict[str, Record]:
        return {record.name: record for record in self.plugin.records}


def attached(
    pytester: pytest.Pytester,
    source: str,
    *args: str,
    selection: Selection | None = None,
    config: FakeConfig | None = None,
    **callbacks,
) -> Outcome:
    pytester.makepyfile(test_suite=HEADER + source)
    harness = FakeHarness(config or FakeConfig())
    plugin = SuiteRun(harness, selection, **callbacks)
    reprec = pytester.inline_run("-p", "no:randomly", "-p", "no:cacheprovider", *args, plugins=[plugin])
    return Outcome(reprec.ret, plugin, harness, reprec)


# ----------------------------------------------------------------------------------------- inert


def test_inert_in_an_ordinary_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_ok():
            assert 1 + 1 == 2

        def test_bad():
            assert 1 + 1 == 3
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_options_and_markers_are_registered(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    for option in ("--conformance-config", "--conformance-requirement", "--conformance-layer"):
        assert option in help_text
    markers = pytester.runpytest("--markers").stdout.str()
    for marker in ("@pytest.mark.requirements", "@pytest.mark.capability", "@pytest.mark.role"):
        assert marker in markers


def test_markers_are_accepted_under_strict_markers_in_an_ordinary_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.requirements("M-06")
        @pytest.mark.capability("cancel")
        @pytest.mark.role("importing")
        def test_marked():
            pass
        """
    )
    pytester.runpytest("--strict-markers", "-p", "no:randomly").assert_outcomes(passed=1)


# -------------------------------------------------------------------------------------- verdicts

VERDICT_TESTS = """
@pytest.mark.requirements("M-06", "M-19")
def test_violation():
    raise Violation("M-06", "x", "y")

@pytest.mark.requirements("M-19")
def test_violation_also():
    raise Violation("BR-14", "status CANCELLED", "status ISSUED", also=("A-03",))

@pytest.mark.requirements("A-01")
def test_inconclusive():
    raise Inconclusive("no operator to confirm")

@pytest.mark.requirements("T-01")
def test_runtime_error():
    raise RuntimeError("harness inbox port taken")

@pytest.mark.requirements("T-01")
def test_assertion():
    assert 1 == 2, "numbers differ"

@pytest.mark.requirements("A-07")
def test_not_applicable_raised():
    raise NotApplicable("the candidate issues no utilisation")

@pytest.mark.requirements("M-01")
def test_passes():
    '''A valid message is accepted.

    More words here.'''

@pytest.mark.requirements("M-02")
def test_plain_skip():
    pytest.skip("waiting for something")

@pytest.fixture
def broken():
    raise OSError("fixture could not start")

@pytest.mark.requirements("M-03")
def test_setup_error(broken):
    pass

@pytest.fixture
def bad_teardown():
    yield
    raise OSError("teardown broke")

@pytest.mark.requirements("M-04")
def test_fail_then_teardown_error(bad_teardown):
    raise Violation("M-04", "a", "b")

@pytest.mark.requirements("M-05")
def test_pass_then_teardown_error(bad_teardown):
    pass
"""


@pytest.fixture
def verdicts(pytester: pytest.Pytester) -> Outcome:
    return attached(pytester, VERDICT_TESTS)


def test_every_test_gets_one_record_with_a_verdict(verdicts: Outcome) -> None:
    assert len(verdicts.plugin.records) == 11
    assert all(record.verdict in VERDICTS for record in verdicts.plugin.records)
    assert verdicts.harness.begun == [record.nodeid for record in verdicts.plugin.records]
    assert verdicts.harness.ended == 11 and verdicts.harness.current is None


def test_a_violation_is_a_fail_with_expected_and_observed(verdicts: Outcome) -> None:
    record = verdicts.records["test_violation"]
    assert record.verdict == FAIL
    assert (record.expected, record.observed) == ("x", "y")
    assert record.failed_requirements == ("M-06",)
    assert record.requirements == ("M-06", "M-19")
    assert record.reason == "M-06: expected x; observed y"
    assert record.verdict_for("M-19") == INCONCLUSIVE
    assert record.nodeid == "test_suite.py::test_violation"


def test_a_violation_names_every_requirement_it_breaks(verdicts: Outcome) -> None:
    record = verdicts.records["test_violation_also"]
    assert record.verdict == FAIL
    assert record.failed_requirements == ("BR-14", "A-03")
    assert record.verdict_for("BR-14") == FAIL and record.verdict_for("M-19") == INCONCLUSIVE


def test_inconclusive(verdicts: Outcome) -> None:
    record = verdicts.records["test_inconclusive"]
    assert (record.verdict, record.reason) == (INCONCLUSIVE, "no operator to confirm")


def test_any_other_exception_is_an_error_naming_it(verdicts: Outcome) -> None:
    record = verdicts.records["test_runtime_error"]
    assert record.verdict == ERROR
    assert "RuntimeError" in record.reason and "harness inbox port taken" in record.reason


def test_a_plain_assertion_is_a_fail(verdicts: Outcome) -> None:
    record = verdicts.records["test_assertion"]
    assert record.verdict == FAIL
    assert record.reason.startswith("assertion:") and "numbers differ" in record.reason
    assert record.failed_requirements == ()


def test_not_applicable_raised_by_the_test(verdicts: Outcome) -> None:
    record = verdicts.records["test_not_applicable_raised"]
    assert (record.verdict, record.reason) == (NOT_APPLICABLE, "the candidate issues no utilisation")


def test_a_returning_test_passes_with_its_docstring_as_title(verdicts: Outcome) -> None:
    record = verdicts.records["test_passes"]
    assert (record.verdict, record.reason) == (PASS, "")
    assert record.title == "A valid message is accepted."
    assert verdicts.records["test_violation"].title == "test_violation"
    assert record.duration_s >= 0


def test_a_plain_skip_is_inconclusive_not_pass(verdicts: Outcome) -> None:
    record = verdicts.records["test_plain_skip"]
    assert record.verdict == INCONCLUSIVE
    assert "waiting for something" in record.reason


def test_an_error_in_setup_is_an_error(verdicts: Outcome) -> None:
    record = verdicts.records["test_setup_error"]
    assert record.verdict == ERROR
    assert "OSError" in record.reason and "fixture could not start" in record.reason


def test_a_verdict_only_gets_worse_and_keeps_the_first_reason(verdicts: Outcome) -> None:
    record = verdicts.records["test_fail_then_teardown_error"]
    assert record.verdict == ERROR
    assert (record.expected, record.observed) == ("a", "b")
    assert record.reason.startswith("M-04")
    after_pass = verdicts.records["test_pass_then_teardown_error"]
    assert after_pass.verdict == ERROR and "teardown broke" in after_pass.reason


def test_pytest_outcomes_are_unchanged(verdicts: Outcome) -> None:
    passed, skipped, failed = verdicts.reprec.listoutcomes()
    assert {report.nodeid.rpartition("::")[2] for report in passed} == {
        "test_passes",
        "test_pass_then_teardown_error",
    }


# ------------------------------------------------------------------------------------ ICS and marks

ICS_TESTS = """
@pytest.mark.requirements("A-07")
@pytest.mark.capability("utilisation")
def test_utilisation():
    pass

@pytest.mark.requirements("A-03")
@pytest.mark.capability("cancel")
def test_cancel():
    pass

@pytest.mark.requirements("A-05")
@pytest.mark.role("exporting")
def test_exporting():
    pass

@pytest.mark.requirements("A-01")
@pytest.mark.role("importing")
def test_importing():
    pass

@pytest.mark.requirements("A-07")
@pytest.mark.capability("utilisation")
def test_utilisation_failing():
    raise Violation("A-07", "x", "y")
"""


def test_a_capability_not_claimed_is_not_applicable_never_pass(pytester: pytest.Pytester) -> None:
    outcome = attached(
        pytester, ICS_TESTS, config=FakeConfig(roles=("importing",), capabilities=frozenset({"cancel"}))
    )
    records = outcome.records
    assert records["test_utilisation"].verdict == NOT_APPLICABLE
    assert "utilisation" in records["test_utilisation"].reason
    assert records["test_utilisation_failing"].verdict == NOT_APPLICABLE  # the body never ran
    assert records["test_cancel"].verdict == PASS
    assert records["test_exporting"].verdict == NOT_APPLICABLE
    assert "exporting" in records["test_exporting"].reason
    assert records["test_importing"].verdict == PASS


def test_a_claimed_capability_runs_the_test(pytester: pytest.Pytester) -> None:
    outcome = attached(pytester, ICS_TESTS, config=FakeConfig(capabilities=frozenset({"utilisation"})))
    assert outcome.records["test_utilisation"].verdict == PASS
    assert outcome.records["test_utilisation_failing"].verdict == FAIL
    assert outcome.records["test_cancel"].verdict == NOT_APPLICABLE


def test_requirement_ids_come_from_every_marker_in_catalogue_order(pytester: pytest.Pytester) -> None:
    outcome = attached(
        pytester,
        """
pytestmark = pytest.mark.requirements("BR-02")

@pytest.mark.requirements("M-10", "T-01")
@pytest.mark.requirements("M-02", "T-01")
def test_many():
    pass
""",
    )
    assert outcome.records["test_many"].requirements == ("T-01", "M-02", "M-10", "BR-02")


def test_callbacks_see_every_test(pytester: pytest.Pytester) -> None:
    started, ended = [], []
    outcome = attached(
        pytester,
        ICS_TESTS,
        on_test_start=lambda nodeid, total: started.append((nodeid, total)),
        on_test_end=ended.append,
    )
    assert [nodeid for nodeid, _ in started] == [record.nodeid for record in outcome.plugin.records]
    assert {total for _, total in started} == {5}
    assert ended == outcome.plugin.records


# --------------------------------------------------------------------------------- usage errors


def test_a_test_without_requirements_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite=HEADER
        + """
@pytest.mark.requirements("M-06")
def test_declared():
    pass

def test_undeclared():
    pass
"""
    )
    plugin = SuiteRun(FakeHarness())
    result = pytester.runpytest("-p", "no:randomly", plugins=[plugin])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_suite.py::test_undeclared declares no requirement IDs" in result.stderr.str()
    assert plugin.records == []


@pytest.mark.parametrize("rid", ["M-99", "X-01", "M06", "m-06"])
def test_an_unknown_requirement_id_is_a_usage_error(pytester: pytest.Pytester, rid: str) -> None:
    outcome = attached(
        pytester,
        f"""
@pytest.mark.requirements("M-06", "{rid}")
def test_bad_id():
    pass
""",
    )
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    assert outcome.plugin.records == []


# ------------------------------------------------------------------------------------- selection

SELECTION_TESTS = """
@pytest.mark.requirements("M-06")
def test_m06():
    pass

@pytest.mark.requirements("M-19", "A-01")
def test_m19_a01():
    pass

@pytest.mark.requirements("BR-03")
def test_br03():
    pass

@pytest.mark.requirements("T-01")
def test_t01():
    pass
"""


@pytest.mark.parametrize(
    ("selection", "chosen"),
    [
        (Selection(), {"test_m06", "test_m19_a01", "test_br03", "test_t01"}),
        (Selection(["M-06"]), {"test_m06"}),
        (Selection(["A-01"]), {"test_m19_a01"}),
        (Selection(layers=["BR"]), {"test_br03"}),
        (Selection(layers=["m"]), {"test_m06", "test_m19_a01"}),
        (Selection(["T-01"], ["BR"]), {"test_t01", "test_br03"}),
        (Selection(["BR-16"]), set()),
    ],
)
def test_selection_deselects_the_others(pytester: pytest.Pytester, selection: Selection, chosen: set) -> None:
    outcome = attached(pytester, SELECTION_TESTS, selection=selection)
    assert set(outcome.records) == chosen
    deselected = [item for call in outcome.reprec.getcalls("pytest_deselected") for item in call.items]
    assert {item.name for item in deselected} == {
        "test_m06",
        "test_m19_a01",
        "test_br03",
        "test_t01",
    } - chosen
    assert outcome.plugin.total == len(chosen)


def test_selection_wants() -> None:
    assert Selection().wants(("M-06",))
    assert Selection(["M-06"]).wants(("T-01", "M-06"))
    assert not Selection(["M-06"]).wants(("M-07",))
    assert Selection(layers=["br"]).wants(("BR-01",))
    assert not Selection(layers=["B"]).wants(("BR-01",))


# ------------------------------------------------------------------------------------ interrupts


def test_ctrl_c_marks_the_run_interrupted_and_leaves_no_record_without_a_verdict(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_suite=HEADER
        + """
@pytest.mark.requirements("M-06")
def test_a_first():
    pass

@pytest.mark.requirements("A-01")
def test_b_interrupted():
    raise KeyboardInterrupt
"""
    )
    harness = FakeHarness()
    plugin = SuiteRun(harness)
    reprec = pytester.inline_run("-p", "no:randomly", plugins=[plugin], no_reraise_ctrlc=True)
    assert reprec.ret == pytest.ExitCode.INTERRUPTED
    assert plugin.interrupted
    records = {record.name: record for record in plugin.records}
    assert records["test_a_first"].verdict == PASS
    # results.json, the report and RunResult.verdict all need a verdict on every record
    assert records["test_b_interrupted"].verdict in VERDICTS


# ------------------------------------------------------------------ --conformance-config (real)


def _attach_suite(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        candidate="""
[candidate]
party = "KH"
inbox_url = "http://127.0.0.1:9/efdx/1/messages"
roles = ["importing"]

[harness]
listen = "127.0.0.1:0"
""",
    )
    pytester.makepyfile(
        test_suite=HEADER
        + """
@pytest.mark.requirements("M-06")
def test_harness_fixture(harness):
    assert harness.config.party == "KH"
    assert harness.current.nodeid.endswith("test_harness_fixture")

@pytest.mark.requirements("A-05")
@pytest.mark.role("exporting")
def test_exporting(harness):
    pass

@pytest.mark.requirements("BR-03")
def test_deselected(harness):
    pass
"""
    )


def test_conformance_config_attaches_a_real_harness(pytester: pytest.Pytester) -> None:
    _attach_suite(pytester)
    config_path = pytester.path / "candidate.toml"
    reprec = pytester.inline_run(
        "-p", "no:randomly", "--conformance-config", str(config_path),
        "--conformance-layer", "M", "--conformance-layer", "A",
    )  # fmt: skip
    assert reprec.ret == pytest.ExitCode.OK
    passed, skipped, failed = reprec.listoutcomes()
    assert [report.nodeid for report in passed] == ["test_suite.py::test_harness_fixture"]
    assert [report.nodeid for report in skipped] == ["test_suite.py::test_exporting"]
    assert len(reprec.getcalls("pytest_deselected")[0].items) == 1


def test_the_efdx_era_option_names_still_work_and_say_they_are_deprecated(pytester: pytest.Pytester) -> None:
    _attach_suite(pytester)
    config_path = pytester.path / "candidate.toml"
    result = pytester.runpytest(
        "-p", "no:randomly", "--efdx-config", str(config_path), "--efdx-layer", "M", "--efdx-layer", "A"
    )
    result.assert_outcomes(passed=1, skipped=1, deselected=1)
    output = result.stdout.str()
    assert "--efdx-config is deprecated: use --conformance-config" in output
    assert "--efdx-layer is deprecated: use --conformance-layer" in output


def test_a_bad_config_file_is_a_usage_error_naming_the_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", candidate='[candidate]\nparty = "KH"\ninbox_ulr = "http://127.0.0.1:9/x"\n')
    pytester.makepyfile(test_suite="def test_x():\n    pass\n")
    result = pytester.runpytest(
        "-p", "no:randomly", "--conformance-config", str(pytester.path / "candidate.toml")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "candidate.inbox_ulr" in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


# ------------------------------------------------------------------------------------- starts_early

EARLY_TESTS = """
STARTED = []

def start(harness, n=0):
    STARTED.append(n)
    harness.current.notes.append(f"started {n}")
    if n == 2:
        raise Violation("M-21", "the conversation started", "the trigger refused it")
    return n * 10

@pytest.mark.requirements("M-21")
def test_before_the_group():
    assert STARTED == []

@pytest.mark.requirements("M-21")
@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.starts_early(start=start)
def test_group(n, early):
    assert STARTED == [0, 1, 2]
    assert early == n * 10

@pytest.mark.requirements("M-21")
@pytest.mark.role("exporting")
@pytest.mark.starts_early(start=start)
def test_not_applicable_is_not_started(early):
    pass

@pytest.mark.requirements("M-21")
def test_without_the_mark(early):
    pass
"""


def test_starts_early_starts_the_group_together_each_into_its_own_record(pytester: pytest.Pytester) -> None:
    """The whole group is started when its first test is set up, each start recording into its own
    test's record; a start's failure is that test's verdict; a test the ICS rules out is not started."""
    outcome = attached(pytester, EARLY_TESTS, config=FakeConfig(roles=("importing",)))
    records = outcome.records
    assert records["test_before_the_group"].verdict == PASS
    assert [records[f"test_group[{n}]"].verdict for n in range(3)] == [PASS, PASS, FAIL]
    assert [records[f"test_group[{n}]"].notes for n in range(3)] == [[f"started {n}"] for n in range(3)]
    failed = records["test_group[2]"]
    assert (failed.expected, failed.observed) == ("the conversation started", "the trigger refused it")
    assert records["test_not_applicable_is_not_started"].verdict == NOT_APPLICABLE
    assert records["test_not_applicable_is_not_started"].notes == []
    without = records["test_without_the_mark"]
    assert without.verdict == ERROR and "starts_early" in without.reason


NAMED_GROUP_ELSEWHERE = """
import pytest
STARTED = []

def start(harness, n=0):
    STARTED.append(f"other {n}")
    return n

@pytest.mark.requirements("M-21")
def test_a_before():
    assert STARTED == []

@pytest.mark.requirements("M-21")
@pytest.mark.starts_early(start=start, group="g")
def test_b_first_of_the_group(early):
    import test_suite
    assert (STARTED, test_suite.STARTED) == (["other 0"], ["suite 7"])  # the whole group started

@pytest.mark.requirements("M-21")
def test_c_after_in_this_module():
    pass
"""

NAMED_GROUP_HERE = """
STARTED = []

def start(harness):
    STARTED.append("suite 7")
    return 7

@pytest.mark.requirements("M-21")
def test_d_plain():
    pass

@pytest.mark.requirements("M-21")
@pytest.mark.starts_early(start=start, group="g")
def test_e_second_of_the_group(early):
    assert early == 7
"""


def test_a_named_group_across_modules_runs_together_from_its_first_test(pytester: pytest.Pytester) -> None:
    """A named starts_early group's tests are moved up to follow its first test (nothing runs between
    them) and all start when that one is set up, whichever module they stand in."""
    pytester.makepyfile(test_other=NAMED_GROUP_ELSEWHERE)
    outcome = attached(pytester, NAMED_GROUP_HERE)
    order = [record.name for record in outcome.plugin.records]
    assert order == [
        "test_a_before",
        "test_b_first_of_the_group",
        "test_e_second_of_the_group",
        "test_c_after_in_this_module",
        "test_d_plain",
    ]
    assert {record.verdict for record in outcome.plugin.records} == {PASS}, [
        (record.name, record.reason) for record in outcome.plugin.records
    ]


def test_a_module_group_split_by_the_items_order_is_gathered_again(pytester: pytest.Pytester) -> None:
    """Items in another order (``--rerun-failed`` passes results.json's) never split a group: the
    other tests do not run while its conversations are under way."""
    ids = ["test_group[0]", "test_before_the_group", "test_group[1]", "test_group[2]"]
    outcome = attached(pytester, EARLY_TESTS, *(f"test_suite.py::{name}" for name in ids))
    order = [record.name for record in outcome.plugin.records]
    assert order == ["test_group[0]", "test_group[1]", "test_group[2]", "test_before_the_group"]
