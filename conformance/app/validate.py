"""The offline validator: judge message files as the receiving NSW would, one verdict per file.

Business rules are judged statelessly (no history: BR-11, BR-14 and BR-15 need a sequence of
messages and belong to the conformance suite). Files are read no further than the 5 MiB cap
needs, so a huge file is refused as T-04 without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from conformance.profiles.efdx.codes import MAX_BODY_BYTES
from conformance.profiles.efdx.judge import Judgement, Receiver
from conformance.profiles.efdx.pki import TestPki


@dataclass
class FileResult:
    file: str
    valid: bool
    codes: list[str] = field(default_factory=list)
    detail: str = ""
    error: str | None = None

    def as_json(self) -> dict:
        result = {"file": self.file, "valid": self.valid, "codes": self.codes}
        if self.error:
            result["error"] = self.error
        return result

    def line(self) -> str:
        if self.error:
            return f"{self.file}: error: {self.error}"
        verdict = "valid" if self.valid else "invalid " + " ".join(self.codes)
        return f"{self.file}: {verdict}" + (f" ({self.detail})" if self.detail else "")


def _read_capped(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_BODY_BYTES + 1)


def _describe(judgement: Judgement) -> str:
    if judgement.violation:
        return str(judgement.violation)
    if judgement.findings:
        return "; ".join(str(finding) for finding in judgement.findings)
    header = judgement.header
    status = f", {judgement.status}" if judgement.status else ""
    return f"{header.action} {header.message_id} from {header.sender}{status}"


def validate_files(paths: list[Path], *, receiver: str, at: datetime | None = None) -> list[FileResult]:
    judge = Receiver(receiver, TestPki.load().trust_store())
    results = []
    for path in paths:
        try:
            body = _read_capped(path)
        except OSError as exc:
            results.append(FileResult(str(path), False, error=exc.strerror or str(exc)))
            continue
        judgement = judge.judge(body, at=at)
        results.append(FileResult(str(path), not judgement.codes, judgement.codes, _describe(judgement)))
    return results
