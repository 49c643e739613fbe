"""The profile's normative text, shipped in the package (``spec/EFDX-1.0.md``): a user's clone or
wheel has the specification it is judged against, and `conformance spec ID` prints a requirement
with its test purposes without anyone opening the file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from conformance.profiles.efdx.catalogue import requirement
from conformance.profiles.efdx.purposes import of_requirement, purpose

SPEC_FILE = "EFDX-1.0.md"


def spec_path() -> Path:
    return Path(str(resources.files("conformance.profiles.efdx") / "spec" / SPEC_FILE))


def spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def describe(item_id: str) -> str:
    """A requirement (``M-10``) or a test purpose (``M-10/revoked``) as the spec and catalogue say it."""
    if "/" in item_id:
        found = purpose(item_id)
        req = requirement(found.requirement)
        return f"{found.id}  ({req.id} {req.level}: {req.title})\n  {found.clause}"
    req = requirement(item_id)
    lines = [f"{req.id}  {req.level}  {req.title}", f"  {req.text}"]
    if req.http_status or req.error_code:
        lines.append(f"  on violation: HTTP {req.http_status or '-'}, code {req.error_code or '-'}")
    lines.append("  test purposes:")
    lines += [f"    {item.id}  {item.clause}" for item in of_requirement(req.id)]
    lines.append(f"  (the whole text: {spec_path()})")
    return "\n".join(lines)
