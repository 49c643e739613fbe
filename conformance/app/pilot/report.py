"""The pilot's result on the terminal (a plain-text table: works in a pipe) and in results.json
(``kind`` pilot, a ``pilot`` block), in a new report folder. The top-level ``verdict`` keeps its
contract values: a pilot certifies nobody, so it is ``not-conformant`` when a party broke a
requirement in the pilot's traffic and ``incomplete`` otherwise; the pairs' verdicts are in
``pilot.pairs``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from conformance import __version__
from conformance.core.terminal_text import printable
from conformance.core.verdicts import INCOMPLETE, NOT_CONFORMANT
from conformance.results import safe_write

from .findings import Finding
from .matrix import COLUMNS, Matrix
from .traffic import Seen

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


# --------------------------------------------------------------------- relays and conversations


def relays_json(seen: Sequence[Seen]) -> list[dict]:
    """Every relay as results.json's ``pilot.relays`` says it: who, what, which try of its
    MessageId, what came back (and whether the gateway answered itself), and the SHA-256 of the
    request as received and forwarded and of the answer as returned (evidence.zip holds the bytes)."""
    tries: dict[tuple[str | None, str], int] = defaultdict(int)
    rows = []
    for item in sorted(seen, key=lambda s: s.index):
        relay, fields = item.relay, item.fields
        number = None
        if fields.message_id and relay.originated is None:  # a duplicate delivery is no sender's try
            tries[(item.sender, fields.message_id)] += 1
            number = tries[(item.sender, fields.message_id)]
        rows.append(
            {
                "relay": item.index,
                "at": item.started.isoformat(),
                "answered": item.answered.isoformat(),
                "duration_ms": round(relay.duration_s * 1000, 1),
                "from": item.sender,
                "to": item.receiver,
                "path": relay.path,
                "action": fields.action,
                "message_id": fields.message_id,
                "conversation_id": fields.conversation_id,
                "ref_to_message_id": fields.ref_to,
                "try": number,
                "from_tls": relay.from_tls,
                "t05": relay.t05,
                "content_type": relay.content_type,
                "forwarded_to": relay.forwarded_to,
                "status": relay.status,
                "answer_content_type": relay.answer_content_type,
                "gateway": relay.gateway,
                "originated": relay.originated,
                "request_size": relay.request_size,
                "answer_size": relay.answer_size,
                "request_sha256": relay.request_digest,
                "answer_sha256": relay.answer_digest,
            }
        )
    return rows


def relay_bodies(seen: Sequence[Seen]) -> dict[int, tuple[bytes, bytes]]:
    """relay number -> (request as received and forwarded, answer as returned): evidence.zip's files."""
    return {item.index: (item.relay.request, item.relay.answer) for item in seen}


def conversations_json(relays: Sequence[dict], findings: Sequence[Finding]) -> list[dict]:
    """A timeline per conversation (ConversationId) across both parties: its relays in the order they
    reached the gateway, seconds from the first, each with the findings that name it."""
    named: dict[int, list[str]] = defaultdict(list)
    for finding in findings:
        for evidence in finding.evidence:
            said = f"{finding.party} {finding.requirement}"
            if said not in named[evidence["relay"]]:
                named[evidence["relay"]].append(said)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for relay in relays:
        grouped[relay["conversation_id"] or "(no ConversationId read)"].append(relay)
    timelines = []
    for conversation, rows in grouped.items():
        rows = sorted(rows, key=lambda r: (r["at"], r["relay"]))
        start = datetime.fromisoformat(rows[0]["at"])
        entries = [
            {
                "relay": row["relay"],
                "offset_s": round((datetime.fromisoformat(row["at"]) - start).total_seconds(), 3),
                "from": row["from"],
                "to": row["to"],
                "action": row["action"],
                "message_id": row["message_id"],
                "try": row["try"],
                "status": row["status"],
                "gateway": row["gateway"],
                "originated": row["originated"],
                "findings": named.get(row["relay"], []),
            }
            for row in rows
        ]
        timelines.append(
            {
                "conversation": conversation,
                "started": rows[0]["at"],
                "parties": sorted({p for row in rows for p in (row["from"], row["to"]) if p}),
                "findings": sorted({said for entry in entries for said in entry["findings"]}),
                "relays": entries,
            }
        )
    return sorted(timelines, key=lambda t: (t["started"], t["conversation"]))
