"""The first start of a test bed: an ``admin`` account (its password returned to be printed once, and
kept nowhere but as its argon2 hash), the organisation "Demo", and its system "Embedded reference NSW"
whose runs are plain `conformance run`, so that a fresh test bed can run at once. Later starts find
users and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from conformance.app.serve.db import Store
from conformance.app.serve.models import AuditEvent, Organisation, System, User
from conformance.app.serve.passwords import hash_password, new_password

ADMIN = "admin"
DEMO_ORGANISATION = "Demo"
DEMO_SYSTEM = "Embedded reference NSW"


def first_start(store: Store) -> str | None:
    """The new admin's password on a test bed's first start; None on any later one."""
    with store.session() as db:
        if db.scalar(select(func.count(User.id))):
            return None
        organisation = Organisation(name=DEMO_ORGANISATION)
        db.add(organisation)
        db.flush()
        password = new_password()
        db.add(
            User(
                organisation_id=organisation.id,
                name=ADMIN,
                role="admin",
                password_hash=hash_password(password),
            )
        )
        db.add(System(organisation_id=organisation.id, name=DEMO_SYSTEM, embedded=True))
        db.add(AuditEvent(action="test-bed-created", user_name=ADMIN, organisation_id=organisation.id))
        return password
