"""The Locust side of `conformance load`, in a process of its own (gevent monkey-patches it).

Roles: ``local`` (one process: users and shape), ``master`` (the shape; workers run the users) and
``worker`` (users only, on this machine or another, given the run's spec by the master). Users send
their records (one per message: what was sent, how it was answered, the judgement) in batches; a
worker sends them to the master over Locust's own channel, and ``local`` or ``master`` writes them
as JSON lines on stdout for `conformance load` to read. A worker's last batch carries the number
of records it made, so the merged count can be checked against what each worker sent. What the
users send and how an answer is judged is the profile's: its load adapter (adapter.py), found again
here by the profile key in the run's spec (conformance.harness.registry).

    python -m conformance.app.load.child local --spec FILE
    python -m conformance.app.load.child master --spec FILE --bind 127.0.0.1:PORT --expect-workers N
    python -m conformance.app.load.child worker --master HOST:PORT
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import gevent
import gevent.event

# Locust patches the standard library with gevent when imported: first, before anything else.
import locust  # noqa: I001
from locust import FastHttpUser, LoadTestShape, events, task
from locust.env import Environment

from conformance.app.load.adapter import LoadAdapter, Traffic
from conformance.core.client import DEFAULT_MAX_ANSWER
from conformance.harness import registry

log = logging.getLogger("conformance.load")
FLUSH_S = 0.25
SPEC: dict = {}
_spec_ready = gevent.event.Event()
_state: dict = {"records": [], "made": 0, "worker": "local", "users": 0}


def _out(message: dict) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class _Shared:
    """What every user of this process shares: the profile's traffic (generator, invalid vectors,
    trust), built once."""

    instance: Traffic | None = None

    @classmethod
    def get(cls) -> Traffic:
        if cls.instance is None:
            load = registry.get(SPEC["profile"]).load
            assert load is not None  # the parent runs only a profile with a load adapter (session.adapter_of)
            adapter: LoadAdapter = load()
            cls.instance = adapter.traffic(SPEC.get("pki_dir"), SPEC["sender"], SPEC["candidate"])
        return cls.instance


def _ssl_context():
    import gevent.ssl

    context = gevent.ssl.create_default_context(cafile=SPEC["tls"]["ca"])
    context.load_cert_chain(SPEC["tls"]["cert"], SPEC["tls"]["key"])
    context.check_hostname = False  # the test PKI names localhost and 127.0.0.1; the chain is what counts
    return context


def _wait_time(user) -> float:
    """Locust's constant_throughput for this user's share of the offered rate."""
    return locust.constant_throughput(SPEC["rate"] / max(1, SPEC["users"]))(user)


class Partner(FastHttpUser):
    """One simulated partner NSW sending the mix to the candidate's inbox."""

    abstract = False
    host = "http://placeholder"
    wait_time = _wait_time
    insecure = False
    network_timeout = 60.0
    connection_timeout = 30.0
    max_retries = 0

    def __init__(self, environment) -> None:
        _spec_ready.wait()
        type(self).host = SPEC["base"]
        type(self).network_timeout = type(self).connection_timeout = SPEC["request_timeout_s"]
        if SPEC.get("tls"):
            type(self).ssl_context_factory = staticmethod(_ssl_context)
        super().__init__(environment)
        # Every status is an answer to judge: otherwise the agent releases a 4xx's connection before
        # its body is read (the body is streamed, under the suite's cap, below).
        # (geventhttpclient declares it a ClassVar; the agent reads it through the instance)
        self.client.client.valid_response_codes = frozenset(range(100, 600))  # type: ignore[misc]
        shared = _Shared.get()
        _state["users"] += 1
        self.partner = shared.partner(
            f"{SPEC['run']}-{_state['worker_index']}-{_state['users']}", SPEC["weights"], SPEC["settle_s"]
        )

    def on_start(self) -> None:
        """Start at a random phase of the period, so that the users do not send in bursts."""
        gevent.sleep(self.partner.rng.uniform(0, max(1, SPEC["users"]) / SPEC["rate"]))

    def _post(self, planned) -> _Answer:
        return _post(self, planned)

    @task
    def send(self) -> None:
        planned = self.partner.next(time.time())
        shared = _Shared.get()
        started = time.time()
        record = {"k": planned.kind, "id": planned.message_id, "t": started, "w": _state["worker"]}
        if not planned.receipt:
            record["nr"] = 1  # no Receipt due: its latency is not the receipt latency
        answer = self._post(planned)
        record["l"] = latency = time.time() - started
        if answer.error_kind:  # no answer at all, or none within the request timeout: why
            record["e"], record["x"] = answer.error_kind, answer.error[:300]
        elif answer.too_large:  # judged as the suite judges it: no usable answer in time (T-01)
            record["v"], record["x"] = "T-01", f"{planned.kind}: {answer.error}"[:500]
        else:
            violation = shared.judge(planned, answer.status, answer.content_type, answer.body)
            if violation is not None:
                record["v"], record["x"] = violation.requirement, f"{planned.kind}: {violation}"[:500]
            if answer.status >= 500:  # the candidate refused it (shed load): not answered (P-01's rate)
                record["rf"] = 1
        if planned.status and "e" not in record and "v" not in record:
            record["st"], record["cv"] = planned.status, planned.conversation
        self.partner.answered(planned, "e" not in record and "v" not in record, started + latency)
        _state["records"].append(record)
        _state["made"] += 1


