"""The reference NSW under crashes, load and a flaky partner (EFDX 1.0 sections 2 and 5).

M-16: a duplicate (same MessageId, same bytes) gets a Receipt with Duplicate=true and is processed
once only; M-17: the same MessageId with other bytes gets 409; A-01: every CO taken with a Receipt
gets exactly one StatusNotification; M-21: the outbox retries the same bytes on 5xx, timeout and
reset, never on 4xx, and gives up when its schedule is used up. The restart tests run the real
`conformance reference serve` command and kill it; the others run the reference in-process.

Counting statuses: the same StatusNotification MessageId arriving twice is an at-least-once
redelivery (allowed); two distinct StatusNotification MessageIds for one CO break A-01.
Waits are bounded and event-driven (the partner inbox's Condition) or bounded polls of the
reference's SQLite file; the only fixed waits are grace periods that show something does not happen.
"""

from __future__ import annotations

import itertools
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from lxml import etree

from conformance.family import signals
from conformance.family.inbox import Arrival, HarnessInbox, Reaction
from conformance.family.reference.nsw import ReferenceNsw
from conformance.family.vectors import Build
from conformance.profiles.efdx.codes import DS_NS, EFORMD_NS, ENVELOPE_NS
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki
from tests.loopback import reference_serve_command

_E = f"{{{ENVELOPE_NS}}}"
_F = f"{{{EFORMD_NS}}}"
SCHEDULE = (0.05, 0.1, 0.2)  # the outbox retry delays used here (as conftest's fast default)
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
STATUS_TIMEOUT = 60.0
# Longer than the whole fast retry schedule: a retry that was going to happen would have happened.
GRACE = sum(SCHEDULE) + 0.6


# ------------------------------------------------------------------------------ messages


@dataclass(frozen=True)
class Sent:
    """One IssueCO from SG to KH, as sent: its bytes and what a Receipt must echo."""

    build: Build
    body: bytes
    message_id: str
    digests: tuple[str, ...]


def _sent(build: Build, body: bytes) -> Sent:
    root = etree.fromstring(body)
    digests = root.xpath(
        "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue/text()", namespaces={"ds": DS_NS}
    )
    return Sent(build, body, root.findtext(f"{_E}Header/{_E}MessageId"), tuple(d.strip() for d in digests))


def new_co(pki: TestPki, tag: str) -> Sent:
    """A valid IssueCO for now, with its own MessageId and ReferenceNumber (derived from ``tag``)."""
    moment = datetime.now(timezone.utc)
    build = Build(vector_id=f"durability-{tag}", day=moment.date(), pki=pki, moment=moment, dialect=EFDX)
    return _sent(build, build.bytes())


def changed(sent: Sent) -> Sent:
    """Another CO under the same MessageId (same vector and moment, another exporter name)."""
    build = Build(
        vector_id=sent.build.vector_id,
        day=sent.build.day,
        pki=sent.build.pki,
        moment=sent.build.moment,
        dialect=EFDX,
    )
    data = build.co()
    data["exporter"] = data["exporter"] | {"name": "Someone Else Trading Pte Ltd"}
    build.data = data
    other = _sent(build, build.bytes())
    assert other.message_id == sent.message_id and other.body != sent.body
    return other


def post(url: str, body: bytes, session: requests.Session | None = None) -> requests.Response:
    sender = session or requests
    return sender.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=30)


def receipt_of(response: requests.Response, sent: Sent, pki: TestPki) -> signals.Signal:
    """M-19: HTTP 200 and a Receipt signed by KH that names this message and its digests."""
    assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
    return signals.check_receipt(
        response.content,
        message_id=sent.message_id,
        sender="SG",
        receiver="KH",
        sent_digests=sent.digests,
        trust=pki.trust_store(),
        at=datetime.now(timezone.utc),
        dialect=EFDX,
    )


