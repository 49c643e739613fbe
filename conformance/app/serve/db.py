"""The database: an engine for the operator's URL, sessions, and the schema brought up to date by the
Alembic migrations shipped in this package (applied on every start; nothing else creates tables).

Decisions: SQLite (the embedded default) runs in WAL mode with a busy timeout, so the web threads
and the run workers write without "database is locked"; foreign keys are switched on (SQLite leaves
them off). Any other URL (PostgreSQL, later) is passed to SQLAlchemy as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database URL or the database itself cannot be used: one line for the operator."""


def engine_for(url: str) -> Engine:
    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {}
        )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"--database-url: not a usable database URL ({exc})") from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a fresh database gets every table)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except Exception as exc:  # noqa: BLE001 - any failure here is the operator's database: one line
        raise DatabaseError(f"database {engine.url.render_as_string(hide_password=True)}: {exc}") from None


class Store:
    """Sessions on one engine; ``with store.session() as db:`` commits on success, rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        db = self._factory()
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()
