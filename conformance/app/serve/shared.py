"""What a share link opens without an account (the only public routes besides logging in): the
shared run's summary and notes (a page, and JSON under /api), and its report files under the same
sandboxed policy as for a logged-in user (report_files). A statement's link shows the statement.
Each use is checked and audit-logged by share_links.resolve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.templating import Jinja2Templates

from conformance.app.serve import notes as note_ops
from conformance.app.serve import operations as ops
from conformance.app.serve import share_links
from conformance.app.serve.report_files import SERVED_FILES, file_response, has_file

router = APIRouter(include_in_schema=True)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _view(request: Request, token: str) -> dict[str, Any]:
    testbed = request.app.state.testbed
    client = request.client.host if request.client else None
    with testbed.store.session() as db:
        link = share_links.resolve(db, testbed.box, token, client)
        run = link.run
        folder = testbed.settings.data.resolve() / run.report_folder if run.report_folder else None
        files = {
            name: f"/shared/{token}/files/{name}"
            for name in SERVED_FILES
            if folder and has_file(folder, name)
        }
        data = ops.run_json(run)
        return {
            "run": {
                k: data[k]
                for k in ("id", "state", "verdict", "can_certify", "counts", "profile_verdicts", "finished")
            },
            "system": run.system.name,
            "organisation": run.system.organisation.name,
            "profile": link.profile,
            "statement_verdict": (run.profile_verdicts or {}).get(link.profile) if link.profile else None,
            "expires": ops.iso(link.expires),
            "files": files,
            "notes": note_ops.notes_of(db, testbed.box, run),
        }


@router.get("/api/shared/{token}")
def shared_json(token: str, request: Request) -> dict[str, Any]:
    return _view(request, token)


@router.get("/shared/{token}", include_in_schema=False)
def shared_page(token: str, request: Request) -> Response:
    view = _view(request, token)
    overrides = note_ops.overrides_by_test(view["notes"])
    return templates.TemplateResponse(
        request, "shared.html", {"who": None, "view": view, "overrides": overrides}
    )


@router.get("/shared/{token}/files/{name}", include_in_schema=False)
def shared_file(token: str, name: str, request: Request) -> Response:
    testbed = request.app.state.testbed
    if name not in SERVED_FILES:
        raise HTTPException(404, "no such report file")
    with testbed.store.session() as db:
        link = share_links.resolve(db, testbed.box, token, request.client.host if request.client else None)
        folder = link.run.report_folder
    if not folder:
        raise HTTPException(404, "no such report file")
    return file_response(testbed.settings.data.resolve() / folder, name)
