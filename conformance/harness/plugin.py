"""The pytest plugin of a profile's suite: markers, the ``harness`` fixture, verdicts, result capture.

It is registered as a pytest11 entry point, so every pytest run loads it; it stays inert (it only
registers its markers and options) unless a run is attached: ``conformance run`` attaches one, or
``pytest --pyargs conformance.profiles.efdx.suite --conformance-config candidate.toml`` does (the
EFDX-era names ``--efdx-config``, ``--efdx-requirement``, ``--efdx-layer`` and ``--efdx-purpose`` still
work, with a deprecation warning, for one release).

Each suite test declares the requirement IDs it judges with ``@pytest.mark.requirements(...)``, and
optionally the capability or role it needs (``capability``, ``role``): a test whose capability the
ICS does not claim is not-applicable, never passed. A test passes when it returns; a Violation is a
fail carrying expected and observed; Inconclusive is inconclusive; anything else is an error.

A test whose conversation is mostly waiting (a retry schedule watched for minutes) can declare
``@pytest.mark.starts_early(start=fn)``: when the first such test of a module is set up, ``fn(harness,
**params)`` runs for every selected, applicable one of them, in order, recording into that test's
own record, and each test gets what its start returned as the ``early`` fixture (an exception its
start raised is raised there). Their waits then overlap, so the group takes about as long as its
longest member; verdicts and records are each test's own, as if it had run alone. The tests run,
and judge, one after another as before. ``starts_early(start=fn, group="name")`` makes one group of
tests in several modules. A group's tests are moved up to run right after its first one (in any
order the items come in), so nothing else runs, and no other test waits, while its conversations
are under way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from conformance.core.catalogue import Catalogue
from conformance.core.records import TestRecord
from conformance.core.verdicts import (
    ERROR,
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Inconclusive,
    NotApplicable,
    worse,
)
from conformance.core.violations import Violation
from conformance.harness import registry
from conformance.harness.config import ConfigError
from conformance.harness.config import load as load_config
from conformance.harness.session import Harness

PLUGIN_NAME = "conformance-run"
NOT_APPLICABLE_PREFIX = "not-applicable: "
# The options' EFDX-era names, kept one release as deprecated aliases (a warning says the new name).
DEPRECATED_OPTIONS = {
    "--efdx-config": "--conformance-config",
    "--efdx-requirement": "--conformance-requirement",
    "--efdx-layer": "--conformance-layer",
    "--efdx-purpose": "--conformance-purpose",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "conformance suite")
    group.addoption(
        "--conformance-config",
        "--efdx-config",
        dest="conformance_config",
        metavar="FILE",
        help="run the suite against the candidate in FILE",
    )
    group.addoption(
        "--conformance-profile", default=registry.DEFAULT[0], metavar="KEY", help="the profile pack (efdx)"
    )
    group.addoption(
        "--conformance-requirement",
        "--efdx-requirement",
        dest="conformance_requirement",
        action="append",
        default=[],
        metavar="ID",
        help="only tests of ID",
    )
    group.addoption(
        "--conformance-layer",
        "--efdx-layer",
        dest="conformance_layer",
        action="append",
        default=[],
        metavar="T|M|A|BR",
        help="only that layer",
    )
    group.addoption(
        "--conformance-purpose",
        "--efdx-purpose",
        dest="conformance_purpose",
        action="append",
        default=[],
        metavar="ID",
        help="only tests of the test purpose ID",
    )


def _warn_deprecated_options(config: pytest.Config) -> None:
    for arg in config.invocation_params.args:
        old = str(arg).split("=", 1)[0]
        if old in DEPRECATED_OPTIONS:
            config.issue_config_time_warning(
                pytest.PytestDeprecationWarning(f"{old} is deprecated: use {DEPRECATED_OPTIONS[old]}"),
                stacklevel=2,
            )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirements(*ids): the profile's requirement IDs a test judges")
    config.addinivalue_line("markers", "purposes(*ids): the profile's test purposes (clauses) a test covers")
    config.addinivalue_line("markers", "capability(name): the ICS capability a test needs")
    config.addinivalue_line("markers", "role(name): the role (importing, exporting) a test needs")
    config.addinivalue_line(
        "markers",
        "starts_early(start=fn, group=name): fn(harness, **params) opens the test's conversation early",
    )
    if not hasattr(config.option, "tbstyle"):
        # pytest's terminal is off (`conformance run`): no traceback is shown, and the default style
        # formats each failed test's arguments, 0.1 s a test in a run with many failures.
        config.option.tbstyle = "native"
    _warn_deprecated_options(config)
    path = config.getoption("conformance_config", None)
    if path and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        try:
            profile = registry.get(config.getoption("conformance_profile"))
            candidate = load_config(Path(path)).for_profile(profile.key)  # that profile's inbox, trigger
        except (ConfigError, registry.ProfileError) as exc:
            raise pytest.UsageError(f"--conformance-config: {exc}") from None
        harness = Harness(candidate, profile=profile).start()
        config.add_cleanup(harness.stop)
        selection = Selection(
            config.getoption("conformance_requirement"),
            config.getoption("conformance_layer"),
            config.getoption("conformance_purpose"),
        )
        config.pluginmanager.register(SuiteRun(harness, selection), PLUGIN_NAME)


class Selection:
    """Which tests to run: by requirement ID, by layer and by test purpose (none given: all)."""

    def __init__(
        self, requirements: Iterable[str] = (), layers: Iterable[str] = (), purposes: Iterable[str] = ()
    ) -> None:
        self.requirements, self.layers = set(requirements), {layer.upper() for layer in layers}
        self.purposes = set(purposes)

    def wants(self, ids: tuple[str, ...], purposes: tuple[str, ...] = ()) -> bool:
        if not self.requirements and not self.layers and not self.purposes:
            return True
        return any(rid in self.requirements or rid.split("-")[0] in self.layers for rid in ids) or bool(
            self.purposes & set(purposes)
        )


def _resolved(ids, catalogue: Catalogue | None) -> list[str]:
    """IDs as the profile names them: a suite shared by profiles of one family names the first
    one's IDs, which the catalogue maps (an ID with no counterpart is dropped)."""
    if catalogue is None:
        return list(ids)
    return [found for found in (catalogue.resolve(item_id) for item_id in ids) if found is not None]


