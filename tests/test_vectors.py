"""The vector set: every vector gets exactly the manifest's answer from `conformance validate`.

The expectation comes from the manifest (written from the spec), never from running the judge on
the vector; this test is where the two meet.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from conformance.app import cli
from conformance.family import vectors
from conformance.profiles.efdx.catalogue import requirement
from conformance.profiles.efdx.dialect import EFDX

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

DAYS = [date(2026, 11, 26), date(2028, 2, 29), date.today()]
MANIFEST = vectors.load_manifest(dialect=EFDX)


@pytest.fixture(scope="module", params=DAYS, ids=str)
def judged(request, tmp_path_factory) -> tuple[date, dict[str, dict]]:
    """Build the set for one day and validate it all in one `conformance validate --json` call."""
    day = request.param
    out = tmp_path_factory.mktemp(f"vectors-{day}")
    assert cli.main(["vectors", "build", "--date", day.isoformat(), "--out", str(out)]) == 0
    files = sorted(str(path) for path in out.glob("*.xml"))
    results = _validate_json(files, day)
    return day, {result["file"].rsplit("/", 1)[-1][:-4]: result for result in results}


def _validate_json(files: list[str], day: date) -> list[dict]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        cli.main(["validate", "--json", "--at", day.isoformat(), "--receiver", "KH", *files])
    return json.loads(buffer.getvalue())


@pytest.mark.parametrize("vector", MANIFEST, ids=lambda vector: vector.id)
def test_validate_gives_the_manifest_answer(judged, vector):
    day, results = judged
    result = results[vector.id]
    assert result["codes"] == vector.expected_codes, f"{vector.id} on {day}: {vector.description}"
    assert result["valid"] == (vector.expected_codes == [])


def test_manifest_and_builders_match():
    ids = [vector.id for vector in MANIFEST]
    assert len(ids) == len(set(ids)), "duplicate vector ids"
    # Other profiles of the family (RCPX) register their own builders in the same table.
    efdx_builders = {
        vid for vid, function in vectors.BUILDERS.items() if function.__module__ == vectors.__name__
    }
    assert set(ids) == efdx_builders


def test_manifest_fields_are_well_formed():
    for vector in MANIFEST:
        for requirement_id in vector.requirements:
            requirement(requirement_id)  # raises for an unknown ID
        assert vector.expect_code == "valid" or vector.expect_code.startswith("EFDX-")
        assert vector.expect_status in (None, "ACCEPTED", "REJECTED")
        assert (vector.expect_status == "REJECTED") == bool(vector.expect_reasons), vector.id
        if vector.expect_code != "valid":
            assert vector.expect_status is None


def test_coverage_of_single_message_rules():
    """The issue's list: a negative vector for every rule one message can break, a valid one per action."""
    negative = {code for vector in MANIFEST for code in vector.expected_codes}
    wanted = {f"EFDX-M{n:02d}" for n in (*range(1, 16), 18)} | {"EFDX-T04"}
    wanted |= {f"BR-{n:02d}" for n in (*range(1, 11), 12, 13, 16)}
    assert wanted <= negative, sorted(wanted - negative)
    valid_actions = {vector.action for vector in MANIFEST if vector.id.startswith("valid-")}
    assert valid_actions == {
        "IssueCO",
        "ReplaceCO",
        "CancelCO",
        "StatusNotification",
        "VerificationRequest",
        "VerificationResponse",
        "Ping",
    }


def test_every_vector_goes_to_kh_from_another_party():
    """Sent by SG to KH, except where the vector is about a wrong receiver (M-13, M-03)."""
    import re

    from conformance.profiles.efdx.pki import TestPki

    pki = TestPki.load()
    wrong_receiver = {"m13-wrong-receiver": b"TH", "m03-unknown-party": b"ZZ"}
    # section 3.1's field lines: a Header without From or To, or From outside the party list
    about_from_or_to = ("M-03/from-", "M-03/to-")
    for vector in MANIFEST:
        if vector.id == "t04-oversized-body":
            continue  # the same envelope as valid-issue-co, padded
        if any(purpose.startswith(about_from_or_to) for purpose in vector.purposes):
            continue
        body = vectors.build_vector(vector.id, DAYS[0], pki, dialect=EFDX)
        sender = re.search(rb"<From>(\w+)</From>", body)
        receiver = re.search(rb"<To>(\w+)</To>", body)
        assert sender and sender.group(1) == b"SG", vector.id
        assert receiver and receiver.group(1) == wrong_receiver.get(vector.id, b"KH"), vector.id


def test_same_date_gives_byte_identical_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert cli.main(["vectors", "build", "--date", "2027-03-01", "--out", str(out)]) == 0
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    assert len(names) == len(MANIFEST)
    different = [name for name in names if (first / name).read_bytes() != (second / name).read_bytes()]
    assert different == []


def test_another_date_gives_other_messages(tmp_path):
    from conformance.profiles.efdx.pki import TestPki

    pki = TestPki.load()
    assert vectors.build_vector("valid-ping", date(2027, 1, 1), pki, dialect=EFDX) != vectors.build_vector(
        "valid-ping", date(2027, 1, 2), pki, dialect=EFDX
    )
