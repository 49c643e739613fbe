"""An organisation's runs per hour are capped (issue 21 item 7: rate limits on runs per
organisation): past the cap, the API answers 429 with Retry-After and the page says so in one line;
another organisation is not held up by it."""

from __future__ import annotations

import re

from conformance.app.serve.models import System
from tests.serve_helpers import add_member, login, serving

SMALL = {"profile": "efdx", "requirements": ["M-06"], "wait": 120}


def test_past_its_runs_per_hour_an_organisation_is_refused_with_retry_after_and_others_are_not(tmp_path):
    with serving(tmp_path / "testbed", runs_per_hour=2) as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        for _ in range(2):
            done = admin.post("/api/runs", json={"system": 1, **SMALL})
            assert done.status_code == 200 and done.json()["state"] == "finished", done.text
        refused = admin.post("/api/runs", json={"system": 1, **SMALL})
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert "started 2 runs in the last hour" in refused.json()["detail"]
        page = admin.post("/systems/1/runs", data={"csrf_token": admin.headers["X-CSRF-Token"]})
        assert page.status_code == 429 and "text/html" in page.headers["content-type"]
        assert re.search(r'role="alert">the organisation started 2 runs in the last hour', page.text)
        assert admin.get("/api/systems/1/runs").json().__len__() == 2  # nothing was queued

        organisation, tester = add_member(admin, "Another member state", "other-tester")
        with bed.testbed.store.session() as db:  # an embedded system of its own (the API takes TOML)
            system = System(organisation_id=organisation, name="Its reference NSW", embedded=True)
            db.add(system)
            db.flush()
            system_id = system.id
        theirs = tester.post("/api/runs", json={**SMALL, "system": system_id})
        assert theirs.status_code == 200 and theirs.json()["state"] == "finished", theirs.text


SYSTEM_TOML = """
[candidate]
party = "KH"
{claims}inbox_url = "http://127.0.0.1:9/efdx/1/messages"
[harness]
listen = "127.0.0.1:{port}"
{rcpx}
"""


def test_a_systems_fixed_harness_port_is_its_own_on_the_test_bed(tmp_path):
    """Its candidate is configured once with the harness inbox's URL: a fixed port stays that
    system's, and another system (of any organisation) naming it is refused without being named."""
    with serving(tmp_path / "testbed") as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        _, tester = add_member(admin, "Another member state", "other-tester")

        def register(client, name: str, port: int, claims: str = "", rcpx: str = ""):
            toml = SYSTEM_TOML.format(port=port, claims=claims, rcpx=rcpx)
            return client.post("/api/systems", data={"name": name}, files={"ics": ("s.toml", toml)})

        assert register(admin, "KH NSW", 18443).status_code == 201
        clash = register(tester, "TH NSW", 18443)
        assert clash.status_code == 422
        assert "port 18443 is already another system's harness inbox" in clash.json()["detail"]
        assert "KH NSW" not in clash.text
        both = 'profiles = ["efdx", "rcpx"]\n'
        rcpx_on_it = register(
            tester, "TH NSW", 18446, both, '[harness.profiles.rcpx]\nlisten = "127.0.0.1:18443"'
        )
        assert rcpx_on_it.status_code == 422 and "port 18443" in rcpx_on_it.text, rcpx_on_it.text
        assert register(tester, "TH NSW", 18445).status_code == 201
        assert register(tester, "VN NSW", 0).status_code == 201  # a free port each run: never a clash
        assert register(admin, "LA NSW", 0).status_code == 201
