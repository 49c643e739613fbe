"""A profile pack as the engine sees it: one object that the harness, the plugin, the reference
runner, the results and the command are given, so that none of them imports a profile.

A pack (EFDX 1.0, RCPX 1.0, a member state's official profile) builds one ``Profile`` and exposes it
through the ``conformance.profiles`` entry-point group; ``pip install`` of the pack is all it takes
for ``conformance profiles`` to list it and ``conformance run --profile KEY`` to run it. Everything
the engine needs from a pack is a field here; what a pack does inside those callables is its own.
Heavy parts (catalogue, PKI, reference) are callables, so listing profiles loads none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from conformance.core.catalogue import Catalogue

if TYPE_CHECKING:
    from conformance.core.inbox_server import ConnectionCounts
    from conformance.core.testpki import TestMaterial
    from conformance.core.trust import Credential, TrustStore


@runtime_checkable
class SeededFault(Protocol):
    """A named deliberate defect of the pack's reference NSW, and the test purpose it breaks."""

    name: str
    purpose: str
    description: str
    also: tuple[str, ...]  # further purposes it breaks


@runtime_checkable
class PackPki(Protocol):
    """A pack's TEST ONLY PKI as the engine uses it: the harness signs and connects as ``nsw(party)``
    and trusts ``trust_store()``. (``core.testpki.PkiFolder`` is one, with ``test_material()``.)"""

    def nsw(self, party: str) -> Credential: ...

    def trust_store(self) -> TrustStore: ...


@runtime_checkable
class HarnessInbox(Protocol):
    """The harness inbox a pack makes (``make_inbox``): it plays the partner NSW for the candidate.
    ``arrivals`` is what the candidate sent; ``bodies_cut``/``bytes_dropped`` and ``connections``
    are what the inbox turned away or did not keep, which the run reports (and which can make a
    failing verdict inconclusive). A pack whose profile claims ``trigger`` also needs
    ``wait_for(predicate, timeout, pending=...)`` and ``forget(arrival)`` (the pre-flight's Ping)."""

    url: str
    arrivals: list[Any]
    bodies_cut: int
    bytes_dropped: int
    connections: ConnectionCounts

    def start(self) -> Any: ...

    def stop(self) -> None: ...


class PingInbox(HarnessInbox, Protocol):
    """The harness inbox of a pack whose profile claims ``trigger``: the pre-flight asks the candidate
    for a Ping and waits for it here (``registry.check_made`` checks these are there)."""

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float, *, pending: bool = False) -> Any: ...

    def forget(self, arrival: Any) -> None: ...


class RunningReference(Protocol):
    """A started reference NSW of the pack (a context manager stops it)."""

    url: str  # its inbox
    trigger_url: str


@dataclass(frozen=True)
class ReferenceSettings:
    """What the engine asks of a pack's reference NSW for one run."""

    party: str
    db: Path
    peers: dict[str, str]
    fault: str | None = None
    retry_schedule: Sequence[float] = (1.0, 2.0, 4.0, 8.0)
    outbound_timeout: float = 10.0
    trigger_token: str | None = None
    tls: bool = False
    status_delay: float = 0.0
    outbox_workers: int | None = None  # deliveries at once (None: the pack's default)
    reuse_port: bool = False  # listen with SO_REUSEPORT: other processes serve the same port
    # The embedded reference claims every capability, gateway among them (EFDX section 9): it trusts
    # its test PKI's gateway CA for TLS only and takes a gateway's 502/504 as transient; its peers may
    # be gateway inboxes. ``direct_peers``: the partners' own inboxes (a seeded fault sends there).
    gateway: bool = True
    direct_peers: dict[str, str] = field(default_factory=dict)


def gateway_inbox_path(inbox_path: str, party: str) -> str:
    """The gateway inbox of ``party`` for a profile whose inbox is ``inbox_path`` (EFDX section 9;
    RCPX errata 1): the party before the path's last step (``/efdx/1/messages`` ->
    ``/efdx/1/SG/messages``). The gateway (family/gateway.py) listens there, and so does the harness
    inbox for the party it plays when the candidate claims ``gateway`` (the harness is its gateway)."""
    base, _, last = inbox_path.rstrip("/").rpartition("/")
    return f"{base}/{party}/{last}"


