"""The harness inbox's memory under a flood of refused 5 MiB POSTs, measured as the RSS of a process
of its own: each stored judgement's Violation used to keep its traceback, whose frames held the body
and its parsed tree (after a flood the inbox kept 2.65 GB)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conformance.profiles.efdx.codes import ENVELOPE_NS, MAX_BODY_BYTES

SERVE = (
    "import sys\n"
    "from conformance.family.inbox import HarnessInbox\n"
    "from conformance.profiles.efdx.dialect import EFDX\n"
    "inbox = HarnessInbox('KH', dialect=EFDX).start()\n"
    "print(inbox.url, flush=True)\n"
    "sys.stdin.read()\n"
    "print(len(inbox.arrivals), flush=True)\n"
)
MIB = 1024 * 1024
BATCH = 40  # POSTs of 5 MiB each; before the fix each kept about its size and more (its tree)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def inbox_process() -> Iterator[tuple[subprocess.Popen, str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def flood(url: str, count: int) -> None:
    """``count`` well-formed Envelopes of just under 5 MiB, refused (M-03: not schema-valid)."""
    padding = b"x" * (MAX_BODY_BYTES - 1024)
    session = requests.Session()
    session.trust_env = False
    for index in range(count):
        body = (
            f'<Envelope xmlns="{ENVELOPE_NS}" n="{index}"><Junk>'.encode() + padding + b"</Junk></Envelope>"
        )
        response = session.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=30)
        assert response.status_code == 400, response.status_code


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="RSS is read from /proc")
def test_a_flood_of_5_mib_refused_posts_keeps_the_inbox_rss_bounded(inbox_process):
    process, url = inbox_process
    flood(url, 2)  # warmed up: the parser, the schema, the first buffers
    start = rss(process.pid)
    flood(url, BATCH)
    first = rss(process.pid)
    flood(url, BATCH)
    second = rss(process.pid)
    # Retention keeps at most 8 MiB of refused bodies, plus 1 KiB each: the rest is transient.
    assert first - start < 64 * MIB, f"RSS grew {(first - start) / MIB:.0f} MiB over {BATCH} POSTs"
    assert second - start < 64 * MIB, f"RSS grew {(second - start) / MIB:.0f} MiB over {2 * BATCH} POSTs"
    process.stdin.close()
    assert process.stdout.readline().strip() == str(2 + 2 * BATCH)  # every one arrived and was judged
