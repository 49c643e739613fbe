"""Enforcing an EgressPolicy where connections are opened: urllib3 connections whose ``_new_conn``
resolves the host once, checks every address against the policy, and connects to a checked address
itself (never to the name again), for requests (``EgressAdapter``), plain urllib3
(``guarded_pool_manager``) and bare TCP probes (``probe``).

Why at ``_new_conn``: it is the one place urllib3 turns a host into a socket, for HTTP and HTTPS
alike; the TLS layer above it still uses the URL's host name for SNI and the certificate check, and
the Host header still comes from the URL, so only the address is pinned. A check of the URL before
the request would be undone by a name that resolves to another address at connect time (DNS
rebinding); here the address checked is the address connected to.

What a user of the run sees (no port scanning through runs): a denied connection fails with
REFUSED, decided before any packet is sent, so the same whatever the port and whether anything
listens; a failed connection to an allowed address fails with COULD_NOT_CONNECT, no errno, name
resolution failures included, and only once the connect timeout has passed (refused, unreachable
and filtered all take the same time). The detailed reason goes to the ``conformance.egress`` logger
(INFO), for the operator.

Proxies are refused while a policy is set: a proxy would connect onwards to an address nobody
checked (CandidateClient also stops reading HTTP_PROXY from the environment then).
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import allowed_gai_family

from conformance.core.egress import COULD_NOT_CONNECT, REFUSED, EgressPolicy

log = logging.getLogger("conformance.egress")


class EgressRefused(OSError):
    """The policy denies every way to this host (or one of its addresses): nothing was sent."""


class EgressConnectFailed(OSError):
    """An allowed host could not be connected to (the reason is kept from the user: COULD_NOT_CONNECT)."""


class EgressRefusedError(NewConnectionError):
    """urllib3's form of EgressRefused (a NewConnectionError: requests makes it a ConnectionError)."""


class EgressConnectError(NewConnectionError):
    """urllib3's form of EgressConnectFailed."""


def open_checked(
    host: str,
    port: int,
    policy: EgressPolicy,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: Any = None,
) -> socket.socket:
    """A TCP socket connected to an address of ``host`` the policy allows; every address ``host``
    resolves to is checked first (one denied: EgressRefused, before any connect). The addresses are
    tried in turn within one deadline of ``timeout``; when none connects, EgressConnectFailed once
    the deadline has passed."""
    deadline = time.monotonic() + timeout if timeout is not None else None
    try:
        infos = resolve_checked(host, port, policy)
    except EgressConnectFailed:
        _wait_until(deadline)
        raise
    for family, socktype, proto, _name, address in infos:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        sock = socket.socket(family, socktype, proto)
        try:
            for level, option, value in socket_options or ():
                sock.setsockopt(level, option, value)
            sock.settimeout(left)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)  # the checked address itself, never the name again
        except OSError as exc:
            sock.close()
            log.info("egress: %s:%s at %s: %s", host, port, address[0], exc)
            continue
        sock.settimeout(timeout)
        return sock
    _wait_until(deadline)
    raise EgressConnectFailed(COULD_NOT_CONNECT)


def resolve_checked(host: str, port: int, policy: EgressPolicy) -> list:
    """``getaddrinfo``'s answers for ``host``, once, every address allowed by ``policy``; else
    EgressRefused (one is denied) or EgressConnectFailed (it does not resolve). Nothing is sent to
    ``host``: a pre-flight can ask this of a configured URL without connecting."""
    decision = policy.check_host(host)
    infos: list = []
    if decision.allowed:
        try:
            infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            log.info("egress: %s:%s: does not resolve (%s)", host, port, exc)
            raise EgressConnectFailed(COULD_NOT_CONNECT) from None
        decision = policy.check_all(host, [str(info[4][0]) for info in infos])
    if not decision.allowed:
        log.info("egress: %s:%s refused: %s", host, port, decision.why)
        raise EgressRefused(REFUSED)
    return infos


def probe(host: str, port: int, policy: EgressPolicy, timeout: float) -> str | None:
    """None when a checked TCP connection to ``host:port`` opens, else the coarse reason."""
    try:
        open_checked(host, port, policy, timeout).close()
    except (EgressRefused, EgressConnectFailed) as exc:
        return str(exc)
    return None


def _wait_until(deadline: float | None) -> None:
    """Fail no sooner than the deadline: a refused port answers at once, a filtered one never."""
    if deadline is not None:
        time.sleep(max(0.0, deadline - time.monotonic()))


class _Guarded:
    """The ``_new_conn`` of a guarded urllib3 connection (mixed in before HTTP(S)Connection)."""

    egress_policy: EgressPolicy

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        timeout = conn.timeout if isinstance(conn.timeout, int | float) else socket.getdefaulttimeout()
        try:
            sock = open_checked(
                conn._dns_host,
                conn.port,
                self.egress_policy,
                timeout,
                conn.source_address,
                conn.socket_options,
            )
        except EgressRefused:
            raise EgressRefusedError(conn, REFUSED) from None
        except EgressConnectFailed:
            raise EgressConnectError(conn, COULD_NOT_CONNECT) from None
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock


def guarded_pool_classes(policy: EgressPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes (by scheme) whose connections are checked against ``policy``."""

    class GuardedHTTPConnection(_Guarded, HTTPConnection):
        egress_policy = policy

    class GuardedHTTPSConnection(_Guarded, HTTPSConnection):
        egress_policy = policy

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


def guarded_pool_manager(policy: EgressPolicy | None, **kwargs: Any) -> urllib3.PoolManager:
    """A urllib3 PoolManager (``kwargs`` as PoolManager's) checked against ``policy`` (None: as is)."""
    manager = urllib3.PoolManager(**kwargs)
    if policy is not None:
        manager.pool_classes_by_scheme = guarded_pool_classes(policy)
    return manager


class EgressAdapter(HTTPAdapter):
    """A requests transport adapter whose connections are checked against a policy; no proxies."""

    def __init__(self, policy: EgressPolicy, **kwargs: Any) -> None:
        self.egress_policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = guarded_pool_classes(self.egress_policy)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        raise requests.ConnectionError(EgressRefused(REFUSED))


def guard_session(session: requests.Session, policy: EgressPolicy) -> None:
    """Every request of ``session`` checked against ``policy``: no proxy from the environment."""
    session.trust_env = False
    session.proxies.clear()
    for scheme in ("http://", "https://"):
        session.mount(scheme, EgressAdapter(policy))


def egress_failure(exc: BaseException) -> str | None:
    """REFUSED or COULD_NOT_CONNECT when ``exc`` (as requests or urllib3 raise it, wrapped in a
    MaxRetryError or not) comes from a guarded connection; else None."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, EgressRefusedError | EgressRefused):
            return REFUSED
        if isinstance(current, EgressConnectError | EgressConnectFailed):
            return COULD_NOT_CONNECT
        if isinstance(current, BaseException):
            todo += [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
    return None
