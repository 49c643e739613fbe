"""The FastAPI application: the API and page routers behind one authorisation dependency
(auth.authorise, installed on the application so no route can go without it), static files, the
page policy on every answer, and a cap on request bodies.

Why FastAPI: the REST API's OpenAPI document comes from the same type annotations that check the
requests (as the EU Interoperability Test Bed publishes its API), dependencies give one place for
authorisation, and it runs on uvicorn in the embedded default and behind any ASGI server later.
The interactive docs pages (/docs, /redoc) are off: they load scripts from a CDN, which the page
policy forbids; the document itself is at /api/openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance import __version__
from conformance.app.serve import api, api_statements, pages, pages_statements, shared
from conformance.app.serve.auth import authorise

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC = Path(__file__).parent / "static"


class SecurityHeaders:
    """The page policy, nosniff and no referrer on every answer; an answer that set its own policy
    (report.html's, sandboxed) keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Request bodies above ``limit`` bytes: 413 when Content-Length says so, otherwise the body is
    cut off where it passes the limit (the request then fails as a client that went away)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await Response("request body too large", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)


def route_table(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route of the application with its full path, through included routers (FastAPI 0.12x
    lists their routes on the application; later versions list the included router itself)."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from route_table(original.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route


def create_app(testbed) -> FastAPI:
    app = FastAPI(
        title="Conformance test bed",
        version=__version__,
        description="Organisations, systems and runs of the NSW conformance harness (`conformance serve`).",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(authorise)],
    )
    app.state.testbed = testbed
    app.include_router(api.router)
    app.include_router(api_statements.router)
    app.include_router(shared.router)
    app.include_router(pages.router)
    app.include_router(pages_statements.router)
    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def to_login(request: Request, exc: StarletteHTTPException) -> Response:
        """A page asked for without a login goes to the login page; the API answers 401."""
        if exc.status_code == 401 and request.method == "GET" and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)
        return await http_exception_handler(request, exc)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=testbed.settings.upload_bytes * 4 + 65536)
    return app
