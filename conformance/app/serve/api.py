"""The REST API under /api (OpenAPI at /api/openapi.json). Every route is authorised by auth.authorise
(installed on the application); what a user may see or change is decided in ``operations``.

Runs: ``POST /api/runs`` answers 202 with the queued run, or 200 with its final state when ``wait``
seconds were given and it ended in time; 409 with the active run's id when the system has one.
``GET /api/runs/{id}/events`` is a server-sent event stream: ``progress`` events (one line of the
run's output each, ``id`` its line number, so a reconnecting client resumes with Last-Event-ID),
then one ``verdict`` event (the run as JSON), then the stream ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from conformance.app.serve import operations as ops
from conformance.app.serve import operator_prompts, run_egress
from conformance.app.serve.auth import (
    SCOPES,
    SESSION_COOKIE,
    Principal,
    close_session,
    digest,
    new_token,
    principal,
)
from conformance.app.serve.execute import PROGRESS_FILE, run_folder
from conformance.app.serve.login import attempt_login
from conformance.app.serve.models import ROLES, ApiToken, EgressAllow, Organisation, Run, User
from conformance.app.serve.passwords import hash_password, new_password
from conformance.app.serve.report_files import file_response
from conformance.app.serve.systems import SystemRefused
from conformance.core.egress import PolicyError

router = APIRouter(prefix="/api")
Who = Annotated[Principal, Depends(principal)]
MAX_WAIT_S = 600.0
POLL_S = 0.5
KEEPALIVE_S = 15.0


def _testbed(request: Request):
    return request.app.state.testbed


def _admin(who: Principal) -> None:
    if not who.admin:
        raise HTTPException(403, "only an admin may do this")


class LoginBody(BaseModel):
    name: str = Field(max_length=100)
    password: str = Field(max_length=200)


@router.post("/login")
def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
    """Log in: sets the session cookie; the answer's csrf_token goes in X-CSRF-Token of later changes."""
    user, session_id, csrf = attempt_login(request, body.name, body.password)
    _set_cookie(request, response, session_id)
    return {"user": user.name, "role": user.role, "organisation": user.organisation_id, "csrf_token": csrf}


def _set_cookie(request: Request, response: Response, session_id: str) -> None:
    secure = request.url.scheme == "https"
    hours = _testbed(request).settings.session_hours
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=int(hours * 3600), httponly=True, samesite="strict",
        secure=secure, path="/",
    )  # fmt: skip


@router.post("/logout")
def logout(request: Request, response: Response, who: Who) -> dict[str, str]:
    with _testbed(request).store.session() as db:
        close_session(db, request.cookies.get(SESSION_COOKIE))
        ops.audit(db, who, "logout")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/me")
def me(who: Who) -> dict[str, Any]:
    return {"user": who.name, "role": who.role, "organisation": who.organisation_id, "via": who.via}


class OrganisationBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.get("/organisations")
def organisations(request: Request, who: Who) -> list[dict[str, Any]]:
    _admin(who)
    with _testbed(request).store.session() as db:
        return [
            {"id": o.id, "name": o.name} for o in db.scalars(select(Organisation).order_by(Organisation.id))
        ]


@router.post("/organisations", status_code=201)
def create_organisation(body: OrganisationBody, request: Request, who: Who) -> dict[str, Any]:
    _admin(who)
    with _testbed(request).store.session() as db:
        if db.scalar(select(Organisation).where(Organisation.name == body.name)) is not None:
            raise HTTPException(409, "an organisation of that name exists")
        organisation = Organisation(name=body.name)
        db.add(organisation)
        db.flush()
        ops.audit(db, who, "organisation-created", f"organisation:{organisation.id}", detail=body.name)
        return {"id": organisation.id, "name": organisation.name}


class UserBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    organisation: int
    role: str
    password: str | None = Field(default=None, min_length=12, max_length=200)


@router.get("/users")
def users(request: Request, who: Who) -> list[dict[str, Any]]:
    _admin(who)
    with _testbed(request).store.session() as db:
        return [
            {
                "id": u.id,
                "name": u.name,
                "role": u.role,
                "organisation": u.organisation_id,
                "active": u.active,
            }
            for u in db.scalars(select(User).order_by(User.id))
        ]


