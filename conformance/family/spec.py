"""One requirement or test purpose as a pack's spec and catalogue say it (`conformance spec ID`), for
any pack of the family: its catalogue, its shipped spec file, and where a requirement's normative
wording lives when that is not the file itself (RCPX's T/M/A rows are EFDX section 5's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conformance.core.catalogue import Catalogue


def _shipped_as(path: Path) -> str:
    """The spec file as the package names it (from ``conformance/`` on: ``.../spec/EFDX-1.0.md``), not as
    this machine's path: reports that quote it are read on other machines."""
    parts = path.parts
    return "/".join(parts[parts.index("conformance") :]) if "conformance" in parts else path.name


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
