"""The offline validator: judge message files as the receiving NSW would, one verdict per file.

Which profile judges a file is told from its namespace (the first namespace URI in its first 64 KiB
that a pack claims), unless ``--profile`` says; a file no pack claims is judged by the default
profile, which then names what is wrong with it. The judging itself is the pack's (its receiver's
pipeline, rules judged statelessly). Files are read no further than the 5 MiB cap needs, so a huge
file is refused as T-04 without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from conformance.core.policy import MAX_BODY_BYTES
from conformance.core.profile import Profile
from conformance.harness import registry


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


def profile_of(body: bytes) -> Profile:
    """The installed profile whose namespace the message uses first; the default one otherwise.

    A byte search, not a parse: the file is untrusted and the chosen pack's judge parses it safely."""
    head = body[:65536]
    found = [
        (head.find(namespace.encode()), profile)
        for profile in registry.installed().values()
        for namespace in profile.namespaces
        if namespace.encode() in head
    ]
    return min(found, key=lambda item: item[0])[1] if found else registry.default()


def validate_files(
    paths: list[Path], *, receiver: str, at: datetime | None = None, profile: Profile | None = None
) -> list[FileResult]:
    judges: dict[str, object] = {}
    results = []
    for path in paths:
        try:
            body = _read_capped(path)
        except OSError as exc:
            results.append(FileResult(str(path), False, error=exc.strerror or str(exc)))
            continue
        chosen = profile or profile_of(body)
        if chosen.key not in judges:
            judges[chosen.key] = chosen.validator(receiver)
        codes, detail = judges[chosen.key](body, at)  # type: ignore[operator]
        results.append(FileResult(str(path), not codes, codes, detail))
    return results
