"""G-01..G-03 (EFDX section 9; RCPX errata 1 with its names): a candidate that claims ``gateway``,
with the harness as its gateway.

How the ICS says so: claiming the capability ``gateway`` (section 6's capabilities, section 9's
"an NSW that uses a gateway lists the gateway's inbox for each party as that party's peer inbox")
means the candidate's peer inbox for the party the harness plays is the harness's **gateway inbox**
of that party, ``{harness}/efdx/1/{party}/messages`` (``Harness.inbox_url``; a ``harness.url`` that
is not such a URL is refused on load). The harness inbox serves that path beside its own inbox path,
and over TLS presents the TEST ONLY gateway certificate (``OU=gateway``), as a gateway would. What
each test can see over the wire, the harness playing the gateway:

- G-01: what the candidate sends for the harness's party arrives at the gateway inbox, not at the
  party's own inbox path (routes-to-gateway), signed by the candidate's own NSW certificate as it
  would send it directly: the envelope signature verifies and binds From (unchanged);
- G-02 (mutual TLS only): the harness connects as the gateway, presenting the gateway's TLS client
  certificate: a valid message of any partner is taken (gateway-client); an envelope whose signer
  is not From's NSW is still refused 403 EFDX-M08 (signer-binds-from, section 5's row);
- G-03: the harness as gateway answers the candidate's IssueCO 502 and 504 with no body: the same
  bytes come again within the declared schedule (M-21's machinery, ``deliveries``); a relayed 4xx
  with the receiver's signed Error ends the delivery.

Where section 9 and the rest of the spec leave two readings, both are taken: a CO signed by the
gateway's certificate is refused 403 EFDX-M08 (section 9: "as an envelope or CO signer it is
EFDX-M08") or taken and REJECTED with BR-12 (sections 4 and 5: a CO's signer is BR-12's).
"""

from __future__ import annotations

import pytest

from conformance.core.client import CandidateClient
from conformance.core.verdicts import Inconclusive, NotApplicable
from conformance.core.violations import Violation
from conformance.family import dialect as dialects
from conformance.family.inbox import Arrival, Reaction
from conformance.family.suite import status_group, steps
from conformance.family.suite.deliveries import Delivery
from conformance.family.suite.test_exporting import (
    candidate_co,
    check_same_bytes,
    check_within_schedule,
    delivered,
    expect_no_retry,
    new_reference,
    sent_by_candidate,
    start_delivery,
)
from conformance.harness.control import ask_to_send
from conformance.harness.session import Harness

pytestmark = [pytest.mark.capability("gateway")]

# What a message's signer and signature break (section 5's M-05..M-12): through the gateway, a
# message that fails one of them is not what the candidate's NSW would have sent directly (G-01).
SIGNATURE_REQUIREMENTS = frozenset(f"M-{n:02d}" for n in range(5, 13))


# --- G-01: outbound through the gateway, unchanged ------------------------------------------------


def through_the_gateway(harness: Harness, arrival: Arrival, what: str) -> None:
    """G-01: ``arrival`` came to the harness's gateway inbox and is signed by the candidate's NSW."""
    inbox = steps.inbox_of(harness)
    if arrival.path != inbox.gateway_path:
        raise Violation(
            "G-01",
            f"{what} posted to the gateway's inbox of {harness.party} ({inbox.gateway_path})",
            f"posted to {arrival.path or 'another path'}"
            + (" (the party's own inbox path: around the gateway)" if arrival.path else ""),
        )
    violation = arrival.judgement.violation
    if violation is not None and set(violation.requirements) & SIGNATURE_REQUIREMENTS:
        raise Violation(
            "G-01",
            f"{what} signed by {harness.config.party}'s NSW, as it would send it directly "
            "(a gateway signs nothing)",
            f"{arrival.judgement.codes[0]}: {violation.observed}",
            also=("M-22",),
        )


@pytest.mark.role("exporting")
@pytest.mark.requirements("G-01")
@pytest.mark.purposes("G-01/routes-to-gateway", "G-01/unchanged")
def test_an_issue_co_goes_through_the_gateway_signed_by_the_candidate(harness: Harness) -> None:
    """Asked to issue a CO to the harness's party, the candidate posts it to that party's gateway
    inbox, its envelope signed by its own NSW."""
    reference = new_reference("G01-ISSUE")
    conversation = f"{harness.config.party}:{reference}"
    window = ask_to_send(
        harness,
        "IssueCO",
        candidate_co(harness, reference),
        f"issue the e-Form D {reference} to {harness.party}",
    )
    inbox = steps.inbox_of(harness)
    with harness.waiting_for(f"an IssueCO from {harness.config.party} at the gateway", window):
        arrival = inbox.wait_for(sent_by_candidate(harness, "IssueCO", conversation), window)
    if arrival is None and harness.manual_mode:
        raise Inconclusive(
            f"no IssueCO in conversation {conversation} within {window:g} s (the operator window): "
            "the operator may not have acted"
        )
    if arrival is None:
        raise Violation(
            "G-01",
            f"an IssueCO in conversation {conversation} at the gateway inbox {harness.inbox_url} "
            f"within {window:g} s",
            "none arrived at the harness (sent elsewhere, or not at all)",
            also=("A-06",),
        )
    harness.note_arrival(arrival)
    through_the_gateway(harness, arrival, "the IssueCO")


