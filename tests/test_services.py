"""The real PostgreSQL and Redis the service's tests start (tests/services.py) come up, answer on
their Unix sockets only, and are gone once the test has stopped them."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import redis as redis_client

from tests import services


def test_a_throwaway_postgres_answers_on_its_socket_and_stops() -> None:
    with services.postgres("probe") as url:
        host = re.search(r"host=([^&]+)", url)
        assert host is not None and url.startswith("postgresql+psycopg://postgres@/probe?")
        with psycopg.connect(dbname="probe", user="postgres", host=host.group(1)) as connection:
            assert connection.execute("select 41 + 1").fetchone() == (42,)
            listen = connection.execute("show listen_addresses").fetchone()
            assert listen == ("",)  # the socket only: no TCP port
    assert not Path(host.group(1)).exists()


def test_a_throwaway_redis_answers_on_its_socket_and_stops() -> None:
    with services.redis() as url:
        socket = url.removeprefix("unix://")
        client = redis_client.Redis(unix_socket_path=socket)
        assert client.ping()
        assert client.config_get("port") == {"port": "0"}  # the socket only
        client.close()
    assert not Path(socket).exists()
