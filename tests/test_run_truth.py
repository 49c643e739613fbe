"""Run truth when things go wrong: a candidate killed with a test in flight, and an attacker holding
the harness inbox's connections. Real processes and sockets on loopback; every wait bounded."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from conformance.app import cli
from conformance.app.progress import Progress
from conformance.core import inbox_server
from conformance.core.inbox_server import Limits
from conformance.family.inbox import HarnessInbox
from conformance.harness.session import Harness
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests import test_run_defects as defects
from tests.test_inbox_attacks import valid_message
from tests.test_run_defects import reference_toml, results

reference_process = defects.reference_process  # fixture

LINE = re.compile(r"^\[\d+/\d+\] (\S+)\s+(\S+)$")


def terminal_verdicts(out: str) -> dict[str, str]:
    """The verdict each plain progress line gave, by test node ID."""
    found = {}
    for line in out.splitlines():
        matched = LINE.match(line)
        if matched:
            found[matched.group(2).split("/", 1)[-1]] = matched.group(1)
    return found


# --- a candidate killed with a test in flight ---------------------------------------------------


def test_a_candidate_killed_with_m21_in_flight_ends_incomplete_and_the_terminal_agrees(
    reference_process, tmp_path, capsys, monkeypatch
):
    """Killed while the M-21 tests waited for its retries: M-21 failed and the run ended
    not-conformant; the terminal printed fail for tests results.json called inconclusive."""
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    started = Progress.started
    killer: list[threading.Timer] = []

    def kill_soon_after_the_first(progress: Progress, nodeid: str, total: int) -> None:
        started(progress, nodeid, total)
        if not killer:  # its first tries are under way (the M-21 conversations start early)
            killer.append(threading.Timer(0.6, reference.process.kill))
            killer[0].start()

    monkeypatch.setattr(Progress, "started", kill_soon_after_the_first)
    reports = tmp_path / "reports"
    code = cli.main(
        [
            "run",
            "--sut",
            reference.url,
            "--config",
            str(config),
            "-k",
            "test_transient_failures_are_retried_with_the_same_bytes",
            "--report-dir",
            str(reports),
        ]
    )
    killer[0].join(5)
    out, _ = capsys.readouterr()
    assert code == 1
    data = results(reports)
    assert data["verdict"] == "incomplete", [(t["id"], t["verdict"], t["reason"]) for t in data["tests"]]
    assert all(test["verdict"] == "inconclusive" for test in data["tests"]), out
    assert not any(row["verdict"] == "fail" for row in data["requirements"])
    printed = terminal_verdicts(out)
    assert printed, out
    for test in data["tests"]:
        if test["nodeid"] in printed:
            assert printed[test["nodeid"]] == test["verdict"], (test["nodeid"], out)
    assert "fail" not in printed.values()


# --- an attacker holding the harness inbox's connections -----------------------------------------


class Holder:
    """``count`` silent TCP connections to ``address`` from ``source``, each reopened when closed."""

    def __init__(self, address: tuple[str, int], count: int, source: str = "127.0.0.1") -> None:
        self.address, self.count, self.source = address, count, source
        self.stop = threading.Event()
        self.opened = 0
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self.source, 0))
            sock.settimeout(2)
            sock.connect(self.address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return None
        self.opened += 1
        return sock

    def _hold(self) -> None:
        held: list[socket.socket] = []
        try:
            while not self.stop.is_set():
                for sock in list(held):  # closed by the server (timed out, or turned away): reopen
                    try:
                        if sock.recv(4096) == b"":
                            raise ConnectionResetError
                    except BlockingIOError:
                        continue  # still open and silent
                    except OSError:
                        pass
                    held.remove(sock)  # closed, or answered (503): reopened below
                    sock.close()
                while len(held) < self.count and not self.stop.is_set():
                    sock = self._connect()
                    if sock is None:
                        break
                    held.append(sock)
                self.stop.wait(0.05)
        finally:
            for sock in held:
                sock.close()

    def __enter__(self) -> Holder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._thread.join(10)


def test_a_fail_while_the_harness_inbox_is_held_is_inconclusive_and_cannot_certify(
    tmp_path, capsys, monkeypatch
):
    """32 silent connections, reopened when closed, took every slot of the harness inbox: the
    candidate's statuses were turned away and its tests failed, pinned on it, in a "certifying run"."""
    harnesses: list[Harness] = []
    start = Harness.start

    def remembered(self: Harness) -> Harness:
        harnesses.append(self)
        return start(self)

    monkeypatch.setattr(Harness, "start", remembered)
    holders: list[Holder] = []
    started = Progress.started

    def attack_at_the_first_test(progress: Progress, nodeid: str, total: int) -> None:
        if not holders:
            url = harnesses[-1].inbox.url
            host, port = url.split("//")[1].split("/")[0].split(":")
            holders.append(Holder((host, int(port)), 32).__enter__())
            assert holders[0].stop.wait(0.5) is False  # they are held by now
            # the reference's kept-alive connection (the pre-flight Ping's) ends as an idle one would:
            # the attacker takes its slot too
            server = harnesses[-1].inbox._server
            for connection in list(server._open):
                inbox_server._cut(connection)
            assert holders[0].stop.wait(0.5) is False
        started(progress, nodeid, total)

    monkeypatch.setattr(Progress, "started", attack_at_the_first_test)
    reports = tmp_path / "reports"
    try:
        code = cli.main(
            [
                "run",
                "--profile",
                "efdx",
                "-k",
                "test_reference_number_used_twice_is_rejected",
                "--report-dir",
                str(reports),
            ]
        )
    finally:
        for holder in holders:
            holder.__exit__()
    out, _ = capsys.readouterr()
    data = results(reports)
    verdicts = {test["nodeid"]: (test["verdict"], test["reason"]) for test in data["tests"]}
    assert code == 1
    assert [verdict for verdict, _ in verdicts.values()] == ["inconclusive"], verdicts
    (reason,) = [reason for _, reason in verdicts.values()]
    assert reason.startswith("the harness inbox was in trouble during this test (connections refused"), reason
    assert data["verdict"] == "incomplete"
    reasons = data["certification"]["reasons"]
    assert any(r.startswith("the harness inbox refused or timed out connections") for r in reasons), reasons
    assert set(terminal_verdicts(out).values()) == {"inconclusive"}, out
    # the summary's "cannot certify" (wrapped at the terminal's width wherever the reasons put it)
    assert "the harness inbox refused or timed out connections" in " ".join(out.split())
    (folder,) = [path for path in reports.iterdir() if path.is_dir()]
    html = (folder / "report.html").read_text(encoding="utf-8")
    top = html[: html.index("the harness inbox refused or timed out connections")]
    assert 'id="certification"' in top  # at the top: the decision's "cannot certify" reasons


