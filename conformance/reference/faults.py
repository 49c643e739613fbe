"""Named seeded faults: each switches on exactly one wrong behaviour of the reference NSW.

They prove that every test of the suite can fail (the fault kill matrix): run the suite against
the reference with one fault on, and the tests of the fault's requirement must fail. Faults in the
synchronous checks are expressed as checks the judge does not make (``skip``); the others are
looked up by name where the behaviour lives (answers, statuses, outbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    name: str
    requirement: str
    description: str
    skip: frozenset[str] = field(default_factory=frozenset)


def _fault(name: str, requirement: str, description: str, *skip: str) -> Fault:
    return Fault(name, requirement, description, frozenset(skip))


FAULTS: tuple[Fault, ...] = (
    _fault("accept-any-tls-client", "T-05", "does not ask for or check TLS client certificates"),
    _fault("accept-doctype", "M-02", "accepts a DOCTYPE (still expands no entity)", "M-02"),
    _fault("accept-missing-signature", "M-05", "accepts an envelope without ds:Signature", "M-05"),
    _fault("ignore-digests", "M-06", "does not check digests or the signature value", "M-06"),
    _fault(
        "process-unsigned-lookalike",
        "M-07",
        "processes what the References do not point at (wrapping)",
        "M-07",
    ),
    _fault("trust-any-ca", "M-08", "accepts a signer whatever CA issued it", "M-08"),
    _fault("ignore-expiry", "M-09", "accepts expired and not-yet-valid signer certificates", "M-09"),
    _fault("ignore-crl", "M-10", "accepts revoked signer certificates", "M-10"),
    _fault("ignore-signer-country", "M-11", "accepts a signer certificate of another country", "M-11"),
    _fault("accept-sha1", "M-12", "accepts SHA-1 and other weak algorithms and keys", "M-12"),
    _fault("accept-foreign-to", "M-13", "accepts messages addressed to another party", "M-13"),
    _fault("accept-stale-timestamp", "M-15", "accepts timestamps outside the window", "M-15"),
    _fault("process-duplicates-twice", "M-16", "processes a duplicate again (a second status)"),
    _fault("conflicting-duplicate-accepted", "M-17", "treats a conflicting duplicate as a duplicate", "M-17"),
    _fault("unsigned-receipts", "M-19", "answers with unsigned Receipts"),
    _fault("wrong-received-digest", "M-19", "puts a wrong ReceivedDigest in Receipts"),
    _fault("wrong-error-code", "M-20", "answers every Error with code EFDX-M01"),
    _fault("no-retry", "M-21", "gives up on the first 5xx, timeout or reset"),
    _fault("retry-after-4xx", "M-21", "retries after a 4xx answer"),
    _fault("never-send-status", "A-01", "never sends the StatusNotification"),
    _fault("late-status", "A-01", "sends the StatusNotification after the status window"),
    _fault("second-status", "A-01", "sends a second, different StatusNotification for every CO message"),
    _fault("wrong-conversation-id", "A-02", "puts a wrong ConversationId in StatusNotifications"),
    _fault("acknowledge-unknown-cancel", "A-03", "acknowledges the cancellation of an unknown CO"),
    _fault("ignore-verification-requests", "A-05", "never answers a VerificationRequest"),
    _fault("accept-rvc-below-40", "BR-03", "does not apply BR-03 (accepts RVC below 40)", "BR-03"),
    _fault("ignore-retroactive-flag", "BR-05", "does not apply BR-05 (the retroactive flag)", "BR-05"),
    _fault("accept-wrong-authority", "BR-12", "accepts a CO signed by any authority", "BR-12:signer"),
)
BY_NAME = {fault.name: fault for fault in FAULTS}


def fault(name: str | None) -> Fault | None:
    """The fault called ``name`` (None for none); KeyError naming the choices otherwise."""
    if name is None:
        return None
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown fault {name!r}; known: {', '.join(BY_NAME)}") from None
