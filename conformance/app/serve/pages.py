"""The web pages: server-rendered Jinja2 (autoescaped), no inline script or style (the page policy in
app.py forbids both); the one script, static/app.js, streams a run's progress from the events API.

Forms carry the session's CSRF token in a hidden field (auth.authorise checks it). What a page may
show or do is decided by ``operations``, as for the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from conformance.app.serve import operations as ops
from conformance.app.serve import operator_prompts
from conformance.app.serve.api import _set_cookie, queue_run, read_upload
from conformance.app.serve.auth import SESSION_COOKIE, Principal, close_session, principal
from conformance.app.serve.login import attempt_login
from conformance.app.serve.models import Organisation, Run
from conformance.app.serve.systems import SystemRefused

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
Who = Annotated[Principal, Depends(principal)]


def _page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    who = getattr(request.state, "principal", None)
    return templates.TemplateResponse(request, template, {"who": who, **values}, status_code=status)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _page(request, "login.html")


@router.post("/login")
def login_form(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        _user, session_id, _csrf = attempt_login(request, name, password)
    except HTTPException as exc:
        return _page(request, "login.html", exc.status_code, error=exc.detail, name=name)
    response = RedirectResponse("/systems", status_code=303)
    _set_cookie(request, response, session_id)
    return response


@router.post("/logout")
def logout_form(request: Request, who: Who) -> Response:
    with request.app.state.testbed.store.session() as db:
        close_session(db, request.cookies.get(SESSION_COOKIE))
        ops.audit(db, who, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(who: Who) -> Response:
    return RedirectResponse("/systems", status_code=303)


def _systems_page(request: Request, who: Principal, status: int = 200, **values: Any) -> Response:
    with request.app.state.testbed.store.session() as db:
        found = ops.systems_of(db, who)
        names = {row[0]: row[1] for row in db.execute(select(Organisation.id, Organisation.name))}
        return _page(request, "systems.html", status, systems=found, organisations=names, **values)


@router.get("/systems")
def systems_page(request: Request, who: Who) -> Response:
    return _systems_page(request, who)


@router.post("/systems")
async def register_form(
    request: Request,
    who: Who,
    name: Annotated[str, Form(max_length=200)],
    ics: Annotated[UploadFile, File()],
    trigger_token: Annotated[str | None, Form(max_length=500)] = None,
    tls: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    from starlette.concurrency import run_in_threadpool

    testbed = request.app.state.testbed
    raw = await read_upload(ics, testbed.settings.upload_bytes, "ics")
    chosen = [upload for upload in tls or [] if upload.filename]  # a browser sends an empty part for none
    files = {
        upload.filename or "": await read_upload(upload, testbed.settings.upload_bytes, "tls")
        for upload in chosen
    }

    def register() -> int:
        try:
            toml = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SystemRefused("system.toml: not valid TOML: not UTF-8") from None
        with testbed.store.session() as db:
            return ops.register_system(
                db, who, testbed.box, name, toml, who.organisation_id, trigger_token or None, files
            ).id

    try:
        system_id = await run_in_threadpool(register)
    except SystemRefused as exc:
        return await run_in_threadpool(_systems_page, request, who, 422, error=str(exc), name=name)
    return RedirectResponse(f"/systems/{system_id}", status_code=303)


def _system_page(
    request: Request, who: Principal, system_id: int, status: int = 200, **values: Any
) -> Response:
    with request.app.state.testbed.store.session() as db:
        found = ops.visible_system(db, who, system_id)
        runs = list(
            db.scalars(select(Run).where(Run.system_id == system_id).order_by(Run.id.desc()).limit(50))
        )
        manual = operator_prompts.manual_mode(found, request.app.state.testbed.box)
        return _page(request, "system.html", status, system=found, runs=runs, manual=manual, **values)


@router.get("/systems/{system_id}")
def system_page(system_id: int, request: Request, who: Who) -> Response:
    return _system_page(request, who, system_id)


@router.post("/systems/{system_id}/runs")
def start_form(
    system_id: int,
    request: Request,
    who: Who,
    profile: Annotated[str, Form(max_length=60)] = "",
    requirements: Annotated[str, Form(max_length=2000)] = "",
    tests: Annotated[str, Form(max_length=4000)] = "",
    attended: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    chosen = ops.selection(
        [profile] if profile else [], requirements.replace(",", " ").split(), tests.replace(",", " ").split()
    )
    try:
        answer = queue_run(request.app.state.testbed, who, system_id, chosen, attended=bool(attended))
    except HTTPException as exc:
        if exc.status_code == 429:  # the organisation's runs per hour: said on the page, not as JSON
            return _system_page(request, who, system_id, 429, error=str(exc.detail))
        if exc.status_code != 409 or not isinstance(exc.detail, dict):
            raise
        return _system_page(
            request, who, system_id, 409, error=exc.detail["message"], active=exc.detail["run"]
        )
    return RedirectResponse(f"/runs/{answer['id']}", status_code=303)


def run_page_of(request: Request, who: Principal, run_id: int, status: int = 200, **values: Any) -> Response:
    """The run page, with its signed notes and each override beside its test (note_ops)."""
    from conformance.app.serve import notes as note_ops

    testbed = request.app.state.testbed
    with testbed.store.session() as db:
        found = ops.visible_run(db, who, run_id)
        notes = note_ops.notes_of(db, testbed.box, found)
        return _page(
            request, "run.html", status, run=found, data=ops.run_json(found), system=found.system,
            notes=notes, overrides=note_ops.overrides_by_test(notes), **values,
        )  # fmt: skip


@router.get("/runs/{run_id}")
def run_page(run_id: int, request: Request, who: Who) -> Response:
    return run_page_of(request, who, run_id)
