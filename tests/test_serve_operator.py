"""Manual-mode operator prompts in the test bed's browser (issue 21 item 3): Playwright driving
Debian's chromium against the test bed on loopback (embedded, and on PostgreSQL with Redis workers).

The candidate is a reference NSW (KH) in a process of its own whose ICS claims no test trigger: the
test bed runs it in manual mode. A tester registers it, starts an attended run of two manual tests
(selected by name), and for each prompt that appears on the run page makes the reference send
through the reference's own trigger (as an operator would in the NSW's UI: the harness never uses
it) and clicks "Done: I have sent it"; the run finishes with both tests passed. A second run's
prompt answered "Cannot do it" ends its test inconclusive. On the way: the API's answers to a
second answer (409), to a viewer (403), to another organisation (404); the audit log has each answer.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from conformance.app.serve.models import AuditEvent
from tests.loopback import free_port, serve_reference, stop_reference
from tests.serve_helpers import BACKENDS, Client, add_member, login, serving, wait_for
from tests.test_manual_mode import NO_TRIGGER, manual_toml

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TIMEOUT_MS = 60_000
TOKEN = "operator-test-token"  # the reference's own trigger: the operator's "UI", not the harness's
ISSUE = "test_issue_co_sent_by_the_candidate_conforms"
REPLACE = "test_replace_co_sent_by_the_candidate_conforms"


@contextlib.contextmanager
def manual_candidate(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A KH reference NSW on loopback: (the ICS TOML without the trigger claim, its trigger URL)."""
    harness_port = free_port()
    served = serve_reference(tmp_path / "kh.sqlite", harness_port, TOKEN)
    try:
        # no "trigger" (manual mode), no "gateway" (the reference sends to the harness inbox itself)
        claims = NO_TRIGGER - {"gateway"}
        toml = manual_toml(f"127.0.0.1:{harness_port}", 20, 45, served.inbox_url, claims)
        yield toml, served.trigger_url
    finally:
        stop_reference(served.process)


def _password(admin: Client, organisation_id: int, name: str, role: str) -> str:
    user = admin.post("/api/users", json={"name": name, "organisation": organisation_id, "role": role})
    assert user.status_code == 201, user.text
    return user.json()["password"]


def _operate(page, api: Client, run_id: int, trigger_url: str, n: int, answer: str) -> dict:
    """Wait for prompt ``n`` on the page; for "done", make the reference send what it says first;
    then click the answer's button. Returns the prompt as the API lists it."""
    article = page.locator(f"#prompt-{n}")
    expect(article.get_by_role("button", name="Done: I have sent it")).to_be_visible(timeout=TIMEOUT_MS)
    assert "OPERATOR: in the candidate NSW (KH)" in article.locator("pre.instruction").inner_text()
    expect(article).to_contain_text(" s left")
    (prompt,) = [p for p in api.get(f"/api/runs/{run_id}/prompts").json() if p["n"] == n]
    assert (
        prompt["state"] == "pending" and prompt["document"] in article.locator("pre.document").text_content()
    )
    downloaded = api.get(f"/api/runs/{run_id}/prompts/{n}/document")
    assert downloaded.status_code == 200 and downloaded.text == prompt["document"]
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    if answer == "done":
        with requests.Session() as session:
            session.trust_env = False
            request = {"action": prompt["action"], "to": prompt["to"], "document": prompt["document"]}
            sent = session.post(trigger_url, json=request, headers={"X-EFDX-Test-Token": TOKEN}, timeout=10)
        assert sent.status_code == 202, sent.text
        article.get_by_role("button", name="Done: I have sent it").click()
        expect(article.locator(".status")).to_contain_text("Answered: done")
    else:
        article.get_by_role("button", name="Cannot do it").click()
        expect(article.locator(".status")).to_contain_text("Answered: cannot do it")
    return prompt


def _finished(page, api: Client, run_id: int) -> dict:
    run = wait_for(
        lambda: (r := api.get(f"/api/runs/{run_id}").json())["state"] not in ("queued", "running") and r
    )
    assert run["state"] == "finished", run
    expect(page.locator("#state")).to_have_text("finished", timeout=TIMEOUT_MS)  # reloaded on the verdict
    return run