class _Answer:
    """A synchronous answer read under the suite's caps, or why there is none."""

    def __init__(self, status=0, content_type="", body=b"", error="", error_kind="", too_large=False):
        self.status, self.content_type, self.body = status, content_type, body
        self.error, self.error_kind, self.too_large = error, error_kind, too_large


class _TooLarge(Exception):
    pass


def _read_capped(response, cap: int) -> bytes:
    """The body, at most ``cap`` bytes (the functional suite's answer cap, core/client.py)."""
    chunks, size = [], 0
    for chunk in response.iter_content(8 * 1024, decode_content=False):
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            raise _TooLarge
    return b"".join(chunks)


def _post(user: Partner, planned) -> _Answer:
    """POST ``planned`` and read its answer, the whole of it (connecting, headers and body) within
    the request timeout (T-01) and at most the suite's answer cap: a candidate that trickles its
    answer, or answers without end, costs a user one timeout, never the run."""
    timeout_s, cap = SPEC["request_timeout_s"], SPEC.get("max_answer", DEFAULT_MAX_ANSWER)
    deadline = gevent.Timeout(timeout_s)
    begun = time.monotonic()
    deadline.start()
    aborted = False
    try:
        with user.client.post(
            SPEC["path"],
            data=planned.body,
            headers={"Content-Type": "application/xml", "Accept-Encoding": "identity"},
            name=planned.kind,
            catch_response=True,
            stream=True,
            allow_redirects=False,  # a redirect is an answer to judge, never followed
        ) as response:
            if not response.status_code:  # no answer at all: the transport's exception says why
                error = response.__dict__.get("error")
                if time.monotonic() - begun >= timeout_s:  # the deadline, caught inside the transport
                    aborted = True
                    response.failure("timeout")
                    return _Answer(
                        error=f"no complete answer within {timeout_s:g} s (T-01)", error_kind="timeout"
                    )
                response.failure(_error_kind(error))
                return _Answer(error=f"{type(error).__name__}: {error}", error_kind=_error_kind(error))
            try:
                body = _read_capped(response, cap)
            except _TooLarge:
                aborted = True
                response.failure("T-01")
                return _Answer(error=f"answer larger than {cap} bytes: not read further", too_large=True)
            response.success()
            return _Answer(response.status_code, response.headers.get("Content-Type", "") or "", body)
    except gevent.Timeout as fired:
        if fired is not deadline:
            raise
        aborted = True
        return _Answer(error=f"no complete answer within {timeout_s:g} s (T-01)", error_kind="timeout")
    finally:
        deadline.close()
        if aborted:  # the connection may still hold the rest of that answer: never reuse it
            with contextlib.suppress(Exception):
                user.client.client.clientpool.close()


def _error_kind(error) -> str:
    name = type(error).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if "refused" in str(error).lower():
        return "connection refused"
    if "reset" in str(error).lower() or "connectionreset" in name:
        return "connection reset"
    if "ssl" in name or "certificate" in str(error).lower():
        return "tls"
    return type(error).__name__


class Shape(LoadTestShape):
    """Ramp the users up over ``ramp_s``, hold them for ``duration_s``, then stop."""

    def tick(self):
        elapsed = self.get_run_time()
        users = SPEC["users"]
        if elapsed < SPEC["ramp_s"]:
            return max(1, math.ceil(users * elapsed / SPEC["ramp_s"])), users
        if elapsed < SPEC["ramp_s"] + SPEC["duration_s"]:
            return users, users
        return None


def _flusher(send) -> None:
    while True:
        gevent.sleep(FLUSH_S)
        _flush(send)


def _flush(send) -> None:
    batch, _state["records"] = _state["records"], []
    if batch:
        send({"r": batch})


def _stop_timeout() -> float:
    """How long stopping waits for the users' requests under way: each ends within the request
    timeout (its answer read whole or given up), so that every message sent is counted."""
    return max(60.0, float(SPEC.get("request_timeout_s", 0)) + 10.0)


