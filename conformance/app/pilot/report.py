"""The pilot's result on the terminal (a plain-text table: works in a pipe) and in results.json
(``kind`` pilot, a ``pilot`` block), in a new report folder. The top-level ``verdict`` keeps its
contract values: a pilot certifies nobody, so it is ``not-conformant`` when a party broke a
requirement in the pilot's traffic and ``incomplete`` otherwise; the pairs' verdicts are in
``pilot.pairs``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from conformance import __version__
from conformance.core.terminal_text import printable
from conformance.core.verdicts import INCOMPLETE, NOT_CONFORMANT
from conformance.results import safe_write

from .matrix import COLUMNS, Matrix

_HEADS = {
    "messages": "msgs",
    "retries": "retries",
    "disagreements": "disagree",
    "invalid": "invalid",
    "lost": "lost",
    "late": "late",
    "duplicates": "dupl",
}


def print_matrix(matrix: Matrix, qualify: Callable[[str], str], out: TextIO) -> None:
    heads = [_HEADS[c] for c in COLUMNS]
    kind_width = max([len("kind"), *(len(k) for kinds in matrix.cells.values() for k in kinds)])
    print(
        f"{'sender -> receiver':<19} {'kind':<{kind_width}} " + " ".join(f"{h:>8}" for h in heads), file=out
    )
    for pair in matrix.pairs:
        for kind, counts in sorted(matrix.cells.get(pair, {}).items()):
            row = " ".join(f"{counts[c]:>8}" for c in COLUMNS)
            print(f"{pair[0] + ' -> ' + pair[1]:<19} {printable(kind):<{kind_width}} {row}", file=out)
    print("", file=out)
    for pair in matrix.pairs:
        verdict = matrix.verdicts[pair]
        why = "; ".join(printable(r) for r in matrix.reasons[pair])
        print(f"{pair[0]} -> {pair[1]}  {verdict}{'  ' + why if why else ''}", file=out)
    print("", file=out)
    for party, roles in matrix.broke.items():
        said = "; ".join(
            f"as {role}: {', '.join(qualify(r) for r in rids) if rids else 'nothing broken'}"
            for role, rids in roles.items()
        )
        print(f"{party}  {said}", file=out)
    for finding in matrix.findings:
        relays = ", ".join(str(e["relay"]) for e in finding.evidence)
        print(
            f"  {finding.party} as {finding.role} broke {qualify(finding.requirement)} "
            f"({finding.pair[0]} -> {finding.pair[1]} {printable(finding.kind)}, {finding.category}): "
            f"{printable(finding.text)} [relays {relays}]",
            file=out,
        )


def new_folder(report_dir: Path, started: datetime) -> Path:
    """A new folder under ``report_dir`` named by the start, ``-pilot`` after it (``-2``... if taken)."""
    name = started.strftime("%Y%m%dT%H%M%SZ") + "-pilot"
    folder, number = report_dir / name, 2
    while folder.exists() or folder.is_symlink():
        folder, number = report_dir / f"{name}-{number}", number + 1
    return folder


def write_results(folder: Path, results: dict) -> Path:
    safe_write.real_folder(folder)
    return safe_write.write_text(
        folder / "results.json", json.dumps(results, indent=2, sort_keys=False) + "\n"
    )


def results(
    *,
    title: str,
    matrix: Matrix,
    qualify: Callable[[str], str],
    started: datetime,
    finished: datetime,
    pilot: dict,
) -> dict:
    return {
        "kind": "pilot",
        "profile": title,
        "harness_version": __version__,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "verdict": NOT_CONFORMANT if matrix.findings else INCOMPLETE,
        "certification": {
            "can_certify": False,
            "reasons": ["a pilot judges the exchanges between NSWs; it certifies none of them"],
        },
        "pilot": {**pilot, "interoperable": matrix.all_interoperable, **matrix.as_json(qualify)},
    }
