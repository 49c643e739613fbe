"""Coverage by test purpose: which suite tests cover each clause, which seeded fault proves them.

The three facts are declared in three places of a profile pack, each where it belongs: the clause
in its purposes (EFDX: ``profiles/efdx/purposes.toml``), the tests by their ``purposes`` markers
(vectors by the manifest's ``purposes``), the faults in its reference NSW's seeded faults. This
module joins them by collecting the suite (nothing is run) and names the gaps: a purpose without a
test, or whose tests no seeded fault proves able to fail. ``conformance list`` prints it;
results.json and the report carry the gaps, so that nobody mistakes an untested clause for a
passed one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.core.catalogue import Catalogue, Purpose
from conformance.core.profile import Profile


@dataclass(frozen=True)
class SuiteTest:
    nodeid: str
    requirements: tuple[str, ...]
    purposes: tuple[str, ...]
    capabilities: tuple[str, ...] = ()  # the ICS capabilities it needs
    roles: tuple[str, ...] = ()  # the roles it needs (every one named)

    def not_applicable_to(self, config) -> str | None:
        """Why this test does not apply to the candidate of ``config`` (None: it applies)."""
        for capability in self.capabilities:
            if not config.claims(capability):
                return f"the ICS does not claim the capability {capability!r}"
        for role in self.roles:
            if role not in config.roles:
                return f"the ICS does not claim the {role} role"
        return None


@dataclass(frozen=True)
class PurposeCoverage:
    purpose: Purpose
    tests: tuple[str, ...]
    faults: tuple[str, ...]

    @property
    def gap(self) -> str | None:
        """Why this purpose is not proven covered, or None (a declarable purpose is stated by the
        candidate, not tested: errata 2)."""
        if self.purpose.declarable and not self.tests:
            return None
        if self.purpose.pending and not self.tests:  # its test waits for an issue, said in purposes.toml
            return None
        if not self.tests:
            return "no test covers it"
        if not self.faults:
            return "no seeded fault proves its tests can fail"
        return None

    def as_json(self) -> dict:
        return {
            "id": self.purpose.id,
            "requirement": self.purpose.requirement,
            "clause": self.purpose.clause,
            "tests": list(self.tests),
            "faults": list(self.faults),
            "gap": self.gap,
            "pending": self.purpose.pending or None,
        }


def declared(items: list[pytest.Item], catalogue: Catalogue) -> tuple[SuiteTest, ...]:
    """What each collected item declares: requirement IDs, purposes, capabilities and roles."""
    from conformance.harness.plugin import purpose_ids, requirement_ids

    return tuple(
        SuiteTest(
            item.nodeid,
            requirement_ids(item, catalogue),
            purpose_ids(item, catalogue),
            tuple(mark.args[0] for mark in item.iter_markers("capability")),
            tuple(mark.args[0] for mark in item.iter_markers("role")),
        )
        for item in items
    )


class _Collector:
    """A pytest plugin that only records what the suite's tests declare."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.tests: tuple[SuiteTest, ...] = ()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.tests = declared(items, self.catalogue)
        items[:] = []  # nothing is run


_COLLECTED: dict[Profile, tuple[SuiteTest, ...]] = {}


def remember(profile: Profile, tests: tuple[SuiteTest, ...]) -> None:
    """The whole suite as a run has just collected it, so that its report need not collect it again."""
    _COLLECTED[profile] = tests


def suite_tests(profile: Profile) -> tuple[SuiteTest, ...]:
    """Every test of the profile's suite with its requirement IDs and purposes (collected, not run)."""
    if profile not in _COLLECTED:
        from conformance.app.run import RunOptions, pytest_args

        collector = _Collector(profile.catalogue())
        pytest.main(pytest_args(RunOptions(), profile), plugins=[collector])
        _COLLECTED[profile] = collector.tests
    return _COLLECTED[profile]


LOAD_RUN = "conformance load"  # the test of the capacity purposes (section 8), in place of a suite test


def coverage(profile: Profile) -> list[PurposeCoverage]:
    from conformance.app.load.verdict import PURPOSES as LOAD_PURPOSES

    tests = suite_tests(profile)
    load = (LOAD_RUN,) if profile.load is not None else ()
    return [
        PurposeCoverage(
            purpose,
            tuple(test.nodeid for test in tests if purpose.id in test.purposes)
            + (load if purpose.id in LOAD_PURPOSES else ()),
            tuple(fault.name for fault in profile.faults_of(purpose.id)),
        )
        for purpose in profile.catalogue().purposes()
    ]


def gaps(profile: Profile) -> list[PurposeCoverage]:
    return [row for row in coverage(profile) if row.gap]


def _not_applicable(test: SuiteTest | None, config) -> str | None:
    """Why a test of the listing does not apply to ``config``'s candidate; ``None`` for a load run,
    whose purposes apply when capacity is claimed (the requirement rows say so)."""
    if config is None:
        return None
    if test is None:  # the load run (LOAD_RUN)
        return None if config.claims("capacity") else "the ICS does not claim the capability 'capacity'"
    return test.not_applicable_to(config)


def listing(profile: Profile, verbose: bool = False, config=None) -> str:
    """`conformance list`: requirements, their test purposes, the tests and seeded faults, the gaps;
    with a candidate's ``config``, which tests apply to it (and why the others do not)."""
    rows = coverage(profile)
    tests_of_suite = suite_tests(profile)
    by_id = {test.nodeid: test for test in tests_of_suite}
    lines: list[str] = [f"{profile.title} ({profile.key})"]
    for req in profile.catalogue().requirements():
        lines.append(f"{req.id}  {req.level}  {req.title}")
        for row in (r for r in rows if r.purpose.requirement == req.id):
            lines.append(f"  {row.purpose.id}  {row.purpose.clause}")
            tests = row.tests if verbose else row.tests[:3]
            more = len(row.tests) - len(tests)
            for nodeid in tests:
                why = _not_applicable(by_id.get(nodeid), config)
                lines.append(f"      test   {nodeid}" + (f"  (not applicable: {why})" if why else ""))
            if more:
                lines.append(f"      test   ... and {more} more (--verbose lists them)")
            if row.purpose.declarable and not row.tests:
                lines.append("      declared  by the candidate (candidate.declarations), not over the wire")
                continue
            if row.purpose.pending and not row.tests:
                lines.append(f"      pending  issue {row.purpose.pending}")
            lines.append(f"      fault  {', '.join(row.faults) or '-'}")
    missing = [row for row in rows if row.gap]
    lines.append("")
    if config is not None:
        applicable = [test for test in tests_of_suite if test.not_applicable_to(config) is None]
        lines.append(f"for candidate {config.party}: {len(applicable)} of {len(tests_of_suite)} tests apply")
    lines.append(f"{len(rows)} test purposes, {len(tests_of_suite)} tests, gaps: {len(missing)}")
    for row in missing:
        lines.append(f"  gap  {row.purpose.id}: {row.gap}")
    return "\n".join(lines)


def gap_rows(profile: Profile) -> list[dict]:
    """Test purposes of this suite version with no test, or no seeded fault proving their tests, as
    results.json writes them."""
    return [
        {
            "id": profile.qualify(row.purpose.id),
            "profile": profile.title,
            "purpose": row.purpose.id,
            "gap": row.gap,
        }
        for row in gaps(profile)
    ]
