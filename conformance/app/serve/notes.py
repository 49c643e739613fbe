"""Notes on a run: comments (anyone of the organisation who may change it) and an admin's override
of one test's verdict, with a reason. Each note is its canonical JSON (``body``) and an HMAC of it
(signing.py, a key derived from the service's secret keys for notes alone; why HMAC: see signing).

An override is a note and nothing else: it never touches the run's row (verdict, can_certify), its
report folder (results.json, the evidence bundle, the attestation) or any statement; it is shown
beside the test it overrides, with the original verdict, by whom and why, and a note whose signature
or columns do not match its body is shown as such (never hidden, never trusted).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from conformance.app.serve import signing
from conformance.app.serve.auth import Principal
from conformance.app.serve.models import Note, Run
from conformance.app.serve.operations import audit, iso, may_change

PURPOSE = "notes"
KINDS = ("comment", "override")
OVERRIDE_VERDICTS = ("pass", "fail", "inconclusive", "error", "not-applicable")
MAX_TEXT = 4000


def _sign(box, body: str) -> str:
    return signing.sign(box.derived_keys(PURPOSE), body.encode("utf-8"))


def add(
    db: Session,
    who: Principal,
    box,
    run: Run,
    kind: str,
    text: str,
    tests: dict[str, str] | None = None,
    test: str | None = None,
    verdict: str | None = None,
) -> Note:
    """A signed note on ``run``. ``tests``: the run's test verdicts (results.json, read under caps),
    which an override must name one of."""
    text = text.strip()
    if kind not in KINDS:
        raise HTTPException(422, f"kind: one of {', '.join(KINDS)}")
    if not 0 < len(text) <= MAX_TEXT:
        raise HTTPException(422, f"text: 1 to {MAX_TEXT} characters (an override's reason is required)")
    may_change(who, run.system.organisation_id)
    original = None
    if kind == "override":
        if not who.admin:
            raise HTTPException(403, "only an admin may override a verdict")
        if verdict not in OVERRIDE_VERDICTS:
            raise HTTPException(422, f"verdict: one of {', '.join(OVERRIDE_VERDICTS)}")
        if not test or tests is None or test not in tests:
            raise HTTPException(422, "test: not a test of this run")
        original = tests[test]
        if original == verdict:
            raise HTTPException(422, "verdict: the test already has this verdict")
    else:
        test = verdict = None
    note = Note(run_id=run.id, kind=kind, test_id=test, body="{}", signature="", author_id=who.user_id)
    db.add(note)
    db.flush()
    content = {
        "note": note.id,
        "run": run.id,
        "kind": kind,
        "test": test,
        "verdict": verdict,
        "original_verdict": original,
        "text": text,
        "author": who.name,
        "at": iso(note.created),
    }
    note.body = signing.canonical(content).decode("utf-8")
    note.signature = _sign(box, note.body)
    audit(
        db,
        who,
        f"note-{kind}",
        f"run:{run.id}",
        detail=f"note:{note.id}" + (f" {test}: {original} -> {verdict}" if test else ""),
    )
    return note


def note_json(box, note: Note) -> dict[str, Any]:
    import json

    try:
        content = json.loads(note.body)
    except ValueError:
        content = {}
    content = content if isinstance(content, dict) else {}
    intact = (
        signing.verify(box.derived_keys(PURPOSE), note.body.encode("utf-8"), note.signature)
        and content.get("note") == note.id
        and content.get("run") == note.run_id
        and content.get("kind") == note.kind
        and content.get("test") == note.test_id
    )
    return {**content, "id": note.id, "signature": note.signature, "signature_ok": intact}


def notes_of(db: Session, box, run: Run) -> list[dict[str, Any]]:
    return [
        note_json(box, n) for n in db.scalars(select(Note).where(Note.run_id == run.id).order_by(Note.id))
    ]


def overrides_by_test(notes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for note in notes:
        if note.get("kind") == "override" and isinstance(note.get("test"), str):
            found.setdefault(note["test"], []).append(note)
    return found
