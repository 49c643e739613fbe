"""Egress of the test bed's runs (issue 21 item 7): a registered system's run gets the service's
policy (loopback and the rest denied) plus the admin's allow-list. A candidate on a denied address
is refused before the first test, with one line shown on the run, and nothing connects to it;
once an admin allow-lists 127.0.0.1 (audit-logged), the same system's run reaches a real reference
NSW process there. The allow-list API is an admin's only."""

from __future__ import annotations

import socket
import subprocess

import pytest
from markupsafe import escape
from sqlalchemy import select

from conformance.app.serve.models import AuditEvent
from tests.loopback import free_port, reference_serve_command, stop_reference
from tests.serve_helpers import add_member, login, serving

TOKEN = "egress-test-trigger-token"
SYSTEM_TOML = """
[candidate]
party = "KH"
profiles = ["efdx"]
inbox_url = "http://127.0.0.1:{port}/efdx/1/messages"
roles = ["importing", "exporting"]
capabilities = ["trigger"]
[candidate.trigger]
url = "http://127.0.0.1:{port}/efdx/1/test/trigger"
token_env = "KH_TRIGGER"
[harness]
party = "SG"
listen = "127.0.0.1:{harness_port}"
url = "http://127.0.0.1:{harness_port}/efdx/1/messages"
"""
SMALL = {"profile": "efdx", "requirements": ["M-06"]}


@pytest.fixture
def bed(tmp_path):
    with serving(tmp_path / "testbed") as server:
        yield server


def _reference(port: int, harness_port: int, db) -> subprocess.Popen:
    """`conformance reference serve --party KH` on ``port`` (a port the test chose)."""
    command = reference_serve_command(db, f"http://127.0.0.1:{harness_port}/efdx/1/messages")
    command[command.index("--port") + 1] = str(port)
    command += ["--trigger-token", TOKEN, "--retry-schedule", "0.2,0.4,0.8", "--outbound-timeout", "1"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None and process.stdout.readline().startswith("reference NSW KH at ")
    return process


def test_a_denied_candidate_is_refused_before_its_first_test_and_the_allow_list_opens_it(bed, tmp_path):
    admin = login(bed.url, "admin", bed.testbed.first_password)
    port, harness_port = free_port(), free_port()
    toml = SYSTEM_TOML.format(port=port, harness_port=harness_port)
    made = admin.post(
        "/api/systems",
        data={"name": "KH on loopback", "trigger_token": TOKEN},
        files={"ics": ("kh.toml", toml)},
    )
    assert made.status_code == 201, made.text
    system = made.json()["id"]

    with socket.socket() as trap:  # where the candidate would be: anything connecting shows here
        trap.bind(("127.0.0.1", port))
        trap.listen(8)
        trap.setblocking(False)
        refused = admin.post("/api/runs", json={"system": system, **SMALL, "wait": 120}).json()
        with pytest.raises(BlockingIOError):
            trap.accept()  # nothing connected: the address was refused before any connection
    assert refused["state"] == "incomplete" and refused["counts"] in (None, {}), refused
    reason = refused["reason"]
    assert "\n" not in reason and "egress policy" in reason and "candidate.inbox_url" in reason, reason
    page = admin.get(f"/runs/{refused['id']}").text
    assert str(escape(reason)) in page
    assert 'id="certify-note"' in page  # no site key here: the run page says runs cannot certify

    assert admin.get("/api/admin/egress").json()["allow"] == []
    assert admin.put("/api/admin/egress", json={"allow": ["not a host!"]}).status_code == 422
    opened = admin.put("/api/admin/egress", json={"allow": ["127.0.0.1"]})
    assert opened.status_code == 200 and opened.json()["allow"] == ["127.0.0.1"]
    with bed.testbed.store.session() as db:
        logged = db.scalars(select(AuditEvent).where(AuditEvent.action == "egress-allow-list")).one()
        assert logged.user_name == "admin" and "['127.0.0.1']" in (logged.detail or "")

    reference = _reference(port, harness_port, tmp_path / "kh.sqlite")
    try:
        ran = admin.post("/api/runs", json={"system": system, **SMALL, "wait": 180}).json()
    finally:
        stop_reference(reference)
    assert ran["state"] == "finished", ran["reason"]  # a selection of tests: its verdict is "incomplete"
    assert ran["counts"]["pass"] >= 3 and set(ran["counts"]) <= {"pass", "not-applicable"}, ran


def test_only_an_admin_reads_or_changes_the_allow_list(bed):
    admin = login(bed.url, "admin", bed.testbed.first_password)
    _, tester = add_member(admin, "A member state", "a-tester")
    assert tester.get("/api/admin/egress").status_code == 403
    assert tester.put("/api/admin/egress", json={"allow": ["10.0.0.0/8"]}).status_code == 403
    assert admin.get("/api/admin/egress").json()["allow"] == []
