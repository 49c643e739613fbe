"""The run's results as data (results.json, DESIGN.md's contract) and as JUnit XML."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from conformance import __version__
from conformance.core.profile import Profile
from conformance.core.verdicts import NOT_APPLICABLE, PASS, run_verdict, worst
from conformance.harness import registry
from conformance.harness.session import TestRecord

NOT_TESTED = "not-tested"


@dataclass
class RunResult:
    """Everything a report says about one run."""

    sut: dict
    ics: dict
    started: datetime
    finished: datetime
    records: list[TestRecord]
    interrupted: bool = False
    partial: bool = False  # a subset was selected (--requirement, --layer, -k) or --maxfail stopped it
    extra: dict = field(default_factory=dict)
    test_only_signer: bool = True  # the evidence is signed with a TEST ONLY key (no site key yet)
    profile: Profile = field(default_factory=registry.default)

    def requirement_rows(self) -> list[dict]:
        rows = []
        for req in self.profile.catalogue().requirements():
            judged = [(record, record.verdict_for(req.id)) for record in self.records]
            judged = [(record, verdict) for record, verdict in judged if verdict is not None]
            tests = [record for record, _ in judged]
            verdict = worst(verdict for _, verdict in judged) if judged else self._untested(req)
            rows.append(
                {
                    "id": req.id,
                    "title": req.title,
                    "level": req.level,
                    "layer": req.layer,
                    "verdict": verdict,
                    "tests": [test_id(record) for record in tests],
                }
            )
        return rows

    def purpose_rows(self) -> list[dict]:
        """Each test purpose with the tests of this run that covered it and their worst verdict on it."""
        rows = []
        for item in self.profile.catalogue().purposes():
            judged = [
                (record, record.verdict_for(item.requirement))
                for record in self.records
                if item.id in record.purposes
            ]
            judged = [(record, verdict) for record, verdict in judged if verdict is not None]
            rows.append(
                {
                    "id": item.id,
                    "requirement": item.requirement,
                    "clause": item.clause,
                    "verdict": worst(verdict for _, verdict in judged) if judged else NOT_TESTED,
                    "tests": [test_id(record) for record, _ in judged],
                }
            )
        return rows

    def _untested(self, req) -> str:
        """No test judged it: not-applicable when the ICS does not claim its capability or role."""
        capabilities, roles = self.ics.get("capabilities"), self.ics.get("roles")
        if req.capability and capabilities is not None and req.capability not in capabilities:
            return NOT_APPLICABLE
        if req.role and roles is not None and req.role not in roles:
            return NOT_APPLICABLE
        return NOT_TESTED

    @property
    def verdict(self) -> str:
        """Over the requirements this suite version tests; a partial run can't be conformant."""
        rows = self.requirement_rows()
        judged = {
            row["id"]: row["verdict"] for row in rows if row["verdict"] not in (NOT_TESTED, NOT_APPLICABLE)
        }
        levels = {row["id"]: row["level"] for row in rows}
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
            req.id
            for req, row in zip(self.profile.catalogue().requirements(), self.requirement_rows(), strict=True)
            if req.mandatory
            and row["verdict"] in (NOT_TESTED, NOT_APPLICABLE)
            and not (req.capability and req.capability not in capabilities)
        ]
        if unrun and not self.partial:  # a subset says so above
            reasons.append(f"MUST requirements not applicable or not run: {', '.join(unrun)}")
        if self.test_only_signer:
            reasons.append("the evidence is signed with a TEST ONLY key (no site key is configured)")
        return {"can_certify": not reasons, "reasons": reasons}

    def not_tested(self) -> list[str]:
        """MUST requirements no test of this run judged (not in this suite version, or not selected)."""
        rows = self.requirement_rows()
        return [row["id"] for row in rows if row["verdict"] == NOT_TESTED and row["level"] == "MUST"]

    @property
    def all_applicable_passed(self) -> bool:
        applicable = [record for record in self.records if record.verdict != NOT_APPLICABLE]
        return bool(applicable) and not self.interrupted and all(r.verdict == PASS for r in applicable)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.verdict] = counts.get(record.verdict, 0) + 1
        return counts

    def verdicts(self) -> dict:
        """The run's, its requirements' and its tests' verdicts only: what two runs are compared on
        (without serializing every exchange again, as ``as_json`` does)."""
        return {
            "verdict": self.verdict,
            "requirements": self.requirement_rows(),
            "tests": [{"id": test_id(record), "verdict": record.verdict} for record in self.records],
        }

    def as_json(self) -> dict:
        return {
            "profile": self.profile.title,
            "harness_version": __version__,
            "sut": self.sut,
            "ics": self.ics,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "partial": self.partial,
            "not_tested": self.not_tested(),
            "certification": self.certification(),
            "tests": [
                {
                    "id": test_id(record),
                    "title": record.title,
                    "requirements": list(record.requirements),
                    "purposes": list(record.purposes),
                    "verdict": record.verdict,
                    "reason": record.reason,
                    "expected": record.expected,
                    "observed": record.observed,
                    "failed_requirements": list(record.failed_requirements),
                    "location": record.location,
                    "description": record.description,
                    "duration_s": round(record.duration_s, 4),
                    "exchanges": [exchange.as_json() for exchange in record.exchanges],
                    "received": [arrival_json(arrival) for arrival in record.arrivals],
                    "notes": list(record.notes),
                }
                for record in self.records
            ],
            "requirements": self.requirement_rows(),
            "purposes": self.purpose_rows(),
            "purpose_gaps": purpose_gaps(self.profile),
            **self.extra,
        }


