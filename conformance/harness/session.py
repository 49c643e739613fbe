"""The harness's side of a run: configuration, test PKI, the client towards the candidate, the
harness inbox, and the record of what each test exchanged (for verdict reasons and the report).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from conformance.core.client import CandidateClient, Exchange
from conformance.core.egress import EgressPolicy
from conformance.core.pins import PEM_FILE_MAX, pins_of_pem
from conformance.core.profile import Profile
from conformance.core.records import TestRecord
from conformance.harness import registry
from conformance.harness.config import Config, ConfigError
from conformance.harness.operator import Answer, Prompt


class Wait(NamedTuple):
    """What a test waits for from the candidate, and until when (``time.monotonic()``)."""

    what: str
    until: float


class Harness:
    """Everything a suite test needs to drive the candidate and to watch what it sends."""

    def __init__(
        self,
        config: Config,
        pki: Any = None,
        profile: Profile | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.config = config
        self.egress = egress  # where the clients towards the candidate may connect (None: anywhere)
        self.profile = profile or registry.default()
        self.pki = pki or self.profile.load_pki()
        self.trust = self.pki.trust_store()
        self.party = config.harness_party
        self._workdir = tempfile.TemporaryDirectory(prefix=f"{self.profile.key}-harness-")
        cert, verify = self._tls_client()
        self.client = CandidateClient(
            timeout_s=config.windows.request_timeout_s,
            cert=cert,
            verify=verify,
            record=self._record_exchange,
            egress=egress,
        )
        host, _, port = config.harness_listen.rpartition(":")
        tls = config.tls
        server_cert = (str(tls.inbox_cert), str(tls.inbox_key)) if tls.inbox_cert and tls.inbox_key else None
        gateway_of = getattr(self.pki, "gateway", None)  # a pack's PKI with a gateway (EFDX section 9)
        if server_cert is None and tls.enabled and config.claims("gateway") and callable(gateway_of):
            # the harness is the candidate's gateway: its inbox presents the gateway's certificate, the
            # TEST ONLY PKI's, as a gateway would to a sender
            gateway = gateway_of()
            server_cert = (str(gateway.cert_path), str(gateway.key_path))
        pinned = {"client_pins": candidate_pins(tls.candidate_cert)} if tls.candidate_cert else {}
        self.inbox = self.profile.make_inbox(
            self.party,
            pki=self.pki,
            tls=tls.enabled,
            host=host,
            port=int(port),
            server_cert=server_cert,
            **pinned,
        )
        unusable = registry.check_made(self.profile, self.pki, self.inbox)
        if unusable:
            self._workdir.cleanup()
            raise ConfigError(unusable)
        self.current: TestRecord | None = None
        self.records: list[TestRecord] = []
        self.sent_message_ids: set[str | None] = set()
        self.non_interactive = False
        self.single_answers: list[tuple[TestRecord, Callable[[Any], bool]]] = []  # see steps.second_answers
        # what the suite's helpers keep for this run, each under its own key (the groups of messages
        # sent together, what a test's early start sent): it lives and ends with the harness
        self.kept: dict[str, Any] = {}
        # manual mode's channel to the operator (see harness/operator.py): the terminal by default
        self.tell_operator: Callable[[Prompt], Answer | None] = _print_for_operator
        # told each wait's Wait as it starts or moves, and None when it ends (a run's live display)
        self.tell_waiting: Callable[[Wait | None], None] = _not_shown
        self._lock = threading.Lock()

    def _tls_client(self) -> tuple[tuple[str, str] | None, str | bool]:
        if not self.config.tls.enabled:
            return None, True
        tls = self.config.tls
        credential = self.pki.nsw(self.party)
        cert = (str(tls.client_cert or credential.cert_path), str(tls.client_key or credential.key_path))
        return cert, self.ca_bundle()

    def ca_bundle(self) -> str:
        """Whom the harness trusts as the candidate's TLS server: the configured bundle or the test CAs."""
        if self.config.tls.ca_bundle:
            return str(self.config.tls.ca_bundle)
        bundle = Path(self.workfile("test-cas.pem"))
        if not bundle.exists():
            bundle.write_bytes(self.trust.ca_pem())
        return str(bundle)

    def workfile(self, name: str) -> str:
        return str(Path(self._workdir.name) / name)

    def client_with(self, cert: tuple[str, str] | None) -> CandidateClient:
        """Another client towards the candidate, presenting ``cert`` (T-05), recording into this run."""
        return CandidateClient(
            timeout_s=self.config.windows.request_timeout_s,
            cert=cert,
            verify=self.ca_bundle(),
            record=self._record_exchange,
            egress=self.egress,
        )

    def client_as(self, party: str) -> CandidateClient:
        """A client towards the candidate for the harness playing ``party`` (its NSW certificate over TLS)."""
        if not self.config.tls.enabled:
            return self.client
        credential = self.pki.nsw(party)
        return self.client_with((str(credential.cert_path), str(credential.key_path)))

    def start(self) -> Harness:
        try:
            self.inbox.start()
        except OSError as exc:  # a busy port was tried again for a while (inbox_server.listening)
            raise ConfigError(
                f"harness.listen: cannot listen on {self.config.harness_listen}: {exc.strerror or exc}"
            ) from None
        self.reserve_for_candidate()
        return self

    def reserve_for_candidate(self) -> None:
        """The harness inbox holds connections back for the candidate: its inbox host's addresses
        (where it sends from, unless its outbound traffic leaves by another address, behind NAT say:
        then it is a stranger, limited as any, and a fail while the inbox turned connections away is
        inconclusive all the same)."""
        reserve = getattr(self.inbox, "reserve_for", None)
        if reserve is None:
            return
        reserve(candidate_addresses(self.config.inbox_url))

    def stop(self) -> None:
        self.inbox.stop()
        self._workdir.cleanup()

    @property
    def inbox_url(self) -> str:
        """The URL the candidate reaches the harness inbox by: for a candidate claiming ``gateway``,
        the harness's gateway inbox of the party it plays (EFDX section 9: ``/efdx/1/SG/messages``),
        which the candidate lists as that party's peer inbox (G-01)."""
        if self.config.harness_url:
            return self.config.harness_url
        if self.config.claims("gateway"):
            return self.direct_inbox_url.removesuffix(self.profile.inbox_path) + self.gateway_path
        return self.inbox.url

    @property
    def direct_inbox_url(self) -> str:
        """The harness inbox at the profile's own inbox path (where a candidate claiming ``gateway``
        sends only around its gateway: G-01 sees it there)."""
        return self.inbox.url

    @property
    def gateway_path(self) -> str:
        """The gateway inbox path of the party the harness plays (EFDX section 9)."""
        return self.profile.gateway_path(self.party)

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    # building messages, live (timestamps now, ids unique per moment)
    def vector(self, vector_id: str) -> bytes:
        moment = self.now()
        return self.profile.build_vector(
            vector_id, moment.date(), self.pki, moment=moment, sender=self.party, receiver=self.config.party
        )

    def build(self, name: str, **changes) -> Any:
        """A message under construction (the profile's Build) from the harness party to the candidate."""
        moment = self.now()
        build = self.profile.new_build(
            vector_id=name,
            day=moment.date(),
            pki=self.pki,
            moment=moment,
            sender=self.party,
            receiver=self.config.party,
        )
        for key, value in changes.items():
            setattr(build, key, value)
        return build

    # recording
    def begin(self, record: TestRecord) -> None:
        with self._lock:
            self.current = record
            self.records.append(record)

    def end(self) -> None:
        with self._lock:
            self.current = None

    @contextlib.contextmanager
    def recording_into(self, record: TestRecord) -> Iterator[None]:
        """Record into ``record`` for a while (a test's conversation started before the test runs)."""
        with self._lock:
            saved, self.current = self.current, record
        try:
            yield
        finally:
            with self._lock:
                self.current = saved

    def _record_exchange(self, exchange: Exchange) -> None:
        with self._lock:
            if self.current is not None:
                self.current.exchanges.append(exchange)

    @property
    def manual_mode(self) -> bool:
        """Without a claimed trigger, an operator has to make the candidate send."""
        return not (self.config.claims("trigger") and self.config.trigger_url)

    @contextlib.contextmanager
    def waiting_for(self, what: str, seconds: float) -> Iterator[Callable[[float], None]]:
        """Say what the test waits for and for how long while it waits, so that a long window is not a
        silent screen. Yields a function that moves the deadline to ``seconds`` from now."""

        def left(seconds: float) -> None:
            self.tell_waiting(Wait(what, time.monotonic() + seconds))

        left(seconds)
        try:
            yield left
        finally:
            self.tell_waiting(None)

    def note(self, text: str) -> None:
        with self._lock:
            if self.current is not None:
                self.current.notes.append(text)

    def note_arrival(self, arrival: Any) -> None:
        with self._lock:
            if self.current is not None and arrival not in self.current.arrivals:
                self.current.arrivals.append(arrival)


def candidate_addresses(url: str) -> frozenset[str]:
    """The addresses ``url``'s host resolves to (none when it does not resolve now)."""
    parts = urllib.parse.urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return frozenset()
    return frozenset(str(info[4][0]) for info in found)


def _not_shown(wait: Wait | None) -> None:
    """Without a live display (plain pytest, a pipe) a wait says nothing."""


def candidate_pins(path: Path) -> frozenset[str]:
    """The pins of ``tls.candidate_cert``: ConfigError, one line, when it is no PEM certificate file."""
    try:
        with open(path, "rb") as file:
            data = file.read(PEM_FILE_MAX + 1)
        if len(data) > PEM_FILE_MAX:
            raise ValueError(f"larger than {PEM_FILE_MAX} bytes")
        return pins_of_pem(data)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"tls.candidate_cert: {path} holds no PEM certificate ({exc})") from None


def _print_for_operator(prompt: Prompt) -> None:
    """To the real terminal: sys.__stderr__, not pytest's captured stderr (the operator must see it).
    No answer can come back this way: None."""
    stream = sys.__stderr__ or sys.stderr
    print(f"\n{prompt.instruction}\n", file=stream, flush=True)