def purpose_ids(item: pytest.Item, catalogue: Catalogue | None = None) -> tuple[str, ...]:
    """The test purposes an item covers, as its ``purposes`` markers declare them."""
    declared = [pid for mark in item.iter_markers("purposes") for pid in mark.args]
    return tuple(dict.fromkeys(_resolved(declared, catalogue)))


def check_declarations(item: pytest.Item, catalogue: Catalogue) -> None:
    """A suite test names known requirements, and known purposes of those requirements only."""
    declared = _resolved((rid for mark in item.iter_markers("requirements") for rid in mark.args), catalogue)
    if not declared:
        raise pytest.UsageError(f"{item.nodeid} declares no requirement IDs")
    for rid in declared:
        try:
            catalogue.requirement(rid)
        except KeyError:
            raise pytest.UsageError(f"{item.nodeid}: unknown requirement ID {rid!r}") from None
    for pid in purpose_ids(item, catalogue):
        try:
            found = catalogue.purpose(pid)
        except KeyError:
            raise pytest.UsageError(f"{item.nodeid}: unknown test purpose {pid!r}") from None
        if found.requirement not in declared:
            raise pytest.UsageError(f"{item.nodeid}: covers {pid} but does not name {found.requirement}")


def requirement_ids(item: pytest.Item, catalogue: Catalogue) -> tuple[str, ...]:
    """The requirement IDs an item's markers name, as the profile names them, in its order."""
    ids = _resolved((rid for mark in item.iter_markers("requirements") for rid in mark.args), catalogue)
    return tuple(dict.fromkeys(sorted(ids, key=catalogue.order)))


def early_group(item: pytest.Item) -> object | None:
    """The starts_early group ``item`` belongs to: its mark's ``group`` name, else its module; None
    without the mark."""
    mark = item.get_closest_marker("starts_early")
    if mark is None:
        return None
    return mark.kwargs.get("group") or getattr(item, "module", None)


def gathered(items: list[pytest.Item]) -> list[pytest.Item]:
    """``items`` with the tests of each starts_early group moved up to just after the group's first
    test (the others keep their order): no other test runs while a group's conversations are under
    way, whatever order the items came in (``--rerun-failed`` gives results.json's)."""
    groups: dict[object, list[pytest.Item]] = {}
    runs: list[list[pytest.Item]] = []
    for item in items:
        group = early_group(item)
        if group is None:
            runs.append([item])
        elif group in groups:
            groups[group].append(item)
        else:
            groups[group] = [item]
            runs.append(groups[group])
    return [item for run in runs for item in run]