@router.post("/users", status_code=201)
def create_user(body: UserBody, request: Request, who: Who) -> dict[str, Any]:
    """A new user; without a password one is made and shown in this answer only."""
    _admin(who)
    if body.role not in ROLES:
        raise HTTPException(422, f"role: one of {', '.join(ROLES)}")
    password = body.password or new_password()
    with _testbed(request).store.session() as db:
        if db.get(Organisation, body.organisation) is None:
            raise HTTPException(422, "organisation: no such organisation")
        if db.scalar(select(User).where(User.name == body.name)) is not None:
            raise HTTPException(409, "a user of that name exists")
        user = User(
            name=body.name,
            organisation_id=body.organisation,
            role=body.role,
            password_hash=hash_password(password),
        )
        db.add(user)
        db.flush()
        ops.audit(db, who, "user-created", f"user:{user.id}", detail=f"{body.name} ({body.role})")
        answer: dict[str, Any] = {"id": user.id, "name": user.name, "role": user.role}
        if body.password is None:
            answer["password"] = password
        return answer


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES))


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": token.scopes,
        "created": ops.iso(token.created),
        "revoked": ops.iso(token.revoked),
    }


@router.get("/tokens")
def tokens(request: Request, who: Who) -> list[dict[str, Any]]:
    with _testbed(request).store.session() as db:
        return [_token_json(t) for t in db.scalars(select(ApiToken).where(ApiToken.user_id == who.user_id))]


@router.post("/tokens", status_code=201)
def create_token(body: TokenBody, request: Request, who: Who) -> dict[str, Any]:
    """A new API token of the caller's: its value is in this answer only (the service keeps a hash).
    A token cannot make tokens wider than its own scopes."""
    if not body.scopes or not set(body.scopes) <= set(SCOPES) or not set(body.scopes) <= who.scopes:
        raise HTTPException(422, f"scopes: a non-empty subset of {', '.join(sorted(who.scopes))}")
    value = new_token()
    with _testbed(request).store.session() as db:
        token = ApiToken(
            user_id=who.user_id, name=body.name, token_hash=digest(value), scopes=sorted(body.scopes)
        )
        db.add(token)
        db.flush()
        ops.audit(db, who, "token-created", f"token:{token.id}", detail=body.name)
        return {**_token_json(token), "token": value}


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: int, request: Request, who: Who) -> dict[str, Any]:
    from datetime import datetime, timezone

    with _testbed(request).store.session() as db:
        token = db.get(ApiToken, token_id)
        if token is None or token.user_id != who.user_id:
            raise HTTPException(404, "no such token")
        if token.revoked is None:
            token.revoked = datetime.now(timezone.utc)
            ops.audit(db, who, "token-revoked", f"token:{token.id}")
        return _token_json(token)


@router.get("/systems")
def systems(request: Request, who: Who) -> list[dict[str, Any]]:
    with _testbed(request).store.session() as db:
        return [ops.system_json(s) for s in ops.systems_of(db, who)]


async def read_upload(upload: UploadFile, cap: int, what: str) -> bytes:
    content = await upload.read(cap + 1)
    if len(content) > cap:
        raise HTTPException(413, f"{what}: more than {cap} bytes")
    return content


@router.post("/systems", status_code=201)
async def create_system(
    request: Request,
    who: Who,
    name: Annotated[str, Form(max_length=200)],
    ics: Annotated[UploadFile, File(description="the ICS TOML, as for `conformance run --config`")],
    organisation: Annotated[int | None, Form()] = None,
    trigger_token: Annotated[str | None, Form(max_length=500)] = None,
    tls: Annotated[list[UploadFile] | None, File(description="TLS files the TOML names")] = None,
) -> dict[str, Any]:
    testbed = _testbed(request)
    cap = testbed.settings.upload_bytes
    raw = await read_upload(ics, cap, "ics")
    files = {upload.filename or "": await read_upload(upload, cap, "tls") for upload in tls or []}
    try:
        toml = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, "system.toml: not valid TOML: not UTF-8") from None

    def register() -> dict[str, Any]:
        with testbed.store.session() as db:
            system = ops.register_system(
                db,
                who,
                testbed.box,
                name,
                toml,
                organisation or who.organisation_id,
                trigger_token or None,
                files,
            )
            return ops.system_json(system)

    try:
        return await run_in_threadpool(register)
    except SystemRefused as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/systems/{system_id}")
def system(system_id: int, request: Request, who: Who) -> dict[str, Any]:
    with _testbed(request).store.session() as db:
        return ops.system_json(ops.visible_system(db, who, system_id))


@router.delete("/systems/{system_id}")
def delete_system(system_id: int, request: Request, who: Who) -> dict[str, str]:
    with _testbed(request).store.session() as db:
        found = ops.visible_system(db, who, system_id)
        ops.may_change(who, found.organisation_id)
        if db.scalar(select(Run.id).where(Run.system_id == system_id, Run.state.in_(("queued", "running")))):
            raise HTTPException(409, "the system has a run under way")
        db.delete(found)
        ops.audit(db, who, "system-deleted", f"system:{system_id}", detail=found.name)
    return {"status": "deleted"}


@router.get("/systems/{system_id}/runs")
def system_runs(system_id: int, request: Request, who: Who) -> list[dict[str, Any]]:
    with _testbed(request).store.session() as db:
        ops.visible_system(db, who, system_id)
        query = select(Run).where(Run.system_id == system_id).order_by(Run.id.desc())
        return [ops.run_json(run) for run in db.scalars(query)]


