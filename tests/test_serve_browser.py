"""The test bed in a real browser (issue 21 item 8): Playwright driving Debian's chromium (Playwright
cannot download its own browser here; never `playwright install`), against the service on loopback.

1. A member state's tester logs in, registers a system from its ICS TOML (a reference NSW, KH, in a
   process of its own on loopback, stands in for the candidate), starts a short run (EFDX M-06),
   watches its progress arrive live, opens the report, downloads evidence.zip, publishes the
   statement; the secretariat (a second browser context) sees it in the matrix; a partner state (a
   third context, no account) opens a share link.
2. Two organisations' runs at once: neither tester sees the other's run, in pages or in the API.

A run of a subset cannot certify, and a statement stands on a certifying run: before publishing,
test 1 marks its finished run's row can_certify with a conformant EFDX verdict, as the executor
writes a certifying run's row (a TEST fixture: the statement reads the row, it never judges).
"""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.app.serve.models import Run
from conformance.profiles.efdx.pki import TestPki as EfdxPki
from tests.loopback import free_port, stop_reference
from tests.serve_helpers import BACKENDS, Client, login, serving
from tests.test_both_profiles_one_endpoint import CAPABILITIES, ICS, TOKEN, serve_both

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module", params=BACKENDS)
def bed(request, tmp_path_factory):
    """The embedded default (SQLite, runs in the web process's threads), then PostgreSQL with the runs
    in a `conformance serve worker` process fed through Redis: the same browser tests on both."""
    with serving(tmp_path_factory.mktemp("testbed"), workers=2, backend=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def admin(bed) -> Client:
    """The admin, who has allow-listed loopback: the candidates here are reference NSWs on 127.0.0.1,
    which the service's egress policy denies otherwise (as a member state's test NSW on a private
    address is allow-listed by the test bed's admin)."""
    client = login(bed.url, "admin", bed.testbed.first_password)
    assert client.put("/api/admin/egress", json={"allow": ["127.0.0.1"]}).status_code == 200
    return client


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def candidate(tmp_path: Path) -> Iterator[str]:
    """A KH reference NSW on loopback and the ICS TOML that names it (EFDX and RCPX, plain HTTP)."""
    harness_port = free_port()
    process, base = serve_both(tmp_path / f"kh-{harness_port}.sqlite", harness_port, tls=False, jp=False)
    try:
        yield ICS.format(
            base=base,
            capabilities=CAPABILITIES,
            token=TOKEN,
            harness_port=harness_port,
            scheme="http",
            tls="false",
            harness_party="SG",
        )
    finally:
        stop_reference(process)
        process.stderr.close()


def _password(admin: Client, organisation: str, name: str, role: str) -> str:
    """A new user of ``role`` in a new organisation: the password the admin was shown once."""
    made = admin.post("/api/organisations", json={"name": organisation})
    assert made.status_code == 201, made.text
    user = admin.post("/api/users", json={"name": name, "organisation": made.json()["id"], "role": role})
    assert user.status_code == 201, user.text
    return user.json()["password"]


def _log_in(browser, base: str, name: str, password: str):
    context = browser.new_context(base_url=base, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/systems")
    return context, page


def _watch(page) -> int:
    """Wait for the run page's state to become finished (the page reloads on the verdict event);
    how many progress lines had arrived, live, while the page still showed the run under way. Polled
    from here: the page policy forbids the eval that page.wait_for_function needs."""
    live = 0
    for _ in range(TIMEOUT_MS // 250):
        with contextlib.suppress(playwright_api.Error):  # the page may be reloading
            state = page.inner_text("#state", timeout=1000)
            if state == "finished":
                return live
            if state == "incomplete":
                raise AssertionError(f"the run ended incomplete: {page.inner_text('main')[:2000]}")
            if state in ("queued", "running"):
                live = max(live, page.inner_text("#progress", timeout=1000).count("\n"))
        page.wait_for_timeout(250)
    raise AssertionError("the run did not finish in time")


def _register_and_start(page, name: str, toml: str) -> int:
    page.goto("/systems")
    page.fill("input[name=name]", name)
    page.set_input_files(
        "input[name=ics]",
        files=[{"name": "ics.toml", "mimeType": "application/toml", "buffer": toml.encode()}],
    )
    with page.expect_navigation():
        page.click("form[action='/systems'] button[type=submit]")
    assert "/systems/" in page.url, page.inner_text("main")
    page.fill("input[name=profile]", "efdx")
    page.fill("input[name=requirements]", "M-06")
    with page.expect_navigation():
        page.click("form[action$='/runs'] button[type=submit]")
    assert "/runs/" in page.url, page.inner_text("main")
    return int(page.url.rsplit("/", 1)[1])


def test_a_tester_runs_publishes_and_shares_and_the_secretariat_sees_the_matrix(
    bed, admin, browser, tmp_path
):
    tester_password = _password(admin, "Kingdom of Cambodia", "kh-tester", "tester")
    secretariat_password = _password(admin, "ASEAN Secretariat", "secretariat", "secretariat")
    with candidate(tmp_path) as toml:
        context, page = _log_in(browser, bed.url, "kh-tester", tester_password)
        run_id = _register_and_start(page, "KH NSW (staging)", toml)
        # live progress: lines arrive while the run is under way, then the page reloads with the verdict
        seen_live = _watch(page)
        assert seen_live, "no progress line arrived before the verdict"
        page.wait_for_selector("#files a[href$='report.html']")
    expect(page.locator("#state")).to_have_text("finished")
    counts = context.request.get(f"/api/runs/{run_id}").json()["counts"]
    assert counts.get("pass") and not counts.get("fail") and not counts.get("error"), counts

    page.click("#files a[href$='report.html']")
    page.wait_for_load_state()
    assert "report.html" in page.url and page.title()
    page.go_back()
    with page.expect_download() as download:
        page.click("#files a[href$='evidence.zip']")
    saved = tmp_path / "evidence.zip"
    download.value.save_as(saved)
    assert zipfile.ZipFile(saved).testzip() is None

    with bed.testbed.store.session() as db:  # TEST fixture: the row of a certifying run (see above)
        row = db.get(Run, run_id)
        row.can_certify, row.profile_verdicts = True, {"efdx": "conformant"}
        system_id = row.system_id
    page.goto(f"/statements/{system_id}/efdx")
    assert page.inner_text("#published") == "no"
    page.click("#publish-form button")
    expect(page.locator("#published")).to_contain_text("yes")

    secretariat, matrix = _log_in(browser, bed.url, "secretariat", secretariat_password)
    matrix.goto("/matrix")
    row_text = matrix.inner_text("#matrix tr:has-text('Kingdom of Cambodia')")
    assert "conformant" in row_text and "not conformant" not in row_text.split("\t")[1]
    matrix.click(f"#matrix a[href='/statements/{system_id}/efdx']")
    assert matrix.inner_text("#statement-verdict") == "conformant"
    assert matrix.goto(f"/runs/{run_id}").status == 404  # the statement, never the run itself

    page.goto(f"/runs/{run_id}")
    page.fill("#share-form input[name=days]", "7")
    page.click("#share-form button")
    share_url = page.get_attribute("#share-url", "href")
    assert share_url and "/shared/" in share_url

    partner = browser.new_context(accept_downloads=True)  # no account, no cookie
    partner.set_default_timeout(TIMEOUT_MS)
    shared = partner.new_page()
    assert shared.goto(share_url).status == 200
    assert "Shared read-only by Kingdom of Cambodia" in shared.inner_text("main")
    shared.click("#files a[href$='report.html']")
    shared.wait_for_load_state()
    assert shared.url.endswith("/files/report.html") and shared.title()
    assert shared.goto(share_url.replace("/shared/", "/shared/1")).status == 404
    for opened in (partner, secretariat, context):
        opened.close()


def test_two_organisations_run_at_once_and_neither_sees_the_others_run(bed, admin, browser, tmp_path):
    passwords = {
        "th-tester": _password(admin, "Kingdom of Thailand", "th-tester", "tester"),
        "vn-tester": _password(admin, "Viet Nam", "vn-tester", "tester"),
    }
    with candidate(tmp_path) as first_toml, candidate(tmp_path) as second_toml:
        th, th_page = _log_in(browser, bed.url, "th-tester", passwords["th-tester"])
        vn, vn_page = _log_in(browser, bed.url, "vn-tester", passwords["vn-tester"])
        th_run = _register_and_start(th_page, "TH NSW", first_toml)
        vn_run = _register_and_start(vn_page, "VN NSW", second_toml)
        # two workers: both runs are under way together (neither waits for the other to end)
        states = [th.request.get(f"/api/runs/{th_run}").json(), vn.request.get(f"/api/runs/{vn_run}").json()]
        assert [state["started"] is not None or state["state"] == "queued" for state in states] == [
            True,
            True,
        ]
        for own_page, context, run_id in ((th_page, th, th_run), (vn_page, vn, vn_run)):
            try:
                expect(own_page.locator("#state")).to_have_text("finished", timeout=TIMEOUT_MS)
            except AssertionError:
                state = context.request.get(f"/api/runs/{run_id}").json()
                raise AssertionError(f"run {run_id}: {state.get('state')}: {state.get('reason')}") from None
    for context, own, others, other_name in ((th, th_run, vn_run, "VN NSW"), (vn, vn_run, th_run, "TH NSW")):
        assert context.request.get(f"/api/runs/{own}").json()["state"] == "finished"
        assert context.request.get(f"/api/runs/{others}").status == 404
        assert context.request.get(f"/api/runs/{others}/files/report.html").status == 404
        page = context.new_page()
        assert page.goto(f"/runs/{others}").status == 404
        page.goto("/systems")
        assert other_name not in page.inner_text("main")
        assert other_name not in context.request.get("/api/systems").text()
        context.close()


TLS_TOML = """[candidate]
party = "KH"
inbox_url = "https://127.0.0.1:9/efdx/1/messages"
[tls]
enabled = true
"""


def test_a_system_over_mutual_tls_is_registered_with_its_client_certificate(bed, admin, browser):
    """The form takes the TLS files the TOML names; over mutual TLS without ``tls.candidate_cert``
    the page says, in one line, that the client certificate is required (its harness inbox admits
    no other), and with it the system is registered."""
    context, page = _log_in(browser, bed.url, "admin", bed.testbed.first_password)
    try:
        page.goto("/systems")
        page.fill("input[name=name]", "KH over TLS")
        page.set_input_files(
            "input[name=ics]",
            files=[{"name": "kh.toml", "mimeType": "application/toml", "buffer": TLS_TOML.encode()}],
        )
        with page.expect_navigation():
            page.click("form[action='/systems'] button[type=submit]")
        expect(page.locator("main")).to_contain_text("tls.candidate_cert: a system over mutual TLS registers")
        pinned = TLS_TOML + 'candidate_cert = "kh-client.pem"\n'
        page.fill("input[name=name]", "KH over TLS")
        page.set_input_files(
            "input[name=ics]",
            files=[{"name": "kh.toml", "mimeType": "application/toml", "buffer": pinned.encode()}],
        )
        client_pem = EfdxPki.load().nsw("KH").cert_path.read_bytes()  # TEST ONLY material
        page.set_input_files(
            "input[name=tls]",
            files=[{"name": "kh-client.pem", "mimeType": "application/x-pem-file", "buffer": client_pem}],
        )
        with page.expect_navigation():
            page.click("form[action='/systems'] button[type=submit]")
        assert "/systems/" in page.url, page.inner_text("main")
        expect(page.locator("h1")).to_contain_text("KH over TLS")
    finally:
        context.close()