def expect_conflict(response: requests.Response, sent: Sent, pki: TestPki) -> None:
    """M-17: 409 and a signed Error EFDX-M17 referring to the MessageId."""
    assert response.status_code == 409, f"{response.status_code}: {response.text[:500]}"
    signals.check_error(
        response.content,
        message_id=sent.message_id,
        sender="SG",
        receiver="KH",
        expected_code="EFDX-M17",
        trust=pki.trust_store(),
        at=datetime.now(timezone.utc),
        dialect=EFDX,
    )


# ------------------------------------------------------------------------------ statuses


def is_status(arrival: Arrival) -> bool:
    return arrival.header is not None and arrival.header.action == "StatusNotification"


def status_ids(arrivals: Sequence[Arrival]) -> dict[str, set[str]]:
    """RefToMessageId -> the distinct StatusNotification MessageIds that answer it."""
    result: dict[str, set[str]] = defaultdict(set)
    for arrival in arrivals:
        if is_status(arrival):
            result[arrival.header.ref_to_message_id].add(arrival.message_id)
    return result


def status_text(arrival: Arrival) -> str | None:
    return arrival.judgement.payload.findtext(f"{_F}Status")


def wait_until(inbox: HarnessInbox, condition: Callable[[list[Arrival]], bool], timeout: float) -> bool:
    """Re-check ``condition(arrivals)`` on every arrival (event-driven), for at most ``timeout`` s."""

    def last_and_done(arrival: Arrival) -> bool:
        return arrival is inbox.arrivals[-1] and condition(list(inbox.arrivals))

    return inbox.wait_for(last_and_done, timeout) is not None


def eventually(check: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``check`` (for state only in SQLite) until it is truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(interval)


def ref_to(body: bytes) -> str | None:
    return etree.fromstring(body).findtext(f"{_E}Header/{_E}RefToMessageId")


def assert_one_status_each(inbox: HarnessInbox, sent: Sequence[Sent]) -> dict[str, set[str]]:
    """A-01: every CO has exactly one StatusNotification (redeliveries of it allowed), ACCEPTED."""
    arrivals = inbox.matching(is_status)
    assert all(arrival.judgement.accepted for arrival in arrivals), [
        str(a.judgement.violation) for a in arrivals if not a.judgement.accepted
    ]
    ids = status_ids(arrivals)
    expected = {message.message_id for message in sent}
    assert set(ids) == expected, f"statuses for unknown messages: {set(ids) - expected}"
    several = {ref: sorted(found) for ref, found in ids.items() if len(found) != 1}
    assert not several, f"more than one distinct StatusNotification for a CO: {several}"
    assert {status_text(arrival) for arrival in arrivals} == {"ACCEPTED"}
    return ids


# ------------------------------------------------------------------------------ the reference as a process


@dataclass
class Served:
    process: subprocess.Popen
    url: str
    log: Path
    started: float

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)


def _announced_url(process: subprocess.Popen, log: Path) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        process.kill()
        pytest.fail(f"`reference serve` announced nothing in {STARTUP_TIMEOUT} s:\n{log.read_text()}")
    match = re.search(r" at (http://127\.0\.0\.1:\d+/efdx/1/messages)$", line.strip())
    if match is None:
        process.kill()
        pytest.fail(f"unexpected announcement {line!r}:\n{log.read_text()}")
    return match.group(1)


@pytest.fixture
def serve(tmp_path, partner_inbox):
    """Start `conformance reference serve` for KH (peer SG = the partner inbox); killed at teardown."""
    processes: list[subprocess.Popen] = []

    def start(db: Path, *options: str) -> Served:
        log = tmp_path / f"serve-{len(processes)}.log"
        schedule = ",".join(str(delay) for delay in SCHEDULE)
        command = reference_serve_command(db, partner_inbox.url, "--retry-schedule", schedule, *options)
        with open(log, "wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=tmp_path,
                text=True,
            )
        processes.append(process)
        started = time.time()
        return Served(process, _announced_url(process, log), log, started)

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        process.stdout.close()