class RunBody(BaseModel):
    system: int
    profile: list[str] | str | None = None
    requirements: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)
    wait: float | None = Field(default=None, ge=0, le=MAX_WAIT_S)
    attended: bool = Field(
        default=False,
        description="someone will answer manual mode's operator prompts (GET/POST /api/runs/{id}/prompts); "
        "otherwise (an API or CI run) manual-mode tests are inconclusive",
    )


def queue_run(
    testbed, who: Principal, system_id: int, chosen: dict[str, Any], attended: bool = False
) -> dict[str, Any]:
    """Start a run (shared by the API and the pages): the run's JSON, or HTTPException 404/403/409.
    ``attended`` is kept only for a system in manual mode (operator_prompts)."""
    with testbed.store.session() as db:
        found = ops.visible_system(db, who, system_id)
        if attended and operator_prompts.manual_mode(found, testbed.box):
            chosen = {**chosen, "attended": True}
        try:
            run = ops.start_run(db, who, found, chosen, testbed.settings.runs_per_hour)
        except ops.ActiveRun as active:
            raise HTTPException(
                409, {"message": "the system has a run under way", "run": active.run_id}
            ) from None
        except ops.TooManyRuns as many:
            raise HTTPException(
                429,
                f"the organisation started {many.limit} runs in the last hour; try again in "
                f"{many.retry_after_s} s",
                headers={"Retry-After": str(many.retry_after_s)},
            ) from None
        answer = ops.run_json(run)
    testbed.queue.submit(answer["id"])
    return answer


@router.post("/runs", status_code=202)
async def create_run(body: RunBody, request: Request, who: Who) -> Any:
    testbed = _testbed(request)
    profiles = [body.profile] if isinstance(body.profile, str) else (body.profile or [])
    chosen = ops.selection(profiles, body.requirements, body.tests)
    try:
        answer = await run_in_threadpool(queue_run, testbed, who, body.system, chosen, body.attended)
    except HTTPException as exc:
        if exc.status_code == 409 and isinstance(exc.detail, dict):
            return JSONResponse(exc.detail | {"detail": exc.detail["message"]}, status_code=409)
        raise
    if body.wait:
        deadline = asyncio.get_running_loop().time() + body.wait
        while asyncio.get_running_loop().time() < deadline:
            answer = await run_in_threadpool(_run_state, testbed, who, answer["id"])
            if answer["state"] not in ("queued", "running"):
                return JSONResponse(answer, status_code=200)
            await asyncio.sleep(POLL_S)
    return JSONResponse(answer, status_code=202)


def _run_state(testbed, who: Principal, run_id: int) -> dict[str, Any]:
    with testbed.store.session() as db:
        return ops.run_json(ops.visible_run(db, who, run_id))


@router.get("/runs/{run_id}")
def run(run_id: int, request: Request, who: Who) -> dict[str, Any]:
    return _run_state(_testbed(request), who, run_id)


