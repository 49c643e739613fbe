"""TOY 0.1 as a pack: its catalogue, suite, reference NSW (a tiny HTTP server) and one seeded fault.

What a real pack supplies at length (schemas, message builders, a test PKI, a harness inbox that
judges what the candidate sends) the toy keeps to the minimum; it borrows EFDX's TEST ONLY PKI to
sign its evidence, which a private pack may do as well as ship its own.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from conformance.core.catalogue import Catalogue, Purpose, Requirement
from conformance.core.inbox_server import ConnectionCounts
from conformance.core.profile import Profile

INBOX_PATH = "/toy/1/messages"
REQUIREMENTS = (
    Requirement("TOY-1", "TOY", "MUST", "ping answered", "A PING gets HTTP 200."),
    Requirement("TOY-2", "TOY", "MUST", "garbage refused", "Anything else gets HTTP 400."),
)
PURPOSES = (
    Purpose("TOY-1/ping-answered", "PING is answered 200"),
    Purpose("TOY-2/garbage-refused", "a body other than PING is refused 400"),
)


@dataclass(frozen=True)
class Fault:
    name: str
    purpose: str
    description: str
    also: tuple[str, ...] = ()


FAULTS = (
    Fault("refuses-ping", "TOY-1/ping-answered", "answers 400 to everything"),
    Fault("always-200", "TOY-2/garbage-refused", "answers 200 to anything"),
)


def catalogue() -> Catalogue:
    return Catalogue("TOY 0.1", REQUIREMENTS, PURPOSES, ("TOY",), example_ids="TOY-1")


@dataclass
class QuietInbox:
    """The toy's harness inbox: TOY 0.1 has no messages from the candidate, so nothing listens."""

    party: str
    options: dict = field(default_factory=dict)
    url: str = "http://127.0.0.1:9/"
    arrivals: list = field(default_factory=list)
    bodies_cut: int = 0
    bytes_dropped: int = 0
    connections: ConnectionCounts = field(default_factory=ConnectionCounts)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class Running:
    url: str
    trigger_url: str


def _app(fault: str | None):
    @Request.application
    def answer(request: Request) -> Response:
        if request.path != INBOX_PATH or request.method != "POST":
            return Response("not found", 404)
        ok = (request.get_data() == b"PING" or fault == "always-200") and fault != "refuses-ping"
        return Response("OK" if ok else "not a ping", 200 if ok else 400)

    return answer


@contextlib.contextmanager
def start_reference(settings):
    server = make_server("127.0.0.1", 0, _app(settings.fault), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        yield Running(base + INBOX_PATH, base + "/toy/1/trigger")
    finally:
        server.shutdown()
        server.server_close()


def serve_reference(settings, host: str, port: int, announce) -> None:
    server = make_server(host, port, _app(settings.fault), threaded=True)
    announce(f"http://{host}:{server.port}")
    server.serve_forever()


def load_pki():
    from conformance.profiles.efdx.pki import TestPki  # borrowed TEST ONLY material, for the evidence

    return TestPki.load()


def validator(receiver: str):
    def judge(body: bytes, at) -> tuple[list[str], str]:
        return ([], "PING") if body.strip() == b"PING" else (["TOY-2"], "not a ping")

    return judge


def build_vectors(day, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ping.txt"
    path.write_bytes(b"PING")
    return [path]


def _unsupported(*args, **kwargs):
    raise NotImplementedError("TOY 0.1 builds no XML messages")


PROFILE = Profile(
    key="toy",
    title="TOY 0.1",
    description="a two-requirement example pack (tests/data/toy_pack)",
    parties=("KH", "SG", "TH"),
    capabilities=(),
    catalogue=catalogue,
    suite_package="toy_profile.suite",
    trigger_header="X-Toy-Test-Token",
    inbox_path=INBOX_PATH,
    trigger_path="/toy/1/trigger",
    load_pki=load_pki,
    make_inbox=lambda party, **options: QuietInbox(party, options),
    build_vector=_unsupported,
    new_build=_unsupported,
    after_suite=lambda harness: None,
    start_reference=start_reference,
    serve_reference=serve_reference,
    reference_party="KH",
    faults=lambda: FAULTS,
    spec_text=lambda item: next(f"{r.id}  {r.level}  {r.text}" for r in REQUIREMENTS if r.id == item),
    spec_document=lambda: "TOY 0.1: TOY-1 a PING gets 200; TOY-2 anything else gets 400.",
    namespaces=(),
    validator=validator,
    build_vectors=build_vectors,
)