def query(db: Path, sql: str, *args: object) -> list[tuple]:
    connection = sqlite3.connect(db, timeout=30)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def assert_consistent(db: Path) -> None:
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def terminate(served: Served) -> float:
    """SIGTERM; the process must exit 0 within STOP_TIMEOUT s; returns how long it took."""
    begun = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    try:
        code = served.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_TIMEOUT} s after SIGTERM:\n{served.log.read_text()}")
    assert code == 0, f"exit code {code} after SIGTERM:\n{served.log.read_text()}"
    return time.monotonic() - begun


# ------------------------------------------------------------------------------ 1. crash and restart


def test_sigkill_and_restart_lose_nothing_and_process_nothing_twice(serve, partner_inbox, pki, tmp_path):
    db = tmp_path / "kh.sqlite"
    batch_a = [new_co(pki, f"kill-a{i}") for i in range(5)]  # status delivered before the first kill
    batch_b = [new_co(pki, f"kill-b{i}") for i in range(10)]  # status pending in the outbox at the kill
    batch_c = [new_co(pki, f"kill-c{i}") for i in range(5)]  # in flight while the process is killed
    everything = batch_a + batch_b + batch_c
    assert len({sent.message_id for sent in everything}) == 20

    # First life: receipts for A, their statuses delivered; then SIGKILL.
    first = serve(db)
    for sent in batch_a:
        assert not receipt_of(post(first.url, sent.body), sent, pki).duplicate
    ids_a = {sent.message_id for sent in batch_a}
    assert wait_until(partner_inbox, lambda arrivals: ids_a <= set(status_ids(arrivals)), STATUS_TIMEOUT)
    eventually(
        lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == [(5,)],
        10,
        "the five statuses recorded as sent",
    )
    first.kill()
    assert_consistent(db)

    # Second life: statuses held back 3 s; receipts for B, C sent alongside; SIGKILL mid-way.
    second = serve(db, "--status-delay", "3")
    for sent in batch_b:
        assert not receipt_of(post(second.url, sent.body), sent, pki).duplicate
    answered: dict[str, requests.Response] = {}
    unanswered: list[Sent] = []
    some_answered = threading.Event()

    def send_c() -> None:
        with requests.Session() as session:
            for sent in batch_c:
                try:
                    answered[sent.message_id] = post(second.url, sent.body, session)
                except requests.RequestException:  # refused, reset, or cut off mid-answer: no Receipt
                    unanswered.append(sent)
                if len(answered) >= 2:
                    some_answered.set()
        some_answered.set()

    sender = threading.Thread(target=send_c, name="send-c")
    sender.start()
    try:
        assert some_answered.wait(30), "no answer to the third batch"
        second.kill()
    finally:
        sender.join(timeout=60)
    assert not sender.is_alive()
    for sent in batch_c:
        if sent.message_id in answered:
            assert not receipt_of(answered[sent.message_id], sent, pki).duplicate
    receipted = batch_a + batch_b + [sent for sent in batch_c if sent.message_id in answered]

    # What survived the crash: every receipted message, and its status still pending.
    assert_consistent(db)
    received = {row[0] for row in query(db, "SELECT message_id FROM received")}
    assert {sent.message_id for sent in receipted} <= received, "a receipted message was lost"
    pending = dict(query(db, "SELECT message_id, body FROM outbox WHERE state = 'pending'"))
    pending_for = {ref_to(body): message_id for message_id, body in pending.items()}
    assert {sent.message_id for sent in batch_b} <= set(pending_for), (
        "the premise failed: statuses of the second batch were no longer pending at the kill"
    )
    assert not status_ids(partner_inbox.matching(is_status)).keys() & pending_for.keys()

    # Third life: the sender retries what got no answer (same bytes); duplicates and conflicts.
    third = serve(db)
    for sent in unanswered:
        receipt = receipt_of(post(third.url, sent.body), sent, pki)
        assert receipt.duplicate == (sent.message_id in received), (
            "Duplicate must say whether the message was recorded before the crash"
        )
    for sent in (batch_a[0], batch_b[0], *(s for s in batch_c if s.message_id in answered)):
        assert receipt_of(post(third.url, sent.body), sent, pki).duplicate, "M-16: Duplicate=true"
    for sent in (batch_a[1], batch_b[1]):
        expect_conflict(post(third.url, changed(sent).body), sent, pki)

    # Every CO gets its status; those pending at the kill are the ones queued then, sent now.
    ids = {sent.message_id for sent in everything}
    assert wait_until(partner_inbox, lambda arrivals: ids <= set(status_ids(arrivals)), STATUS_TIMEOUT), (
        f"statuses missing for {ids - set(status_ids(partner_inbox.matching(is_status)))}"
    )
    eventually(
        lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == [(0,)],
        STATUS_TIMEOUT,
        "the outbox drained",
    )
    found = assert_one_status_each(partner_inbox, everything)
    for co_message_id, status_message_id in pending_for.items():
        assert found[co_message_id] == {status_message_id}, "not the status that was queued before the kill"
        arrivals = partner_inbox.matching(lambda a, m=status_message_id: a.message_id == m)
        assert min(a.received_at.timestamp() for a in arrivals) >= third.started, (
            "a status pending at the kill arrived before the restart"
        )
    assert query(db, "SELECT COUNT(*) FROM received") == [(20,)]
    assert query(db, "SELECT COUNT(*) FROM certificates WHERE role = 'received'") == [(20,)]
    assert query(db, "SELECT COUNT(*) FROM outbox") == [(20,)], "M-16: one status per CO, duplicates none"

    # A clean stop: exit code 0, promptly, and a consistent database.
    assert terminate(third) < 5
    assert_consistent(db)


