"""The profile's normative text, shipped in the package (``spec/EFDX-1.0.md``): a user's clone or
wheel has the specification it is judged against, and `conformance spec ID` prints a requirement
with its test purposes without anyone opening the file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from conformance.family.spec import describe_in
from conformance.profiles.efdx.catalogue import catalogue

SPEC_FILE = "EFDX-1.0.md"


def spec_path() -> Path:
    return Path(str(resources.files("conformance.profiles.efdx") / "spec" / SPEC_FILE))


def spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def clause_trace() -> bytes:
    """``trace.toml``: each clause of the spec that is no requirement row, traced to its purposes."""
    return (resources.files("conformance.profiles.efdx") / "trace.toml").read_bytes()


def describe(item_id: str) -> str:
    """A requirement (``M-10``) or a test purpose (``M-10/revoked``) as the spec and catalogue say it."""
    return describe_in(catalogue(), item_id, spec_path())
