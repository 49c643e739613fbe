"""Logging in, for the login page and POST /api/login alike: the rate limit per user name and client
address (429 past it, checked before the password so a blocked guesser learns nothing), argon2
verification, a new session, and an audit event either way."""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy import select

from conformance.app.serve.auth import open_session
from conformance.app.serve.models import AuditEvent, User
from conformance.app.serve.passwords import verify_password


def attempt_login(request: Request, name: str, password: str) -> tuple[User, str, str]:
    """(the user, the new session's id, its CSRF token), or HTTPException 401 or 429."""
    testbed = request.app.state.testbed
    client = request.client.host if request.client else "?"
    if testbed.limiter.blocked(name, client):
        raise HTTPException(429, "too many failed logins: wait a minute")
    with testbed.store.session() as db:
        user = db.scalar(select(User).where(User.name == name))
        good = (
            verify_password(user.password_hash if user else None, password)
            and user is not None
            and user.active
        )
        if not good or user is None:
            db.add(AuditEvent(action="login-failed", user_name=name[:100], client=client))
        else:
            session_id, csrf = open_session(db, user, testbed.settings.session_hours)
            organisation = user.organisation_id
            db.add(
                AuditEvent(
                    action="login",
                    user_id=user.id,
                    user_name=user.name,
                    organisation_id=organisation,
                    client=client,
                )
            )
            testbed.limiter.succeeded(name, client)
            return user, session_id, csrf
    testbed.limiter.failed(name, client)
    raise HTTPException(401, "wrong user name or password")
