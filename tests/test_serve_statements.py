"""Statements, the secretariat's matrix, share links, signed notes and overrides, diff and rerun on
the test bed, through its REST API and pages (a real server on loopback, real SQLite, real runs of
the embedded reference).

A certifying run cannot be had in seconds (a subset cannot certify, nor can the embedded reference):
``_certifying_copy`` copies a real run's report folder into a new finished run whose row says
can_certify, as the executor writes it for a certifying run (statements read the row, never judge).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from conformance.app.serve import share_links
from conformance.app.serve.models import AuditEvent, Note, Run, ShareLink
from tests.serve_helpers import Client, add_member, login, serving, wait_for

SMALL = {"profile": "efdx", "requirements": ["M-06"], "wait": 180}


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("testbed"), workers=1) as server:
        yield server


@pytest.fixture(scope="module")
def admin(bed) -> Client:
    return login(bed.url, "admin", bed.testbed.first_password)


@pytest.fixture(scope="module")
def real_run(admin) -> dict:
    answer = admin.post("/api/runs", json={"system": 1, **SMALL})
    assert answer.status_code == 200 and answer.json()["state"] == "finished", answer.text
    return answer.json()


def _certifying_copy(bed, run_id: int, fail: str | None = None) -> int:
    """A new finished run of system 1 with a copy of run ``run_id``'s report, its row marked
    can_certify (and, with ``fail``, that test made a fail in the copy's results.json)."""
    data = bed.testbed.settings.data
    with bed.testbed.store.session() as db:
        source = db.get(Run, run_id)
        row = Run(
            system_id=source.system_id,
            selection=source.selection,
            state="finished",
            verdict="not-conformant" if fail else source.verdict,
            can_certify=True,
            counts=source.counts,
            profile_verdicts={"efdx": "not-conformant" if fail else "conformant"},
            finished=datetime.now(timezone.utc),
        )
        db.add(row)
        db.flush()
        target = data / "runs" / f"copy-{row.id}"
        shutil.copytree(data / source.report_folder, target)
        (target / "certificate.html").write_text("<!doctype html><p>certificate (TEST fixture)</p>")
        if fail:
            results = json.loads((target / "results.json").read_text())
            for test in results["tests"]:
                if test["id"] == fail:
                    test["verdict"] = "fail"
            (target / "results.json").write_text(json.dumps(results))
        row.report_folder = f"runs/copy-{row.id}"
        return row.id


def test_a_statement_is_published_and_only_then_seen_by_the_secretariat(bed, admin, real_run):
    assert admin.get("/api/statements/1/efdx").status_code == 404  # no certifying run yet
    assert admin.post("/api/statements/1/efdx/publish").status_code == 409
    certifying = _certifying_copy(bed, real_run["id"])
    statement = admin.get("/api/statements/1/efdx").json()
    assert statement["run"] == certifying and statement["verdict"] == "conformant"
    assert statement["published"] is False and statement["certificate"].endswith("/certificate.html")
    assert statement["attestation"] is None

    _org, secretariat = add_member(admin, "ASEAN Secretariat", "secretariat-1", role="secretariat")
    assert secretariat.get("/api/statements").json() == []
    assert secretariat.get("/api/statements/1/efdx").status_code == 404
    assert secretariat.get(f"/api/runs/{certifying}").status_code == 404
    cell = secretariat.get("/api/matrix").json()
    demo = next(row for row in cell["organisations"] if row["name"] == "Demo")
    assert demo["cells"]["efdx"]["status"] == "never run"
    under_way = admin.post("/api/runs", json={"system": 1, "profile": "efdx", "requirements": ["M-06"]})
    assert under_way.status_code == 202, under_way.text
    demo = next(
        row for row in secretariat.get("/api/matrix").json()["organisations"] if row["name"] == "Demo"
    )
    assert demo["cells"]["efdx"]["status"] == "in progress" and demo["cells"]["efdx"]["in_progress"]
    assert demo["cells"]["efdx"]["systems"][0]["statement"] is None  # nothing to link to yet
    wait_for(
        lambda: admin.get(f"/api/runs/{under_way.json()['id']}").json()["state"] == "finished", timeout=180
    )

    _other, stranger = add_member(admin, "Other state", "other-tester-s")
    assert stranger.post("/api/statements/1/efdx/publish").status_code == 404
    published = admin.post("/api/statements/1/efdx/publish")
    assert published.status_code == 200 and published.json()["published"] is True
    seen = secretariat.get("/api/statements/1/efdx").json()
    assert seen["run"] == certifying and seen["verdict"] == "conformant"
    certificate = secretariat.get(seen["certificate"])
    assert (
        certificate.status_code == 200
        and "sandbox allow-scripts" in certificate.headers["Content-Security-Policy"]
    )
    assert secretariat.get(f"/api/runs/{certifying}").status_code == 404  # the statement, not the run
    assert stranger.get("/api/statements/1/efdx").status_code == 404  # a member state is no secretariat
    matrix = secretariat.get("/api/matrix").json()
    demo = next(row for row in matrix["organisations"] if row["name"] == "Demo")
    assert demo["cells"]["efdx"]["status"] == "conformant"
    assert demo["cells"]["efdx"]["systems"][0]["statement"] == "/statements/1/efdx"
    assert [row["name"] for row in stranger.get("/api/matrix").json()["organisations"]] == ["Other state"]
    shared = admin.post("/api/share-links", json={"run": certifying, "profile": "efdx", "days": 1}).json()
    statement_view = Client(bed.url).get(shared["api"]).json()
    assert statement_view["profile"] == "efdx" and statement_view["statement_verdict"] == "conformant"
    assert "certificate.html" in statement_view["files"]
    page = secretariat.get("/matrix")
    assert page.status_code == 200 and 'data-status="conformant"' in page.text
    with bed.testbed.store.session() as db:
        actions = [e.action for e in db.query(AuditEvent).filter(AuditEvent.action == "statement-published")]
    assert actions == ["statement-published"]


def test_a_share_link_opens_without_an_account_until_revoked_or_expired(bed, admin, real_run):
    made = admin.post("/api/share-links", json={"run": real_run["id"], "days": 7})
    assert made.status_code == 201, made.text
    link = made.json()
    anonymous = Client(bed.url)
    shared = anonymous.get(link["api"]).json()
    assert shared["run"]["verdict"] == real_run["verdict"] and "report.html" in shared["files"]
    report = anonymous.get(shared["files"]["report.html"])
    assert report.status_code == 200
    assert report.headers["Content-Security-Policy"].endswith(
        "; frame-ancestors 'none'; sandbox allow-scripts"
    )
    page = anonymous.get(link["url"])
    assert page.status_code == 200 and "Shared read-only by Demo" in page.text
    assert admin.post("/api/share-links", json={"run": real_run["id"], "days": 91}).status_code == 422

    token = link["url"].removeprefix("/shared/")
    link_id, expires, signature = token.split(".")
    for forged in (
        f"{link_id}.{int(expires) + 86400}.{signature}",
        f"{int(link_id) + 1}.{expires}.{signature}",
    ):
        assert anonymous.get(f"/shared/{forged}").status_code == 404
        assert anonymous.get(f"/shared/{forged}/files/report.html").status_code == 404
    assert anonymous.get(f"/shared/{token}/files/../serve.sqlite").status_code == 404

    _other, stranger = add_member(admin, "Other state", "other-tester-l")
    assert stranger.delete(f"/api/share-links/{link['id']}").status_code == 404
    assert stranger.post("/api/share-links", json={"run": real_run["id"]}).status_code == 404
    assert admin.delete(f"/api/share-links/{link['id']}").json()["revoked"]
    assert anonymous.get(link["url"]).status_code == 404
    assert anonymous.get(f"{link['url']}/files/report.html").status_code == 404

    second = admin.post("/api/share-links", json={"run": real_run["id"], "days": 1}).json()
    with bed.testbed.store.session() as db:  # its expiry moved into the past, the token signed anew
        row = db.get(ShareLink, second["id"])
        row.expires = (datetime.now(timezone.utc) - timedelta(seconds=5)).replace(microsecond=0)
        expired = share_links.token_of(bed.testbed.box, row)
    assert anonymous.get(f"/shared/{expired}").status_code == 404
    with bed.testbed.store.session() as db:
        used = db.query(AuditEvent).filter(AuditEvent.action == "share-link-used").count()
        created = db.query(AuditEvent).filter(AuditEvent.action == "share-link-created").count()
    assert used >= 3 and created >= 2


def test_notes_are_signed_and_an_override_changes_nothing_of_the_run(bed, admin, real_run):
    run_id = real_run["id"]
    with bed.testbed.store.session() as db:
        report = bed.testbed.settings.data / db.get(Run, run_id).report_folder
    before = {name: (report / name).read_bytes() for name in ("results.json", "evidence.zip")}
    test_id = json.loads(before["results.json"])["tests"][0]["id"]
    run_before = admin.get(f"/api/runs/{run_id}").json()

    comment = admin.post(f"/api/runs/{run_id}/notes", json={"text": "checked with the vendor"})
    assert comment.status_code == 201 and comment.json()["signature_ok"] is True
    override = admin.post(
        f"/api/runs/{run_id}/notes",
        json={
            "kind": "override",
            "test": test_id,
            "verdict": "fail",
            "text": "the vendor's log shows a retry storm",
        },
    )
    assert override.status_code == 201, override.text
    assert override.json()["original_verdict"] == "pass" and override.json()["verdict"] == "fail"
    assert (
        admin.post(
            f"/api/runs/{run_id}/notes",
            json={"kind": "override", "test": "nope", "verdict": "fail", "text": "x"},
        ).status_code
        == 422
    )
    assert (
        admin.post(
            f"/api/runs/{run_id}/notes",
            json={"kind": "override", "test": test_id, "verdict": "fail", "text": " "},
        ).status_code
        == 422
    )
    _org, tester = add_member(admin, "Demo", "demo-tester-n")
    assert (
        tester.post(
            f"/api/runs/{run_id}/notes",
            json={"kind": "override", "test": test_id, "verdict": "fail", "text": "x"},
        ).status_code
        == 403
    )
    assert tester.post(f"/api/runs/{run_id}/notes", json={"text": "a tester's comment"}).status_code == 201

    assert admin.get(f"/api/runs/{run_id}").json() == run_before
    assert {name: (report / name).read_bytes() for name in before} == before
    page = admin.get(f"/runs/{run_id}")
    assert "fail (override)" in page.text and "the vendor&#39;s log shows a retry storm" in page.text

    with bed.testbed.store.session() as db:  # someone edits the database by hand
        note = db.get(Note, override.json()["id"])
        note.body = note.body.replace('"verdict":"fail"', '"verdict":"pass"')
    notes = admin.get(f"/api/runs/{run_id}/notes").json()
    assert [n["signature_ok"] for n in notes] == [True, False, True]
    assert "INVALID: altered" in admin.get(f"/runs/{run_id}").text


def test_a_diff_of_two_runs_and_a_rerun_of_the_failed_tests(bed, admin, real_run):
    with bed.testbed.store.session() as db:
        report = bed.testbed.settings.data / db.get(Run, real_run["id"]).report_folder
    failing = json.loads((report / "results.json").read_text())["tests"][1]["id"]
    broken = _certifying_copy(bed, real_run["id"], fail=failing)
    diff = admin.get(f"/api/runs/{real_run['id']}/diff/{broken}").json()
    assert diff["regression"] is True
    assert diff["tests"]["newly_failing"] == [{"id": failing, "before": "pass", "after": "fail"}]
    page = admin.get(f"/systems/1/diff?old={real_run['id']}&new={broken}")
    assert page.status_code == 200 and f"newly failing test: {failing}" in page.text

    assert admin.post(f"/api/runs/{real_run['id']}/rerun").status_code == 409  # nothing failed
    rerun = admin.post(f"/api/runs/{broken}/rerun")
    assert rerun.status_code == 202, rerun.text
    selection = rerun.json()["selection"]
    assert selection["profiles"] == ["efdx"] and selection["tests"] == [failing.rsplit("::", 1)[1]]
    assert selection["rerun_of"] == [str(broken)]
    ended = wait_for(
        lambda: (r := admin.get(f"/api/runs/{rerun.json()['id']}").json())["state"] == "finished" and r,
        timeout=180,
    )
    assert ended["counts"] == {"pass": 1}


def test_a_system_with_statements_notes_and_share_links_can_still_be_deleted(bed, admin, real_run):
    toml = '[candidate]\nparty = "KH"\ninbox_url = "http://127.0.0.1:9/efdx/1/messages"\n'
    system = admin.post("/api/systems", data={"name": "Short-lived"}, files={"ics": ("c.toml", toml)})
    assert system.status_code == 201, system.text
    certifying = _certifying_copy(bed, real_run["id"])
    with bed.testbed.store.session() as db:
        db.get(Run, certifying).system_id = system.json()["id"]
    system_id = system.json()["id"]
    assert admin.post(f"/api/statements/{system_id}/efdx/publish").status_code == 200
    assert admin.post(f"/api/runs/{certifying}/notes", json={"text": "to be deleted"}).status_code == 201
    link = admin.post("/api/share-links", json={"run": certifying}).json()
    assert admin.delete(f"/api/systems/{system_id}").status_code == 200
    assert Client(bed.url).get(link["url"]).status_code == 404
    assert admin.get(f"/api/statements/{system_id}/efdx").status_code == 404
    with bed.testbed.store.session() as db:
        assert db.query(Note).filter(Note.run_id == certifying).count() == 0
