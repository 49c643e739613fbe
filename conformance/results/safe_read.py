"""Reading a file the harness did not just write (a results.json of another run, a report folder
from elsewhere): untrusted, so read under caps and never through a link (DESIGN.md).

``read_capped`` opens without following a symbolic link in the last component, refuses anything
but a regular file (a FIFO would block, a device never end), checks the size before reading and
reads at most the cap. ``load_json`` adds the JSON nesting cap and UTF-8.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

MAX_JSON_BYTES = 256 * 1024 * 1024  # a whole run's results.json with every exchange is far below
MAX_DEPTH = 64  # results.json nests a few levels: a deeper document is not one


class UnsafeInput(Exception):
    """The file cannot be read safely: its message names it and says why, on one line."""


def read_capped(path: Path, cap: int) -> bytes:
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeInput(f"{path}: a symbolic link (not followed)") from None
        raise UnsafeInput(f"{path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeInput(f"{path}: not a regular file")
        if info.st_size > cap:
            raise UnsafeInput(f"{path}: {info.st_size} bytes, more than the {cap} read")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise UnsafeInput(f"{path}: more than the {cap} bytes read")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeInput(f"{path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _depth_ok(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def load_json(path: Path, cap: int = MAX_JSON_BYTES, depth: int = MAX_DEPTH) -> object:
    """The JSON value of ``path``: UnsafeInput when it is a link, not a regular file, larger than
    ``cap``, not UTF-8, not JSON, or nested deeper than ``depth``."""
    raw = read_capped(path, cap)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeInput(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnsafeInput(f"{path}: nested too deeply") from None
    except ValueError as exc:
        raise UnsafeInput(f"{path}: not JSON ({exc})") from None
    if not _depth_ok(value, depth):
        raise UnsafeInput(f"{path}: nested deeper than {depth} levels")
    return value
