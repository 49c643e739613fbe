"""The harness inbox's HTTP(S) server, bounded against a peer that stalls, trickles or floods.

werkzeug's threaded server does the TLS handshake in its one accept thread, with no timeout, and
reads a request for as long as the peer keeps trickling it: one silent connection stops every
delivery. Here the accept loop only accepts. Each connection gets its own thread, which does the TLS
handshake and reads the request line, headers and body within one deadline counted from the accept;
at most ``max_connections`` are served at once, and the others are closed at once (plain HTTP: after
a best-effort 503). Closing the server also cuts the connections still open, so a stop is prompt.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

log = logging.getLogger(__name__)

BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    """How long and how many: the bounds that keep one hostile peer from stopping the inbox."""

    read_timeout_s: float = 20.0  # TLS handshake + request line + headers + body, in total
    write_timeout_s: float = 10.0  # sending the answer to a peer that does not read it
    max_connections: int = 32  # served at once; more are closed without waiting on them


@dataclass
class ConnectionCounts:
    """What the server turned away, for the run to report."""

    refused: int = 0  # over max_connections: closed at once
    timed_out: int = 0  # handshake or request not complete by the deadline
    failed: int = 0  # handshake refused, reset, or another error on the connection
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


class _DeadlineReader(io.RawIOBase):
    """Socket reads that all end by one moment: a per-recv timeout alone lets a trickle go on forever."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not complete in time")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _TimedWriter(io.BufferedIOBase):
    """Socket writes bounded by their own timeout (the read deadline may be long past: a scripted delay)."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
        return len(data)


class _Handler(WSGIRequestHandler):
    """werkzeug's WSGI handler, reading through the connection's deadline."""

    server: BoundedWSGIServer

    def __init__(self, request, client_address, server, deadline: float) -> None:
        self.deadline = deadline
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.connection = self.request
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self.deadline))
        self.wfile = _TimedWriter(self.connection, self.server.limits.write_timeout_s)

    def log_error(self, format: str, *args) -> None:
        if "timed out" in format:  # the request line was not complete in time
            self.server.counts.count("timed_out")
        super().log_error(format, *args)

    def connection_dropped(self, error: BaseException, environ=None) -> None:
        """Headers or body not complete in time (or the peer went away while sending them)."""
        self.server.counts.count("timed_out" if isinstance(error, TimeoutError) else "failed")
        self.close_connection = True  # nothing more is read from it


class BoundedWSGIServer(ThreadedWSGIServer):
    """A threaded WSGI server whose accept loop never waits on a peer (see the module's docstring)."""

    def __init__(self, host: str, port: int, app, *, tls: ssl.SSLContext | None, limits: Limits) -> None:
        # Set before werkzeug binds: a busy port makes it call server_close(), which uses them.
        self.limits = limits
        self.counts = ConnectionCounts()
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._closing = False
        super().__init__(host, port, app, handler=_Handler)  # the listening socket stays plain TCP
        self.ssl_context = tls  # werkzeug reads it for the URL scheme and the client certificate

    # the accept thread: nothing here may block on the peer
    def verify_request(self, request, client_address) -> bool:
        if self._slots.acquire(blocking=False):
            return True
        self.counts.count("refused")
        if self.ssl_context is None:  # over TLS a 503 would need a handshake: just close
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(BUSY)
        return False  # the caller closes it

    def process_request(self, request, client_address) -> None:
        deadline = time.monotonic() + self.limits.read_timeout_s
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address, deadline),
            name="harness-inbox-connection",
            daemon=True,
        )
        try:
            thread.start()
        except BaseException:
            self._slots.release()
            raise

    # the connection's own thread
    def _serve_connection(self, request: socket.socket, client_address, deadline: float) -> None:
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
            log.debug("harness inbox: connection from %s failed: %r", client_address, exc)
        finally:
            self._untrack(connection)
            self.shutdown_request(connection)
            self._slots.release()

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

    def handle_error(self, request, client_address) -> None:
        log.debug("harness inbox: error on a connection from %s", client_address, exc_info=True)

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
