"""The run's results as data (results.json, DESIGN.md's contract), JUnit XML and CTRF.

A run covers one or more profiles (RCPX section 4): ``RunResult`` is one profile's part (its own
harness, candidate, tests and verdict), ``RunSet`` the whole run (every part, and the profiles the
candidate claims). Every ID written is qualified by its profile, because two profiles share bare
IDs (EFDX's M-06 and RCPX's M-06): requirements and purposes as ``EFDX 1.0 M-06``, tests as
``efdx/test_x.py::test_y``; rows keep the bare parts for machines (``profile``, ``requirement``,
``purpose``, ``nodeid``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from conformance import __version__
from conformance.core.profile import Profile
from conformance.core.records import TestRecord
from conformance.core.verdicts import (
    BY_LOAD_RUN,
    CONFORMANT,
    INCOMPLETE,
    NOT_APPLICABLE,
    NOT_CONFORMANT,
    PASS,
    run_verdict,
    worst,
)

NOT_TESTED = "not-tested"
DECLARED = "declared"  # a declarable purpose the candidate states in its ICS (errata 2), never a pass
PROFILE_EXTRAS = ("harness_inbox", "note")  # what RunResult.extra says about one profile's part


def qualified(profile_title: str, bare_id: str) -> str:
    """``("EFDX 1.0", "M-06")`` -> ``EFDX 1.0 M-06`` (Profile.qualify, for data that has only the title)."""
    return f"{profile_title} {bare_id}" if profile_title else bare_id


def split_qualified(item_id: str) -> tuple[str, str]:
    """``EFDX 1.0 M-06`` -> ``("EFDX 1.0", "M-06")``; a bare ID (an older results.json) -> ``("", id)``.
    A profile's title may hold spaces, a bare requirement or purpose ID never does."""
    title, _, bare = item_id.rpartition(" ")
    return title, bare


def _records_by(
    records: list[TestRecord], ids: Callable[[TestRecord], Iterable[str]]
) -> dict[str, list[TestRecord]]:
    """The records under each ID that ``ids`` gives them, in run order: one pass over the records
    instead of one per requirement or purpose (a run has hundreds of each)."""
    index: dict[str, list[TestRecord]] = {}
    for record in records:
        for key in dict.fromkeys(ids(record)):
            index.setdefault(key, []).append(record)
    return index