# --- per-peer limits ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


@contextlib.contextmanager
def reserved_inbox(pki: TestPki) -> Iterator[HarnessInbox]:
    inbox = HarnessInbox("KH", pki=pki, limits=Limits(read_timeout_s=15.0), dialect=EFDX).start()
    # (getattr: without per-peer limits there is nothing to reserve, and the test shows what happens)
    getattr(inbox, "reserve_for", lambda addresses: None)(frozenset({"127.0.0.1"}))
    try:
        yield inbox
    finally:
        inbox.stop()


def test_strangers_cannot_take_the_candidates_share_of_the_inbox(pki):
    """40 silent connections from another address (127.0.0.2) get at most Limits.max_per_peer; a
    delivery from the candidate's address (127.0.0.1) is still served at once."""
    with reserved_inbox(pki) as inbox:
        address = ("127.0.0.1", int(inbox.url.split(":")[2].split("/")[0]))
        try:
            with socket.create_connection(address, timeout=2, source_address=("127.0.0.2", 0)):
                pass
        except OSError:
            pytest.skip("127.0.0.2 is not a loopback address here")
        with Holder(address, 40, source="127.0.0.2") as holder:
            deadline = time.monotonic() + 5
            while holder.opened < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert inbox.open_connections <= getattr(Limits(), "max_per_peer", 8), inbox.open_connections
            session = requests.Session()
            session.trust_env = False
            answer = session.post(
                inbox.url, data=valid_message(pki), headers={"Content-Type": "application/xml"}, timeout=4
            )
            assert answer.status_code == 200, answer.status_code
        assert inbox.connections.refused > 0
