"""Evidence bundles: `conformance evidence verify` accepts what a run wrote and refuses any change."""

from __future__ import annotations

import base64
import zipfile
from pathlib import Path

import pytest

from conformance.app import cli
from conformance.app.run import RunOptions, run
from conformance.profiles.efdx.pki import TestPki
from conformance.results.evidence import INDEX, MANIFEST, REPORT_FILES, SIGNATURE, SIGNER, write_evidence


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    code, folder = run(RunOptions(layers=("T",), report_dir=tmp_path_factory.mktemp("run"), live=False))
    assert code == 0
    return folder / "evidence.zip"


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of the bundle with ``change(entries)`` applied to its {name: bytes}."""
    with zipfile.ZipFile(source) as original:
        entries = {name: original.read(name) for name in original.namelist()}
    change(entries)
    with zipfile.ZipFile(target, "w") as copy:
        for name, body in entries.items():
            copy.writestr(name, body)
    return target


def verify(capsys, path: Path) -> tuple[int, str]:
    code = cli.main(["evidence", "verify", str(path)])
    return code, capsys.readouterr().out


def test_a_run_writes_a_bundle_that_verifies(capsys, bundle):
    code, out = verify(capsys, bundle)  # intact; signed with the TEST ONLY key: the signer is unchecked
    assert code == 3 and "intact" in out and "EFDX TEST ONLY" in out
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {"results.json", "junit.xml", "report.html", MANIFEST, SIGNATURE, SIGNER} <= names
    assert any(name.startswith("exchanges/") for name in names)


def _flip_signature(entries: dict) -> None:
    raw = bytearray(base64.b64decode(entries[SIGNATURE]))
    raw[0] ^= 1
    entries[SIGNATURE] = base64.b64encode(bytes(raw))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda e: e.__setitem__("results.json", e["results.json"].replace(b'"fail"', b'"pass"') + b" "),
            "results.json",
        ),
        (lambda e: e.pop("junit.xml"), "junit.xml"),
        (lambda e: e.__setitem__("extra.txt", b"added later"), "unlisted extra.txt"),
        (_flip_signature, "signature"),
        (lambda e: e.pop(SIGNATURE), SIGNATURE),
    ],
    ids=["changed-file", "removed-file", "added-file", "altered-signature", "no-signature"],
)
def test_any_change_is_refused(capsys, bundle, tmp_path, change, said):
    code, out = verify(capsys, rewrite(bundle, tmp_path / "changed.zip", change))
    assert code == 1 and "invalid" in out and said in out


def test_a_signer_outside_the_trust_is_refused(capsys, bundle, tmp_path):
    """Re-signed by a key whose CA no party trusts: the hashes hold, the signer does not."""
    folder = tmp_path / "run"
    folder.mkdir()
    with zipfile.ZipFile(bundle) as archive:
        for name in REPORT_FILES:
            (folder / name).write_bytes(archive.read(name))
    import json

    data = json.loads((folder / "results.json").read_text())
    write_evidence(folder, data, tmp_path / "rogue.zip", TestPki.load().bad("untrusted-ca"))
    code, out = verify(capsys, tmp_path / "rogue.zip")
    assert code == 1 and "invalid" in out


def test_not_a_bundle(capsys, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert verify(capsys, junk)[0] == 1
    with pytest.raises(SystemExit):
        cli.main(["evidence", "verify"])
    assert cli.main(["evidence", "verify", str(tmp_path / "missing.zip")]) == 4


# --- hostile bundles: one clear line each, nothing read before the signature and the signer -----------


def test_a_duplicate_member_before_the_original_is_refused(capsys, bundle, tmp_path):
    """A second results.json placed first would be what an unzipper shows; the manifest hashes the other."""
    target = tmp_path / "dup.zip"
    with (
        zipfile.ZipFile(bundle) as original,
        zipfile.ZipFile(target, "w") as copy,
        pytest.warns(UserWarning, match="Duplicate name"),
    ):
        copy.writestr("results.json", b'{"verdict": "conformant"}')
        for name in original.namelist():
            copy.writestr(name, original.read(name))
    code, out = verify(capsys, target)
    assert code == 1 and "'results.json' twice" in out


def test_a_member_over_the_cap_is_refused_from_its_declared_size(bundle, tmp_path):
    """Checked before it is read: a listed 1 GiB member would otherwise be inflated in full."""
    from conformance.core.violations import Violation
    from conformance.results.evidence import verify_evidence

    with pytest.raises(Violation, match="bytes declared"):
        verify_evidence(bundle, member_cap=1024)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda e: e.__setitem__(SIGNER, b"-----BEGIN CERTIFICATE-----\nnot base64\n"), "a PEM certificate"),
        (lambda e: e.__setitem__(MANIFEST, b"\xff\xfe" + e[MANIFEST]), "it does not"),
        (lambda e: e.__setitem__(SIGNATURE, b"%%% not base64 %%%"), "it does not"),
        (lambda e: e.__setitem__("../escape.txt", b"x"), "without '..'"),
    ],
    ids=["corrupt-signer", "manifest-not-utf8", "signature-not-base64", "unsafe-name"],
)
def test_every_bad_input_gets_one_line_and_exit_1(capsys, bundle, tmp_path, change, said):
    code, out = verify(capsys, rewrite(bundle, tmp_path / "bad.zip", change))
    assert code == 1 and said in out and len(out.strip().splitlines()) == 1


def test_a_flipped_byte_is_a_broken_zip_or_a_broken_signature(capsys, bundle, tmp_path):
    """A byte of a member's content flipped (results.json's stored bytes). Flipping the byte at a
    fixed share of the file was flaky: it sometimes fell on a local header's time stamp, which no
    member's content holds and the signature rightly does not cover."""
    import struct

    data = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("results.json")
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length  # the member's stored bytes
    data[start + info.compress_size // 2] ^= 0xFF
    target = tmp_path / "flipped.zip"
    target.write_bytes(bytes(data))
    code, out = verify(capsys, target)
    assert code == 1 and "invalid:" in out and "Traceback" not in out


def test_a_test_only_signer_is_said_to_prove_integrity_only(capsys, bundle):
    code, out = verify(capsys, bundle)
    assert code == 3 and "TEST ONLY key" in out and "not who made it" in out
    anchor = TestPki.load().ca_path("SG")  # even its own CA as the anchor: anyone has the key
    code = cli.main(["evidence", "verify", str(bundle), "--trust-anchor", str(anchor)])
    out = capsys.readouterr().out
    assert code == 3 and "TEST ONLY key" in out and "signer not checked" in out


# --- what the bundle holds: an index from tests to files, whole bodies, the harness inbox's arrivals ----


def test_the_index_maps_every_test_to_its_files_and_keeps_bodies_whole(bundle):
    import json

    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        index = json.loads(archive.read(INDEX))
        data = json.loads(archive.read("results.json"))
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    assert [test["id"] for test in index["tests"]] == [test["id"] for test in data["tests"]]
    files = [f for test in index["tests"] for e in test["exchanges"] for f in (e["request"], e["answer"])]
    assert files and set(files) <= names
    # T-04's oversized body: results.json keeps 64 KiB of it, the bundle every byte that was sent
    assert max(sizes[name] for name in files) > 5 * 1024 * 1024


def test_what_the_candidate_sent_to_the_harness_inbox_is_in_the_bundle(tmp_path):
    import json

    from conformance.results.evidence import verify_evidence

    for name in REPORT_FILES:
        (tmp_path / name).write_text("{}")
    arrival = {"received_at": "2026-11-30T12:00:00+00:00", "answered": 200, "size": 9, "body": "<Status/>"}
    test = {
        "id": "t.py::test_a",
        "verdict": "pass",
        "requirements": ["A-01"],
        "exchanges": [],
        "received": [arrival],
    }
    path = tmp_path / "evidence.zip"
    write_evidence(tmp_path, {"tests": [test]}, path, TestPki.load().nsw("SG"))
    with zipfile.ZipFile(path) as archive:
        assert archive.read("received/001/01.xml") == b"<Status/>"
        (entry,) = json.loads(archive.read(INDEX))["tests"]
    assert entry["received"][0]["file"] == "received/001/01.xml" and entry["received"][0]["answered"] == 200
    assert verify_evidence(path, [TestPki.load().test_material()]).test_only
