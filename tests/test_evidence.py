"""Evidence bundles: `conformance evidence verify` accepts what a run wrote and refuses any change."""

from __future__ import annotations

import base64
import zipfile
from pathlib import Path

import pytest

from conformance import cli
from conformance.pki import TestPki
from conformance.report.evidence import MANIFEST, REPORT_FILES, SIGNATURE, SIGNER, write_evidence
from conformance.run import RunOptions, run


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
    code, out = verify(capsys, bundle)
    assert code == 0 and "valid" in out and "EFDX TEST ONLY" in out
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
