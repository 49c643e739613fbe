"""The run's results as data (results.json, DESIGN.md's contract) and as JUnit XML."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from conformance import __version__
from conformance.core.verdicts import NOT_APPLICABLE, PASS, run_verdict, worst
from conformance.harness import TestRecord
from conformance.profile.catalogue import requirements
from conformance.profile.purposes import purposes

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

    def requirement_rows(self) -> list[dict]:
        rows = []
        for req in requirements():
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
        for item in purposes():
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

    def as_json(self) -> dict:
        return {
            "profile": "EFDX 1.0",
            "harness_version": __version__,
            "sut": self.sut,
            "ics": self.ics,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "partial": self.partial,
            "not_tested": self.not_tested(),
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
                    "duration_s": round(record.duration_s, 4),
                    "exchanges": [exchange.as_json() for exchange in record.exchanges],
                    "received": [arrival_json(arrival) for arrival in record.arrivals],
                    "notes": list(record.notes),
                }
                for record in self.records
            ],
            "requirements": self.requirement_rows(),
            "purposes": self.purpose_rows(),
            "purpose_gaps": purpose_gaps(),
            **self.extra,
        }


def purpose_gaps() -> list[dict]:
    """Test purposes of this suite version with no test, or no seeded fault proving their tests."""
    from conformance import coverage

    return [{"id": row.purpose.id, "gap": row.gap} for row in coverage.gaps()]


def test_id(record: TestRecord) -> str:
    """``test_single_messages.py::test_single_message[m06-tampered-header]`` (relative to the suite)."""
    return record.nodeid


def arrival_json(arrival) -> dict:
    return {
        "received_at": arrival.received_at.isoformat(),
        "answered": arrival.answered,
        "codes": arrival.judgement.codes,
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


def write_junit(result: RunResult, path: Path) -> None:
    """One testcase per test, its requirement IDs as properties; fail, error, skipped as JUnit has them."""
    counts = result.counts()
    suite = etree.Element(
        "testsuite",
        name="EFDX 1.0 conformance",
        tests=str(len(result.records)),
        failures=str(counts.get("fail", 0)),
        errors=str(counts.get("error", 0)),
        skipped=str(counts.get("not-applicable", 0) + counts.get("inconclusive", 0)),
        timestamp=result.started.isoformat(),
    )
    for record in result.records:
        module, _, name = test_id(record).partition("::")
        case = etree.SubElement(
            suite,
            "testcase",
            classname=module.removesuffix(".py"),
            name=name,
            time=f"{record.duration_s:.3f}",
        )
        properties = etree.SubElement(case, "properties")
        for rid in record.requirements:
            etree.SubElement(properties, "property", name="requirement", value=rid)
        etree.SubElement(properties, "property", name="verdict", value=record.verdict)
        if record.verdict == "fail":
            etree.SubElement(case, "failure", message=xml_text(record.reason[:1000])).text = xml_text(
                record.reason
            )
        elif record.verdict == "error":
            etree.SubElement(case, "error", message=xml_text(record.reason[:1000])).text = xml_text(
                record.reason
            )
        elif record.verdict in ("not-applicable", "inconclusive"):
            etree.SubElement(case, "skipped", message=xml_text(f"{record.verdict}: {record.reason}"[:1000]))
    tree = etree.ElementTree(etree.Element("testsuites"))
    tree.getroot().append(suite)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