def test_sigterm_keeps_pending_statuses_for_the_next_start(serve, partner_inbox, pki, tmp_path):
    db = tmp_path / "kh.sqlite"
    running = serve(db, "--status-delay", "2")
    cos = [new_co(pki, f"term-{i}") for i in range(3)]
    for sent in cos:
        assert not receipt_of(post(running.url, sent.body), sent, pki).duplicate
    assert terminate(running) < 5
    assert_consistent(db)
    rows = query(db, "SELECT state, attempts FROM outbox")
    assert rows == [("pending", 0)] * 3, "a clean stop must leave queued statuses queued"
    assert not partner_inbox.matching(is_status)

    restarted = serve(db)
    ids = {sent.message_id for sent in cos}
    assert wait_until(partner_inbox, lambda arrivals: ids <= set(status_ids(arrivals)), STATUS_TIMEOUT)
    eventually(
        lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == [(3,)], 10, "all sent"
    )
    assert_one_status_each(partner_inbox, cos)
    assert terminate(restarted) < 5
    assert_consistent(db)


def test_sigterm_under_load_keeps_every_receipted_co(serve, partner_inbox, pki, tmp_path):
    db = tmp_path / "kh.sqlite"
    running = serve(db)
    cos = [new_co(pki, f"busy-{i}") for i in range(64)]
    answered: dict[str, requests.Response] = {}
    unanswered: list[Sent] = []
    lock = threading.Lock()
    enough = threading.Event()

    def send(batch: list[Sent]) -> None:
        with requests.Session() as session:
            for sent in batch:
                try:
                    response = post(running.url, sent.body, session)
                except requests.RequestException:  # refused, reset, or cut off mid-answer: no Receipt
                    response = None
                with lock:
                    if response is None or response.status_code >= 500:  # transient: the sender retries
                        unanswered.append(sent)
                    else:
                        answered[sent.message_id] = response
                    if len(answered) >= 16:
                        enough.set()

    senders = [threading.Thread(target=send, args=(cos[i::8],), name=f"send-{i}") for i in range(8)]
    for sender in senders:
        sender.start()
    try:
        assert enough.wait(30), "no answers before the stop"
        assert terminate(running) < 5
    finally:
        for sender in senders:
            sender.join(timeout=60)
    assert not any(sender.is_alive() for sender in senders)
    assert len(answered) + len(unanswered) == 64
    by_id = {sent.message_id: sent for sent in cos}
    for message_id, response in answered.items():
        assert not receipt_of(response, by_id[message_id], pki).duplicate
    assert_consistent(db)
    received = {row[0] for row in query(db, "SELECT message_id FROM received")}
    assert set(answered) <= received, "a receipted message was lost in the stop"

    restarted = serve(db)
    for sent in unanswered:
        receipt = receipt_of(post(restarted.url, sent.body), sent, pki)
        assert receipt.duplicate == (sent.message_id in received)
    ids = set(by_id)
    assert wait_until(partner_inbox, lambda arrivals: ids <= set(status_ids(arrivals)), STATUS_TIMEOUT)
    eventually(
        lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == [(0,)], 30, "all sent"
    )
    assert_one_status_each(partner_inbox, cos)
    assert query(db, "SELECT COUNT(*) FROM received") == [(64,)]
    assert query(db, "SELECT COUNT(*) FROM outbox") == [(64,)]
    assert terminate(restarted) < 5
    assert_consistent(db)


