"""The profile's normative text, shipped in the package (``spec/RCPX-1.0.md``), and one requirement
or test purpose as the spec and the catalogue say it (`conformance spec ID`).

RCPX is written as a difference from EFDX 1.0: its T-, M- and A- requirements are EFDX section 5's
rows with RCPX names, so their text comes from the catalogue (which holds them so substituted) and
says where the normative wording lives; the RBR- rules are RCPX section 3's own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from conformance.profiles.rcpx.catalogue import of_requirement, purpose, requirement

SPEC_FILE = "RCPX-1.0.md"


def spec_path() -> Path:
    return Path(str(resources.files("conformance.profiles.rcpx") / "spec" / SPEC_FILE))


def spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def source(requirement_id: str) -> str:
    """Where the requirement's normative wording is: RCPX section 3, or EFDX section 5 with RCPX names."""
    if requirement(requirement_id).layer == "RBR":
        return "RCPX 1.0 section 3"
    return "EFDX 1.0 section 5, with RCPX names (RCPX 1.0 section 1)"


def describe(item_id: str) -> str:
    """A requirement (``M-10``, ``RBR-03``) or a test purpose (``RBR-03/rvc-below-40``) in words."""
    if "/" in item_id:
        found = purpose(item_id)
        req = requirement(found.requirement)
        return f"{found.id}  ({req.id} {req.level}: {req.title})\n  {found.clause}"
    req = requirement(item_id)
    lines = [f"{req.id}  {req.level}  {req.title}", f"  {req.text}", f"  from: {source(req.id)}"]
    if req.http_status or req.error_code:
        lines.append(f"  on violation: HTTP {req.http_status or '-'}, code {req.error_code or '-'}")
    lines.append("  test purposes:")
    lines += [f"    {item.id}  {item.clause}" for item in of_requirement(req.id)]
    lines.append(f"  (the whole text: {spec_path()})")
    return "\n".join(lines)