def _environment(runner_kind: str) -> Environment:
    environment = Environment(
        user_classes=[Partner], shape_class=Shape(), events=events, stop_timeout=_stop_timeout()
    )
    return environment


def run_local(spec_file: str) -> int:
    SPEC.update(json.loads(Path(spec_file).read_text()))
    _state["worker_index"] = 0
    _spec_ready.set()
    environment = _environment("local")
    runner = environment.create_local_runner()

    def on_stop(**_) -> None:
        _flush(_out)
        _out({"end": {"workers": {"local": _state["made"]}, "locust": _locust_totals(environment)}})

    environment.events.test_stop.add_listener(on_stop)
    gevent.spawn(_flusher, _out)
    _Shared.get()  # build before the clock starts
    _out({"ready": {}})
    runner.start_shape()
    assert runner.shape_greenlet is not None  # start_shape spawned it, and nothing ran since
    runner.shape_greenlet.join()
    runner.quit()
    return 0


def run_master(spec_file: str, bind: str, expect_workers: int) -> int:
    SPEC.update(json.loads(Path(spec_file).read_text()))
    host, port = bind.rsplit(":", 1)
    environment = _environment("master")
    runner = environment.create_master_runner(master_bind_host=host, master_bind_port=int(port))
    finished: dict[str, int] = {}
    prepared: set[str] = set()

    def on_hello(environment, msg, **_) -> None:  # a worker that can take the spec asks for it
        runner.send_message("load_spec", SPEC, msg.node_id)

    def on_prepared(environment, msg, **_) -> None:
        prepared.add(msg.node_id)

    def on_records(environment, msg, **_) -> None:
        _out({"r": msg.data["r"]})

    def on_done(environment, msg, **_) -> None:
        finished[msg.data["worker"]] = msg.data["made"]

    runner.register_message("load_hello", on_hello)
    runner.register_message("load_prepared", on_prepared)
    runner.register_message("load_records", on_records)
    runner.register_message("load_done", on_done)
    _out({"listening": {"port": int(port)}})
    deadline = time.time() + 120
    while len(prepared) < expect_workers and time.time() < deadline:
        gevent.sleep(0.05)
    if len(prepared) < expect_workers:
        _out({"end": {"error": f"{len(prepared)} of {expect_workers} workers ready in 120 s"}})
        runner.quit()
        return 1
    _out({"ready": {"workers": len(prepared)}})
    runner.start_shape()
    while runner.shape_greenlet is not None and not runner.shape_greenlet.ready():
        gevent.sleep(0.2)
    deadline = time.time() + 30
    while len(finished) < expect_workers and time.time() < deadline:
        gevent.sleep(0.1)
    _out({"end": {"workers": finished, "locust": _locust_totals(environment)}})
    runner.quit()
    return 0


def run_worker(master: str) -> int:
    host, port = master.rsplit(":", 1)
    environment = _environment("worker")
    runner = environment.create_worker_runner(host, int(port))
    _state["worker"] = runner.client_id

    def on_spec(environment, msg, **_) -> None:
        SPEC.update(msg.data)
        environment.stop_timeout = _stop_timeout()
        _state["worker_index"] = runner.worker_index if runner.worker_index >= 0 else runner.client_id[-6:]
        _Shared.get()  # built before the master starts the clock
        _spec_ready.set()
        runner.send_message("load_prepared", {})

    def send(message: dict) -> None:
        runner.send_message("load_records", message)

    def on_stop(**_) -> None:
        _flush(send)
        runner.send_message("load_done", {"worker": _state["worker"], "made": _state["made"]})

    runner.register_message("load_spec", on_spec)
    environment.events.test_stop.add_listener(on_stop)
    runner.send_message("load_hello", {})  # only now can this worker take the spec
    gevent.spawn(_flusher, send)
    runner.greenlet.join()
    return 0


def _locust_totals(environment: Environment) -> dict:
    total = environment.stats.total
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "avg_response_ms": round(total.avg_response_time, 2),
        "median_response_ms": total.median_response_time,
        "p95_response_ms": total.get_response_time_percentile(0.95),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance.app.load.child")
    parser.add_argument("role", choices=["local", "master", "worker"])
    parser.add_argument("--spec")
    parser.add_argument("--bind", default="127.0.0.1:5557")
    parser.add_argument("--expect-workers", type=int, default=1)
    parser.add_argument("--master", default="127.0.0.1:5557")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("EFDX_LOAD_LOG", "WARNING"), stream=sys.stderr)
    if args.role == "local":
        return run_local(args.spec)
    if args.role == "master":
        return run_master(args.spec, args.bind, args.expect_workers)
    return run_worker(args.master)


if __name__ == "__main__":
    sys.exit(main())
