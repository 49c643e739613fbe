"""Blame the clause: a failure names the requirement whose clause the candidate broke, and never a
requirement the profile does not have (issue 17 item 8)."""

from __future__ import annotations

import json

import pytest

from conformance.app.run import RunOptions, run
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.profiles.rcpx.pack import PROFILE as RCPX


def failed(purpose: str, fault: str, tmp_path, profile=EFDX) -> tuple[set[str], dict]:
    options = RunOptions(
        reference_fault=fault, purposes=(purpose,), report_dir=tmp_path, live=False, profile=profile
    )
    code, folder = run(options)
    results = json.loads((folder / "results.json").read_text())
    assert code == 1, "the fault survived"
    return {row["requirement"] for row in results["requirements"] if row["verdict"] == "fail"}, results


@pytest.mark.parametrize("profile", [EFDX, RCPX], ids=["efdx", "rcpx"])
def test_a_cancellation_acknowledged_about_the_wrong_message_fails_a02_and_a03_not_a01(tmp_path, profile):
    """A CANCELLATION_ACKNOWLEDGED that names the IssueCO as RefToMessageId: the status came, about the
    wrong message (A-02), so the cancellation was not acknowledged (A-03). A-01 counts the statuses of
    IssueCO and ReplaceCO only (section 7) and is not blamed."""
    requirements, _ = failed("A-03/acknowledged", "cancel-ack-names-issue", tmp_path, profile)
    assert requirements == {"A-02", "A-03"}


@pytest.mark.parametrize("profile", [EFDX, RCPX], ids=["efdx", "rcpx"])
def test_a_reason_code_of_no_rule_is_blamed_on_a01_and_never_named(tmp_path, profile):
    requirements, results = failed("A-01/all-reasons", "unknown-reason-code", tmp_path, profile)
    assert requirements == {"A-01"}
    catalogue = {f"{profile.title} {r.id}" for r in profile.catalogue().requirements()}
    named = {rid for test in results["tests"] for rid in test["requirements"]}
    named |= {row["id"] for row in results["requirements"]}
    assert named <= catalogue, named - catalogue
    bare = {r.id for r in profile.catalogue().requirements()}
    blamed = {t["reason"].split(":")[0] for t in results["tests"] if t["verdict"] == "fail"}
    assert blamed and blamed <= bare, blamed - bare  # each reason opens with the requirement it blames
