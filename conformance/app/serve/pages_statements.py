"""The pages of statements, the matrix, notes, share links, diff and rerun (server-rendered like
pages.py: no inline script or style, forms with the CSRF field). They call what the API calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from conformance.app.serve import operations as ops
from conformance.app.serve import run_results, share_links, statements
from conformance.app.serve.api_statements import NoteBody, add_note, rerun
from conformance.app.serve.auth import Principal, principal
from conformance.app.serve.pages import _page, run_page_of

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(principal)]


@router.get("/statements")
def statements_page(request: Request, who: Who) -> Response:
    testbed = request.app.state.testbed
    with testbed.store.session() as db:
        found = statements.statements(db, who, testbed.settings)
    return _page(request, "statements.html", statements=found)


def _statement_page(request: Request, who: Principal, system_id: int, profile: str, **values) -> Response:
    testbed = request.app.state.testbed
    with testbed.store.session() as db:
        system, run, published = statements.statement_run(db, who, system_id, profile)
        found = statements.statement_json(testbed.settings, system, run, profile, published)
        may_change = who.changes(system.organisation_id)
    return _page(request, "statement.html", statement=found, may_change=may_change, **values)


@router.get("/statements/{system_id}/{profile}")
def statement_page(system_id: int, profile: str, request: Request, who: Who) -> Response:
    return _statement_page(request, who, system_id, profile)


@router.post("/statements/{system_id}/{profile}/publish")
def publish_form(system_id: int, profile: str, request: Request, who: Who) -> Response:
    with request.app.state.testbed.store.session() as db:
        statements.publish(db, who, system_id, profile)
    return RedirectResponse(f"/statements/{system_id}/{profile}", status_code=303)


def _share(request: Request, who: Principal, run_id: int, days: float, profile: str | None) -> str:
    testbed = request.app.state.testbed
    with testbed.store.session() as db:
        run = ops.visible_run(db, who, run_id)
        _link, token = share_links.create(db, who, testbed.box, run, days, profile, None)
    return str(request.base_url).rstrip("/") + f"/shared/{token}"


@router.post("/statements/{system_id}/{profile}/share")
def share_statement_form(
    system_id: int, profile: str, request: Request, who: Who, days: Annotated[float, Form()] = 30
) -> Response:
    with request.app.state.testbed.store.session() as db:
        _system, run, _published = statements.statement_run(db, who, system_id, profile)
        run_id = run.id
    url = _share(request, who, run_id, days, profile)
    return _statement_page(request, who, system_id, profile, share_url=url)


@router.get("/matrix")
def matrix_page(request: Request, who: Who) -> Response:
    with request.app.state.testbed.store.session() as db:
        found = statements.matrix(db, who)
    return _page(request, "matrix.html", matrix=found)


@router.post("/runs/{run_id}/share")
def share_run_form(run_id: int, request: Request, who: Who, days: Annotated[float, Form()] = 30) -> Response:
    url = _share(request, who, run_id, days, None)
    return run_page_of(request, who, run_id, share_url=url)


@router.post("/runs/{run_id}/notes")
def note_form(
    run_id: int,
    request: Request,
    who: Who,
    text: Annotated[str, Form(max_length=4000)],
    kind: Annotated[str, Form(max_length=20)] = "comment",
    test: Annotated[str, Form(max_length=300)] = "",
    verdict: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    body = NoteBody(kind=kind, text=text, test=test or None, verdict=verdict or None)
    try:
        add_note(request.app.state.testbed, who, run_id, body)
    except HTTPException as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        return run_page_of(request, who, run_id, exc.status_code, error=exc.detail)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/rerun")
def rerun_form(run_id: int, request: Request, who: Who) -> Response:
    try:
        answer = rerun(request.app.state.testbed, who, run_id)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        detail = exc.detail["message"] if isinstance(exc.detail, dict) else exc.detail
        return run_page_of(request, who, run_id, 409, error=detail)
    return RedirectResponse(f"/runs/{answer['id']}", status_code=303)


@router.get("/systems/{system_id}/diff")
def diff_page(system_id: int, request: Request, who: Who, old: int, new: int) -> Response:
    testbed = request.app.state.testbed
    with testbed.store.session() as db:
        system = ops.visible_system(db, who, system_id)
        first, second = ops.visible_run(db, who, old), ops.visible_run(db, who, new)
        if first.system_id != system.id:
            raise HTTPException(404, "no such run")
        found = run_results.diff_json(testbed.settings, first, second)
        return _page(request, "diff.html", system=system, diff=found)