def _start(page, system_id: int, tests: str) -> int:
    page.goto(f"/systems/{system_id}")
    expect(page.locator("input[name=attended]")).to_be_checked()  # a manual-mode system: attended
    page.fill("input[name=tests]", tests)
    with page.expect_navigation():
        page.click("form[action$='/runs'] button[type=submit]")
    assert "/runs/" in page.url, page.inner_text("main")
    return int(page.url.rsplit("/", 1)[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tester_answers_the_operator_prompts_in_the_browser(tmp_path, backend):
    """On the embedded default, and on PostgreSQL with the run in a `serve worker` process fed
    through Redis (the prompts and answers then cross processes through the run's folder)."""
    with (
        serving(tmp_path / "testbed", workers=1, backend=backend) as bed,
        manual_candidate(tmp_path) as (toml, trigger_url),
        playwright_api.sync_playwright() as p,
    ):
        admin = login(bed.url, "admin", bed.testbed.first_password)
        assert admin.put("/api/admin/egress", json={"allow": ["127.0.0.1"]}).status_code == 200
        organisation = admin.post("/api/organisations", json={"name": "Kingdom of Cambodia"}).json()["id"]
        password = _password(admin, organisation, "kh-operator", "tester")
        viewer = login(bed.url, "kh-viewer", _password(admin, organisation, "kh-viewer", "viewer"))
        _other, stranger = add_member(admin, "Other state", "other-tester")
        tester = login(bed.url, "kh-operator", password)
        made = tester.post("/api/systems", data={"name": "KH NSW (manual)"}, files={"ics": ("kh.toml", toml)})
        assert made.status_code == 201, made.text
        system_id = made.json()["id"]

        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(base_url=bed.url)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto("/login")
            page.fill("input[name=name]", "kh-operator")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/systems")

            run_id = _start(page, system_id, f"{ISSUE} {REPLACE}")
            assert tester.get(f"/api/runs/{run_id}").json()["attended"] is True
            # IssueCO of the first scenario, then the second's IssueCO and its ReplaceCO
            actions = [_operate(page, tester, run_id, trigger_url, n, "done")["action"] for n in (1, 2, 3)]
            assert sorted(actions) == ["IssueCO", "IssueCO", "ReplaceCO"]
            assert tester.post(f"/api/runs/{run_id}/prompts/1", json={"answer": "done"}).status_code == 409
            assert viewer.post(f"/api/runs/{run_id}/prompts/1", json={"answer": "done"}).status_code == 403
            assert stranger.get(f"/api/runs/{run_id}/prompts").status_code == 404
            assert stranger.post(f"/api/runs/{run_id}/prompts/1", json={"answer": "done"}).status_code == 404
            run = _finished(page, tester, run_id)
            assert run["counts"] == {"pass": 2}, run
            assert tester.post(f"/api/runs/{run_id}/prompts/9", json={"answer": "done"}).status_code == 409
            expect(page.locator("#prompt-3 .status")).to_contain_text("Answered: done")  # kept on the page

            run_id = _start(page, system_id, ISSUE)
            _operate(page, tester, run_id, trigger_url, 1, "cannot")
            run = _finished(page, tester, run_id)
            assert run["counts"] == {"inconclusive": 1}, run
            results = tester.get(f"/api/runs/{run_id}/files/results.json").json()
            (test,) = results["tests"]
            assert "the operator answered they cannot" in test["reason"], test["reason"]
        finally:
            browser.close()
        with bed.testbed.store.session() as db:
            answers = db.scalars(select(AuditEvent).where(AuditEvent.action == "operator-answered")).all()
            assert sorted((a.user_name, a.detail) for a in answers) == [
                ("kh-operator", "prompt 1: cannot"),
                ("kh-operator", "prompt 1: done"),
                ("kh-operator", "prompt 2: done"),
                ("kh-operator", "prompt 3: done"),
            ]


def test_an_unattended_api_run_of_a_manual_system_stays_non_interactive(tmp_path):
    """Without "attended" (an API or CI run), manual-mode tests are inconclusive at once, as before."""
    with serving(tmp_path / "testbed", workers=1) as bed, manual_candidate(tmp_path) as (toml, _trigger):
        admin = login(bed.url, "admin", bed.testbed.first_password)
        assert admin.put("/api/admin/egress", json={"allow": ["127.0.0.1"]}).status_code == 200
        made = admin.post("/api/systems", data={"name": "KH (manual)"}, files={"ics": ("kh.toml", toml)})
        run = admin.post(
            "/api/runs", json={"system": made.json()["id"], "tests": [ISSUE], "wait": 120}
        ).json()
        assert run["state"] == "finished" and run["attended"] is False, run
        assert run["counts"] == {"inconclusive": 1}, run
        assert admin.get(f"/api/runs/{run['id']}/prompts").json() == []
