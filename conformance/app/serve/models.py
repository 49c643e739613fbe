"""The service's tables (SQLAlchemy 2 typed ORM). The schema itself is made and changed only by the
Alembic migrations in ``migrations/`` (a test checks that they and these models agree).

Decisions, with the later slices in mind:
- every row that belongs to an organisation says so directly (System.organisation_id) or through
  exactly one parent (Run through its System), so authorisation is one join, never a guess;
- secrets (a system's trigger token and TLS material) are stored only encrypted (``secret_box``);
  session ids and API tokens only as SHA-256 hashes, passwords only as argon2 hashes;
- a run's selection, counts and per-profile verdicts are JSON: they are what results.json says,
  copied for listing, never judged again here (the CLI's verdict is the verdict);
- AuditEvent is append-only and names its actor by id and by name (a user deleted later still has
  their events read).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("admin", "secretariat", "tester", "viewer")
RUN_STATES = ("queued", "running", "finished", "incomplete")
ACTIVE_STATES = ("queued", "running")


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[str]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(default=now)

    systems: Mapped[list[System]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(default=now)

    organisation: Mapped[Organisation] = relationship()


class Session(Base):
    """A browser's login: the cookie holds the id, the table only its SHA-256."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=now)
    expires: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A user's token for CI: shown once when made, stored as its SHA-256, revocable, scoped."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column()
    created: Mapped[datetime] = mapped_column(default=now)
    revoked: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class System(Base):
    """A candidate NSW of an organisation: its ICS TOML (checked by the CLI's loader), its secrets
    encrypted; ``embedded``: the embedded reference NSW (no TOML, `conformance run` alone)."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    embedded: Mapped[bool] = mapped_column(Boolean, default=False)
    ics_toml: Mapped[str | None] = mapped_column(Text, default=None)
    trigger_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tls_material_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    organisation: Mapped[Organisation] = relationship(back_populates="systems")
    runs: Mapped[list[Run]] = relationship(back_populates="system", cascade="all, delete-orphan")


# One active run per system, kept by the database itself (two requests at once cannot both start one).
_ACTIVE = text("state IN ('queued', 'running')")


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index(
            "one_active_run_per_system",
            "system_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    selection: Mapped[dict[str, Any]] = mapped_column()  # profiles, requirements, tests
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    verdict: Mapped[str | None] = mapped_column(String(40), default=None)
    can_certify: Mapped[bool | None] = mapped_column(Boolean, default=None)
    counts: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    profile_verdicts: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    report_folder: Mapped[str | None] = mapped_column(String(500), default=None)  # under DATA
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    child_pid: Mapped[int | None] = mapped_column(Integer, default=None)
    # The lease of the worker running it (``lease``): who, and when it last said it still does.
    worker_id: Mapped[str | None] = mapped_column(String(100), default=None)
    heartbeat: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created: Mapped[datetime] = mapped_column(default=now)
    started: Mapped[datetime | None] = mapped_column(default=None)
    finished: Mapped[datetime | None] = mapped_column(default=None)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    system: Mapped[System] = relationship(back_populates="runs")


class EgressAllow(Base):
    """An admin's allow-list entry (a CIDR or a host name) added to the service's egress defaults
    for every run of a registered system (``egress``)."""

    __tablename__ = "egress_allow"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry: Mapped[str] = mapped_column(String(300), unique=True)
    added: Mapped[datetime] = mapped_column(default=now)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    user_id: Mapped[int | None] = mapped_column(default=None)  # no foreign key: the log outlives users
    user_name: Mapped[str | None] = mapped_column(String(100), default=None)
    organisation_id: Mapped[int | None] = mapped_column(default=None)
    action: Mapped[str] = mapped_column(String(60))  # login, login-failed, run-started, ...
    target: Mapped[str | None] = mapped_column(String(200), default=None)  # "run:12", "system:3"
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    client: Mapped[str | None] = mapped_column(String(100), default=None)


class Publication(Base):
    """A conformance statement made visible to the secretariat: one system × profile, the certifying
    run it stands on. The newest row of a system × profile is its published statement (a later
    publication supersedes, nothing is edited)."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    profile: Mapped[str] = mapped_column(String(60))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    published: Mapped[datetime] = mapped_column(default=now)
    published_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    run: Mapped[Run] = relationship()
    system: Mapped[System] = relationship()


class ShareLink(Base):
    """A read-only link to one run's report, or to the statement of a system × profile that run
    stands on (``profile`` set): the link itself carries its id and expiry signed with HMAC; this row
    is what makes it revocable (checked on every use)."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    profile: Mapped[str | None] = mapped_column(String(60), default=None)
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    created: Mapped[datetime] = mapped_column(default=now)
    expires: Mapped[datetime] = mapped_column()
    revoked: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    run: Mapped[Run] = relationship()


class Note(Base):
    """A comment on a run, or an admin's override of one test's verdict: ``body`` is the note's
    canonical JSON (what is shown), ``signature`` its HMAC (notes.py); the other columns repeat the
    body for queries and are checked against it."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # comment, override
    test_id: Mapped[str | None] = mapped_column(String(300), default=None)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(default=now)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