def test_sigterm_during_a_slow_delivery(serve, partner_inbox, pki, tmp_path):
    """The stop neither hangs on a slow partner nor loses or fails the message being delivered."""
    in_flight = threading.Event()

    def slow(arrival: Arrival) -> Reaction | None:
        if not is_status(arrival):
            return None
        in_flight.set()
        return Reaction(delay=2.0)

    partner_inbox.script = slow
    db = tmp_path / "kh.sqlite"
    running = serve(db)
    sent = new_co(pki, "slow-stop")
    assert not receipt_of(post(running.url, sent.body), sent, pki).duplicate
    assert in_flight.wait(10), "the status was never sent"
    assert terminate(running) < 2.0 + 3
    assert_consistent(db)
    [(state, last_error)] = query(db, "SELECT state, last_error FROM outbox")
    assert state in ("sent", "pending"), f"the stop made the status {state}: {last_error}"


# ------------------------------------------------------------------------------ 2. concurrency


def outbox_drained(nsw: ReferenceNsw) -> bool:
    return all(row["state"] != "pending" for row in nsw.store.outbox_rows())


def test_eight_senders_two_hundred_cos(start_reference, partner_inbox, pki):
    reference = start_reference(retry_schedule=SCHEDULE)
    cos = [new_co(pki, f"load-{i}") for i in range(200)]
    assert len({sent.message_id for sent in cos}) == 200
    batches = [cos[i::8] for i in range(8)]
    start_together = threading.Barrier(8)

    def send(batch: list[Sent]) -> list[tuple[Sent, requests.Response]]:
        start_together.wait(timeout=30)
        with requests.Session() as session:
            return [(sent, post(reference.url, sent.body, session)) for sent in batch]

    with ThreadPoolExecutor(8) as pool:
        results = [pair for batch in pool.map(send, batches) for pair in batch]
    assert len(results) == 200
    for sent, response in results:
        assert not receipt_of(response, sent, pki).duplicate

    ids = {sent.message_id for sent in cos}
    assert wait_until(
        partner_inbox, lambda arrivals: len(ids & set(status_ids(arrivals))) == 200, STATUS_TIMEOUT
    ), f"{len(ids & set(status_ids(partner_inbox.matching(is_status))))} of 200 statuses arrived"
    eventually(lambda: outbox_drained(reference.nsw), 30, "the outbox drained")
    assert_one_status_each(partner_inbox, cos)
    store = reference.nsw.store
    assert store.count("certificates", "role = 'received'") == 200
    assert store.count("received") == 200
    assert store.count("outbox", "action = 'StatusNotification'") == 200


def test_eight_senders_one_message(start_reference, partner_inbox, pki):
    reference = start_reference(retry_schedule=SCHEDULE)
    rounds = [new_co(pki, f"same-{i}") for i in range(5)]
    for sent in rounds:
        start_together = threading.Barrier(8)

        def send(_: int, body: bytes = sent.body, barrier: threading.Barrier = start_together):
            barrier.wait(timeout=30)
            return post(reference.url, body)

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, range(8)))
        duplicates = sorted(receipt_of(response, sent, pki).duplicate for response in responses)
        assert duplicates == [False] + [True] * 7, "M-16: one taken, seven duplicates"

    eventually(lambda: outbox_drained(reference.nsw), 30, "the outbox drained")
    assert_one_status_each(partner_inbox, rounds)
    store = reference.nsw.store
    assert store.count("received") == 5
    assert store.count("certificates", "role = 'received'") == 5
    assert store.count("outbox") == 5, "M-16: processed once only"


