"""The CPU floor of one end-to-end CO: what the exchange costs before anything is parsed or judged.

Issue 11 item 5 aims at 300 signed COs per second end to end, with statuses, on a 2-core machine:
at most 2 000 ms of CPU per second shared by everything, so at most 6.7 ms of CPU per CO for the
reference NSW and the harness together. This script measures the parts of one CO that no
implementation in this stack can leave out, each on its own, and adds them up:

* **RSA-2048 signatures** (PKCS#1 v1.5, SHA-256, `cryptography`), three per CO once the CO is
  built: KH's Receipt, KH's StatusNotification, SG's Receipt for that status (the CO's own two are
  the generator's, made before timing in ``reference_throughput.py``). The three verifications of
  the same messages are measured too.
* **One POST on a kept connection**, twice per CO (the CO to KH, the status to SG), client and
  server CPU added. The stacks measured: the one the project uses (urllib3, as the reference's
  outbox posts, against the harness's own ``BoundedWSGIServer``, werkzeug underneath, with a WSGI
  app that answers a fixed body), and the standard library's ``http.client`` against
  ``http.server`` (HTTP/1.1, keep-alive) as the cheapest Python HTTP there is. The server runs in
  a child process; its CPU is read from ``/proc/PID/stat``. Bodies are the size of a real
  signed IssueCO and Receipt.

Nothing here is judged, stored, rendered or logged, so the sum is a floor, not an estimate: the
reference's real costs (parsing, two signature checks with their references, schema, business
rules, SQLite, the templates, the outbox's claims) come on top. The ceiling printed is the number
of cores divided by that floor.

A second table gives what the judging itself costs, measured on the project's own code in this
process without HTTP: KH's reference judging a signed IssueCO (``Receiver.judge``), the whole
``ReferenceNsw.receive`` (judge, record in SQLite, queue the status, sign the Receipt), signing a
queued StatusNotification as the outbox does, and SG's inbox judging that status.

    python bench/exchange_floor.py [--posts N] [--signatures N] [--judged N] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import urllib3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURES_PER_CO = 3  # KH's Receipt, KH's status, SG's Receipt for the status
POSTS_PER_CO = 2  # the CO to KH, the status to SG
BUDGET_CORES = 2
AIM_PER_S = 300
REQUEST_BYTES = 7_000  # about a signed IssueCO with its two signatures and certificates
ANSWER_BYTES = 3_500  # about a signed Receipt

PROJECT_SERVER = """
import logging, sys
from conformance.core.inbox_server import BoundedWSGIServer, Limits
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log: not part of the floor
answer = b"x" * int(sys.argv[1])
def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(answer)))])
    return [answer]
server = BoundedWSGIServer("127.0.0.1", 0, app, tls=None, limits=Limits())  # keeps alive itself
print(server.server_port, flush=True)
server.serve_forever()
"""

STDLIB_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
answer = b"x" * int(sys.argv[1])
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


def cpu_ms_each(operation: Callable[[], object], count: int) -> float:
    """CPU time of this process per call, after one untimed call."""
    operation()
    started = time.process_time()
    for _ in range(count):
        operation()
    return (time.process_time() - started) * 1000 / count


def process_cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signature_costs(count: int) -> tuple[float, float]:
    """ms of CPU for one RSA-2048 signature, and for one verification, of a message-sized SignedInfo."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # throwaway, never stored
    data = os.urandom(600)  # a SignedInfo's canonical form is about this long
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key()
    sign = cpu_ms_each(lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256()), count)
    verify = cpu_ms_each(lambda: public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256()), count)
    return sign, verify


def post_costs(server_source: str, count: int, client: str) -> tuple[float, float]:
    """ms of CPU per POST on one kept connection: (this client, the server in its child process)."""
    server = subprocess.Popen(
        [sys.executable, "-c", server_source, str(ANSWER_BYTES)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())
        body = b"y" * REQUEST_BYTES
        headers = {"Content-Type": "application/xml"}
        if client == "urllib3":
            pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)

            def post() -> None:
                answer = pool.urlopen("POST", "/", body=body, headers=headers, retries=False)
                assert answer.status == 200 and len(answer.data) == ANSWER_BYTES
        else:
            import http.client

            connection = http.client.HTTPConnection("127.0.0.1", port)

            def post() -> None:
                connection.request("POST", "/", body=body, headers=headers)
                answer = connection.getresponse()
                assert answer.status == 200 and len(answer.read()) == ANSWER_BYTES

        for _ in range(50):  # warm up both sides
            post()
        server_before = process_cpu_s(server.pid)
        client_ms = cpu_ms_each(post, count)
        server_ms = (process_cpu_s(server.pid) - server_before) * 1000 / (count + 1)
        return client_ms, server_ms
    finally:
        server.terminate()
        server.wait(timeout=10)