@dataclass(frozen=True, eq=False)  # one object per pack: compared and hashed by identity
class Profile:
    """Everything the engine needs from one profile."""

    key: str  # short, for the command line and file names: "efdx"
    title: str  # how reports qualify IDs: "EFDX 1.0"
    description: str
    parties: tuple[str, ...]
    capabilities: tuple[str, ...]  # what an ICS may claim
    catalogue: Callable[[], Catalogue]
    suite_package: str  # the pytest package of the pack's suite modules
    trigger_header: str  # the header carrying the candidate's test-trigger token
    inbox_path: str  # where a candidate's inbox lives under its base URL ("/efdx/1/messages")
    trigger_path: str
    load_pki: Callable[[], PackPki]  # the pack's TEST ONLY PKI
    # the harness inbox playing the partner NSW: make_inbox(party, pki=, tls=, host=, port=, server_cert=)
    make_inbox: Callable[..., HarnessInbox]
    build_vector: Callable[..., bytes]  # a manifest vector, live (the harness's `vector`)
    new_build: Callable[..., Any]  # a message under construction (the harness's `build`)
    after_suite: Callable[[Any], None]  # checks over the whole run (e.g. answers that came twice)
    start_reference: Callable[[ReferenceSettings], AbstractContextManager[RunningReference]]
    # `conformance reference serve`: serve on host:port until SIGINT/SIGTERM; announce(base URL) once up.
    # A pack may serve other profiles' reference NSWs in the same process (their paths differ), given
    # as (profile, settings) pairs; it raises ValueError for one it cannot.
    serve_reference: Callable[..., None]
    reference_party: str
    faults: Callable[[], Sequence[SeededFault]]
    spec_text: Callable[[str], str]  # a requirement's text in the spec, for reports and `spec ID`
    spec_document: Callable[[], str]  # the whole spec as shipped
    namespaces: tuple[str, ...]  # the XML namespaces of its messages: `validate` tells profiles apart
    validator: Callable[[str], Callable[[bytes, datetime | None], tuple[list[str], str]]]  # receiver ->
    # judge(body, at) -> (error codes, description), as the receiving NSW would judge a file offline
    build_vectors: Callable[[date, Path], list[Path]]
    partner_party: str = "SG"  # whom the harness plays against the pack's reference NSW
    # `conformance load`: the pack's load adapter (conformance/app/load/adapter.py says what it gives);
    # None: the profile cannot be load-tested
    load: Callable[[], Any] | None = None
    # The pack's trace of its spec's clauses to test purposes (core/clauses.py: a TOML file's bytes);
    # None: the pack traces none, and `conformance list --trace` shows every clause untraced
    clause_trace: Callable[[], bytes] | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # pack-specific, for the pack's own CLI use
    # What of the pack is TEST ONLY material (its private keys are public): a run whose evidence a
    # chain holding any of it signs never certifies. None: its test PKI's own declaration
    # (``load_pki().test_material()``, as core.testpki's PkiFolder gives), else every CA it trusts.
    test_material: Callable[[], TestMaterial] | None = None

    def declared_test_material(self) -> TestMaterial:
        """The pack's TEST ONLY material, as it declares it (see ``test_material``)."""
        from conformance.core.testpki import TestMaterial

        if self.test_material is not None:
            return self.test_material()
        pki = self.load_pki()
        declared = getattr(pki, "test_material", None)
        if callable(declared):
            found = declared()
            if isinstance(found, TestMaterial):
                return found
        cas = tuple(pki.trust_store().cas.values())
        return TestMaterial.of_certificates(f"{self.title} TEST ONLY PKI", cas, anchors=cas)

    def gateway_path(self, party: str) -> str:
        """The gateway inbox of ``party`` under a base URL (EFDX section 9): ``gateway_inbox_path``."""
        return gateway_inbox_path(self.inbox_path, party)

    def qualify(self, requirement_id: str) -> str:
        """``M-06`` -> ``EFDX 1.0 M-06``: how every report names a requirement."""
        return f"{self.title} {requirement_id}"

    def faults_of(self, purpose_id: str) -> tuple[SeededFault, ...]:
        return tuple(f for f in self.faults() if f.purpose == purpose_id or purpose_id in f.also)

    def fault(self, name: str | None) -> SeededFault | None:
        """The seeded fault called ``name`` (None for None); KeyError listing the names otherwise."""
        if name is None:
            return None
        for found in self.faults():
            if found.name == name:
                return found
        raise KeyError(f"no seeded fault {name!r} in {self.title}; `conformance reference faults` lists them")
