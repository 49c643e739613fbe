"""A run's report files, served by name only: one of execute.REPORT_FILES, opened inside the run's
report folder without following a link (the folder was written by the run's process, whose pages
hold candidate text), streamed, never listed.

report.html gets its own Content-Security-Policy (the one its template wrote into its <meta>: its
inline style and script by hash, nothing else) plus ``sandbox allow-scripts``: the page runs in an
opaque origin, so even a script smuggled into it could not read the service's cookies or call its
API as the user. Every other file is sent as a download (Content-Disposition: attachment).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from conformance.app.serve.execute import REPORT_FILES

CERTIFICATE, ATTESTATION = "certificate.html", "evidence.zip.intoto.jsonl"
# the report files, and what a certifying run adds: its certificate and (when issued) its attestation
SERVED_FILES = REPORT_FILES + tuple(name for name in (CERTIFICATE, ATTESTATION) if name not in REPORT_FILES)
PAGES = ("report.html", CERTIFICATE)  # served as pages, under their own policy and the sandbox
TYPES = {
    "report.html": "text/html; charset=utf-8",
    CERTIFICATE: "text/html; charset=utf-8",
    ATTESTATION: "application/jsonl",
    "results.json": "application/json",
    "junit.xml": "application/xml",
    "ctrf.json": "application/json",
    "evidence.zip": "application/zip",
    "evidence.zip.intoto.jsonl": "application/jsonl",
}
FALLBACK_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"
_META_CSP = re.compile(
    rb'<meta http-equiv="Content-Security-Policy" content="([A-Za-z0-9 &#\-;:+/=]{1,2000})">'
)
_HEAD_BYTES = 8192
_CHUNK = 64 * 1024


def _open_in(folder: Path, name: str) -> int:
    """A descriptor of ``folder/name``: neither the folder nor the file may be a link, and the file is
    a regular file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        directory = os.open(folder, flags | os.O_DIRECTORY)
    except OSError:
        raise HTTPException(404, "no such report file") from None
    try:
        descriptor = os.open(name, flags | os.O_NONBLOCK, dir_fd=directory)
    except OSError:
        raise HTTPException(404, "no such report file") from None
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise HTTPException(404, "no such report file")
    return descriptor


def _chunks(descriptor: int) -> Iterator[bytes]:
    try:
        while chunk := os.read(descriptor, _CHUNK):
            yield chunk
    finally:
        os.close(descriptor)


def report_policy(head: bytes) -> str:
    """report.html's own policy from its <meta> (our template writes it first in <head>), narrowed
    further; a page without one gets a policy allowing no script at all."""
    found = _META_CSP.search(head)
    own = found.group(1).decode("ascii").replace("&#39;", "'") if found else FALLBACK_REPORT_CSP
    if "&" in own:  # an entity other than the quote: not a policy our template wrote
        own = FALLBACK_REPORT_CSP
    return f"{own}; frame-ancestors 'none'; sandbox allow-scripts"


def has_file(folder: Path, name: str) -> bool:
    """Whether the run's folder holds ``name`` as a regular file (no link followed)."""
    try:
        os.close(_open_in(folder, name))
    except HTTPException:
        return False
    return True


def file_response(folder: Path, name: str) -> StreamingResponse:
    if name not in SERVED_FILES:
        raise HTTPException(404, "no such report file")
    descriptor = _open_in(folder, name)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if name in PAGES:
        head = os.pread(descriptor, _HEAD_BYTES, 0)
        headers["Content-Security-Policy"] = report_policy(head)
    else:
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    headers["Content-Length"] = str(os.fstat(descriptor).st_size)
    return StreamingResponse(_chunks(descriptor), media_type=TYPES[name], headers=headers)