def _co_for_status(harness: Harness) -> steps.Sent:
    sent = steps.send(harness, harness.build("g01-status").bytes(), label="IssueCO, its status to come back")
    steps.expect_receipt(harness, sent)
    return sent


def start_status(harness: Harness) -> status_group.Waiting:
    """The IssueCO whose status comes back through the gateway, awaited with the status group's."""
    return status_group.waiting(harness, _co_for_status(harness), "ACCEPTED")


@pytest.mark.role("importing")
@pytest.mark.requirements("G-01")
@pytest.mark.purposes("G-01/routes-to-gateway", "G-01/unchanged")
@status_group.starts_with_the_group(start_status)
def test_a_status_goes_through_the_gateway_signed_by_the_candidate(
    harness: Harness, early: status_group.Waiting
) -> None:
    """The StatusNotification about a CO the harness's party issued goes back through that party's
    gateway inbox, signed by the candidate's NSW (every outbound message, not only COs)."""
    arrival = status_group.status_or_alone(
        harness, early, lambda: status_through_the_gateway(harness), "g01-status"
    )
    if arrival is not None:
        judge_the_status(harness, arrival, early.sent)


def status_through_the_gateway(harness: Harness) -> None:
    """The test in series: the IssueCO, then its status awaited."""
    sent = _co_for_status(harness)
    due = steps.status_blame(sent)
    arrival = steps.wait_for_answer(
        harness, sent, "StatusNotification", harness.config.windows.status_s, due[0], due[1:]
    )
    judge_the_status(harness, arrival, sent)


def judge_the_status(harness: Harness, arrival: Arrival, sent: steps.Sent) -> None:
    through_the_gateway(harness, arrival, "the StatusNotification")
    steps.check_status(arrival, sent, "ACCEPTED", [])


# --- G-02: the gateway's TLS client taken, the signer still binds From -----------------------------


def tls_only(harness: Harness) -> None:
    if not harness.config.tls.enabled:
        raise NotApplicable(
            "the configuration does not enable TLS (tls.enabled): G-02 is about the gateway's TLS "
            "client certificate"
        )


def gateway_client(harness: Harness) -> CandidateClient:
    """A client towards the candidate presenting the gateway's TLS certificate (the TEST ONLY one)."""
    credential = steps.pki_of(harness).gateway()
    return harness.client_with((str(credential.cert_path), str(credential.key_path)))


def served_as_ourselves(harness: Harness) -> None:
    """The control: the harness's own TLS client is served (else a refusal below says nothing)."""
    control = steps.send(
        harness, harness.vector("valid-ping"), label="control: the harness's own certificate"
    )
    if control.exchange.status != 200:
        raise Inconclusive(
            f"the harness's own TLS client was not served: {steps.answer_summary(control.exchange)}"
        )


def third_party(harness: Harness) -> str:
    parties = dialects.of(harness).codes.PARTIES
    return next(p for p in reversed(parties) if p not in (harness.party, harness.config.party))


@pytest.mark.role("importing")
@pytest.mark.requirements("G-02")
@pytest.mark.purposes("G-02/gateway-client")
@pytest.mark.parametrize("sender", ["harness-party", "another-party"])
def test_the_gateways_tls_client_is_taken_for_any_partner(harness: Harness, sender: str) -> None:
    """A valid IssueCO of a partner (the harness's party, or another one) whose TLS client is the
    gateway's certificate gets a Receipt: no EFDX-T05 for the gateway."""
    tls_only(harness)
    served_as_ourselves(harness)
    party = harness.party if sender == "harness-party" else third_party(harness)
    build = harness.build(f"g02-gateway-client-{party}", sender=party)
    sent = steps.send(
        harness,
        build.bytes(),
        client=gateway_client(harness),
        label=f"IssueCO from {party}, brought by the gateway's TLS client",
    )
    exchange = sent.exchange
    if exchange.error or exchange.status != 200:
        raise Violation(
            "G-02",
            f"HTTP 200 with a Receipt for a valid IssueCO from {party} whose TLS client is the gateway",
            steps.answer_summary(exchange),
        )
    steps.expect_receipt(harness, sent, sender=party)


