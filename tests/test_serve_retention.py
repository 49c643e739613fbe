"""The retention policy (issue 21 item 7): a run's folder goes ``keep_days`` after the run ended,
its row and verdict stay, a run a published statement stands on is kept, and a folder that is a link
is never followed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from conformance.app.serve import retention
from conformance.app.serve.models import AuditEvent, Publication, Run
from tests.serve_helpers import login, serving

SMALL = {"system": 1, "profile": "efdx", "requirements": ["M-06"], "wait": 120}


def test_old_runs_lose_their_folder_not_their_verdict_and_published_ones_stay(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the service's")
    with serving(tmp_path / "testbed", keep_days=30) as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        old, published, linked, recent = (admin.post("/api/runs", json=SMALL).json() for _ in range(4))
        assert {run["state"] for run in (old, published, linked, recent)} == {"finished"}
        settings, store = bed.testbed.settings, bed.testbed.store
        runs = settings.runs
        (runs / str(linked["id"])).rename(tmp_path / "moved")
        (runs / str(linked["id"])).symlink_to(outside, target_is_directory=True)
        long_ago = datetime.now(timezone.utc) - timedelta(days=31)
        with store.session() as db:
            for run_id in (old["id"], published["id"], linked["id"]):
                db.get(Run, run_id).finished = long_ago
            db.add(Publication(system_id=1, profile="efdx", run_id=published["id"]))

        assert retention.prune(dataclasses.replace(settings, keep_days=0), store) == []
        assert retention.prune(settings, store) == [old["id"], linked["id"]]

        assert not (runs / str(old["id"])).exists()
        assert admin.get(f"/api/runs/{old['id']}/files/results.json").status_code == 404
        kept = admin.get(f"/api/runs/{old['id']}").json()
        assert (kept["state"], kept["verdict"], kept["files"]) == ("finished", old["verdict"], {})
        assert (outside / "keep.txt").read_text() == "not the service's"  # the link was not followed
        for run in (published, recent):
            assert admin.get(f"/api/runs/{run['id']}/files/results.json").status_code == 200
        with store.session() as db:
            logged = db.scalars(select(AuditEvent).where(AuditEvent.action == "run-pruned")).all()
            assert sorted(event.target for event in logged) == [f"run:{old['id']}", f"run:{linked['id']}"]
        assert retention.prune(settings, store) == []  # once
