"""The profile's normative text, shipped in the package (``spec/EFDX-1.0.md``): a user's clone or
wheel has the specification it is judged against, and `conformance spec ID` prints a requirement
with its test purposes without anyone opening the file."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from conformance.core.catalogue import Catalogue
from conformance.profiles.efdx.catalogue import catalogue

SPEC_FILE = "EFDX-1.0.md"


def spec_path() -> Path:
    return Path(str(resources.files("conformance.profiles.efdx") / "spec" / SPEC_FILE))


def spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def clause_trace() -> bytes:
    """``trace.toml``: each clause of the spec that is no requirement row, traced to its purposes."""
    return (resources.files("conformance.profiles.efdx") / "trace.toml").read_bytes()


def _shipped_as(path: Path) -> str:
    """The spec file as the package names it (``conformance/profiles/efdx/spec/EFDX-1.0.md``), not as
    this machine's path: reports that quote it are read on other machines."""
    parts = path.parts
    return "/".join(parts[parts.index("conformance") :]) if "conformance" in parts else path.name


def describe(item_id: str) -> str:
    """A requirement (``M-10``) or a test purpose (``M-10/revoked``) as the spec and catalogue say it."""
    return describe_in(catalogue(), item_id, spec_path())


def describe_in(
    found_in: Catalogue, item_id: str, path: Path, source: Callable[[str], str] | None = None
) -> str:
    """``describe`` for any pack of the family: its catalogue, its shipped spec file, and where a
    requirement's normative wording lives when that is not the file itself (RCPX's T/M/A rows)."""
    if "/" in item_id:
        found = found_in.purpose(item_id)
        req = found_in.requirement(found.requirement)
        text = f"{found.id}  ({req.id} {req.level}: {req.title})\n  {found.clause}"
        return text + (f"\n  what to do: {found.remedy}" if found.remedy else "")
    req = found_in.requirement(item_id)
    lines = [f"{req.id}  {req.level}  {req.title}", f"  {req.text}"]
    if source is not None:
        lines.append(f"  from: {source(req.id)}")
    if req.http_status or req.error_code:
        lines.append(f"  on violation: HTTP {req.http_status or '-'}, code {req.error_code or '-'}")
    lines.append("  test purposes:")
    for item in found_in.of_requirement(req.id):
        lines.append(f"    {item.id}  {item.clause}")
        lines += [f"      what to do: {item.remedy}"] if item.remedy else []
    lines.append(f"  (the whole text: `conformance spec`, or {_shipped_as(path)})")
    return "\n".join(lines)
