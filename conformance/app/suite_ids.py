"""The test IDs of an installed profile's suite, listed without running anything.

``--rerun-failed DIR`` reads test IDs from a results.json that may come from anywhere: only an ID
that names a test of the installed suite is run (DESIGN.md: untrusted input is never executed).
The suite's modules are read with ``ast`` (a ``from x import *`` of another installed module is
followed), never imported, so listing them runs no code.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

MAX_STAR_DEPTH = 4


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _names(file: Path, package: str, depth: int = 0) -> set[str]:
    """The test functions (``test_x``) and test methods (``TestX::test_y``) a module defines or
    imports by name or by ``*``."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                    found.add(f"{node.name}::{item.name}")
        elif isinstance(node, ast.Assign):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name) and t.id.startswith("test")}
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*" and depth < MAX_STAR_DEPTH:
                    base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                    module = ".".join(part for part in (base, node.module or "") if part)
                    source = _module_file(module)
                    if source is not None:
                        found |= _names(source, module.rpartition(".")[0], depth + 1)
                elif (alias.asname or alias.name).startswith("test"):
                    found.add(alias.asname or alias.name)
    return found


def suite_tests(suite_package: str) -> frozenset[str]:
    """Every test ID (``test_file.py::test_name``, without parameters) of the installed suite."""
    try:
        spec = importlib.util.find_spec(suite_package)
    except (ImportError, ValueError):
        return frozenset()
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    ids: set[str] = set()
    for location in spec.submodule_search_locations:
        for file in sorted(Path(location).glob("test_*.py")):
            ids |= {f"{file.name}::{name}" for name in _names(file, suite_package)}
    return frozenset(ids)


def is_suite_test(test_id: str, known: frozenset[str]) -> bool:
    """Whether ``test_id`` (relative to the suite, maybe with ``[parameters]``) names a listed test."""
    head, bracket, rest = test_id.partition("[")
    if bracket and not rest.endswith("]"):
        return False
    return head in known
