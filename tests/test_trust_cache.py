"""The TrustStore remembers trusted chains, and its verdicts are exactly those of a store that does not.

A chain once trusted must still be refused when the time of receipt falls outside any certificate's
validity or after the CRL's nextUpdate, under stricter checks, for another party or purpose, and by
a store holding a CRL that revokes it. Every verdict of a store that has judged many chains before is
compared with the verdict of a fresh store: same requirement, same expected, same observed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from conformance.core.trust import SPEC_CHECKS, TrustStore
from conformance.core.violations import Violation
from conformance.profiles.efdx.pki import TestPki

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
LAX_EXPIRY = SPEC_CHECKS.swapped("signer.not-after", lambda cert, at: None).swapped(
    "signer.not-before", lambda cert, at: None
)
NO_REVOCATION = SPEC_CHECKS.swapped("signer.revocation", lambda store, chain, party, at: None)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.load()


def fresh(pki: TestPki) -> TrustStore:
    return pki.trust_store()


def verdict(store: TrustStore, chain, party: str, at: datetime, purpose: str, checks=SPEC_CHECKS):
    """None when trusted, else the Violation's (requirement, expected, observed)."""
    try:
        store.check_signer(chain, party, at, purpose, checks=checks)
    except Violation as violation:
        return violation.requirement, violation.expected, violation.observed
    return None


def crl(pki: TestPki, party: str, *, revoked=(), next_update: datetime) -> x509.CertificateRevocationList:
    """A CRL of ``party``'s CA revoking ``revoked`` (TEST ONLY keys), valid until ``next_update``."""
    key = serialization.load_pem_private_key((pki.directory / party / "ca.key.pem").read_bytes(), None)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.ca_cert(party).subject)
        .last_update(AT - timedelta(days=30))
        .next_update(next_update)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(AT - timedelta(days=1))
            .build()
        )
    return builder.sign(key, hashes.SHA256())


def with_crl(pki: TestPki, party: str, revocation_list) -> TrustStore:
    cas = {p: pki.ca_cert(p) for p in ("SG", "KH", "MY")}
    crls = {p: pki.crl(p) for p in cas} | {party: revocation_list}
    return TrustStore(cas, crls)


def test_a_trusted_chain_is_refused_once_expired_at_receipt(pki):
    store = fresh(pki)
    chain = pki.nsw("SG").chain
    not_after = chain[0].not_valid_after_utc
    assert verdict(store, chain, "SG", AT, "nsw") is None
    assert verdict(store, chain, "SG", not_after, "nsw") is None  # notAfter itself is inside
    late = verdict(store, chain, "SG", not_after + SECOND, "nsw")
    assert late is not None and late[0] == "M-09"
    assert late == verdict(fresh(pki), chain, "SG", not_after + SECOND, "nsw")
    assert verdict(store, chain, "SG", AT, "nsw") is None  # and trusted again at a time inside


def test_a_trusted_chain_is_refused_before_it_is_valid(pki):
    store = fresh(pki)
    chain = pki.nsw("KH").chain
    not_before = chain[0].not_valid_before_utc
    assert verdict(store, chain, "KH", AT, "nsw") is None
    assert verdict(store, chain, "KH", not_before, "nsw") is None
    early = verdict(store, chain, "KH", not_before - SECOND, "nsw")
    assert early is not None and early[0] == "M-09"


def test_a_trusted_chain_is_refused_once_the_crl_is_stale(pki):
    next_update = AT + timedelta(days=2)
    store = with_crl(pki, "SG", crl(pki, "SG", next_update=next_update))
    chain = pki.nsw("SG").chain
    assert verdict(store, chain, "SG", AT, "nsw") is None
    assert verdict(store, chain, "SG", next_update, "nsw") is None  # nextUpdate itself is current
    stale = verdict(store, chain, "SG", next_update + SECOND, "nsw")
    assert stale is not None and stale[0] == "M-10" and "nextUpdate" in stale[2]
    fresh_store = with_crl(pki, "SG", store.crls["SG"])
    assert stale == verdict(fresh_store, chain, "SG", next_update + SECOND, "nsw")
    # without revocation checking the CRL's age does not matter
    assert verdict(store, chain, "SG", next_update + SECOND, "nsw", NO_REVOCATION) is None


def test_a_certificate_revoked_later_is_refused_by_the_store_with_the_new_crl(pki):
    chain = pki.nsw("SG").chain
    before = with_crl(pki, "SG", crl(pki, "SG", next_update=AT + timedelta(days=30)))
    assert verdict(before, chain, "SG", AT, "nsw") is None
    after = with_crl(pki, "SG", crl(pki, "SG", revoked=[chain[0]], next_update=AT + timedelta(days=30)))
    revoked = verdict(after, chain, "SG", AT, "nsw")
    assert revoked is not None and revoked[0] == "M-10" and "revoked on" in revoked[2]
    # the store is a snapshot: changing the mapping it was made from changes nothing in it
    crls = {"SG": before.crls["SG"]}
    snapshot = TrustStore({"SG": pki.ca_cert("SG")}, crls)
    assert verdict(snapshot, chain, "SG", AT, "nsw") is None
    crls["SG"] = after.crls["SG"]
    assert verdict(snapshot, chain, "SG", AT, "nsw") is None
    with pytest.raises(TypeError):
        snapshot.crls["SG"] = after.crls["SG"]  # type: ignore[index]


def test_a_chain_trusted_under_lax_checks_is_still_refused_under_the_specs(pki):
    store = fresh(pki)
    expired = pki.bad("expired").chain
    assert verdict(store, expired, "SG", AT, "nsw", LAX_EXPIRY) is None
    strict = verdict(store, expired, "SG", AT, "nsw")
    assert strict is not None and strict[0] == "M-09"
    revoked = pki.bad("revoked").chain
    assert verdict(store, revoked, "SG", AT, "nsw", NO_REVOCATION) is None
    assert verdict(store, revoked, "SG", AT, "nsw")[0] == "M-10"


def test_a_chain_trusted_for_one_party_or_purpose_is_judged_anew_for_another(pki):
    store = fresh(pki)
    chain = pki.nsw("SG").chain
    assert verdict(store, chain, "SG", AT, "nsw") is None
    assert verdict(store, chain, "KH", AT, "nsw")[0] == "M-08"
    assert verdict(store, chain, "SG", AT, "authority")[0] == "M-08"


def test_a_warm_store_gives_every_verdict_a_fresh_store_gives(pki):
    """Every signer of the test PKI, good and bad, at times around their windows, under three
    policies, for its own party and another, judged twice by one store: as a fresh store judges."""
    warm = fresh(pki)
    chains = [
        (f"{kind} {party}", getattr(pki, kind)(party).chain)
        for party in ("SG", "KH")
        for kind in ("nsw", "authority")
    ]
    chains += [(name, pki.bad(name).chain) for name in pki.bad_names()]
    compared = 0
    for _name, chain in chains:
        edges = [c.not_valid_before_utc for c in chain] + [c.not_valid_after_utc for c in chain]
        times = [AT, *(edge + delta for edge in edges for delta in (-SECOND, timedelta(0), SECOND))]
        for at in times:
            for party in ("SG", "KH"):
                for purpose in ("nsw", "authority"):
                    for checks in (SPEC_CHECKS, LAX_EXPIRY, NO_REVOCATION):
                        expected = verdict(fresh(pki), chain, party, at, purpose, checks)
                        assert verdict(warm, chain, party, at, purpose, checks) == expected, (_name, at)
                        assert verdict(warm, chain, party, at, purpose, checks) == expected, (_name, at)
                        compared += 1
    assert compared > 1000
