"""Who may do what on the test bed: logins and their rate limit, CSRF, API tokens, and every
non-public route tried as an anonymous user and as another organisation's tester (enumerated from
the application's routes: a route added without an expectation here fails the test)."""

from __future__ import annotations

import json
import re

import pytest
import requests
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import Mount

from conformance.app.operator_files import FileChannel
from conformance.app.serve import operator_prompts
from conformance.app.serve.app import route_table
from conformance.app.serve.auth import PUBLIC_MOUNTS, PUBLIC_ROUTES
from conformance.app.serve.models import Run
from conformance.harness.config import ConfigError, load
from conformance.harness.operator import Prompt
from tests.serve_helpers import BACKENDS, Client, add_member, bearer, login, serving

PAGE_POLICY_START = "default-src 'none'; script-src 'self'"
PROMPT = Prompt("OPERATOR: ...", "IssueCO", "SG", "<CO/>", "/nowhere.xml", 3600.0)  # a run's operator prompt


@pytest.fixture(scope="module", params=BACKENDS)
def bed(request, tmp_path_factory):
    """Every test here on SQLite (runs in threads), then on PostgreSQL (runs in a worker process)."""
    with serving(tmp_path_factory.mktemp("testbed"), workers=1, backend=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def admin(bed):
    return login(bed.url, "admin", bed.testbed.first_password)


def test_login_wrong_password_and_the_rate_limit(bed):
    assert login(bed.url, "admin", bed.testbed.first_password).get("/api/me").json()["role"] == "admin"
    anonymous = Client(bed.url)
    assert anonymous.post("/api/login", json={"name": "nobody", "password": "x"}).status_code == 401
    limited = [
        anonymous.post("/api/login", json={"name": "victim", "password": f"guess{i}"}) for i in range(6)
    ]
    assert [a.status_code for a in limited] == [401] * 5 + [429]
    # blocked before the password is checked: the right one is refused too, and another name is not blocked
    assert anonymous.post("/api/login", json={"name": "victim", "password": "anything"}).status_code == 429
    assert anonymous.post("/api/login", json={"name": "other", "password": "x"}).status_code == 401
    cookie = login(bed.url, "admin", bed.testbed.first_password).cookies
    assert any(c.name == "conformance_session" and c.has_nonstandard_attr("HttpOnly") for c in cookie)


def test_the_login_page_sets_a_strict_http_only_cookie(bed):
    page = Client(bed.url).get("/login")
    assert page.status_code == 200 and page.headers["Content-Security-Policy"].startswith(PAGE_POLICY_START)
    assert "<script" not in page.text.replace('<script src="/static/app.js" defer></script>', "")
    done = Client(bed.url).post("/login", data={"name": "admin", "password": bed.testbed.first_password})
    assert done.status_code == 303 and done.headers["Location"] == "/systems"
    cookie = done.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_csrf_is_refused_without_the_token_and_accepted_with_it(bed):
    admin = login(bed.url, "admin", bed.testbed.first_password)  # its own session: this test logs it out
    no_token = Client(bed.url)
    no_token.cookies.update(admin.cookies)
    assert no_token.post("/api/organisations", json={"name": "CSRF org"}).status_code == 403
    assert no_token.post("/logout", data={}).status_code == 403
    wrong = no_token.post("/api/organisations", json={"name": "CSRF org"}, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert admin.post("/api/organisations", json={"name": "CSRF org"}).status_code == 201
    as_field = no_token.post("/logout", data={"csrf_token": admin.headers["X-CSRF-Token"]})
    assert as_field.status_code == 303  # the form field is accepted as well (and this logged the session out)
    assert no_token.get("/api/me").status_code == 401


def test_an_api_token_is_shown_once_works_and_stops_when_revoked(bed, admin):
    made = admin.post("/api/tokens", json={"name": "ci"})
    assert made.status_code == 201
    token = made.json()["token"]
    listed = admin.get("/api/tokens").json()
    assert token not in json.dumps(listed) and any(t["name"] == "ci" for t in listed)
    ci = bearer(bed.url, token)
    assert ci.get("/api/me").json()["via"] == "token"
    assert ci.post("/api/organisations", json={"name": "Made by CI"}).status_code == 201  # no CSRF for tokens
    read_only = bearer(
        bed.url, admin.post("/api/tokens", json={"name": "ro", "scopes": ["read"]}).json()["token"]
    )
    assert read_only.get("/api/systems").status_code == 200
    assert read_only.post("/api/organisations", json={"name": "Not made"}).status_code == 403
    assert admin.delete(f"/api/tokens/{made.json()['id']}").json()["revoked"]
    assert ci.get("/api/me").status_code == 401


BROKEN_TOML = """
[candidate]
party = "KH"
inbox_url = "http://127.0.0.1:9/efdx/1/messages"
roles = ["importing", "sideways"]
"""


def test_a_system_with_an_error_in_its_toml_gets_the_clis_message(bed, admin, tmp_path):
    (tmp_path / "system.toml").write_text(BROKEN_TOML)
    with pytest.raises(ConfigError) as cli:
        load(tmp_path / "system.toml", secrets=False)
    answer = admin.post("/api/systems", data={"name": "Broken"}, files={"ics": ("c.toml", BROKEN_TOML)})
    assert answer.status_code == 422
    assert (
        answer.json()["detail"]
        == str(cli.value)
        == "candidate.roles: 'sideways' is not one of importing, exporting"
    )
    not_toml = admin.post("/api/systems", data={"name": "Broken"}, files={"ics": ("c.toml", "[candidate")})
    assert not_toml.json()["detail"].startswith("system.toml: not valid TOML: ")
    page = admin.post("/systems", data={"name": "Broken"}, files={"ics": ("c.toml", BROKEN_TOML)})
    assert page.status_code == 422 and "candidate.roles: &#39;sideways&#39; is not one of" in page.text
    too_big = admin.post("/api/systems", data={"name": "Big"}, files={"ics": ("c.toml", "#" * (2 << 20))})
    assert too_big.status_code == 413


GOOD_TOML = """
[candidate]
party = "KH"
inbox_url = "http://127.0.0.1:9/efdx/1/messages"
roles = ["importing", "exporting"]
capabilities = ["trigger"]
[candidate.trigger]
url = "http://127.0.0.1:9/efdx/1/test/trigger"
token_env = "KH_TRIGGER"
"""


def test_a_system_registered_keeps_its_trigger_token_encrypted(bed, admin):
    answer = admin.post(
        "/api/systems",
        data={"name": "KH test NSW", "trigger_token": "s3cret-trigger-token"},
        files={"ics": ("kh.toml", GOOD_TOML)},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["has_trigger_token"] is True
    sqlite = bed.testbed.settings.data / "serve.sqlite"
    assert not sqlite.exists() or b"s3cret-trigger-token" not in sqlite.read_bytes()
    with bed.testbed.store.engine.connect() as connection:  # PostgreSQL's rows, as stored
        assert "s3cret-trigger-token" not in repr(connection.execute(text("SELECT * FROM systems")).all())
    assert "s3cret-trigger-token" not in admin.get(f"/api/systems/{answer.json()['id']}").text


# What another organisation's tester gets from each non-public route, with the first organisation's
# ids in the path: refused (403 or 404), or "own": answered, about their own organisation only.
WRONG_ORGANISATION = {
    ("POST", "/api/logout"): "own",
    ("GET", "/api/me"): "own",
    ("GET", "/api/organisations"): "refused",
    ("POST", "/api/organisations"): "refused",
    ("GET", "/api/users"): "refused",
    ("POST", "/api/users"): "refused",
    ("GET", "/api/tokens"): "own",
    ("POST", "/api/tokens"): "own",
    ("DELETE", "/api/tokens/{token_id}"): "refused",
    ("GET", "/api/systems"): "own",
    ("POST", "/api/systems"): "refused",  # naming the other organisation
    ("GET", "/api/systems/{system_id}"): "refused",
    ("DELETE", "/api/systems/{system_id}"): "refused",
    ("GET", "/api/systems/{system_id}/runs"): "refused",
    ("POST", "/api/runs"): "refused",
    ("GET", "/api/runs/{run_id}"): "refused",
    ("GET", "/api/runs/{run_id}/events"): "refused",
    ("GET", "/api/runs/{run_id}/files/{name}"): "refused",
    ("GET", "/api/runs/{run_id}/prompts"): "refused",
    ("POST", "/api/runs/{run_id}/prompts/{n}"): "refused",
    ("GET", "/api/runs/{run_id}/prompts/{n}/document"): "refused",
    ("GET", "/api/admin/egress"): "refused",
    ("PUT", "/api/admin/egress"): "refused",
    ("POST", "/logout"): "own",
    ("GET", "/"): "own",
    ("GET", "/systems"): "own",
    ("POST", "/systems"): "own",  # always into the user's own organisation
    ("GET", "/systems/{system_id}"): "refused",
    ("POST", "/systems/{system_id}/runs"): "refused",
    ("GET", "/runs/{run_id}"): "refused",
    ("GET", "/api/statements"): "own",
    ("GET", "/api/statements/{system_id}/{profile}"): "refused",
    ("POST", "/api/statements/{system_id}/{profile}/publish"): "refused",
    ("GET", "/api/statements/{system_id}/{profile}/files/{name}"): "refused",
    ("GET", "/api/matrix"): "own",
    ("POST", "/api/share-links"): "refused",  # naming the other organisation's run
    ("GET", "/api/share-links"): "own",
    ("DELETE", "/api/share-links/{link_id}"): "refused",
    ("GET", "/api/runs/{run_id}/notes"): "refused",
    ("POST", "/api/runs/{run_id}/notes"): "refused",
    ("GET", "/api/runs/{run_id}/diff/{other_id}"): "refused",
    ("POST", "/api/runs/{run_id}/rerun"): "refused",
    ("GET", "/statements"): "own",
    ("GET", "/statements/{system_id}/{profile}"): "refused",
    ("POST", "/statements/{system_id}/{profile}/publish"): "refused",
    ("POST", "/statements/{system_id}/{profile}/share"): "refused",
    ("GET", "/matrix"): "own",
    ("POST", "/runs/{run_id}/share"): "refused",
    ("POST", "/runs/{run_id}/notes"): "refused",
    ("POST", "/runs/{run_id}/rerun"): "refused",
    ("GET", "/systems/{system_id}/diff"): "refused",
}
SECRET_NAME = "Embedded reference NSW"  # the first organisation's system: never shown to the other


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for path, route in route_table(app.routes):
        if isinstance(route, Mount):
            assert path in PUBLIC_MOUNTS, path
            continue
        for method in getattr(route, "methods", None) or ():
            if (method, path) in PUBLIC_ROUTES:
                continue
            assert isinstance(route, APIRoute), f"{method} {path}: not public, yet not behind authorise"
            assert route.path == path  # authorise matches the public routes by the route's own path
            found.add((method, path))
    return found


def _request(client: Client, method: str, path: str, ids: dict[str, str], organisation: int):
    url = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
    if path.endswith("/diff"):
        url += f"?old={ids['run_id']}&new={ids['run_id']}"
    bodies = {
        "/api/organisations": {"json": {"name": "Intruders"}},
        "/api/users": {"json": {"name": "intruder", "organisation": organisation, "role": "admin"}},
        "/api/tokens": {"json": {"name": "t"}},
        "/api/runs": {"json": {"system": int(ids["system_id"]), "profile": "efdx", "requirements": ["M-06"]}},
        "/api/systems": {
            "data": {"name": "x", "organisation": str(organisation)},
            "files": {"ics": ("c.toml", "")},
        },
        "/systems": {"data": {"name": "x"}, "files": {"ics": ("c.toml", "")}},
        "/api/share-links": {"json": {"run": int(ids["run_id"])}},
        "/api/runs/{run_id}/notes": {"json": {"text": "intruding"}},
        "/api/runs/{run_id}/prompts/{n}": {"json": {"answer": "done"}},
        "/runs/{run_id}/notes": {"data": {"text": "intruding"}},
    }
    return client.request(method, url, **(bodies.get(path, {}) if method == "POST" else {}))


def test_every_non_public_route_refuses_anonymous_and_the_wrong_organisation(bed, admin):
    routes = _routes(bed._server.config.app)
    assert routes == set(WRONG_ORGANISATION), (
        "a route was added or removed: say what the wrong organisation gets"
    )
    report = bed.testbed.settings.data / "runs" / "first" / "report"
    report.mkdir(parents=True)
    (report / "results.json").write_text('{"verdict": "conformant"}')
    with bed.testbed.store.session() as db:
        run = Run(system_id=1, selection={}, state="finished", report_folder="runs/first/report")
        db.add(run)
        db.flush()
        run_id = run.id
    token_id = admin.post("/api/tokens", json={"name": "admin's"}).json()["id"]
    ids = {
        "system_id": "1",
        "run_id": str(run_id),
        "other_id": str(run_id),
        "token_id": str(token_id),
        "name": "results.json",
        "profile": "efdx",
        "link_id": str(admin.post("/api/share-links", json={"run": run_id}).json()["id"]),
        "n": "1",
    }
    assert admin.get(f"/api/runs/{run_id}/files/results.json").status_code == 200  # there to be refused
    FileChannel(operator_prompts.folder_of(bed.testbed.settings, run_id)).publish(PROMPT)  # likewise
    assert admin.get(f"/api/runs/{run_id}/prompts/1/document").status_code == 200

    anonymous = Client(bed.url)
    for method, path in sorted(routes):
        answer = _request(anonymous, method, path, ids, 1)
        redirected = answer.status_code == 303 and answer.headers["Location"] == "/login"
        assert answer.status_code == 401 or (redirected and not path.startswith("/api/")), (method, path)

    organisation, tester = add_member(admin, "Other state", "other-tester")
    for method, path in sorted(routes):
        if path.endswith("logout"):
            continue  # it would end the tester's session: checked last
        answer = _request(tester, method, path, ids, 1)
        if WRONG_ORGANISATION[(method, path)] == "refused":
            assert answer.status_code in (403, 404), (method, path, answer.status_code, answer.text[:200])
        else:
            assert answer.status_code < 500 and answer.status_code not in (401, 403, 404), (method, path)
            assert SECRET_NAME not in answer.text, (method, path)
    assert admin.get(f"/api/systems/{ids['system_id']}").status_code == 200  # not deleted by the tester
    assert tester.post("/api/logout").status_code == 200


def test_a_viewer_reads_its_organisation_and_changes_nothing(bed, admin):
    _organisation, viewer = add_member(admin, "Demo", "demo-viewer", role="viewer")
    assert viewer.get("/api/systems/1").status_code == 200
    assert viewer.post("/api/runs", json={"system": 1, "profile": "efdx"}).status_code == 403
    assert viewer.delete("/api/systems/1").status_code == 403
    assert (
        viewer.post("/api/systems", data={"name": "x"}, files={"ics": ("c.toml", GOOD_TOML)}).status_code
        == 403
    )


def test_pages_carry_the_page_policy_and_no_inline_script(bed, admin):
    for path in ("/systems", "/systems/1", "/login", "/statements", "/matrix"):
        page = admin.get(path)
        assert page.status_code == 200
        assert page.headers["Content-Security-Policy"].startswith(PAGE_POLICY_START)
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
        assert "style=" not in page.text and "<style" not in page.text
    static = requests.get(bed.url + "/static/app.js", timeout=10)
    assert static.status_code == 200 and "EventSource" in static.text