def test_eight_senders_one_co_under_eight_message_ids(start_reference, partner_inbox, pki):
    """Eight distinct IssueCOs of one CO at once: one ACCEPTED, seven REJECTED with BR-11 (A-01)."""
    reference = start_reference()
    moment = datetime.now(timezone.utc)
    co = Build(vector_id="durability-race", day=moment.date(), pki=pki, moment=moment, dialect=EFDX).co()
    copies = []
    for i in range(8):
        build = Build(
            vector_id=f"durability-race-{i}", day=moment.date(), pki=pki, moment=moment, data=co, dialect=EFDX
        )
        copies.append(_sent(build, build.bytes()))
    assert len({sent.message_id for sent in copies}) == 8
    start_together = threading.Barrier(8)

    def send(sent: Sent) -> requests.Response:
        start_together.wait(timeout=30)
        return post(reference.url, sent.body)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, copies))
    for sent, response in zip(copies, responses, strict=True):
        assert not receipt_of(response, sent, pki).duplicate

    ids = {sent.message_id for sent in copies}
    assert wait_until(partner_inbox, lambda arrivals: ids <= set(status_ids(arrivals)), STATUS_TIMEOUT)
    eventually(lambda: outbox_drained(reference.nsw), 30, "the outbox drained")
    arrivals = partner_inbox.matching(is_status)
    ids_by_co = status_ids(arrivals)
    assert all(len(found) == 1 for found in ids_by_co.values()), ids_by_co
    outcomes = Counter(
        (
            status_text(a),
            tuple(a.judgement.payload.xpath("f:Reason/f:Code/text()", namespaces={"f": EFORMD_NS})),
        )
        for a in {a.message_id: a for a in arrivals}.values()
    )
    assert outcomes == {("ACCEPTED", ()): 1, ("REJECTED", ("BR-11",)): 7}
    assert reference.nsw.store.count("certificates", "role = 'received'") == 1


# ------------------------------------------------------------------------------ 3. outbox retries (M-21)


class Scripted:
    """Answer the n-th arrival of each StatusNotification with ``reactions[n]`` (then normally)."""

    def __init__(self, reactions: Sequence[Reaction | None], *, forever: Reaction | None = None) -> None:
        self.reactions, self.forever = list(reactions), forever
        self.calls: list[Arrival] = []  # every status arrival, when it came in (before any delay)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, arrival: Arrival) -> Reaction | None:
        if not is_status(arrival):
            return None
        with self._lock:
            self.calls.append(arrival)
            n = self._seen[arrival.message_id]
            self._seen[arrival.message_id] += 1
        if self.forever is not None:
            return self.forever
        return self.reactions[n] if n < len(self.reactions) else None


def send_one(reference, pki: TestPki, tag: str) -> Sent:
    sent = new_co(pki, tag)
    assert not receipt_of(post(reference.url, sent.body), sent, pki).duplicate
    return sent


def only_row(nsw: ReferenceNsw) -> dict:
    rows = nsw.store.outbox_rows()
    assert len(rows) == 1, rows
    return rows[0]


def settled_row(nsw: ReferenceNsw, timeout: float = 10) -> dict:
    """The single outbox row once it is no longer pending."""
    eventually(lambda: outbox_drained(nsw), timeout, "the outbox row settled")
    return only_row(nsw)


