"""An inbox's HTTP(S) server, bounded against a peer that stalls, trickles or floods: the harness
inbox's, and any other a pack serves (its reference NSW's).

werkzeug's threaded server does the TLS handshake in its one accept thread, with no timeout, and
reads a request for as long as the peer keeps trickling it: one silent connection stops every
delivery. Here the accept loop only accepts. Each connection gets its own thread, which does the TLS
handshake and reads the request line, headers and body within one deadline counted from the accept;
at most ``max_connections`` are served at once, and the others are closed at once (plain HTTP: after
a best-effort 503). Closing the server also cuts the connections still open, so a stop is prompt.

Per peer: once ``reserved_peers`` is set (the harness sets the candidate's address), every other
address is a stranger, with at most ``max_per_peer`` connections, and strangers together at most
``max_connections - reserved``: the candidate's share cannot be taken by any number of them. Peers
are keyed by address alone (see BoundedWSGIServer._admit for what that means on loopback).

Connections are kept alive (HTTP/1.1), so that a partner sending many messages, over mutual TLS
above all, pays the connection and its handshake once. A kept connection waits at most
``idle_timeout_s`` for the next request's first byte and then has ``read_timeout_s`` to send it
whole; only a request whose body was read to its end (what is left of it, up to 64 KiB, is read
away) leaves the connection open. werkzeug answers every request with ``Connection: close`` and then
reads away whatever the socket holds: ``KeepAlive`` leaves both out for such a request.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from _typeshed import OptExcInfo, ReadableBuffer, WriteableBuffer
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# A TCP server's request is the accepted socket (socketserver types it for UDP servers as well).
_Request = socket.socket | tuple[bytes, socket.socket]
_Peer = tuple[str, int] | tuple[str, int, int, int]  # an IPv4 or IPv6 peer's address

log = logging.getLogger(__name__)

BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
KEEP_ALIVE = "conformance.keep_alive"  # environ key: the request was read whole, the connection may stay
DRAIN_LIMIT = 64 * 1024  # unread body bytes read away so that the connection can stay open


@dataclass(frozen=True)
class Limits:
    """How long and how many: the bounds that keep one hostile peer from stopping the inbox."""

    read_timeout_s: float = 20.0  # TLS handshake + request line + headers + body, in total
    idle_timeout_s: float = 10.0  # a kept-alive connection waiting for the next request's first byte
    write_timeout_s: float = 10.0  # sending the answer to a peer that does not read it
    max_connections: int = 32  # served at once; more are closed without waiting on them
    max_per_peer: int = 8  # served at once for one peer address that is not reserved (a stranger)
    reserved: int = 8  # of max_connections, held back for the reserved peers (the candidate's address)


@dataclass
class ConnectionCounts:
    """What the server turned away, for the run to report."""

    refused: int = 0  # over max_connections, or over a stranger's share: closed at once
    timed_out: int = 0  # handshake or request not complete by the deadline
    failed: int = 0  # handshake refused, reset, or another error on the connection
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


class _DeadlineReader(io.RawIOBase):
    """Socket reads that all end by one moment: a per-recv timeout alone lets a trickle go on forever.

    Between requests on a kept connection (``await_next``) the reader first waits for a byte at most
    the idle timeout, and ends the connection quietly (EOF) if none comes; the byte starts the next
    request's own deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline
        self._idle_until: float | None = None
        self._read_s = 0.0

    def readable(self) -> bool:
        return True

    def await_next(self, idle_s: float, read_s: float) -> None:
        self._idle_until, self._read_s = time.monotonic() + idle_s, read_s

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._idle_until is not None:
            return self._first_of_next(buffer, self._idle_until)
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not complete in time")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)

    def _first_of_next(self, buffer: WriteableBuffer, idle_until: float) -> int:
        remaining = idle_until - time.monotonic()
        if remaining <= 0:
            return 0  # idle too long: EOF, the connection ends without an error
        self._sock.settimeout(remaining)
        try:
            received = self._sock.recv_into(buffer)
        except TimeoutError:
            return 0
        self._idle_until, self._deadline = None, time.monotonic() + self._read_s
        return received


