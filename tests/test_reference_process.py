"""The embedded reference NSW of a run, in a process of its own (app/reference_process.py): it says
where it listens, answers there, and is gone after; one that cannot start is a setup error naming
why, not a hang or a traceback."""

from __future__ import annotations

import os

import pytest
import requests

from conformance.app import reference_process
from conformance.core.profile import ReferenceSettings
from conformance.harness import registry


def settings(tmp_path, **changes) -> ReferenceSettings:
    values = dict(party="KH", db=tmp_path / "kh.sqlite", peers={"SG": "http://127.0.0.1:9/efdx/1/messages"})
    values.update(changes)
    return ReferenceSettings(**values)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_it_listens_where_it_says_and_is_gone_after(tmp_path) -> None:
    profile = registry.get("efdx")
    chosen = settings(tmp_path, trigger_token="t0ken")
    workdir = tmp_path / "reference"
    workdir.mkdir()
    with reference_process.serving(profile, chosen, workdir) as ref:
        assert ref.url.endswith(profile.inbox_path) and ref.trigger_url.endswith(profile.trigger_path)
        xml = {"Content-Type": "application/xml"}
        assert requests.post(ref.url, data=b"<x/>", headers=xml, timeout=10).status_code == 400  # judged
        wrong, right = ({profile.trigger_header: token} for token in ("wrong", "t0ken"))
        assert requests.post(ref.trigger_url, json={}, headers=wrong, timeout=10).status_code == 403
        # the right token is taken (400: an empty request), so it did reach the process
        assert requests.post(ref.trigger_url, json={}, headers=right, timeout=10).status_code == 400
        pid = ref.pid
    reference_process.stopped()
    assert gone(pid) and not workdir.exists()  # stopped, and its store and log removed
    assert "t0ken" not in " ".join(reference_process.command(profile, chosen))  # in the environment


def test_one_that_cannot_start_is_a_setup_error_naming_why(tmp_path) -> None:
    profile = registry.get("efdx")
    with (
        pytest.raises(reference_process.ReferenceDidNotStart, match="not a party"),
        reference_process.serving(profile, settings(tmp_path, party="XX"), tmp_path),
    ):
        pass
