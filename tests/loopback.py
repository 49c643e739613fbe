"""Servers on loopback for the harness's tests: a port a test must name before its server starts (a
harness inbox that a reference NSW is configured to reach), the reference NSW as a process, and a
partner inbox that holds what it is sent (to see what an outbox has in flight).

The port is chosen below the kernel's ephemeral range, so that no server bound to port 0 meanwhile (the
reference, another test worker's) can be handed it before the test binds it.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

HOLD_LIMIT = 30.0  # seconds a HoldingPeer holds a POST at most, if the test never releases it


_handed_out: set[int] = set()  # this process's ports: never handed out twice (one may be in TIME_WAIT)


def _worker_ports() -> range:
    """This test worker's share of 20000-32000: pytest-xdist workers (gw0, gw1 ...) each draw from their
    own slice, so that two workers never pick the same port between one's probe and its bind (seen
    once in CI: "Address already in use")."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), 1)
    index = int(worker) % count if worker.isdigit() else 0
    size = (32000 - 20000) // count
    return range(20000 + index * size, 20000 + (index + 1) * size)


def free_port() -> int:
    """A loopback port free now, of this worker's share, not handed out before in this process."""
    ports = [port for port in _worker_ports() if port not in _handed_out]
    for port in random.sample(ports, min(50, len(ports))):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port between 20000 and 32000")


class ServedReference(NamedTuple):
    """`conformance reference serve` (KH) as a process: where its inbox and trigger are."""

    process: subprocess.Popen
    inbox_url: str
    trigger_url: str


def poll_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """A bounded poll, for what tells nobody when it changes (a file, /proc): True once
    ``condition()`` holds, False if it still does not after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def reference_serve_command(db: Path, sg_inbox: str, *options: str) -> list[str]:
    """`conformance reference serve` for KH on a free loopback port, its SG peer at ``sg_inbox``."""
    return [
        sys.executable,
        "-m",
        "conformance.app.cli",
        "reference",
        "serve",
        "--party",
        "KH",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        str(db),
        "--peer",
        f"SG={sg_inbox}",
        *options,
    ]


def serve_reference(db: Path, harness_port: int, token: str, *, tls: bool = False) -> ServedReference:
    """Start `conformance reference serve --party KH` on a free port, its SG peer the harness inbox
    at ``harness_port``; ``tls``: both over mutual TLS (test PKI). The caller stops it with
    ``stop_reference``."""
    scheme = "https" if tls else "http"
    process = subprocess.Popen(
        reference_serve_command(
            db,
            f"{scheme}://127.0.0.1:{harness_port}/efdx/1/messages",
            *("--trigger-token", token, "--retry-schedule", "0.2,0.4,0.8", "--outbound-timeout", "1"),
            *(("--tls",) if tls else ()),
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first, second = process.stdout.readline(), process.stdout.readline()
    if not first.startswith("reference NSW KH at "):
        stop_reference(process)
        raise RuntimeError(f"reference serve did not start: {first!r} {second!r}")
    return ServedReference(process, first.split(" at ")[1].strip(), second.split(" at ")[1].strip())


def stop_reference(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    process.stdout.close()


class HoldingPeer:
    """A partner inbox on loopback that holds every POST until ``release()``, then answers 200 (at once,
    from then on): what arrived (the bodies, in order) and how many are held now."""

    def __init__(self) -> None:
        self.arrivals: list[bytes] = []
        self.held = 0
        self.changed = threading.Condition()
        self._released = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with peer.changed:
                    peer.arrivals.append(body)
                    peer.held += 1
                    peer.changed.notify_all()
                peer._released.wait(HOLD_LIMIT)
                with peer.changed:
                    peer.held -= 1
                    peer.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/efdx/1/messages"
        self._thread = threading.Thread(target=self._server.serve_forever, name="holding-peer", daemon=True)

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> HoldingPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
