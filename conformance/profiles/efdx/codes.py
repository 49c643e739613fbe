"""EFDX 1.0 code lists and namespaces (section 1 and 3 of the spec)."""

from __future__ import annotations

from conformance.core import policy
from conformance.core.xmldsig import DS_NS as DS_NS  # the W3C namespace, re-exported
from conformance.family import codes as family_codes  # the family's code mapping

ENVELOPE_NS = "urn:efdx:envelope:1"
EFORMD_NS = "urn:efdx:eformd:1"
PROFILE_VERSION = "1.0"

# ASEAN member states party to ATIGA. Timor-Leste (TL) joined ASEAN in 2025 but is not yet party to
# ATIGA: it is kept out of the default list and can be added by configuration (extra_parties).
PARTIES: tuple[str, ...] = ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN")

ACTIONS: tuple[str, ...] = (
    "IssueCO",
    "ReplaceCO",
    "CancelCO",
    "StatusNotification",
    "VerificationRequest",
    "VerificationResponse",
    "Ping",
)

# Which Payload child each Action carries (M-14).
PAYLOAD_FOR_ACTION: dict[str, str] = {
    "IssueCO": "CertificateOfOrigin",
    "ReplaceCO": "CertificateOfOrigin",
    "CancelCO": "Cancellation",
    "StatusNotification": "StatusNotification",
    "VerificationRequest": "VerificationRequest",
    "VerificationResponse": "VerificationResponse",
    "Ping": "Ping",
}

ORIGIN_CRITERIA: tuple[str, ...] = ("WO", "PE", "RVC", "CC", "CTH", "CTSH", "SP", "PC")
TRANSPORT_MODES: tuple[str, ...] = ("SEA", "AIR", "ROAD", "RAIL", "MULTIMODAL")
STATUSES: tuple[str, ...] = (
    "ACCEPTED",
    "REJECTED",
    "UTILISED",
    "PREFERENCE_DENIED",
    "CANCELLATION_ACKNOWLEDGED",
)
OUTCOMES: tuple[str, ...] = ("CONFIRMED", "NOT_CONFIRMED")

MAX_BODY_BYTES = policy.MAX_BODY_BYTES  # T-04


# The names every profile of this family gives the shared protocol code (dialect.py): RCPX's codes
# module has the same ones with its own values.
TITLE = "EFDX 1.0"
PAYLOAD_NS = EFORMD_NS
CO_ELEMENT = "CertificateOfOrigin"
INBOX_PATH = "/efdx/1/messages"
TRIGGER_PATH = "/efdx/1/test/trigger"
TRIGGER_HEADER = "X-EFDX-Test-Token"
MESSAGE_ID_DOMAIN = "efdx"
RULE_PREFIX = "BR-"
SIGNATURE_RULE = "BR-12"  # the CO signature's rule
TOKEN_ENV = "EFDX_TEST_TOKEN"
ERROR_PREFIX = "EFDX-"  # of the wire codes of T- and M- requirements


def error_code(requirement: str) -> str:
    """The wire code for a requirement: ``M-06`` -> ``EFDX-M06``; rule IDs travel as themselves
    (the family's mapping, conformance/family/codes.py, with EFDX's prefixes)."""
    return family_codes.error_code(requirement, ERROR_PREFIX, RULE_PREFIX)


def code_requirement(code: str) -> str:
    """``EFDX-M06`` -> ``M-06``: the T- or M- requirement an error code names."""
    return family_codes.code_requirement(code, ERROR_PREFIX)
