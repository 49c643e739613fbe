"""Run a reference NSW inside this process, on loopback, for `conformance run` and for tests."""

from __future__ import annotations

import threading

from conformance.family.reference.nsw import ReferenceNsw, Settings
from conformance.family.reference.server import serve


class RunningReference:
    """A started reference NSW: ``url`` is its inbox; ``stop()`` (or the with-block) ends it."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = settings
        self.nsw = ReferenceNsw(settings)
        self.server = serve(self.nsw, host, port, tls=settings.tls)
        self._thread = threading.Thread(target=self.server.serve_forever, name="reference-nsw", daemon=True)

    @property
    def base(self) -> str:
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{self.server.host}:{self.server.port}"

    @property
    def url(self) -> str:
        return self.base + self.settings.dialect.codes.INBOX_PATH

    @property
    def trigger_url(self) -> str:
        return self.base + self.settings.dialect.codes.TRIGGER_PATH

    def start(self) -> RunningReference:
        self.nsw.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # and the connections still open
        self.nsw.stop()
        self.nsw.store.close()

    def __enter__(self) -> RunningReference:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
