"""Who is asking, and may they: sessions, API tokens, CSRF, the login rate limit, and ``authorise``,
the one dependency every route of the app goes through (app.py installs it on the application, so a
route added later cannot forget it).

Decisions:
- a route is public only when listed in PUBLIC_ROUTES (login, the OpenAPI document, share links; static files
  are a mount outside the routes); everything else needs a user, by session cookie or bearer token;
- a session id and an API token are random 32 bytes; only their SHA-256 is stored, so a copy of the
  database logs nobody in;
- CSRF: a state-changing request authenticated by the cookie carries the session's CSRF token
  (header X-CSRF-Token or form field csrf_token); a bearer token is not sent by a browser on its own,
  so it needs none; the cookie is also SameSite=Strict;
- a token's scopes narrow what its user may do: "read" (GET) and "write" (everything else);
- what an organisation's member may see is decided by ``Principal.sees``; an object of another
  organisation is answered 404, like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fastapi import HTTPException, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from conformance.app.serve.models import ApiToken, User
from conformance.app.serve.models import Session as LoginSession

SESSION_COOKIE = "conformance_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TOKEN_PREFIX = "cft_"
SCOPES = ("read", "write")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# (method, route path) that answer without a user; the route test enumerates app.routes against this
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/api/login"),
        ("GET", "/api/openapi.json"),
        ("HEAD", "/api/openapi.json"),
        # share links (shared.py): the signed token in the path is the credential, checked on every use
        ("GET", "/api/shared/{token}"),
        ("GET", "/shared/{token}"),
        ("GET", "/shared/{token}/files/{name}"),
    }
)
PUBLIC_MOUNTS = ("/static",)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: str
    organisation_id: int
    via: str  # "session" or "token"
    scopes: frozenset[str] = frozenset(SCOPES)
    csrf_token: str | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def sees(self, organisation_id: int) -> bool:
        """Whether this user may read what belongs to ``organisation_id``."""
        return self.admin or organisation_id == self.organisation_id

    def changes(self, organisation_id: int) -> bool:
        """Whether this user may register systems and start runs for ``organisation_id``."""
        return self.admin or (self.role == "tester" and organisation_id == self.organisation_id)


def principal(request: Request) -> Principal:
    """The authenticated user of this request (set by ``authorise``); for route signatures."""
    who = getattr(request.state, "principal", None)
    if who is None:
        raise HTTPException(401, "log in first")
    return who


async def authorise(request: Request) -> None:
    """Identify the user (cookie or bearer token), enforce CSRF and token scopes; a public route is
    let through without a user. Installed on the whole application."""
    route = request.scope.get("route")
    public = route is not None and (request.method, getattr(route, "path", "")) in PUBLIC_ROUTES
    store = request.app.state.testbed.store
    who = await run_in_threadpool(_identify, store, request)
    request.state.principal = who
    if public:
        return
    if who is None:
        raise HTTPException(401, "log in first (a session cookie or an Authorization: Bearer token)")
    if request.method in SAFE_METHODS:
        if "read" not in who.scopes:
            raise HTTPException(403, "this token's scopes do not include read")
        return
    if who.via == "token":
        if "write" not in who.scopes:
            raise HTTPException(403, "this token's scopes do not include write")
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not who.csrf_token or not hmac.compare_digest(given, who.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token (header X-CSRF-Token or form field csrf_token)")


def _identify(store, request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    with store.session() as db:
        if scheme.lower() == "bearer" and credential.strip():
            return _by_token(db, credential.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        return _by_session(db, cookie) if cookie else None


def _by_token(db, token: str) -> Principal | None:
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked is not None or not row.user.active:
        return None
    user = row.user
    return Principal(user.id, user.name, user.role, user.organisation_id, "token", frozenset(row.scopes))


def _by_session(db, session_id: str) -> Principal | None:
    row = db.get(LoginSession, digest(session_id))
    if row is None:
        return None
    if _aware(row.expires) <= datetime.now(timezone.utc) or not row.user.active:
        db.delete(row)
        return None
    user = row.user
    return Principal(
        user.id, user.name, user.role, user.organisation_id, "session", csrf_token=row.csrf_token
    )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC); PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def open_session(db, user: User, hours: float) -> tuple[str, str]:
    """A new login session for ``user``: (the cookie's value, the CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            id_hash=digest(session_id),
            user_id=user.id,
            csrf_token=csrf,
            expires=datetime.now(timezone.utc) + timedelta(hours=hours),
        )
    )
    return session_id, csrf


def close_session(db, session_id: str | None) -> None:
    if session_id:
        row = db.get(LoginSession, digest(session_id))
        if row is not None:
            db.delete(row)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class LoginLimiter:
    """At most ``failures`` failed logins per ``window_s`` for one user name from one client; then
    429 until the window has passed. In memory: a restart forgets (a later slice can keep it in
    Redis for several web processes). Bounded: at most ``keys`` pairs are tracked."""

    def __init__(self, failures: int = 5, window_s: float = 60.0, keys: int = 10_000) -> None:
        self.failures, self.window_s, self.keys = failures, window_s, keys
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._seen.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, name: str, client: str) -> bool:
        with self._lock:
            return len(self._recent((name.lower(), client), time.monotonic())) >= self.failures

    def failed(self, name: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) >= self.keys:  # forget the pairs whose window has passed
                for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.window_s]:
                    del self._seen[key]
            key = (name.lower(), client)
            times = self._recent(key, now)
            times.append(now)
            self._seen[key] = times

    def succeeded(self, name: str, client: str) -> None:
        with self._lock:
            self._seen.pop((name.lower(), client), None)