class SuiteRun:
    """The active plugin of one run: gives tests the harness, turns outcomes into verdicts."""

    def __init__(
        self,
        harness: Harness,
        selection: Selection | None = None,
        on_test_start: Callable[[str, int], None] | None = None,
        on_test_end: Callable[[TestRecord], None] | None = None,
    ) -> None:
        self._harness = harness
        self.catalogue = harness.profile.catalogue()
        self.selection = selection or Selection()
        self.on_test_start, self.on_test_end = on_test_start, on_test_end
        self.records: list[TestRecord] = []
        self.collected: list[pytest.Item] = []  # every test collected, before any selection
        self.total = 0
        self.interrupted = False
        self.halt_reason: str | None = None  # set mid-run (the candidate went away): the rest inconclusive

    @pytest.fixture(scope="session")
    def harness(self) -> Harness:
        return self._harness

    @pytest.fixture
    def early(self, request: pytest.FixtureRequest):
        """What the test's ``starts_early`` start returned (its exception is raised here)."""
        if _EARLY not in request.node.stash:
            raise pytest.UsageError(f"{request.node.nodeid} uses `early` without a starts_early mark")
        value, error = request.node.stash[_EARLY]
        if error is not None:
            raise error
        return value

    @pytest.hookimpl(tryfirst=True)  # before -k: ``collected`` is the whole suite collected
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        self.collected = list(items)
        for item in items:
            check_declarations(item, self.catalogue)
        chosen = [
            item
            for item in items
            if self.selection.wants(requirement_ids(item, self.catalogue), purpose_ids(item, self.catalogue))
        ]
        deselected = [item for item in items if item not in chosen]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = gathered(chosen)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)  # after every filter, -k included

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        record = self._record_of(item)
        self.records.append(record)
        self._harness.begin(record)
        item.stash[_START] = time.monotonic()
        item.stash[_TROUBLE] = inbox_trouble(self._harness)
        if self.on_test_start:
            self.on_test_start(item.nodeid, self.total)
        not_applicable = self._not_applicable(item)
        if not_applicable:
            pytest.skip(f"{NOT_APPLICABLE_PREFIX}{not_applicable}")
        if self.halt_reason:  # recorded, not run: nothing can be judged against a candidate that is gone
            raise Inconclusive(self.halt_reason)
        # starts_early marks test functions (only they belong to a module)
        if (
            isinstance(item, pytest.Function)
            and item.get_closest_marker("starts_early")
            and _EARLY not in item.stash
        ):
            self._start_early(item)

    def _record_of(self, item: pytest.Item) -> TestRecord:
        """The item's record: made when its conversation was started early, or now."""
        if _RECORD not in item.stash:
            record = TestRecord(
                item.nodeid,
                item.name,
                requirement_ids(item, self.catalogue),
                title=_title(item),
                purposes=purpose_ids(item, self.catalogue),
            )
            record.description = _case_description(item)
            item.stash[_RECORD] = record
        return item.stash[_RECORD]

    def _not_applicable(self, item: pytest.Item) -> str:
        """Why the ICS makes the item not applicable (a capability or role it does not claim), or ''."""
        config = self._harness.config
        for mark in item.iter_markers("capability"):
            if not config.claims(mark.args[0]):
                return f"the ICS does not claim the capability {mark.args[0]!r}"
        for mark in item.iter_markers("role"):
            if mark.args[0] not in config.roles:
                return f"the ICS does not claim the {mark.args[0]} role"
        return ""

    def _start_early(self, first: pytest.Function) -> None:
        """Start the conversation of every selected, applicable test of ``first``'s starts_early group
        not started yet, each recording into its own test's record."""
        group = early_group(first)
        for item in first.session.items:
            mark = item.get_closest_marker("starts_early")
            if (
                mark is None
                or not isinstance(item, pytest.Function)
                or early_group(item) != group
                or _EARLY in item.stash
            ):
                continue
            if self._not_applicable(item):
                continue
            params = dict(getattr(getattr(item, "callspec", None), "params", {}))
            with self._harness.recording_into(self._record_of(item)):
                try:
                    item.stash[_EARLY] = (mark.kwargs["start"](self._harness, **params), None)
                except Exception as exc:  # the test itself reports it, with its verdict
                    item.stash[_EARLY] = (None, exc)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        record = self._harness.current
        if record is None or record.nodeid != item.nodeid:
            return
        verdict, reason, expected, observed = _judge(call, report)
        if verdict is not None:  # a verdict only gets worse within a test
            record.verdict = verdict if not record.verdict else worse(record.verdict, verdict)
            if verdict != PASS and not record.reason:
                record.reason, record.expected, record.observed = reason, expected, observed
                error = call.excinfo.value if call.excinfo else None
                record.failed_requirements = error.requirements if isinstance(error, Violation) else ()
                record.location = error.location if isinstance(error, Violation) else None
        if call.when == "teardown":
            record.verdict = record.verdict or ERROR
            self._harness_troubled(item, record)
            record.duration_s = time.monotonic() - item.stash.get(_START, time.monotonic())
            self._harness.end()
            if self.on_test_end:
                self.on_test_end(record)

    def _harness_troubled(self, item: pytest.Item, record: TestRecord) -> None:
        """A fail during which the harness inbox refused or timed out connections, or cut bodies over
        its budget, is inconclusive: what the candidate sent may not have got through (an attacker
        holding the inbox's connections, a flood), so the fail is not the candidate's to carry."""
        before = item.stash.get(_TROUBLE, {})
        grown = {what: count - before.get(what, 0) for what, count in inbox_trouble(self._harness).items()}
        said = [f"{TROUBLE_WORDS[what]} {count}" for what, count in grown.items() if count > 0]
        if not said:
            return
        record.harness_trouble = ", ".join(said)
        if record.verdict == FAIL:
            record.verdict, record.failed_requirements = INCONCLUSIVE, ()
            record.reason = (
                f"the harness inbox was in trouble during this test ({record.harness_trouble}): the "
                f"fail may not be the candidate's; it saw: {record.reason}"
            )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.interrupted:
            self._harness.profile.after_suite(self._harness)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = True
        record = self._harness.current
        if record is not None and not record.verdict:  # cut off mid-test: nothing was concluded
            record.verdict, record.reason = INCONCLUSIVE, "interrupted (Ctrl-C) before the test finished"
            self._harness.end()


