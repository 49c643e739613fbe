"""Issue 8's attack, end to end: one TCP connection that opens the harness's TLS inbox and sends
nothing must not stop deliveries to the harness. A full run over mutual TLS against the conforming
reference, with that connection held open all along, stays conformant."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from conformance.app.run import RunOptions, run
from conformance.harness.session import Harness
from conformance.profiles.efdx.pack import PROFILE as EFDX


def test_a_silent_connection_to_the_tls_inbox_changes_no_verdict(tmp_path, monkeypatch, capsys):
    held: list[socket.socket] = []
    start = Harness.start

    def start_then_attack(self: Harness) -> Harness:
        started = start(self)
        address = urlsplit(self.inbox.url)
        held.append(socket.create_connection((address.hostname, address.port), timeout=5))
        return started

    monkeypatch.setattr(Harness, "start", start_then_attack)
    try:
        code, folder = run(RunOptions(tls=True, report_dir=tmp_path, live=False, profile=EFDX))
    finally:
        for connection in held:
            connection.close()
    results = json.loads((folder / "results.json").read_text())
    not_passed = [(t["id"], t["verdict"], t["reason"]) for t in results["tests"] if t["verdict"] != "pass"]
    assert held, "the attacker never connected"
    efdx = next(row for row in results["profiles"] if row["title"] == "EFDX 1.0")
    assert (code, efdx["verdict"], not_passed) == (0, "conformant", [])
    assert results["harness_inbox"]["arrivals"] > 0  # what the inbox turned away is counted there