@dataclass
class RunResult:
    """One profile's part of a run: its candidate, its tests and its verdict."""

    sut: dict
    ics: dict
    started: datetime
    finished: datetime
    records: list[TestRecord]
    interrupted: bool = False
    partial: bool = False  # a subset was selected (--requirement, --layer, -k) or --maxfail stopped it
    extra: dict = field(default_factory=dict)
    test_only_signer: bool = True  # the evidence is signed with a TEST ONLY key (no site key yet)
    test_only_reason: str = ""  # why the signer may not certify, as the app found it ("": no site key)
    profile: Profile = field(kw_only=True)
    # Test purposes of this suite version with no test, or no seeded fault proving their tests: the
    # app finds them (it knows the suite), results only write them down.
    purpose_gaps: list[dict] = field(default_factory=list)

    def qualify(self, bare_id: str) -> str:
        return self.profile.qualify(bare_id)

    def test_id(self, record: TestRecord) -> str:
        """``efdx/test_single_messages.py::test_single_message[m06-tampered-header]``."""
        return f"{self.profile.key}/{test_id(record)}"

    def requirement_rows(self) -> list[dict]:
        rows = []
        judging = _records_by(
            self.records, lambda record: (*record.requirements, *record.failed_requirements)
        )
        for req in self.profile.catalogue().requirements():
            judged = [
                (record, verdict)
                for record in judging.get(req.id, ())
                if (verdict := record.verdict_for(req.id)) is not None
            ]
            tests = [record for record, _ in judged]
            verdict = worst(verdict for _, verdict in judged) if judged else self._untested(req)
            rows.append(
                {
                    "id": self.qualify(req.id),
                    "profile": self.profile.title,
                    "requirement": req.id,
                    "title": req.title,
                    "level": req.level,
                    "layer": req.layer,
                    "verdict": verdict,
                    "tests": [self.test_id(record) for record in tests],
                }
            )
        return rows

    def purpose_rows(self) -> list[dict]:
        """Each test purpose with the tests of this run that covered it and their worst verdict on it."""
        rows = []
        covering = _records_by(self.records, lambda record: record.purposes)
        for item in self.profile.catalogue().purposes():
            judged = [
                (record, verdict)
                for record in covering.get(item.id, ())
                if (verdict := record.verdict_for(item.requirement)) is not None
            ]
            rows.append(
                {
                    "id": self.qualify(item.id),
                    "profile": self.profile.title,
                    "purpose": item.id,
                    "requirement": item.requirement,
                    "clause": item.clause,
                    "remedy": item.remedy,
                    "verdict": worst(verdict for _, verdict in judged) if judged else self._unjudged(item),
                    "tests": [self.test_id(record) for record, _ in judged],
                }
            )
        return rows

    def _unjudged(self, purpose) -> str:
        """A purpose no test judged: ``declared`` when the candidate states it (a declarable purpose
        in the ICS's declarations, errata 2: shown as declared, never as passed), else not-tested."""
        if purpose.declarable and purpose.id in (self.ics.get("declarations") or ()):
            return DECLARED
        return NOT_TESTED

    def undeclared(self) -> list[str]:
        """Declarable purposes of this profile that the candidate's ICS does not state."""
        stated = set(self.ics.get("declarations") or ())
        return [item.id for item in self.profile.catalogue().declarable() if item.id not in stated]

    def _untested(self, req) -> str:
        """No test judged it: not-applicable when the ICS does not claim its capability or role."""
        capabilities, roles = self.ics.get("capabilities"), self.ics.get("roles")
        if req.capability and capabilities is not None and req.capability not in capabilities:
            return NOT_APPLICABLE
        if req.role and roles is not None and req.role not in roles:
            return NOT_APPLICABLE
        if req.judged_by == "load":  # claimed: a load run judges and certifies it (errata 2)
            return BY_LOAD_RUN
        return NOT_TESTED

    @property
    def verdict(self) -> str:
        """Over the requirements this suite version tests; a partial run can't be conformant."""
        rows = self.requirement_rows()
        judged = {
            row["requirement"]: row["verdict"]
            for row in rows
            if row["verdict"] not in (NOT_TESTED, NOT_APPLICABLE, BY_LOAD_RUN)
        }
        levels = {row["requirement"]: row["level"] for row in rows}
        return run_verdict(judged, levels, self.interrupted or self.partial)

    def certification(self) -> dict:
        """Whether this run can certify, and if not why: a rehearsal is never shown as able to.

        A run certifies only when it judged a real candidate over mutual TLS, with the whole suite, and
        every MUST requirement it claims (an unclaimed optional capability excepted) was applicable and
        run, and its evidence is signed with a site key."""
        capabilities = set(self.ics.get("capabilities") or ())
        reasons = []
        if self.sut.get("reference"):
            reasons.append("the candidate is the embedded reference NSW")
        if self.interrupted:
            reasons.append("the run was interrupted")
        if self.partial:
            reasons.append("a subset of the suite was run")
        if not self.ics.get("tls"):
            reasons.append("plain HTTP: mutual TLS (T-05) was not exercised")
        unrun = [
            row["id"]
            for req, row in zip(self.profile.catalogue().requirements(), self.requirement_rows(), strict=True)
            if req.mandatory
            and row["verdict"] in (NOT_TESTED, NOT_APPLICABLE)
            and not (req.capability and req.capability not in capabilities)
        ]
        if unrun and not self.partial:  # a subset says so above
            reasons.append(f"{UNRUN_REASON}{', '.join(unrun)}")
        undeclared = self.undeclared()
        if undeclared:
            reasons.append(f"{UNDECLARED_REASON}{', '.join(self.qualify(pid) for pid in undeclared)}")
        troubled = [record for record in self.records if getattr(record, "harness_trouble", "")]
        if troubled:
            reasons.append(
                f"the harness inbox refused or timed out connections, or cut bodies over its budget, "
                f"during {len(troubled)} test{'s' if len(troubled) != 1 else ''} (an attack or a flood?): "
                "a fail during one is inconclusive"
            )
        if self.test_only_signer and self.test_only_reason:
            reasons.append(f"the evidence signer cannot certify: {self.test_only_reason}")
        elif self.test_only_signer:
            reasons.append("the evidence is signed with a TEST ONLY key (no site key is configured)")
        return {"can_certify": not reasons, "reasons": reasons}

    def not_tested(self) -> list[str]:
        """MUST requirements no test of this run judged (not in this suite version, or not selected)."""
        rows = self.requirement_rows()
        return [row["id"] for row in rows if row["verdict"] == NOT_TESTED and row["level"] == "MUST"]

    @property
    def all_applicable_passed(self) -> bool:
        return RunSet.of(self).all_applicable_passed

    def counts(self) -> dict[str, int]:
        return verdict_counts(self.records)

    def test_rows(self) -> list[dict]:
        return [
            {
                "id": self.test_id(record),
                "profile": self.profile.title,
                "nodeid": test_id(record),
                "title": record.title,
                "requirements": [self.qualify(rid) for rid in record.requirements],
                "purposes": [self.qualify(pid) for pid in record.purposes],
                "verdict": record.verdict,
                "reason": record.reason,
                "expected": record.expected,
                "observed": record.observed,
                "failed_requirements": [self.qualify(rid) for rid in record.failed_requirements],
                "location": record.location,
                "description": record.description,
                "duration_s": round(record.duration_s, 4),
                "exchanges": [exchange.as_json() for exchange in record.exchanges],
                "received": [arrival_json(arrival) for arrival in record.arrivals],
                "notes": list(record.notes),
            }
            for record in self.records
        ]

    def summary(self) -> dict:
        """This profile's entry in results.json ``profiles``: its own verdict, counts and certification."""
        return {
            "key": self.profile.key,
            "title": self.profile.title,
            "run": True,
            "verdict": self.verdict,
            "counts": self.counts(),
            "interrupted": self.interrupted,
            "partial": self.partial,
            "not_tested": self.not_tested(),
            "certification": self.certification(),
            "sut": self.sut,
            "ics": self.ics,
            **{key: self.extra[key] for key in PROFILE_EXTRAS if key in self.extra},
        }

    def verdicts(self) -> dict:
        return RunSet.of(self).verdicts()

    def as_json(self) -> dict:
        return RunSet.of(self).as_json()