def test_503_twice_then_delivered_with_the_same_bytes(start_reference, partner_inbox, pki):
    script = Scripted([Reaction(status=503), Reaction(status=503)])
    partner_inbox.script = script
    reference = start_reference(retry_schedule=SCHEDULE)
    sent = send_one(reference, pki, "retry-503")

    delivered = partner_inbox.wait_for(lambda a: is_status(a) and a.answered == 200, 10)
    assert delivered is not None, "the status never got through"
    arrivals = partner_inbox.matching(is_status)
    assert [arrival.answered for arrival in arrivals] == [503, 503, 200]
    assert {arrival.body for arrival in arrivals} == {delivered.body}, "M-21: the same bytes"
    assert {arrival.message_id for arrival in arrivals} == {delivered.message_id}
    assert delivered.header.ref_to_message_id == sent.message_id
    gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(arrivals)]
    assert all(
        gap >= timedelta(seconds=0.8 * delay) for gap, delay in zip(gaps, SCHEDULE[:2], strict=True)
    ), gaps
    row = settled_row(reference.nsw)
    assert (row["state"], row["attempts"], row["last_status"]) == ("sent", 3, 200)
    assert row["message_id"] == delivered.message_id and row["body"] == delivered.body


@pytest.mark.parametrize(
    "trouble", [Reaction(drop=True), Reaction(delay=3.0)], ids=["connection-reset", "timeout"]
)
def test_reset_or_timeout_is_retried(start_reference, partner_inbox, pki, trouble):
    script = Scripted([trouble])
    partner_inbox.script = script
    reference = start_reference(retry_schedule=SCHEDULE, outbound_timeout=0.5)
    sent = send_one(reference, pki, f"retry-{'drop' if trouble.drop else 'slow'}")

    delivered = partner_inbox.wait_for(lambda a: is_status(a) and a.answered == 200, 10)
    assert delivered is not None, "the status was not retried"
    first = script.calls[0]
    assert first is not delivered and len(script.calls) >= 2
    assert first.body == delivered.body and first.message_id == delivered.message_id
    assert delivered.header.ref_to_message_id == sent.message_id
    # the retry came after the sender's 0.5 s timeout, not after the partner's 3 s answer
    assert delivered.received_at - first.received_at < timedelta(seconds=2.5)
    row = settled_row(reference.nsw)
    assert (row["state"], row["attempts"], row["last_status"]) == ("sent", 2, 200)


@pytest.mark.parametrize("status", [400, 409])
def test_4xx_is_not_retried(start_reference, partner_inbox, pki, status):
    partner_inbox.script = Scripted([], forever=Reaction(status=status))
    reference = start_reference(retry_schedule=SCHEDULE)
    send_one(reference, pki, f"no-retry-{status}")

    first = partner_inbox.wait_for(is_status, 10)
    assert first is not None and first.answered == status
    row = settled_row(reference.nsw)
    assert (row["state"], row["attempts"], row["last_status"]) == ("failed", 1, status)
    assert "not retried" in row["last_error"]
    again = partner_inbox.wait_for(lambda a: is_status(a) and a is not first, GRACE)
    assert again is None, f"M-21: retried after HTTP {status}"


@pytest.mark.parametrize(
    ("trouble", "last_status"),
    [(Reaction(status=503), 503), (Reaction(status=500), 500), (Reaction(drop=True), None)],
    ids=["503", "500", "connection-reset"],
)
def test_schedule_used_up_leaves_the_status_failed(start_reference, partner_inbox, pki, trouble, last_status):
    partner_inbox.script = Scripted([], forever=trouble)
    reference = start_reference(retry_schedule=SCHEDULE)
    send_one(reference, pki, f"give-up-{last_status}")

    tries = 1 + len(SCHEDULE)  # M-21: at least three retries
    assert wait_until(partner_inbox, lambda arrivals: sum(map(is_status, arrivals)) >= tries, 10), (
        f"M-21: fewer than {tries} tries"
    )
    row = settled_row(reference.nsw)
    assert (row["state"], row["attempts"], row["last_status"]) == ("failed", tries, last_status)
    assert "gave up" in row["last_error"] and f"{tries} tries" in row["last_error"], row["last_error"]
    more = wait_until(partner_inbox, lambda arrivals: sum(map(is_status, arrivals)) > tries, GRACE)
    assert not more, "M-21: tried again after giving up"
    arrivals = partner_inbox.matching(is_status)
    assert len(arrivals) == tries
    assert len({arrival.body for arrival in arrivals}) == 1, "M-21: the same bytes every time"
