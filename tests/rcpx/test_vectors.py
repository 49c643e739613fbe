"""RCPX 1.0's vector set: every vector gets exactly the manifest's answer from RCPX's judge.

The expectations come from test_vectors/rcpx/manifest.toml (written from the spec), never from
running the judge on a vector; this test is where the two meet, on several days. It mirrors
tests/test_vectors.py: the judge is called directly (Receiver with RCPX's dialect, as `conformance
validate` does) for the three days, and the CLI (`vectors build --profile rcpx`, `validate`) once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest

from conformance.family.judge import Receiver
from conformance.family.vectors import BUILDERS, DIALECT_BUILDERS, build_all, build_vector, load_manifest
from conformance.profiles.rcpx import catalogue, rules
from conformance.profiles.rcpx.dialect import RCPX

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

DAYS = [date(2026, 11, 26), date(2028, 2, 29), date.today()]
MANIFEST = load_manifest(dialect=RCPX)
SENDER, RECEIVER = RCPX.vector_parties["sender"], RCPX.vector_parties["receiver"]

# RBR purposes that no single message can test: each needs COs accepted (or cancelled, superseded)
# before it, so the suite's sequences cover them, not a vector.
SEQUENCE_ONLY = {
    "RBR-11/reference-reused": "needs a CO accepted earlier under the same ReferenceNumber",
    "RBR-11/replace-reuses-reference": "needs a CO accepted earlier under the ReplaceCO's own number",
    "RBR-11/per-issuing-country": "needs a CO of another IssuingCountry accepted earlier",
    "RBR-11/after-cancel": "needs a CO accepted, then cancelled",
    "RBR-11/after-supersede": "needs a CO accepted, then replaced",
    "RBR-14/cancel-unknown": "unknown means: not in the receiver's history",
    "RBR-14/replace-unknown": "unknown means: not in the receiver's history",
    "RBR-14/cancel-other-issuing-country": "needs another party's CO accepted earlier",
    "RBR-14/cancel-country-sorting-before-sender": "needs another party's CO accepted earlier",
    "RBR-14/replace-other-issuing-country": "needs another party's CO accepted earlier",
    "RBR-14/cancel-cancelled": "needs a CO accepted, then cancelled",
    "RBR-14/cancel-superseded": "needs a CO accepted, then replaced",
    "RBR-14/replace-superseded": "needs a CO accepted, then replaced",
    "RBR-14/replace-cancelled": "needs a CO accepted, then cancelled",
    "RBR-14/replacement-current": "needs a CO accepted, replaced, replaced again",
    "RBR-14/named-co-rejected": "needs a CO received and rejected",
    "RBR-11/rejected-reference-free": "needs a CO received and rejected",
}


@pytest.fixture(scope="module")
def pki():
    return RCPX.load_pki()


@pytest.fixture(scope="module", params=DAYS, ids=str)
def judged(request, pki, tmp_path_factory) -> tuple[date, dict]:
    """Build the set for one day (build_all, as `conformance vectors build` does) and have AU judge
    every vector at noon UTC of that day, statelessly (no history, no duplicate log)."""
    day = request.param
    out = tmp_path_factory.mktemp(f"rcpx-vectors-{day}")
    paths = build_all(out, day, pki, dialect=RCPX)
    receiver = Receiver(RECEIVER, pki.trust_store(), dialect=RCPX)
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    return day, {path.stem: receiver.judge(path.read_bytes(), at=noon) for path in paths}


@pytest.mark.parametrize("vector", MANIFEST, ids=lambda vector: vector.id)
def test_the_judge_gives_the_manifest_answer(judged, vector):
    day, judgements = judged
    judgement = judgements[vector.id]
    where = f"{vector.id} on {day}: {vector.description}"
    assert judgement.codes == vector.expected_codes, where
    if vector.expect_code == "valid":
        assert judgement.reasons == list(vector.expect_reasons), where
        if vector.expect_status:
            assert judgement.status == vector.expect_status, where
    else:
        assert judgement.status is None, where


def test_manifest_and_builders_match():
    ids = [vector.id for vector in MANIFEST]
    assert len(ids) == len(set(ids)), "duplicate vector ids"
    found = set(BUILDERS) | set(DIALECT_BUILDERS.get("rcpx", {}))
    assert set(ids) <= found, sorted(set(ids) - found)
    own = {
        vid
        for table in (BUILDERS, DIALECT_BUILDERS.get("rcpx", {}))
        for vid, function in table.items()
        if function.__module__.endswith(".rcpx.vectors")
    }
    assert own <= set(ids), f"RCPX builders without a manifest entry: {sorted(own - set(ids))}"


def test_manifest_fields_are_well_formed():
    for vector in MANIFEST:
        for requirement_id in vector.requirements:
            catalogue.requirement(requirement_id)  # raises for an unknown ID
        for purpose_id in vector.purposes:
            catalogue.purpose(purpose_id)  # raises for an unknown ID
        assert vector.expect_code == "valid" or vector.expect_code.startswith("RCPX-"), vector.id
        assert all(reason.startswith("RBR-") for reason in vector.expect_reasons), vector.id
        assert vector.expect_status in (None, "ACCEPTED", "REJECTED")
        assert (vector.expect_status == "REJECTED") == bool(vector.expect_reasons), vector.id
        if vector.expect_code != "valid":
            assert vector.expect_status is None, vector.id


def test_every_rbr_purpose_has_a_vector_or_needs_a_sequence():
    rbr = {purpose.id for purpose in catalogue.purposes() if purpose.requirement.startswith("RBR-")}
    covered = {purpose for vector in MANIFEST for purpose in vector.purposes}
    assert rbr - set(SEQUENCE_ONLY) <= covered, sorted(rbr - set(SEQUENCE_ONLY) - covered)
    assert set(SEQUENCE_ONLY) <= rbr
    assert {p.split("/")[0] for p in SEQUENCE_ONLY} <= set(rules.STATEFUL_RULES)
    assert not set(SEQUENCE_ONLY) & covered, "a purpose both exempted and covered: drop the exemption"


def test_coverage_of_single_message_rules():
    """A negative vector for every rule one message can break, a valid one per action."""
    negative = {code for vector in MANIFEST for code in vector.expected_codes}
    wanted = {f"RCPX-M{n:02d}" for n in (*range(1, 16), 18)} | {"RCPX-T04"}
    wanted |= {f"RBR-{n:02d}" for n in (*range(1, 11), 12, 13, 14)}
    assert wanted <= negative, sorted(wanted - negative)
    valid_actions = {vector.action for vector in MANIFEST if vector.id.startswith("valid-")}
    assert valid_actions == set(RCPX.codes.ACTIONS)


def test_every_vector_goes_from_jp_to_au_in_rcpx_namespaces(pki):
    """Sent by JP to AU, except where the vector is about a wrong receiver (M-13, M-03); never EFDX."""
    wrong_receiver = {"m13-wrong-receiver": b"TH", "m03-unknown-party": b"ZZ"}
    for vector in MANIFEST:
        body = build_vector(vector.id, DAYS[0], pki, dialect=RCPX, **RCPX.vector_parties)
        assert b"urn:rcpx:envelope:1" in body and b"urn:efdx" not in body, vector.id
        if vector.id == "t04-oversized-body":
            continue  # the same envelope as valid-issue-co, padded
        if any(purpose.startswith(("M-03/from-", "M-03/to-")) for purpose in vector.purposes):
            continue  # EFDX section 3.1's field lines: a Header without From or To, or From outside the list
        sender = re.search(rb"<From>(\w+)</From>", body)
        receiver = re.search(rb"<To>(\w+)</To>", body)
        assert sender and sender.group(1) == SENDER.encode(), vector.id
        assert receiver and receiver.group(1) == wrong_receiver.get(vector.id, RECEIVER.encode()), vector.id


def test_same_date_gives_byte_identical_files(tmp_path, pki):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        build_all(out, date(2027, 3, 1), pki, dialect=RCPX)
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    assert len(names) == len(MANIFEST)
    different = [name for name in names if (first / name).read_bytes() != (second / name).read_bytes()]
    assert different == []


def test_another_date_gives_other_messages(pki):
    one, other = (
        build_vector("rbr10-gap", day, pki, dialect=RCPX) for day in (date(2027, 1, 1), date(2027, 1, 2))
    )
    assert one != other


def test_the_cli_builds_and_validates_the_set(tmp_path, pki):
    """`conformance vectors build --profile rcpx` writes what build_all writes, and `conformance
    validate` (the profile told from the namespace) gives every vector the manifest's codes."""
    import contextlib
    import io
    import json

    from conformance.app import cli

    day, cli_out = "2027-03-01", tmp_path / "cli"
    assert cli.main(["vectors", "build", "--profile", "rcpx", "--date", day, "--out", str(cli_out)]) == 0
    build_all(tmp_path / "direct", date.fromisoformat(day), pki, dialect=RCPX)
    for path in sorted((tmp_path / "direct").iterdir()):
        assert (cli_out / path.name).read_bytes() == path.read_bytes(), path.name
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        files = sorted(str(path) for path in cli_out.glob("*.xml"))
        cli.main(["validate", "--json", "--at", day, "--receiver", RECEIVER, *files])
    codes = {
        result["file"].rsplit("/", 1)[-1][:-4]: result["codes"] for result in json.loads(buffer.getvalue())
    }
    assert codes == {vector.id: vector.expected_codes for vector in MANIFEST}