@dataclass
class RunSet:
    """A whole run: one part per profile run, one after another, and the profiles the candidate
    claims. Its verdict is conformant only when every claimed profile was run and is conformant; a
    claimed profile left out (``--profile`` chose others) leaves the run incomplete and unable to
    certify."""

    parts: list[RunResult]
    claimed: tuple[Profile, ...] = ()  # () = the profiles of the parts
    extra: dict = field(default_factory=dict)  # about the run as a whole (record, signer, since_previous)
    started: datetime | None = None
    finished: datetime | None = None
    stopped: str = ""  # why the run stopped between two profiles (each part says so for its own tests)

    @classmethod
    def of(cls, result: RunResult | RunSet) -> RunSet:
        """A run of one profile (its extras are the run's, as before runs covered several)."""
        if isinstance(result, RunSet):
            return result
        return cls([result], (result.profile,), result.extra, result.started, result.finished)

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """The profiles run, then those claimed and not run."""
        ran = tuple(part.profile for part in self.parts)
        return ran + tuple(p for p in self.claimed if p not in ran)

    @property
    def unrun(self) -> tuple[Profile, ...]:
        ran = {part.profile for part in self.parts}
        return tuple(p for p in self.claimed if p not in ran)

    @property
    def title(self) -> str:
        """``EFDX 1.0`` for one profile, ``EFDX 1.0 + RCPX 1.0`` for several (the profiles run)."""
        return " + ".join(p.title for p in (tuple(part.profile for part in self.parts) or self.claimed))

    @property
    def records(self) -> list[TestRecord]:
        return [record for part in self.parts for record in part.records]

    @property
    def test_only_signer(self) -> bool:
        return any(part.test_only_signer for part in self.parts)

    @test_only_signer.setter
    def test_only_signer(self, value: bool) -> None:
        for part in self.parts:
            part.test_only_signer = value

    @property
    def test_only_reason(self) -> str:
        return next((part.test_only_reason for part in self.parts if part.test_only_reason), "")

    @test_only_reason.setter
    def test_only_reason(self, value: str) -> None:
        for part in self.parts:
            part.test_only_reason = value

    @property
    def interrupted(self) -> bool:
        return bool(self.stopped) or any(part.interrupted for part in self.parts)

    @property
    def partial(self) -> bool:
        return bool(self.unrun) or any(part.partial for part in self.parts)

    @property
    def verdict(self) -> str:
        verdicts = [part.verdict for part in self.parts]
        if NOT_CONFORMANT in verdicts:
            return NOT_CONFORMANT
        if not verdicts or self.unrun or any(verdict != CONFORMANT for verdict in verdicts):
            return INCOMPLETE
        return CONFORMANT

    def certification(self) -> dict:
        reasons = [self.stopped] if self.stopped else []
        if self.unrun:
            titles = ", ".join(p.title for p in self.unrun)
            reasons.append(f"claimed profiles not run: {titles}")
        for part in self.parts:
            reasons += part.certification()["reasons"]
        return {"can_certify": not reasons, "reasons": _merged(reasons)}

    def not_tested(self) -> list[str]:
        return [rid for part in self.parts for rid in part.not_tested()]

    def requirement_rows(self) -> list[dict]:
        return [row for part in self.parts for row in part.requirement_rows()]

    @property
    def all_applicable_passed(self) -> bool:
        applicable = [record for record in self.records if record.verdict != NOT_APPLICABLE]
        return bool(applicable) and not self.interrupted and all(r.verdict == PASS for r in applicable)

    def counts(self) -> dict[str, int]:
        return verdict_counts(self.records)

    def profile_rows(self) -> list[dict]:
        """results.json ``profiles``: each profile run with its verdict, then each claimed one not run."""
        rows = [part.summary() for part in self.parts]
        for profile in self.unrun:
            rows.append(
                {
                    "key": profile.key,
                    "title": profile.title,
                    "run": False,
                    "verdict": INCOMPLETE,
                    "counts": {},
                    "certification": {"can_certify": False, "reasons": ["claimed and not run"]},
                }
            )
        return rows

    def verdicts(self) -> dict:
        """The run's, its profiles', requirements' and tests' verdicts only: what two runs are compared
        on (without serializing every exchange again, as ``as_json`` does)."""
        return {
            "verdict": self.verdict,
            "sut": self._sut(),
            "record": self.extra.get("record", {}),
            "profiles": [
                {"title": row["title"], "verdict": row["verdict"], "run": row["run"]}
                for row in self.profile_rows()
            ],
            "requirements": self.requirement_rows(),
            "tests": [
                {"id": part.test_id(record), "verdict": record.verdict}
                for part in self.parts
                for record in part.records
            ],
        }

    def _sut(self) -> dict:
        if len(self.parts) == 1:
            return self.parts[0].sut
        first = self.parts[0].sut if self.parts else {}
        return {**first, "urls": {part.profile.title: part.sut.get("url") for part in self.parts}}

    def _ics(self) -> dict:
        ics = dict(self.parts[0].ics) if self.parts else {}
        if len(self.parts) > 1:
            ics["capabilities"] = sorted({c for part in self.parts for c in part.ics.get("capabilities", ())})
        ics["profiles"] = [p.title for p in (self.claimed or self.profiles)]
        return ics

    def _part_extras(self) -> dict:
        """One profile's extras are the run's; several profiles' notes, each qualified by its profile."""
        if len(self.parts) == 1:
            return {key: self.parts[0].extra[key] for key in PROFILE_EXTRAS if key in self.parts[0].extra}
        notes = [f"{part.profile.title}: {part.extra['note']}" for part in self.parts if "note" in part.extra]
        return {"note": "; ".join(notes)} if notes else {}

    def period(self) -> tuple[datetime, datetime]:
        """When the run started and finished (its first part's start, its last part's end)."""
        started = self.started or min(part.started for part in self.parts)
        return started, self.finished or max((part.finished for part in self.parts), default=started)

    def as_json(self) -> dict:
        started, finished = self.period()
        return {
            "profile": self.title,
            "profiles": self.profile_rows(),
            "harness_version": __version__,
            "sut": self._sut(),
            "ics": self._ics(),
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "partial": self.partial,
            "not_tested": self.not_tested(),
            "certification": self.certification(),
            "tests": [row for part in self.parts for row in part.test_rows()],
            "requirements": self.requirement_rows(),
            "purposes": [row for part in self.parts for row in part.purpose_rows()],
            "purpose_gaps": [gap for part in self.parts for gap in part.purpose_gaps],
            **self._part_extras(),
            **self.extra,
        }


