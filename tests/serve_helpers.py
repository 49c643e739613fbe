"""The shared test bed (`conformance serve`) for its tests: served from a thread of the test's process
on 127.0.0.1 port 0 with its data in a temporary folder, stopped by the test that started it, and
logged-in clients (a requests.Session that sends the session's CSRF token, or a bearer token)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from conformance.app.serve.server import BackgroundServer, open_testbed
from conformance.app.serve.settings import RunCaps, ServeSettings


@contextlib.contextmanager
def serving(data: Path, workers: int = 2, caps: RunCaps | None = None) -> Iterator[BackgroundServer]:
    settings = ServeSettings(data=data, workers=workers, caps=caps or RunCaps())
    server = BackgroundServer(open_testbed(settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Client(requests.Session):
    """A session against one test bed: relative URLs, and the CSRF token once logged in."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, self.base + url if url.startswith("/") else url, *args, **kwargs)


def login(base: str, name: str, password: str) -> Client:
    client = Client(base)
    answer = client.post("/api/login", json={"name": name, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def bearer(base: str, token: str) -> Client:
    client = Client(base)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def add_member(admin: Client, organisation: str, name: str, role: str = "tester") -> tuple[int, Client]:
    """A new organisation (or the existing one of that name) with a user of ``role``, logged in."""
    made = admin.post("/api/organisations", json={"name": organisation})
    if made.status_code == 201:
        organisation_id = made.json()["id"]
    else:
        organisation_id = next(
            o["id"] for o in admin.get("/api/organisations").json() if o["name"] == organisation
        )
    user = admin.post("/api/users", json={"name": name, "organisation": organisation_id, "role": role})
    assert user.status_code == 201, user.text
    return organisation_id, login(admin.base, name, user.json()["password"])


def wait_for(check, timeout: float = 60.0, step: float = 0.2):
    """``check()``'s first truthy value within ``timeout`` seconds (AssertionError after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")