def _refused_as_m08(harness: Harness, sent: steps.Sent) -> None:
    """403 EFDX-M08 (section 5's row for M-08); anything else breaks G-02 and what it answered wrong."""
    try:
        steps.expect_error(harness, sent, "EFDX-M08")
    except Violation as violation:
        raise Violation(
            "G-02",
            violation.expected,
            violation.observed,
            violation.location,
            also=tuple(r for r in violation.requirements if r != "G-02"),
        ) from None


@pytest.mark.role("importing")
@pytest.mark.requirements("G-02", "BR-12")
@pytest.mark.purposes("G-02/signer-binds-from")
@pytest.mark.parametrize("signer", ["another-party-nsw", "gateway-signs-envelope", "gateway-signs-co"])
def test_through_the_gateway_the_signer_still_binds_from(harness: Harness, signer: str) -> None:
    """From the gateway's TLS client, an envelope signed by another party's NSW, or by the gateway's
    certificate, is refused 403 EFDX-M08; a CO signed by the gateway's certificate is refused 403
    EFDX-M08 (section 9) or taken and REJECTED with BR-12 (section 4): either is accepted."""
    tls_only(harness)
    served_as_ourselves(harness)
    client = gateway_client(harness)
    gateway = steps.pki_of(harness).gateway()
    if signer == "another-party-nsw":
        body = harness.vector("m08-other-party-signer")
        label = f"IssueCO from {harness.party} signed by another party's NSW, through the gateway"
    else:
        build = harness.build(f"g02-{signer}")
        if signer == "gateway-signs-envelope":
            build.envelope_signer = gateway
        else:
            build.co_signer = gateway
        body = build.bytes()
        label = f"IssueCO from {harness.party}, {signer.replace('-', ' ')}, through the gateway"
    sent = steps.send(harness, body, client=client, label=label)
    if signer != "gateway-signs-co" or sent.exchange.status != 200:
        _refused_as_m08(harness, sent)
        return
    steps.expect_receipt(harness, sent)  # taken: then its CO is judged, BR-12 (section 4)
    steps.expect_status(harness, sent, "REJECTED", ["BR-12"])


# --- G-03: a gateway's 502/504 transient, a relayed 4xx final --------------------------------------


def start_gateway_error(harness: Harness, status: int) -> Delivery:
    """The gateway answers the first three tries ``status`` with no body (section 9)."""
    return start_delivery(harness, [Reaction(status=status)] * 3, f"G03-{status}", tries=4)


def as_g03(violation: Violation) -> Violation:
    """M-21's finding, through a gateway: G-03 first (``treats ... as transient (M-21)``)."""
    return Violation(
        "G-03",
        violation.expected,
        violation.observed,
        violation.location,
        also=tuple(r for r in violation.requirements if r != "G-03"),
    )


@pytest.mark.role("exporting")
@pytest.mark.requirements("G-03")
@pytest.mark.purposes("G-03/gateway-errors-transient")
@pytest.mark.parametrize("status", [502, 504])
@pytest.mark.starts_early(start=start_gateway_error)
def test_a_gateways_502_and_504_are_retried_with_the_same_bytes(
    harness: Harness, status: int, early: Delivery
) -> None:
    """After three gateway answers ``status`` with no body, the same bytes come a fourth time, within
    the declared schedule."""
    arrivals = delivered(harness, early)
    try:
        check_same_bytes(arrivals, 4, f"three gateway {status}s with no body")
        check_within_schedule(harness, arrivals)
    except Violation as violation:
        raise as_g03(violation) from None


def start_relayed_refusal(harness: Harness, status: int, refusing: str) -> Delivery:
    """The gateway relays the receiver's refusal: ``status`` with its signed Error."""
    code = dialects.of(harness).error_code(refusing)
    return start_delivery(harness, [Reaction(status=status, error_code=code)], f"G03-{status}", tries=1)


@pytest.mark.role("exporting")
@pytest.mark.requirements("G-03")
@pytest.mark.purposes("G-03/relayed-4xx-final")
@pytest.mark.parametrize(("status", "refusing"), [(400, "M-03"), (403, "M-06")])
@pytest.mark.starts_early(start=start_relayed_refusal)
def test_a_relayed_4xx_is_final(harness: Harness, status: int, refusing: str, early: Delivery) -> None:
    """After a 4xx with the receiver's signed Error, relayed by the gateway, the message is not sent
    again (watched for the whole declared schedule)."""
    expect_no_retry(harness, early, f"a relayed HTTP {status}", "G-03", also=("M-21",))
