"""The profile's normative text, shipped in the package (``spec/RCPX-1.0.md``), and one requirement
or test purpose as the spec and the catalogue say it (`conformance spec ID`).

RCPX is written as a difference from EFDX 1.0: its T-, M- and A- requirements are EFDX section 5's
rows with RCPX names, so their text comes from the catalogue (which holds them so substituted) and
says where the normative wording lives; the RBR- rules are RCPX section 3's own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from conformance.family.spec import describe_in
from conformance.profiles.rcpx.catalogue import catalogue, requirement

SPEC_FILE = "RCPX-1.0.md"


def spec_path() -> Path:
    return Path(str(resources.files("conformance.profiles.rcpx") / "spec" / SPEC_FILE))


def spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def clause_trace() -> bytes:
    """``trace.toml``: each clause of RCPX's own text that is no rule row, traced to its purposes."""
    return (resources.files("conformance.profiles.rcpx") / "trace.toml").read_bytes()


def source(requirement_id: str) -> str:
    """Where the requirement's normative wording is: RCPX section 3, or EFDX section 5 with RCPX names."""
    if requirement(requirement_id).layer == "RBR":
        return "RCPX 1.0 section 3"
    return "EFDX 1.0 section 5, with RCPX names (RCPX 1.0 section 1)"


def describe(item_id: str) -> str:
    """A requirement (``M-10``, ``RBR-03``) or a test purpose (``RBR-03/rvc-below-40``) in words."""
    return describe_in(catalogue(), item_id, spec_path(), source)
