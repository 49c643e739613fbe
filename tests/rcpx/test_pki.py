"""RCPX's TEST ONLY PKI is the EFDX family's (RCPX section 5, errata 1): it covers the fifteen RCEP
parties with the material EFDX section 4 needs, bad signers of every party; the generic generator
writes the committed README; adding a party (TL) is one command that touches no other party."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from conformance.app import cli
from conformance.core.testpki import BAD_SIGNER_NAMES, ROGUE_CA
from conformance.core.trust import TrustStore
from conformance.core.violations import Violation
from conformance.family import pki_gen as efdx_pki_gen
from conformance.profiles.efdx.pki import TestPki as EfdxPki
from conformance.profiles.rcpx import pki_gen
from conformance.profiles.rcpx.codes import PARTIES
from conformance.profiles.rcpx.pki import TestPki

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KINDS = [("nsw", False), ("nsw", True), ("authority", False), ("authority", True)]
# Trusted signers whose key section 4 refuses: the trust checks pass them, M-12 (BR-12 on a CO) refuses.
LEFT_TO_M12 = ("rsa-1024", "ecdsa-p384", "authority-ecdsa-p384")
BAD_EXPECTED = {
    "expired": ("nsw", "M-09"),
    "not-yet-valid": ("nsw", "M-09"),
    "revoked": ("nsw", "M-10"),
    "wrong-country": ("nsw", "M-11"),
    "untrusted-ca": ("nsw", "M-08"),
    "no-digital-signature": ("nsw", "M-08"),
    "authority-no-nonrepudiation": ("authority", "M-08"),
    "authority-expired": ("authority", "M-09"),
    "authority-not-yet-valid": ("authority", "M-09"),
    "authority-revoked": ("authority", "M-10"),
    "authority-untrusted-ca": ("authority", "M-08"),
    "authority-wrong-country": ("authority", "M-11"),
}


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


@pytest.fixture(scope="module")
def store(pki: TestPki) -> TrustStore:
    return pki.trust_store()


def digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_fifteen_rcep_parties_are_there(pki: TestPki) -> None:
    assert " ".join(PARTIES) == "AU BN CN ID JP KH KR LA MM MY NZ PH SG TH VN"
    assert {p.name for p in pki.directory.iterdir() if p.is_dir()} >= {*PARTIES, "bad"}
    assert pki.directory == Path(__file__).resolve().parents[2] / "test_vectors" / "efdx" / "pki"
    assert pki.directory == EfdxPki.load().directory  # one PKI for the family: one TLS identity per party
    assert set(pki.trust_store().cas) == set(PARTIES)


@pytest.mark.parametrize("party", PARTIES)
@pytest.mark.parametrize(("kind", "ecdsa"), KINDS)
def test_good_signers_are_trusted_for_their_party(pki, store, party, kind, ecdsa) -> None:
    credential = getattr(pki, kind)(party, ecdsa=ecdsa)
    store.check_signer(credential.chain, party, AT, kind)
    organisations = credential.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [a.value for a in organisations] == ["EFDX TEST ONLY"]


@pytest.mark.parametrize("party", PARTIES)
def test_nsw_names_and_crls(pki, party) -> None:
    san = pki.nsw(party).cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", f"nsw.{party.lower()}.efdx.test"} <= set(san.get_values_for_type(x509.DNSName))
    crl = pki.crl(party)
    assert crl.is_signature_valid(pki.ca_cert(party).public_key())
    revoked = {pki.bad(name, party).cert.serial_number for name in ("revoked", "authority-revoked")}
    assert {r.serial_number for r in crl} == revoked


@pytest.mark.parametrize("party", PARTIES)
def test_every_partys_bad_signers_fail_their_requirement(pki, store, party) -> None:
    for name, (kind, requirement) in BAD_EXPECTED.items():
        with pytest.raises(Violation) as info:
            store.check_signer(pki.bad(name, party).chain, party, AT, kind)
        assert info.value.requirement == requirement, (name, str(info.value))


def test_the_replaced_rcpx_test_pki_is_still_declared_test_material(pki) -> None:
    assert {"EFDX TEST ONLY", "RCPX TEST ONLY"} <= pki.test_material().organisations


@pytest.mark.parametrize("name", list(BAD_EXPECTED))
def test_bad_signers_claim_jp_and_fail_their_requirement(pki, store, name) -> None:
    kind, requirement = BAD_EXPECTED[name]
    with pytest.raises(Violation) as info:
        store.check_signer(pki.bad(name).chain, "JP", AT, kind)
    assert info.value.requirement == requirement, str(info.value)


def test_bad_names_and_rogue_ca(pki, store) -> None:
    assert sorted(pki.bad_names()) == sorted([*BAD_EXPECTED, *LEFT_TO_M12]) == sorted(BAD_SIGNER_NAMES)
    assert pki.bad(ROGUE_CA).cert.subject.rfc4514_string().startswith("CN=EFDX TEST ONLY Rogue CA")
    store.check_signer(pki.bad("rsa-1024").chain, "JP", AT, "nsw")  # left to M-12
    with pytest.raises(KeyError):
        pki.nsw("TL")


def test_readme_warns_test_only_and_says_how_to_add_a_party(pki) -> None:
    text = (pki.directory / "README.md").read_text(encoding="utf-8")
    assert "EVERYTHING IN THIS FOLDER IS TEST ONLY MATERIAL" in text
    assert "python -m conformance.family.pki_gen add-party TL" in text
    assert "RBR-12" in text and "BR-12)" not in text.replace("RBR-12)", "")


def test_the_generic_generator_writes_efdx_readme_as_committed() -> None:
    committed = EfdxPki.load().directory / "README.md"
    assert efdx_pki_gen.readme() == committed.read_text(encoding="utf-8")


def test_add_party_adds_tl_and_touches_no_other_party(pki, tmp_path) -> None:
    folder = tmp_path / "pki"
    shutil.copytree(pki.directory, folder)
    before = digests(folder)
    assert pki_gen.main(["add-party", "TL", "--out", str(folder)]) == 0
    after = digests(folder)
    new = ("TL/", "bad/TL/")
    assert {k: v for k, v in after.items() if not k.startswith(new) and k != "README.md"} == {
        k: v for k, v in before.items() if k != "README.md"
    }
    assert {k.split("/")[1] for k in after if k.startswith("TL/")} == {
        k.split("/")[1] for k in before if k.startswith("JP/")
    }
    assert {k.split("/")[2] for k in after if k.startswith("bad/TL/")} == {
        k.split("/")[2] for k in before if k.startswith("bad/JP/")
    }
    fresh = TestPki(folder)
    store = fresh.trust_store([*PARTIES, "TL"])
    for kind, ecdsa in KINDS:
        store.check_signer(getattr(fresh, kind)("TL", ecdsa=ecdsa).chain, "TL", AT, kind)
    revoked = {fresh.bad(name, "TL").cert.serial_number for name in ("revoked", "authority-revoked")}
    assert {r.serial_number for r in fresh.crl("TL")} == revoked
    for name, (kind, requirement) in BAD_EXPECTED.items():  # TL's own bad signers, for a harness playing TL
        with pytest.raises(Violation) as info:
            store.check_signer(fresh.bad(name, "TL").chain, "TL", AT, kind)
        assert info.value.requirement == requirement, (name, str(info.value))
    assert "is one of BN KH ID LA MY MM PH SG TH VN AU CN JP KR NZ TL)" in (folder / "README.md").read_text()


def test_add_party_refuses_what_it_cannot_do(pki, tmp_path, capsys) -> None:
    folder = tmp_path / "pki"
    shutil.copytree(pki.directory, folder)
    for argv in (["add-party", "JP"], ["add-party", "tl"], ["add-party", "XYZ"]):
        with pytest.raises(SystemExit):
            pki_gen.main([*argv, "--out", str(folder)])
    with pytest.raises(SystemExit):
        pki_gen.main(["add-party", "TL", "--out", str(tmp_path / "empty")])
    assert "exists already" in capsys.readouterr().err


def test_the_command_adds_a_party_to_a_copy(tmp_path, capsys) -> None:
    folder = tmp_path / "efdx-pki"
    shutil.copytree(EfdxPki.load().directory, folder)
    before = digests(folder)
    assert cli.main(["pki", "add-party", "TL", "--out", str(folder)]) == 0
    assert "TL added to the EFDX TEST ONLY PKI" in capsys.readouterr().out
    after = digests(folder)
    assert {k for k in after if k not in before} == {
        k.replace("SG/", "TL/") for k in before if k.startswith(("SG/", "bad/SG/"))
    }
    assert cli.main(["pki", "add-party", "TL", "--out", str(folder)]) != 0