def verdict_counts(records: list[TestRecord]) -> dict[str, int]:
    """How many tests got each verdict, in the order the verdicts first came."""
    return dict(Counter(record.verdict for record in records))


UNRUN_REASON = "MUST requirements not applicable or not run: "
UNDECLARED_REASON = "clauses not observable over the wire and not stated in candidate.declarations: "


def _merged(reasons: list[str]) -> list[str]:
    """Each reason once, in order; the profiles' unrun requirements (and undeclared clauses) on one
    line where the first was."""
    listed = {
        prefix: [reason.removeprefix(prefix) for reason in reasons if reason.startswith(prefix)]
        for prefix in (UNRUN_REASON, UNDECLARED_REASON)
    }
    merged: list[str] = []
    for reason in reasons:
        for prefix, items in listed.items():
            if reason.startswith(prefix):
                reason = f"{prefix}{', '.join(items)}"
        if reason not in merged:
            merged.append(reason)
    return merged


def test_id(record: TestRecord) -> str:
    """``test_single_messages.py::test_single_message[m06-tampered-header]`` (relative to the suite)."""
    return record.nodeid


def arrival_json(arrival) -> dict:
    return {
        "received_at": arrival.received_at.isoformat(),
        "answered": arrival.answered,
        "codes": arrival.judgement.codes,
        "content_type": arrival.content_type,
        "size": arrival.size,
        "body": arrival.body[: 64 * 1024].decode("utf-8", errors="replace"),
    }


