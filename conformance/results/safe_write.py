"""Writing under the reports folder without following a link (DESIGN.md: a folder from elsewhere,
or a link planted in one, is untrusted).

A file is written to a fresh temporary file beside it (created exclusively, never a link) and
renamed over the name: a symbolic link at that name is replaced, its target never written. A run's
folder that is a link is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class UnsafeOutput(OSError):
    """A place under the reports folder that is a link (or not a folder): nothing is written there."""


def real_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents) if needed; UnsafeOutput when it is a symbolic link or
    not a folder."""
    if folder.is_symlink():
        raise UnsafeOutput(f"{folder}: a symbolic link, not a report folder (nothing written through it)")
    folder.mkdir(parents=True, exist_ok=True)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeOutput(f"{folder}: not a folder of its own (nothing written through it)")
    return folder


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` by renaming a new temporary file over it (a link there is replaced,
    never followed)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def unlink_links(folder: Path, names: tuple[str, ...]) -> None:
    """Remove any symbolic link among ``folder``'s ``names`` (before files are written there)."""
    for name in names:
        if (folder / name).is_symlink():
            (folder / name).unlink()
