"""Runs on the test bed, end to end: the embedded reference's whole suite through POST /api/runs
with its progress streamed (server-sent events) and its report served; a run whose process is killed
ends incomplete with a reason and the next run starts; one active run per system (409)."""

from __future__ import annotations

import json
import os
import signal
import zipfile
from io import BytesIO

import pytest

from conformance.app.serve.models import Run
from tests.serve_helpers import BACKENDS, Client, login, serving, wait_for

SMALL = {"profile": "efdx", "requirements": ["M-06"]}  # four tests, a few seconds


@pytest.fixture(scope="module", params=BACKENDS)
def bed(request, tmp_path_factory):
    """Every test here on SQLite with the runs in the web process's threads, then on PostgreSQL with
    the runs in a `conformance serve worker` process fed through Redis."""
    with serving(tmp_path_factory.mktemp("testbed"), workers=2, backend=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def admin(bed) -> Client:
    return login(bed.url, "admin", bed.testbed.first_password)


def _events(client: Client, run_id: int) -> list[tuple[str, str]]:
    """The run's event stream, read live to its end: (event, data) pairs."""
    events, kind, data = [], None, []
    with client.get(f"/api/runs/{run_id}/events", stream=True, timeout=180) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and kind:
                events.append((kind, "\n".join(data)))
                kind, data = None, []
    return events


def test_a_whole_run_of_the_embedded_reference_streams_its_progress_and_serves_its_report(bed, admin):
    started = admin.post("/api/runs", json={"system": 1})
    assert started.status_code == 202 and started.json()["state"] in ("queued", "running")
    run_id = started.json()["id"]
    events = _events(admin, run_id)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "verdict" and kinds.count("verdict") == 1 and kinds.count("progress") > 100
    assert any("pass" in data for kind, data in events if kind == "progress")
    data_folder = str(bed.testbed.settings.data.resolve())
    assert not any(data_folder in data for _, data in events)  # the service's own paths are not shown
    final = json.loads(events[-1][1])
    assert final["state"] == "finished" and final["verdict"] == "conformant", final
    assert final["can_certify"] is False  # the embedded reference is not a candidate
    assert final["counts"]["pass"] > 600 and set(final["counts"]) <= {"pass", "not-applicable"}
    assert admin.get(f"/api/runs/{run_id}").json() == final

    report = admin.get(final["files"]["report.html"])
    assert report.status_code == 200 and report.text.lstrip().lower().startswith("<!doctype html>")
    policy = report.headers["Content-Security-Policy"]
    assert policy.endswith("; frame-ancestors 'none'; sandbox allow-scripts")
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    results = admin.get(final["files"]["results.json"])
    assert results.headers["Content-Disposition"] == 'attachment; filename="results.json"'
    assert results.json()["verdict"] == "conformant"
    assert zipfile.ZipFile(BytesIO(admin.get(final["files"]["evidence.zip"]).content)).testzip() is None
    for name in ("../results.json", "index.html", "progress.log", "%2e%2e%2fserve.sqlite"):
        assert admin.get(f"/api/runs/{run_id}/files/{name}").status_code == 404, name
    history = admin.get("/api/systems/1/runs").json()
    assert history[0]["id"] == run_id
    page = admin.get(f"/runs/{run_id}")
    assert 'data-events="/api/runs/' in page.text and "conformant" in page.text


def _child_pid(bed, run_id: int) -> int | None:
    with bed.testbed.store.session() as db:
        run = db.get(Run, run_id)
        return run.child_pid if run and run.state == "running" else None


def test_a_second_run_of_a_system_while_one_runs_is_refused(bed, admin):
    first = admin.post("/api/runs", json={"system": 1}).json()
    second = admin.post("/api/runs", json={"system": 1, **SMALL})
    assert second.status_code == 409 and second.json()["run"] == first["id"]
    page = admin.post("/systems/1/runs", data={"profile": "efdx"})
    assert page.status_code == 409 and f'href="/runs/{first["id"]}"' in page.text
    _kill_and_wait(bed, admin, first["id"])


def _kill_and_wait(bed, admin: Client, run_id: int) -> dict:
    pid = wait_for(lambda: _child_pid(bed, run_id), timeout=60)
    progress = bed.testbed.settings.data / "runs" / str(run_id) / "progress.log"
    wait_for(lambda: progress.exists() and progress.read_text().count("\n") > 3, timeout=60)  # mid-run
    caps = bed.testbed.settings.caps  # read once the run prints: its limits were set before it started
    limits = open(f"/proc/{pid}/limits").read()  # noqa: SIM115 - a one-line read of a live process
    assert f"Max address space         {caps.memory_bytes}" in limits
    assert f"Max file size             {caps.file_bytes}" in limits
    os.kill(pid, signal.SIGKILL)
    return wait_for(
        lambda: (r := admin.get(f"/api/runs/{run_id}").json())["state"] not in ("queued", "running") and r,
        timeout=60,
    )


def test_a_run_whose_process_is_killed_is_incomplete_and_the_next_one_runs(bed, admin):
    run_id = admin.post("/api/runs", json={"system": 1}).json()["id"]
    ended = _kill_and_wait(bed, admin, run_id)
    assert ended["state"] == "incomplete"
    assert ended["reason"] == "the run's process was killed (signal 9)"
    assert ended["finished"] is not None
    assert json.loads(_events(admin, run_id)[-1][1])["state"] == "incomplete"
    after = admin.post("/api/runs", json={"system": 1, **SMALL, "wait": 120})
    assert after.status_code == 200, after.text
    assert after.json()["state"] == "finished" and after.json()["counts"] == {"pass": 4}