@router.get("/runs/{run_id}/events")
async def run_events(run_id: int, request: Request, who: Who) -> StreamingResponse:
    testbed = _testbed(request)
    await run_in_threadpool(_run_state, testbed, who, run_id)  # 404 before the stream starts
    last = request.headers.get("last-event-id", "")
    first = int(last) + 1 if last.isdigit() else 0
    return StreamingResponse(
        _events(request, testbed, who, run_id, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, testbed, who: Principal, run_id: int, first: int) -> AsyncIterator[str]:
    path = run_folder(testbed.settings, run_id) / PROGRESS_FILE
    position, number, pending = 0, 0, b""
    quiet = 0.0
    seen: tuple | None = None
    while True:
        state = await run_in_threadpool(_run_state, testbed, who, run_id)
        if state["attended"]:  # the operator's prompts: all of them again whenever one changes
            shown = await run_in_threadpool(_prompts_of, testbed, who, run_id)
            now = tuple((p["n"], p["state"]) for p in shown)
            if now != seen:
                seen = now
                yield f"event: prompts\ndata: {json.dumps(shown)}\n\n"
        chunk = await run_in_threadpool(_read_from, path, position)
        position += len(chunk)
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if number >= first:
                text = line.decode("utf-8", "replace").replace("\r", "")
                yield f"id: {number}\nevent: progress\ndata: {text}\n\n"
                quiet = 0.0
            number += 1
        if state["state"] not in ("queued", "running"):
            if chunk:  # the end of the output may not all have been read yet
                continue
            yield f"event: verdict\ndata: {json.dumps(state)}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            yield ": still running\n\n"
            quiet = 0.0


def _read_from(path, position: int, limit: int = 1 << 20) -> bytes:
    try:
        with open(path, "rb") as stream:
            stream.seek(position)
            return stream.read(limit)
    except OSError:
        return b""


def _prompts_of(testbed, who: Principal, run_id: int) -> list[dict[str, Any]]:
    """The run's prompts; once it no longer runs, one still pending is ``closed`` (nobody waits)."""
    with testbed.store.session() as db:
        running = ops.visible_run(db, who, run_id).state == "running"
    listed = operator_prompts.prompts(operator_prompts.folder_of(testbed.settings, run_id))
    if running:
        return listed
    return [{**p, "state": "closed", "left_s": 0.0} if p["state"] == "pending" else p for p in listed]


@router.get("/runs/{run_id}/prompts")
def run_prompts(run_id: int, request: Request, who: Who) -> list[dict[str, Any]]:
    """An attended run's operator prompts (manual mode), oldest first, each with its answer and its
    state (pending, answered, expired) and, while pending, the seconds left in its window."""
    return _prompts_of(_testbed(request), who, run_id)


class AnswerBody(BaseModel):
    answer: Literal["done", "cannot"] = Field(
        description="done: the candidate was made to send the document; cannot: the operator cannot"
    )


@router.post("/runs/{run_id}/prompts/{n}")
def answer_prompt(run_id: int, n: int, body: AnswerBody, request: Request, who: Who) -> dict[str, Any]:
    """Answer a pending prompt of a running run (a tester or admin of its organisation): 409 when it
    was answered already, its window is over, or the run is not running. Audit-logged."""
    testbed = _testbed(request)
    with testbed.store.session() as db:
        found = ops.visible_run(db, who, run_id)
        ops.may_change(who, found.system.organisation_id)
        if found.state != "running":
            raise HTTPException(409, f"the run is {found.state}, not running")
        try:
            answered = operator_prompts.answer(
                operator_prompts.folder_of(testbed.settings, run_id), n, body.answer, who.name
            )
        except operator_prompts.AnswerRefused as refused:
            raise HTTPException(refused.status, str(refused)) from None
        ops.audit(db, who, "operator-answered", f"run:{run_id}", detail=f"prompt {n}: {body.answer}")
        return answered


@router.get("/runs/{run_id}/prompts/{n}/document")
def prompt_document(run_id: int, n: int, request: Request, who: Who) -> Response:
    """The document prompt ``n`` asks the operator to send, as an XML file to download."""
    testbed = _testbed(request)
    with testbed.store.session() as db:
        ops.visible_run(db, who, run_id)
    try:
        name, text = operator_prompts.document(operator_prompts.folder_of(testbed.settings, run_id), n)
    except operator_prompts.AnswerRefused as refused:
        raise HTTPException(refused.status, str(refused)) from None
    return Response(
        text.encode("utf-8"),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/runs/{run_id}/files/{name}")
def run_file(run_id: int, name: str, request: Request, who: Who) -> Response:
    testbed = _testbed(request)
    with testbed.store.session() as db:
        found = ops.visible_run(db, who, run_id)
        folder = found.report_folder
    if not folder:
        raise HTTPException(404, "the run has no report (yet)")
    return file_response(testbed.settings.data.resolve() / folder, name)


def _admin_only(who: Who) -> None:
    """A dependency, so that a non-admin is refused before the body is even read."""
    _admin(who)


class EgressBody(BaseModel):
    allow: list[str] = Field(max_length=1000, description="CIDRs or host names allowed to runs")


def _egress_view(request: Request, db) -> dict[str, Any]:
    settings = _testbed(request).settings
    return {
        "allow": run_egress.allow_list(db),
        "own_hosts": run_egress.own_hosts(settings),
        "defaults": "service: loopback, link-local, metadata, private and reserved ranges denied",
    }


@router.get("/admin/egress", dependencies=[Depends(_admin_only)])
def egress(request: Request) -> dict[str, Any]:
    """The egress allow-list every run of a registered system gets on top of the service's denials."""
    with _testbed(request).store.session() as db:
        return _egress_view(request, db)


@router.put("/admin/egress", dependencies=[Depends(_admin_only)])
def set_egress(body: EgressBody, request: Request, who: Who) -> dict[str, Any]:
    """Replace the allow-list (applies to runs started from now on); audit-logged."""
    try:
        entries = run_egress.check_allow_list(body.allow)
    except PolicyError as exc:
        raise HTTPException(422, str(exc)) from None
    with _testbed(request).store.session() as db:
        before = run_egress.allow_list(db)
        db.execute(delete(EgressAllow))
        db.add_all(EgressAllow(entry=entry, added_by=who.user_id) for entry in entries)
        ops.audit(db, who, "egress-allow-list", "egress", detail=f"{before} -> {entries}"[:2000])
        db.flush()
        return _egress_view(request, db)
