"""Who holds outbox claims on a SQLite file, and whether they are still alive.

Each started outbox is an owner: a token (pid and a random part, never reused) and a lock file beside
the SQLite file (``<db>-owner-<token>``) that it holds locked (``flock``) for its life. The kernel drops
the lock when the process ends, however it ends (``kill -9`` too), so a claim whose owner's lock can be
taken, or whose lock file is gone, is a dead owner's; a live owner's lock cannot be taken, not even by
another outbox in the same process (``flock`` locks belong to an open file, not to a process). The
file is created under another name, locked, then renamed: nobody ever sees it unlocked while its owner
lives. (A process killed between the two leaves a ``-new-owner-`` file that is never swept: it was
never seen, so no claim names it.) Others probe an owner with a shared lock on a read-only handle:
probes do not shut each other out, only the owner's exclusive lock does; a lock file that cannot be
opened (another user's) counts as alive. Local files only (SQLite's WAL mode needs them too).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import uuid
from pathlib import Path

_TOKEN = re.compile(r"[0-9]+-[0-9a-f]{32}")


def _lock_file(db: Path, token: str) -> Path:
    return db.with_name(f"{db.name}-owner-{token}")


class Owner:
    """A live owner of claims on ``db``, until ``close()`` (or the end of the process)."""

    def __init__(self, db: Path) -> None:
        self.db = Path(db)
        self.token = f"{os.getpid()}-{uuid.uuid4().hex}"
        self.path = _lock_file(self.db, self.token)
        making = self.db.with_name(f"{self.db.name}-new-owner-{self.token}")  # not swept: never seen unlocked
        self._fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(making, self.path)

    def close(self) -> None:
        """No claims left: the lock file goes (first, so that it is never seen unlocked), then the lock."""
        if self._fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = -1


def token_of(claimed_by: str) -> str:
    """The owner's token in a ``claimed_by`` value (``<token>/<worker>``)."""
    return claimed_by.partition("/")[0]


def alive(db: Path, token: str) -> bool:
    """Whether the owner ``token`` of claims on ``db`` is alive; a dead one's lock file is removed.
    A token of another form (a claim made before owners had lock files) is a dead owner's."""
    if not _TOKEN.fullmatch(token):
        return False
    return _held(_lock_file(Path(db), token))


def sweep(db: Path) -> None:
    """Remove the lock files of owners that died (with claims or without)."""
    db = Path(db)
    for path in db.parent.glob(f"{_glob_escape(db.name)}-owner-*"):
        if _TOKEN.fullmatch(path.name.removeprefix(f"{db.name}-owner-")):
            _held(path)


def _held(path: Path) -> bool:
    """Whether ``path`` is locked by its owner; if not, it is removed (its owner is dead)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except PermissionError:
        return True  # not ours to judge: left alone
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False
    finally:
        os.close(fd)


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