def write_json(result: RunResult | RunSet, path: Path) -> dict:
    data = RunSet.of(result).as_json()
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return data


_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (a hostile answer's NULs and controls)."""
    return _NOT_XML.sub("\ufffd", text)


# JUnit has pass, failure, error and skipped. An inconclusive test is no pass: it becomes an error
# (with its reason), so that CI that reads only JUnit never shows a run that cannot conclude as green.
_JUNIT_ELEMENT = {"fail": "failure", "error": "error", "inconclusive": "error", "not-applicable": "skipped"}


def write_junit(result: RunResult | RunSet, path: Path) -> None:
    """One testsuite per profile run, of one testcase per test, valid against the common JUnit schema
    (Jenkins xunit's junit-10.xsd): the profile's verdict, the run's, and each requirement's verdict
    (qualified: ``requirement EFDX 1.0 M-06``) as suite properties; a test's qualified requirements
    and purposes in its system-out; its classname starts with the profile's key (``efdx/test_x``);
    fail as failure, error and inconclusive as error, not-applicable as skipped."""
    run = RunSet.of(result)
    run_verdict_value = run.verdict
    root = etree.Element("testsuites", name="conformance")
    for part in run.parts:
        counts = part.counts()
        suite = etree.SubElement(
            root,
            "testsuite",
            name=f"{part.profile.title} conformance",
            tests=str(len(part.records)),
            failures=str(counts.get("fail", 0)),
            errors=str(counts.get("error", 0) + counts.get("inconclusive", 0)),
            skipped=str(counts.get("not-applicable", 0)),
            time=f"{(part.finished - part.started).total_seconds():.3f}",
            timestamp=part.started.isoformat(),
        )
        properties = etree.SubElement(suite, "properties")
        for name, value in (
            ("profile", part.profile.title),
            ("profile_key", part.profile.key),
            ("verdict", part.verdict),
            ("run_verdict", run_verdict_value),
            ("run_profiles", run.title),
            ("harness_version", __version__),
        ):
            etree.SubElement(properties, "property", name=name, value=value)
        for row in part.requirement_rows():
            etree.SubElement(properties, "property", name=f"requirement {row['id']}", value=row["verdict"])
        for record in part.records:
            module, _, name = part.test_id(record).partition("::")
            case = etree.SubElement(
                suite,
                "testcase",
                classname=module.removesuffix(".py"),
                name=name,
                time=f"{record.duration_s:.3f}",
            )
            element = _JUNIT_ELEMENT.get(record.verdict)
            if element:
                reason = xml_text(f"{record.verdict}: {record.reason}")
                etree.SubElement(case, element, type=record.verdict, message=reason[:1000]).text = reason
            requirements = ", ".join(part.qualify(rid) for rid in record.requirements)
            described = [f"verdict: {record.verdict}", f"requirements: {requirements}"]
            if record.purposes:
                described.append(f"purposes: {', '.join(part.qualify(pid) for pid in record.purposes)}")
            etree.SubElement(case, "system-out").text = "\n".join(described)
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


# CTRF statuses: a test that did not pass and was not not-applicable is "failed", so that a CI report
# never shows green for a run that failed or could not conclude; the harness's verdict stays in extra.
_CTRF_STATUS = {"pass": "passed", "not-applicable": "skipped"}
CTRF_SPEC_VERSION = "0.0.0"


def write_ctrf(result: RunResult | RunSet, path: Path) -> dict:
    """ctrf.json, the Common Test Report Format that GitHub and GitLab report actions read."""
    run = RunSet.of(result)
    tests = [
        {
            "name": part.test_id(record),
            "status": _CTRF_STATUS.get(record.verdict, "failed"),
            "duration": round(record.duration_s * 1000),
            **({"message": record.reason} if record.reason else {}),
            "suite": [part.test_id(record).partition("::")[0]],
            "tags": [part.qualify(rid) for rid in record.requirements],
            "extra": {
                "verdict": record.verdict,
                "profile": part.profile.title,
                "purposes": [part.qualify(pid) for pid in record.purposes],
            },
        }
        for part in run.parts
        for record in part.records
    ]
    statuses = [test["status"] for test in tests]
    started, finished = run.period()
    document = {
        "reportFormat": "CTRF",
        "specVersion": CTRF_SPEC_VERSION,
        "timestamp": finished.isoformat(),
        "generatedBy": f"conformance {__version__}",
        "results": {
            "tool": {"name": "conformance", "version": __version__},
            "summary": {
                "tests": len(tests),
                "passed": statuses.count("passed"),
                "failed": statuses.count("failed"),
                "pending": 0,
                "skipped": statuses.count("skipped"),
                "other": 0,
                "start": round(started.timestamp() * 1000),
                "stop": round(finished.timestamp() * 1000),
            },
            "tests": tests,
            "extra": {
                "profile": run.title,
                "verdict": run.verdict,
                "profiles": [
                    {"title": row["title"], "verdict": row["verdict"]} for row in run.profile_rows()
                ],
            },
        },
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return document