def judging_costs(count: int) -> list[tuple[str, float, int]]:
    """ms of CPU of the reference's and the inbox's own work per CO, without HTTP (see the docstring)."""
    import tempfile
    from datetime import UTC, datetime

    from lxml import etree
    from reference_throughput import build_messages  # bench/ is on the path when run as a script

    from conformance.core import signing
    from conformance.family.judge import Receiver
    from conformance.family.reference.nsw import ReferenceNsw, Settings
    from conformance.profiles.efdx.dialect import EFDX
    from conformance.profiles.efdx.pki import TestPki

    pki = TestPki.load()
    bodies = [m.body for m in build_messages(2 * count + 1, pki, "floor")]
    with tempfile.TemporaryDirectory() as folder:
        nsw = ReferenceNsw(
            Settings(
                party="KH", db=Path(folder) / "kh.sqlite", peers={"SG": "http://127.0.0.1:9/"}, dialect=EFDX
            )
        )  # the outbox is never started: nothing is sent to that address
        now = datetime.now(UTC)
        judged = iter(bodies[1 : count + 1])
        judge_ms = cpu_ms_each(lambda: nsw.receiver.judge(next(judged), "application/xml", at=now), count - 1)
        received = iter(bodies[count + 1 :])
        receive_ms = cpu_ms_each(lambda: nsw.receive(next(received), "application/xml"), count - 1)
        queued = iter(row["body"] for row in nsw.store.outbox_rows())
        statuses = []

        def sign_status() -> None:
            envelope = etree.fromstring(next(queued))
            signing.sign_envelope(envelope, nsw.nsw_credential)
            statuses.append(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))

        sign_ms = cpu_ms_each(sign_status, count - 1)
        sg = Receiver("SG", pki.trust_store(), dialect=EFDX)
        signed = iter(statuses)
        status_ms = cpu_ms_each(lambda: sg.judge(next(signed), "application/xml", at=now), count - 1)
        refused = [j.violation for j in (sg.judge(body, "application/xml", at=now) for body in statuses)]
        if any(refused) or len(nsw.store.outbox_rows()) != count:
            problems = [violation for violation in refused if violation][:3]
            raise SystemExit(f"not measured: a status was refused or a CO not accepted: {problems}")
    return [
        ("KH judges the IssueCO (Receiver.judge)", judge_ms, 1),
        ("KH receives it: judge, SQLite, sign Receipt", receive_ms, 1),
        ("KH's outbox signs the status", sign_ms, 1),
        ("SG's inbox judges the status", status_ms, 1),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000, help="POSTs timed per stack (default 3000)")
    parser.add_argument("--signatures", type=int, default=2000, help="signatures timed (default 2000)")
    parser.add_argument(
        "--judged", type=int, default=300, help="COs judged for the second table (default 300)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown (default 3)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    signs, verifies, project, stdlib = [], [], [], []
    for _ in range(args.rounds):
        sign, verify = signature_costs(args.signatures)
        signs.append(sign)
        verifies.append(verify)
        project.append(post_costs(PROJECT_SERVER, args.posts, "urllib3"))
        stdlib.append(post_costs(STDLIB_SERVER, args.posts, "http.client"))
    sign, verify = statistics.median(signs), statistics.median(verifies)
    project_client = statistics.median(c for c, _ in project)
    project_server = statistics.median(s for _, s in project)
    stdlib_client = statistics.median(c for c, _ in stdlib)
    stdlib_server = statistics.median(s for _, s in stdlib)

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs; "
        f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"Python {platform.python_version()}, cryptography {version('cryptography')}, "
        f"urllib3 {version('urllib3')}, werkzeug {version('werkzeug')}; median of {args.rounds} rounds\n"
    )
    rows = [
        ("RSA-2048 signature", sign, SIGNATURES_PER_CO),
        ("RSA-2048 verification", verify, SIGNATURES_PER_CO),
        ("POST, urllib3 client", project_client, POSTS_PER_CO),
        ("POST, BoundedWSGIServer (werkzeug)", project_server, POSTS_PER_CO),
    ]
    print_table(rows)
    floor = sum(each * times for _, each, times in rows)
    stdlib_floor = SIGNATURES_PER_CO * (sign + verify) + POSTS_PER_CO * (stdlib_client + stdlib_server)
    budget = BUDGET_CORES * 1000 / AIM_PER_S
    print(
        f"\nfloor with the project's stack: {floor:.2f} ms of CPU per CO; "
        f"ceiling {BUDGET_CORES * 1000 / floor:.0f} COs/s on {BUDGET_CORES} cores"
    )
    print(
        f"floor with http.client/http.server (client {stdlib_client:.3f}, server {stdlib_server:.3f} ms "
        f"per POST): {stdlib_floor:.2f} ms; ceiling {BUDGET_CORES * 1000 / stdlib_floor:.0f} COs/s"
    )
    print(
        f"budget for {AIM_PER_S} COs/s on {BUDGET_CORES} cores: {budget:.2f} ms of CPU per CO, "
        "for everything, judging included\n"
    )
    judging = judging_costs(args.judged)
    print_table(judging)
    judged = judging[1][1] + judging[2][1] + judging[3][1]  # receive, sign the status, judge it
    http = POSTS_PER_CO * (project_client + project_server)
    print(f"\nKH receiving, storing and signing, SG judging, without HTTP: {judged:.2f} ms of CPU per CO")
    print(
        f"with the HTTP floor ({http:.2f} ms) and SG's Receipt signature ({sign:.2f} ms): "
        f"{judged + http + sign:.2f} ms; ceiling {BUDGET_CORES * 1000 / (judged + http + sign):.0f} COs/s"
    )
    return 0


def print_table(rows: list[tuple[str, float, int]]) -> None:
    print(f"| {'part':<44} | {'ms CPU each':>11} | {'per CO':>6} | {'ms CPU per CO':>13} |")
    print(f"|{'-' * 46}|{'-' * 12}:|{'-' * 7}:|{'-' * 14}:|")
    for label, each, times in rows:
        print(f"| {label:<44} | {each:>11.3f} | {times:>6} | {each * times:>13.2f} |")


if __name__ == "__main__":
    sys.exit(main())