def purpose_gaps(profile: Profile) -> list[dict]:
    """Test purposes of this suite version with no test, or no seeded fault proving their tests."""
    from conformance.app import coverage

    return [{"id": row.purpose.id, "gap": row.gap} for row in coverage.gaps(profile)]


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


def write_json(result: RunResult, path: Path) -> dict:
    data = result.as_json()
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return data


_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (a hostile answer's NULs and controls)."""
    return _NOT_XML.sub("\ufffd", text)


# JUnit has pass, failure, error and skipped. An inconclusive test is no pass: it becomes an error
# (with its reason), so that CI that reads only JUnit never shows a run that cannot conclude as green.
_JUNIT_ELEMENT = {"fail": "failure", "error": "error", "inconclusive": "error", "not-applicable": "skipped"}


def write_junit(result: RunResult, path: Path) -> None:
    """One testsuite of one testcase per test, valid against the common JUnit schema (Jenkins xunit's
    junit-10.xsd): the run's verdict and each requirement's verdict as suite properties; a test's
    requirements and purposes in its system-out; fail as failure, error and inconclusive as error,
    not-applicable as skipped."""
    counts = result.counts()
    data_verdict = result.verdict
    suite = etree.Element(
        "testsuite",
        name=f"{result.profile.title} conformance",
        tests=str(len(result.records)),
        failures=str(counts.get("fail", 0)),
        errors=str(counts.get("error", 0) + counts.get("inconclusive", 0)),
        skipped=str(counts.get("not-applicable", 0)),
        time=f"{(result.finished - result.started).total_seconds():.3f}",
        timestamp=result.started.isoformat(),
    )
    properties = etree.SubElement(suite, "properties")
    for name, value in (
        ("profile", result.profile.title),
        ("verdict", data_verdict),
        ("harness_version", __version__),
    ):
        etree.SubElement(properties, "property", name=name, value=value)
    for row in result.requirement_rows():
        etree.SubElement(properties, "property", name=f"requirement {row['id']}", value=row["verdict"])
    for record in result.records:
        module, _, name = test_id(record).partition("::")
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
        described = [f"verdict: {record.verdict}", f"requirements: {', '.join(record.requirements)}"]
        if record.purposes:
            described.append(f"purposes: {', '.join(record.purposes)}")
        etree.SubElement(case, "system-out").text = "\n".join(described)
    tree = etree.ElementTree(etree.Element("testsuites"))
    tree.getroot().append(suite)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


# CTRF statuses: a test that did not pass and was not not-applicable is "failed", so that a CI report
# never shows green for a run that failed or could not conclude; the harness's verdict stays in extra.
_CTRF_STATUS = {"pass": "passed", "not-applicable": "skipped"}
CTRF_SPEC_VERSION = "0.0.0"


def write_ctrf(result: RunResult, path: Path) -> dict:
    """ctrf.json, the Common Test Report Format that GitHub and GitLab report actions read."""
    tests = [
        {
            "name": test_id(record),
            "status": _CTRF_STATUS.get(record.verdict, "failed"),
            "duration": round(record.duration_s * 1000),
            **({"message": record.reason} if record.reason else {}),
            "suite": [test_id(record).partition("::")[0]],
            "tags": list(record.requirements),
            "extra": {"verdict": record.verdict, "purposes": list(record.purposes)},
        }
        for record in result.records
    ]
    statuses = [test["status"] for test in tests]
    document = {
        "reportFormat": "CTRF",
        "specVersion": CTRF_SPEC_VERSION,
        "timestamp": result.finished.isoformat(),
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
                "start": round(result.started.timestamp() * 1000),
                "stop": round(result.finished.timestamp() * 1000),
            },
            "tests": tests,
            "extra": {"profile": result.profile.title, "verdict": result.verdict},
        },
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return document
