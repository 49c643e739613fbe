"""The REST API of statements, the matrix, share links, notes, diff and rerun (under /api, behind
auth.authorise like every route; who may do what is decided in statements, share_links and notes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from conformance.app.serve import notes as note_ops
from conformance.app.serve import operations as ops
from conformance.app.serve import run_results, share_links, statements
from conformance.app.serve.auth import Principal, principal
from conformance.app.serve.models import Run, ShareLink, System
from conformance.app.serve.report_files import file_response

router = APIRouter(prefix="/api")
Who = Annotated[Principal, Depends(principal)]


def _testbed(request: Request):
    return request.app.state.testbed


@router.get("/statements")
def list_statements(request: Request, who: Who) -> list[dict[str, Any]]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        return statements.statements(db, who, testbed.settings)


@router.get("/statements/{system_id}/{profile}")
def statement(system_id: int, profile: str, request: Request, who: Who) -> dict[str, Any]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        system, run, published = statements.statement_run(db, who, system_id, profile)
        return statements.statement_json(testbed.settings, system, run, profile, published)


@router.post("/statements/{system_id}/{profile}/publish")
def publish(system_id: int, profile: str, request: Request, who: Who) -> dict[str, Any]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        statements.publish(db, who, system_id, profile)
        system, run, published = statements.statement_run(db, who, system_id, profile)
        return statements.statement_json(testbed.settings, system, run, profile, published)


@router.get("/statements/{system_id}/{profile}/files/{name}")
def statement_file(system_id: int, profile: str, name: str, request: Request, who: Who) -> Response:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        _system, run, _published = statements.statement_run(db, who, system_id, profile)
        folder = run.report_folder
    if not folder:
        raise HTTPException(404, "no such report file")
    return file_response(testbed.settings.data.resolve() / folder, name)


@router.get("/matrix")
def matrix(request: Request, who: Who) -> dict[str, Any]:
    with _testbed(request).store.session() as db:
        return statements.matrix(db, who)


class ShareBody(BaseModel):
    run: int
    days: float = Field(default=30, gt=0, le=share_links.MAX_DAYS)
    profile: str | None = Field(default=None, max_length=60)
    label: str | None = Field(default=None, max_length=200)


@router.post("/share-links", status_code=201)
def create_share_link(body: ShareBody, request: Request, who: Who) -> dict[str, Any]:
    """A read-only link to the run's report (or, with ``profile``, its statement): ``url`` opens it
    without an account until ``expires`` or until revoked."""
    testbed = _testbed(request)
    with testbed.store.session() as db:
        run = ops.visible_run(db, who, body.run)
        link, _token = share_links.create(db, who, testbed.box, run, body.days, body.profile, body.label)
        return share_links.link_json(testbed.box, link)


@router.get("/share-links")
def list_share_links(request: Request, who: Who) -> list[dict[str, Any]]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        query = select(ShareLink).join(Run).join(System).order_by(ShareLink.id)
        if not who.admin:
            query = query.where(System.organisation_id == who.organisation_id)
        return [share_links.link_json(testbed.box, link) for link in db.scalars(query)]


@router.delete("/share-links/{link_id}")
def revoke_share_link(link_id: int, request: Request, who: Who) -> dict[str, Any]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        link = db.get(ShareLink, link_id)
        if link is None or not who.sees(link.run.system.organisation_id):
            raise HTTPException(404, "no such share link")
        share_links.revoke(db, who, link)
        return share_links.link_json(testbed.box, link)


class NoteBody(BaseModel):
    kind: str = Field(default="comment", max_length=20)
    text: str = Field(min_length=1, max_length=note_ops.MAX_TEXT)
    test: str | None = Field(default=None, max_length=300)
    verdict: str | None = Field(default=None, max_length=40)


@router.get("/runs/{run_id}/notes")
def run_notes(run_id: int, request: Request, who: Who) -> list[dict[str, Any]]:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        return note_ops.notes_of(db, testbed.box, ops.visible_run(db, who, run_id))


def add_note(testbed, who: Principal, run_id: int, body: NoteBody) -> dict[str, Any]:
    with testbed.store.session() as db:
        run = ops.visible_run(db, who, run_id)
        tests = run_results.test_verdicts(testbed.settings, run) if body.kind == "override" else None
        note = note_ops.add(db, who, testbed.box, run, body.kind, body.text, tests, body.test, body.verdict)
        return note_ops.note_json(testbed.box, note)


@router.post("/runs/{run_id}/notes", status_code=201)
def create_note(run_id: int, body: NoteBody, request: Request, who: Who) -> dict[str, Any]:
    """A comment, or (an admin) an override of one test's verdict with the reason in ``text``: a
    signed note shown beside the test; the run's verdict, can_certify and files never change."""
    return add_note(_testbed(request), who, run_id, body)


@router.get("/runs/{run_id}/diff/{other_id}")
def diff(run_id: int, other_id: int, request: Request, who: Who) -> dict[str, Any]:
    """What changed from run ``run_id`` to run ``other_id`` of the same system (`conformance diff`)."""
    testbed = _testbed(request)
    with testbed.store.session() as db:
        old, new = ops.visible_run(db, who, run_id), ops.visible_run(db, who, other_id)
        return run_results.diff_json(testbed.settings, old, new)


def rerun(testbed, who: Principal, run_id: int) -> dict[str, Any]:
    from conformance.app.serve.api import queue_run

    with testbed.store.session() as db:
        run = ops.visible_run(db, who, run_id)
        ops.may_change(who, run.system.organisation_id)
        profiles, names = run_results.rerun_selection(testbed.settings, run)
        system_id = run.system_id
        attended = bool((run.selection or {}).get("attended"))  # an attended run's rerun is attended too
    chosen: dict[str, Any] = ops.selection(profiles, [], names)
    answer = queue_run(testbed, who, system_id, chosen | {"rerun_of": [str(run_id)]}, attended=attended)
    with testbed.store.session() as db:
        ops.audit(db, who, "run-rerun", f"run:{answer['id']}", detail=f"the failed tests of run:{run_id}")
    return answer


@router.post("/runs/{run_id}/rerun", status_code=202)
def rerun_failed(run_id: int, request: Request, who: Who) -> dict[str, Any]:
    """A new run of the same system whose selection is this finished run's failed and errored tests."""
    return rerun(_testbed(request), who, run_id)