class _PausableInput(io.BufferedReader):
    """The connection's buffered input; while ``paused``, ``read`` gives nothing. werkzeug's discard
    loop after an answer reads only with ``read``; the next request line and headers are read with
    ``readline``, which is never paused."""

    paused = False

    def read(self, size: int | None = -1) -> bytes:
        return b"" if self.paused else super().read(size)


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, HTTP/1.1, with an ``rfile`` that is a _PausableInput: werkzeug's
    blanket ``Connection: close`` is left out when the app marked the request as read whole
    (``environ[KEEP_ALIVE]``), and its discard loop then reads nothing (it would read the next
    request). ``_keep_alive_app`` marks it."""

    protocol_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        self.environ = {}  # nothing of the previous request's environ (its KEEP_ALIVE) carries over
        self._pause(False)
        super().handle_one_request()

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and self.environ.get(KEEP_ALIVE):
            self._pause(True)  # after the answer werkzeug reads away what the socket holds
            return
        super().send_header(keyword, value)

    def _pause(self, paused: bool) -> None:
        if isinstance(self.rfile, _PausableInput):
            self.rfile.paused = paused


def _keep_alive_app(app: WSGIApplication) -> WSGIApplication:
    """Wrap a WSGI app: a request with a valid Content-Length (or no body) whose body is read to its
    end, by the app or here (up to DRAIN_LIMIT more bytes, within the connection's deadline), and
    that the app answered without ``Connection: close``, is marked KEEP_ALIVE. Chunked bodies end the
    connection, as before."""

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = _bounded_body(environ)
        keep = False

        def starting(
            status: str, headers: list[tuple[str, str]], *rest: OptExcInfo | None
        ) -> Callable[[bytes], object]:
            nonlocal keep
            keep = not any(
                name.lower() == "connection" and "close" in value.lower() for name, value in headers
            )
            return start_response(status, headers, *rest)

        result = app(environ, starting)
        if keep and body is not None and _drained(body):
            environ[KEEP_ALIVE] = True
        return result

    return wrapped


def _bounded_body(environ: WSGIEnvironment) -> LimitedStream | None:
    """The request body as a stream that ends at its Content-Length (what werkzeug's Request would
    make of it), or None when the connection cannot be kept after it (chunked, or a bad length)."""
    length = environ.get("CONTENT_LENGTH")
    if environ.get("HTTP_TRANSFER_ENCODING") is not None:
        return None
    if length is None or length == "":
        length = "0"  # no body (HTTP/1.1 without Content-Length or Transfer-Encoding)
    if not (length.isascii() and length.isdigit()):
        return None
    body = LimitedStream(environ["wsgi.input"], int(length))
    environ["wsgi.input"], environ["wsgi.input_terminated"] = body, True
    return body


def _drained(body: LimitedStream) -> bool:
    try:
        body.read(DRAIN_LIMIT)
    except (HTTPException, OSError, ValueError):  # cut short (ClientDisconnected), reset, timed out
        return False
    return body.is_exhausted


class _TimedWriter(io.BufferedIOBase):
    """Socket writes bounded by their own timeout (the read deadline may be long past: a scripted delay)."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
        return memoryview(data).nbytes


class _Handler(_KeepAliveHandler):
    """werkzeug's WSGI handler, reading through the connection's deadline, keeping it alive."""

    server: BoundedWSGIServer

    def __init__(
        self,
        request: socket.socket,
        client_address: _Peer,
        server: BoundedWSGIServer,
        deadline: float,
    ) -> None:
        self.deadline = deadline
        self._requests = 0
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.connection = self.request
        self._reader = _DeadlineReader(self.connection, self.deadline)
        self.rfile = _PausableInput(self._reader)
        self.wfile = _TimedWriter(self.connection, self.server.limits.write_timeout_s)
        # werkzeug writes an answer's head and body apart: on a kept connection Nagle's algorithm
        # would hold the body until the client's delayed ACK (40 ms on Linux)
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        if self._requests:  # a kept connection: the next request has its own bounds
            limits = self.server.limits
            self._reader.await_next(limits.idle_timeout_s, limits.read_timeout_s)
        self._requests += 1
        super().handle_one_request()

    def log_error(self, format: str, *args: Any) -> None:
        if "timed out" in format:  # the request line was not complete in time
            self.server.counts.count("timed_out")
        super().log_error(format, *args)

    def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
        """Headers or body not complete in time (or the peer went away while sending them)."""
        self.server.counts.count("timed_out" if isinstance(error, TimeoutError) else "failed")
        self.close_connection = True  # nothing more is read from it


class CannotListen(OSError):
    """The server cannot bind or listen on its address (errno EADDRINUSE, EADDRNOTAVAIL ...): an
    OSError of its own, so that a caller names the address it was given and no other OSError."""


class _ListenFailed(Exception):
    """Carries a bind or listen error past werkzeug's constructor, which catches OSError, prints it
    and exits the process; the constructor below raises it again as the OSError it was."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class BoundedWSGIServer(ThreadedWSGIServer):
    """A threaded WSGI server whose accept loop never waits on a peer (see the module's docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApplication,
        *,
        tls: ssl.SSLContext | None,
        limits: Limits,
        name: str = "harness inbox",
        reuse_port: bool = False,
    ) -> None:
        # Set before werkzeug binds: a busy port makes it call server_close(), which uses them.
        self.name = name  # in its threads' names and its log
        self.reuse_port = reuse_port  # SO_REUSEPORT: processes of one user share the port, the kernel spreads
        self.limits = limits
        self.counts = ConnectionCounts()
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self.reserved_peers: frozenset[str] = frozenset()  # addresses that may use the reserved share
        self._peers: dict[str, int] = {}  # connections being served, by peer address
        self._strangers = 0  # of them, those of peers not reserved
        self._peers_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._closing = False
        # the listening socket stays plain TCP; a port that cannot be bound is an OSError (errno
        # EADDRINUSE ...), not werkzeug's print and exit
        try:
            super().__init__(host, port, _keep_alive_app(app), handler=_Handler)
        except _ListenFailed as failed:
            raise CannotListen(failed.error.errno, failed.error.strerror or str(failed.error)) from None
        self.ssl_context = tls  # werkzeug reads it for the URL scheme and the client certificate

    def server_bind(self) -> None:
        if self.reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            super().server_bind()
        except OSError as exc:
            raise _ListenFailed(exc) from None

    def server_activate(self) -> None:
        try:
            super().server_activate()
        except OSError as exc:
            raise _ListenFailed(exc) from None

    # the accept thread: nothing here may block on the peer
    def verify_request(self, request: _Request, client_address: _Peer) -> bool:
        assert isinstance(request, socket.socket)  # a TCP server's request: the accepted socket
        if self._admit(client_address[0]):
            if self._slots.acquire(blocking=False):
                return True
            self._leave(client_address[0])
        self.counts.count("refused")
        if self.ssl_context is None:  # over TLS a 503 would need a handshake: just close
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(BUSY)
        return False  # the caller closes it

    def _admit(self, peer: str) -> bool:
        """Whether ``peer`` may have one more connection: a reserved peer (the candidate's address) up
        to max_connections; a stranger up to max_per_peer, and strangers together up to
        max_connections - reserved, so that no number of them can take the candidate's share.

        Peers are told apart by address only (in the accept loop nothing of the peer is known yet, its
        TLS certificate least of all): on loopback every local peer is 127.0.0.1, the candidate's own
        address, so a local attacker shares its share and only max_connections bounds it; a test or a
        site can give strangers other loopback addresses (127.0.0.2 ...)."""
        limits = self.limits
        with self._peers_lock:
            held = self._peers.get(peer, 0)
            if self.reserved_peers and peer not in self.reserved_peers:  # none reserved: one pool
                if held >= limits.max_per_peer or self._strangers >= limits.max_connections - limits.reserved:
                    return False
                self._strangers += 1
            self._peers[peer] = held + 1
        return True

    def _leave(self, peer: str) -> None:
        with self._peers_lock:
            held = self._peers.get(peer, 0) - 1
            if held > 0:
                self._peers[peer] = held
            else:
                self._peers.pop(peer, None)
            if self.reserved_peers and peer not in self.reserved_peers:
                self._strangers = max(self._strangers - 1, 0)

    def process_request(self, request: _Request, client_address: _Peer) -> None:
        deadline = time.monotonic() + self.limits.read_timeout_s
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address, deadline),
            name=f"{self.name.replace(' ', '-')}-connection",
            daemon=True,
        )
        try:
            thread.start()
        except BaseException:
            self._slots.release()
            self._leave(client_address[0])
            raise

    # the connection's own thread
    def _serve_connection(self, request: socket.socket, client_address: _Peer, deadline: float) -> None:
        connection = request
        self._track(connection)
        try:
            if self.ssl_context is not None:  # the handshake: here, not in the accept loop, and bounded
                request.settimeout(max(deadline - time.monotonic(), 0.001))
                connection = self.ssl_context.wrap_socket(
                    request, server_side=True, do_handshake_on_connect=False
                )
                self._track(connection, replacing=request)
                connection.do_handshake()  # the socket's timeout bounds the handshake as a whole
            _Handler(connection, client_address, self, deadline)
        except TimeoutError:
            self.counts.count("timed_out")
        except Exception as exc:  # the peer's failure (bad certificate, reset ...), not the server's
            self.counts.count("failed")
            log.debug("%s: connection from %s failed: %r", self.name, client_address, exc)
        finally:
            self._untrack(connection)
            self.shutdown_request(connection)
            self._slots.release()
            self._leave(client_address[0])

    def _track(self, connection: socket.socket, replacing: socket.socket | None = None) -> None:
        with self._open_lock:
            self._open.discard(replacing)
            self._open.add(connection)
            closing = self._closing
        if closing:
            _cut(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    @property
    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def handle_error(self, request: Any, client_address: tuple[str, int] | str) -> None:
        log.debug("%s: error on a connection from %s", self.name, client_address, exc_info=True)

    def server_close(self) -> None:
        """Close the listening socket and cut every connection still open (their threads then end)."""
        with self._open_lock:
            self._closing = True
            still_open = list(self._open)
        for connection in still_open:
            _cut(connection)
        super().server_close()


def _cut(connection: socket.socket) -> None:
    """Shut the connection down under whatever thread is blocked on it (which then sees EOF)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)  # not SSLSocket.shutdown: it unwraps


BUSY_PORT_WAIT_S = 10.0  # how long a fixed port still in use is tried again before it is given up
BUSY_PORT_EVERY_S = 0.2
TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}


def listening(make: Callable[[], BoundedWSGIServer], port: int) -> BoundedWSGIServer:
    """The server ``make`` builds; when a fixed ``port`` is in use it is tried again for up to
    BUSY_PORT_WAIT_S. Why: what holds it is often ending (the same run's previous harness inbox, the
    previous run of the same system on a test bed), and a run that gives up at once stops on a
    misconfiguration it does not have. Port 0 is never busy. A port still in use then is CannotListen
    (EADDRINUSE) that says what holds it, as far as this machine's /proc tells."""
    wait_s = BUSY_PORT_WAIT_S
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            return make()
        except CannotListen as exc:
            if exc.errno != errno.EADDRINUSE or not port:
                raise
            if time.monotonic() >= deadline:
                held = port_sockets(port)
                raise CannotListen(
                    exc.errno,
                    f"{exc.strerror}, still after {wait_s:g} s" + (f" (its sockets: {held})" if held else ""),
                ) from None
            if not told:
                log.info("port %s is in use (%s): trying again", port, port_sockets(port))
                told = True
            time.sleep(BUSY_PORT_EVERY_S)


def port_sockets(port: int) -> str:
    """The TCP sockets on local ``port`` by state ("1 LISTEN, 2 TIME_WAIT"), from /proc/net/tcp and
    tcp6; '' where there are none or /proc cannot be read (not Linux)."""
    states: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as lines:
                rows = [line.split() for line in itertools.islice(lines, 1, 100_000)]
        except OSError:
            continue
        for row in rows:
            if len(row) > 3 and row[1].rpartition(":")[2] == f"{port:04X}":
                state = TCP_STATES.get(row[3], f"state {row[3]}")
                states[state] = states.get(state, 0) + 1
    return ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