TROUBLE_WORDS = {
    "refused": "connections refused at its limit",
    "timed_out": "connections timed out",
    "bodies_cut": "bodies over its budget",
    "unregistered": "requests from a client certificate other than tls.candidate_cert",
}


def inbox_trouble(harness: Harness) -> dict[str, int]:
    """What the harness inbox has turned away so far (see TROUBLE_WORDS); {} for an inbox that does
    not count."""
    inbox = getattr(harness, "inbox", None)
    connections = getattr(inbox, "connections", None)
    counts = {
        "refused": getattr(connections, "refused", 0),
        "timed_out": getattr(connections, "timed_out", 0),
        "bodies_cut": getattr(inbox, "bodies_cut", 0),
        "unregistered": getattr(inbox, "unregistered", 0),
    }
    return {what: count for what, count in counts.items() if isinstance(count, int)}


_START = pytest.StashKey[float]()
_TROUBLE = pytest.StashKey[dict[str, int]]()
_RECORD = pytest.StashKey[TestRecord]()
_EARLY = pytest.StashKey[tuple[object, Exception | None]]()


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else item.name


def _case_description(item: pytest.Item) -> str:
    """What a parametrized case's own parameter says it is (a test vector's description), if it says."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    found = (getattr(value, "description", None) for value in params.values())
    return next((text for text in found if isinstance(text, str) and text), "")


def _judge(call: pytest.CallInfo, report: pytest.TestReport) -> tuple[str | None, str, str, str]:
    """The verdict of one phase (setup, call, teardown), with reason, expected and observed."""
    if report.skipped:
        message = str(call.excinfo.value) if call.excinfo else ""
        if message.startswith(NOT_APPLICABLE_PREFIX):
            return NOT_APPLICABLE, message.removeprefix(NOT_APPLICABLE_PREFIX), "", ""
        return INCONCLUSIVE, f"skipped: {message}", "", ""
    if call.excinfo is None:
        return (PASS, "", "", "") if call.when == "call" else (None, "", "", "")
    error = call.excinfo.value
    if isinstance(error, Violation):
        return FAIL, str(error), error.expected, error.observed
    if isinstance(error, NotApplicable):
        return NOT_APPLICABLE, str(error), "", ""
    if isinstance(error, Inconclusive):
        return INCONCLUSIVE, str(error), "", ""
    if isinstance(error, AssertionError):
        return FAIL, f"assertion: {error}", "", ""
    return ERROR, f"{type(error).__name__} in the harness or its environment: {error}", "", ""
