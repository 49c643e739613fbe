"""T-05: over TLS, a client without a current NSW certificate of a trusted party, or one whose party
is not the message's From, is refused: in the handshake, or with 403 EFDX-T05.
"""

from __future__ import annotations

import pytest

from conformance.core.trust import Credential
from conformance.core.verdicts import Inconclusive, NotApplicable
from conformance.core.violations import Violation
from conformance.family.suite import steps
from conformance.harness.session import Harness

pytestmark = [pytest.mark.role("importing"), pytest.mark.requirements("T-05")]


def clients(harness: Harness) -> dict[str, Credential | None]:
    """The TLS client certificates to try, each of which must be refused."""
    third = next(party for party in ("TH", "VN", "MY") if party not in (harness.party, harness.config.party))
    pki = steps.pki_of(harness)
    return {
        "no-certificate": None,
        "untrusted-ca": pki.bad("untrusted-ca", harness.party),
        "revoked": pki.bad("revoked", harness.party),
        "expired": pki.bad("expired", harness.party),
        "another-party": pki.nsw(third),
    }


@pytest.mark.parametrize(
    "client",
    [
        pytest.param(client, marks=pytest.mark.purposes(f"T-05/{client}"))
        for client in ("no-certificate", "untrusted-ca", "revoked", "expired", "another-party")
    ],
)
def test_client_without_a_valid_certificate_of_the_sender_is_refused(harness: Harness, client: str) -> None:
    """The handshake fails, or the answer is 403 with EFDX-T05; never a Receipt."""
    if not harness.config.tls.enabled:
        raise NotApplicable("the configuration does not enable TLS (tls.enabled)")
    control = steps.send(
        harness, harness.vector("valid-ping"), label="control: the harness's own certificate"
    )
    if control.exchange.status != 200:  # otherwise a refusal below would say nothing about T-05
        raise Inconclusive(
            f"the harness's own TLS client was not served: {steps.answer_summary(control.exchange)}"
        )
    credential = clients(harness)[client]
    cert = None if credential is None else (str(credential.cert_path), str(credential.key_path))
    sent = steps.send(
        harness, harness.vector("valid-ping"), client=harness.client_with(cert), label=f"TLS client: {client}"
    )
    exchange = sent.exchange
    if exchange.error and ("TLS" in exchange.error or "reset" in exchange.error):
        return  # refused in the handshake
    if exchange.error:
        raise Violation("T-05", "a refused handshake or HTTP 403", exchange.error)
    if exchange.status != 403:
        raise Violation(
            "T-05",
            "a refused handshake or HTTP 403 with EFDX-T05",
            f"HTTP {exchange.status} to a client presenting {client}",
        )
    steps.expect_error(harness, sent, "EFDX-T05")
