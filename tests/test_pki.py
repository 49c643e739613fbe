"""The TEST ONLY PKI: the committed set is what the spec's trust rules need, and check_signer judges it.
It is the EFDX family's (RCPX section 5, errata 1): a CA for every party of EFDX and RCPX, and bad
signers for every party, so that the harness can play any of them."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conformance.core.trust import TrustStore, cert_from_der, chain_from_der
from conformance.core.violations import Violation
from conformance.family import pki_gen
from conformance.profiles.efdx.codes import PARTIES
from conformance.profiles.efdx.pki import TestPki

FAMILY = pki_gen.FAMILY_PARTIES

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GOOD_UNTIL = datetime(2045, 1, 1, tzinfo=UTC)
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


@pytest.fixture(scope="module")
def family_store(pki: TestPki) -> TrustStore:
    return pki.trust_store(FAMILY)


def _violation(store: TrustStore, chain, party: str, purpose: str, at: datetime = AT) -> Violation:
    with pytest.raises(Violation) as info:
        store.check_signer(chain, party, at, purpose)
    return info.value


def _all_certs(pki: TestPki) -> list[x509.Certificate]:
    certs = [pki.ca_cert(p) for p in FAMILY]
    certs += [getattr(pki, kind)(p, ecdsa=ec_).cert for p in FAMILY for kind, ec_ in KINDS]
    certs += [pki.bad(n, p).cert for n in pki.bad_names() for p in FAMILY]
    return [*certs, pki.bad(pki_gen.ROGUE_CA).cert]


# ------------------------------------------------------------------------------ good signers


@pytest.mark.parametrize("party", PARTIES)
@pytest.mark.parametrize(("kind", "ecdsa"), KINDS)
def test_good_signer_is_trusted_for_its_party(pki, store, party, kind, ecdsa):
    cred = getattr(pki, kind)(party, ecdsa=ecdsa)
    assert cred.party == party
    store.check_signer(cred.chain, party, AT, kind)


@pytest.mark.parametrize(("kind", "ecdsa"), KINDS)
def test_good_leaf_dates_and_keys(pki, kind, ecdsa):
    for party in PARTIES:
        cert = getattr(pki, kind)(party, ecdsa=ecdsa).cert
        assert cert.not_valid_before_utc == datetime(2025, 1, 1, tzinfo=UTC)
        assert cert.not_valid_after_utc >= GOOD_UNTIL
        key = cert.public_key()
        if ecdsa:
            assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        else:
            assert isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048


def test_every_certificate_is_marked_test_only(pki):
    for cert in _all_certs(pki):
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        assert orgs == ["EFDX TEST ONLY"], cert.subject


def test_cas_outlive_their_leaves(pki):
    for party in PARTIES:
        ca = pki.ca_cert(party)
        assert ca.not_valid_after_utc >= GOOD_UNTIL
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        ca.verify_directly_issued_by(ca)


@pytest.mark.parametrize("ecdsa", [False, True])
def test_nsw_san_serves_localhost(pki, ecdsa):
    for party in PARTIES:
        cert = pki.nsw(party, ecdsa=ecdsa).cert
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert {"localhost", f"nsw.{party.lower()}.efdx.test"} <= set(san.get_values_for_type(x509.DNSName))
        assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)


def test_crls_are_signed_and_each_revokes_its_own_bad_signers(pki):
    for party in FAMILY:
        crl = pki.crl(party)
        assert crl.is_signature_valid(pki.ca_cert(party).public_key())
        assert crl.last_update_utc == datetime(2025, 1, 1, tzinfo=UTC)
        assert crl.next_update_utc == GOOD_UNTIL
        serials = {r.serial_number for r in crl}
        revoked = {pki.bad(name, party).cert.serial_number for name in ("revoked", "authority-revoked")}
        assert serials == revoked


def test_the_family_has_a_ca_and_bad_signers_for_every_party_of_efdx_and_rcpx(pki):
    """RCPX errata 1: bad signers for every party a harness may play, one PKI for the family."""
    from conformance.profiles.rcpx.codes import PARTIES as RCPX_PARTIES

    assert set(PARTIES) | set(RCPX_PARTIES) == set(FAMILY)
    assert {p.name for p in pki.directory.iterdir() if p.is_dir()} == {*FAMILY, "bad", "gateway"}
    assert {p.name for p in (pki.directory / "bad").iterdir() if p.is_dir()} == set(FAMILY)
    assert all(pki.has_bad(party) for party in FAMILY) and not pki.has_bad("TL")
    assert pki.bad("expired") is pki.bad("expired", "SG")  # SG's when no party is named
    with pytest.raises(KeyError, match="no TEST ONLY bad signers for party 'TL'"):
        pki.bad("expired", "TL")


# ------------------------------------------------------------------------------- bad signers


@pytest.mark.parametrize("name", list(BAD_EXPECTED))
def test_bad_signer_fails_its_requirement(pki, store, name):
    purpose, requirement = BAD_EXPECTED[name]
    violation = _violation(store, pki.bad(name).chain, "SG", purpose)
    assert violation.requirement == requirement, str(violation)
    assert "CN=" in violation.observed and "PRIVATE KEY" not in str(violation)


@pytest.mark.parametrize("party", FAMILY)
def test_every_partys_bad_signers_claim_it_and_fail_their_requirement(pki, family_store, party):
    for name, (purpose, requirement) in BAD_EXPECTED.items():
        credential = pki.bad(name, party)
        assert credential.party == party
        country = credential.cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
        assert (country != party) == name.endswith("wrong-country"), (name, country)
        violation = _violation(family_store, credential.chain, party, purpose)
        assert violation.requirement == requirement, (name, str(violation))
    rsa_1024 = pki.bad("rsa-1024", party)
    family_store.check_signer(rsa_1024.chain, party, AT, "nsw")  # left to M-12
    assert rsa_1024.cert.public_key().key_size == 1024
    for name, kind in (("ecdsa-p384", "nsw"), ("authority-ecdsa-p384", "authority")):
        p384 = pki.bad(name, party)
        family_store.check_signer(p384.chain, party, AT, kind)  # left to M-12 / BR-12
        assert p384.cert.public_key().curve.name == "secp384r1"
        assert p384.party == party


def test_bad_names_cover_the_expectations(pki):
    assert sorted(pki.bad_names()) == sorted([*BAD_EXPECTED, *LEFT_TO_M12])


def test_rsa_1024_is_trusted_here_and_left_to_m12(pki, store):
    cred = pki.bad("rsa-1024")
    store.check_signer(cred.chain, "SG", AT, "nsw")
    assert cred.cert.public_key().key_size == 1024


def test_untrusted_ca_names_the_rogue_issuer(pki, store):
    violation = _violation(store, pki.bad("untrusted-ca").chain, "SG", "nsw")
    assert "issued by CN=EFDX TEST ONLY Rogue CA" in violation.observed


def test_signer_of_another_party_fails_m08(pki, store):
    assert _violation(store, pki.nsw("SG").chain, "TH", "nsw").requirement == "M-08"


def test_unknown_party_fails_m08(pki, store):
    assert _violation(store, pki.nsw("SG").chain, "TL", "nsw").requirement == "M-08"


def test_empty_chain_fails_m08(store):
    assert _violation(store, (), "SG", "nsw").requirement == "M-08"


def test_nsw_certificate_cannot_sign_as_authority(pki, store):
    violation = _violation(store, pki.nsw("SG").chain, "SG", "authority")
    assert violation.requirement == "M-08"
    assert "nonRepudiation" in violation.expected


def test_authority_certificate_cannot_sign_as_nsw(pki, store):
    violation = _violation(store, pki.authority("SG").chain, "SG", "nsw")
    assert violation.requirement == "M-08"
    assert "serverAuth" in violation.expected


def test_chain_with_the_root_included_is_trusted(pki, store):
    store.check_signer((*pki.nsw("MY").chain, pki.ca_cert("MY")), "MY", AT, "nsw")


def test_validity_is_judged_at_the_given_time(pki, store):
    chain = pki.nsw("SG").chain
    store.check_signer(chain, "SG", GOOD_UNTIL, "nsw")  # notAfter itself is inside
    assert _violation(store, chain, "SG", "nsw", datetime(2024, 12, 31, tzinfo=UTC)).requirement == "M-09"
    store.check_signer(pki.bad("not-yet-valid").chain, "SG", datetime(2044, 6, 1, tzinfo=UTC), "nsw")


def test_crl_not_signed_by_the_ca_fails_m10(pki):
    store = TrustStore({"SG": pki.ca_cert("SG")}, {"SG": pki.crl("TH")})
    violation = _violation(store, pki.nsw("SG").chain, "SG", "nsw")
    assert violation.requirement == "M-10"
    assert "signature" in violation.observed


def test_stale_crl_fails_m10(pki):
    key = serialization.load_pem_private_key((pki.directory / "SG" / "ca.key.pem").read_bytes(), None)
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.ca_cert("SG").subject)
        .last_update(datetime(2025, 1, 1, tzinfo=UTC))
        .next_update(datetime(2026, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    store = TrustStore({"SG": pki.ca_cert("SG")}, {"SG": stale})
    assert _violation(store, pki.nsw("SG").chain, "SG", "nsw").requirement == "M-10"


def test_missing_crl_fails_closed(pki):
    store = TrustStore({"SG": pki.ca_cert("SG")}, {})
    assert _violation(store, pki.nsw("SG").chain, "SG", "nsw").requirement == "M-10"


def test_bad_arguments_are_programming_errors(pki, store):
    with pytest.raises(ValueError):
        store.check_signer(pki.nsw("SG").chain, "SG", AT, "tls")
    with pytest.raises(ValueError):
        store.check_signer(pki.nsw("SG").chain, "SG", datetime(2026, 11, 26), "nsw")


# ------------------------------------------------------------------------------ credentials


@pytest.mark.parametrize(("kind", "ecdsa"), KINDS)
def test_credential_files_and_pem_match(pki, kind, ecdsa):
    cred = getattr(pki, kind)("VN", ecdsa=ecdsa)
    assert cred.cert_path.read_bytes() == cred.cert_pem()
    assert cred.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(cred.key_pem(), None)
    assert key.public_key() == cred.cert.public_key()
    assert "PRIVATE" not in repr(cred)


def test_load_is_cached_and_lookups_are_checked(pki):
    assert TestPki.load() is pki
    assert pki.nsw("SG") is pki.nsw("SG")
    assert pki.ca_path("SG").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(KeyError):
        pki.nsw("TL")
    with pytest.raises(KeyError):
        pki.bad("nonsense")
    assert pki.bad(pki_gen.ROGUE_CA).cert.subject.rfc4514_string().startswith("CN=EFDX TEST ONLY Rogue CA")


def test_cert_from_der_reads_keyinfo_base64(pki):
    cert = pki.nsw("SG").cert
    b64 = base64.encodebytes(cert.public_bytes(serialization.Encoding.DER)).decode()
    assert cert_from_der(b64) == cert
    assert chain_from_der([b64]) == (cert,)
    with pytest.raises(ValueError):
        cert_from_der("not a certificate")


def test_readme_warns_test_only(pki):
    text = (pki.directory / "README.md").read_text(encoding="utf-8")
    assert "EVERYTHING IN THIS FOLDER IS TEST ONLY MATERIAL" in text
    assert "python -m conformance.family.pki_gen" in text


# ----------------------------------------------------------------------------- regeneration


def _names(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_regeneration_produces_the_committed_file_set(pki, tmp_path):
    assert pki_gen.main(["--out", str(tmp_path)]) == 0
    assert _names(tmp_path) == _names(pki.directory)
    fresh = TestPki.load(tmp_path)
    store = fresh.trust_store()
    store.check_signer(fresh.nsw("SG").chain, "SG", AT, "nsw")
    assert _violation(store, fresh.bad("revoked").chain, "SG", "nsw").requirement == "M-10"
    # a fresh set is a different PKI: the committed signers are not trusted by it
    assert _violation(store, pki.nsw("SG").chain, "SG", "nsw").requirement == "M-08"


def test_both_packs_declare_every_certificate_of_the_family_pki_by_fingerprint(pki):
    """One folder for the family: each pack's declaration covers all of it, every party's bad signers
    and the rogue CA included, by fingerprint (not only by what the subject says)."""
    from conformance.harness import registry

    files = sorted(p for p in pki.directory.rglob("*.pem") if not p.name.endswith((".key.pem", "crl.pem")))
    certs = [x509.load_pem_x509_certificate(path.read_bytes()) for path in files]
    # each party's five, its bad signers, the rogue CA, and the gateway's CA and certificate (section 9)
    assert len(certs) == len(FAMILY) * 5 + len(FAMILY) * len(pki.bad_names()) + 1 + 2
    for key in ("efdx", "rcpx"):
        material = registry.get(key).declared_test_material()
        for path, cert in zip(files, certs, strict=True):
            assert cert.fingerprint(hashes.SHA256()).hex() in material.fingerprints, (key, path)
        issuers = {issuer.subject.rfc4514_string() for issuer in material.issuers}
        assert {pki.ca_cert(p).subject.rfc4514_string() for p in FAMILY} <= issuers, key
        assert pki.bad(pki_gen.ROGUE_CA).cert.subject.rfc4514_string() in issuers, key
        assert pki.gateway_ca_cert().subject.rfc4514_string() in issuers, key


def test_a_pki_made_before_the_gateway_gets_its_ca_and_certificate_alone(tmp_path):
    """EFDX section 9: ``add_gateway`` writes ``gateway/`` (nothing else but the README) once; the
    folder is no party's."""
    from conformance.core import testpki

    (tmp_path / "README.md").write_text("an older PKI\n")
    assert pki_gen.add_gateway(tmp_path) is True
    assert sorted(p.name for p in (tmp_path / "gateway").iterdir()) == [
        "ca.key.pem",
        "ca.pem",
        "gateway.key.pem",
        "gateway.pem",
    ]
    assert "## The gateway (`gateway/`)" in (tmp_path / "README.md").read_text()
    assert pki_gen.add_gateway(tmp_path) is False
    assert testpki.parties_in(tmp_path) == ()
