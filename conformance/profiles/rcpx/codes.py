"""RCPX 1.0 code lists, namespaces and names (RCPX section 1, and EFDX sections 1 to 3 with RCPX names).

RCPX is written as a difference from EFDX 1.0: the envelope, signals, payloads other than the CO,
actions and statuses are EFDX's, in RCPX's namespaces; parties, the CO, origin criteria, error-code
prefix, paths and the trigger header are RCPX's own.
"""

from __future__ import annotations

from conformance.core import policy
from conformance.core.xmldsig import DS_NS as DS_NS  # the W3C namespace, re-exported
from conformance.family import codes as family_codes  # the family's code mapping

PROFILE = "RCPX"
TITLE = "RCPX 1.0"
ENVELOPE_NS = "urn:rcpx:envelope:1"
CO_NS = "urn:rcpx:co:1"  # the payload namespace (every payload, not only the CO)
PROFILE_VERSION = "1.0"

INBOX_PATH = "/rcpx/1/messages"
TRIGGER_PATH = "/rcpx/1/test/trigger"
TRIGGER_HEADER = "X-RCPX-Test-Token"
MESSAGE_ID_DOMAIN = "rcpx"  # MessageId "<uuid>@<party>.rcpx", e.g. "<uuid>@jp.rcpx"

# The fifteen RCEP parties (RCPX section 1), in the spec's order: the ten ASEAN members party to
# RCEP and Australia, China, Japan, Korea and New Zealand. Timor-Leste is not party to RCEP; like
# EFDX, configuration may add it (extra parties), and the test PKI takes it with one command.
PARTIES: tuple[str, ...] = (
    "AU",
    "BN",
    "CN",
    "ID",
    "JP",
    "KH",
    "KR",
    "LA",
    "MM",
    "MY",
    "NZ",
    "PH",
    "SG",
    "TH",
    "VN",
)

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
    "IssueCO": "RCEPCertificateOfOrigin",
    "ReplaceCO": "RCEPCertificateOfOrigin",
    "CancelCO": "Cancellation",
    "StatusNotification": "StatusNotification",
    "VerificationRequest": "VerificationRequest",
    "VerificationResponse": "VerificationResponse",
    "Ping": "Ping",
}
CO_ELEMENT = "RCEPCertificateOfOrigin"

# RCPX section 2: Item/OriginCriterion/Code and CTCLevel (RBR-03 says which takes what).
ORIGIN_CRITERIA: tuple[str, ...] = ("WO", "PE", "CTC", "RVC", "CR")
CTC_LEVELS: tuple[str, ...] = ("CC", "CTH", "CTSH")
TRANSPORT_MODES: tuple[str, ...] = ("SEA", "AIR", "ROAD", "RAIL", "MULTIMODAL")
STATUSES: tuple[str, ...] = (
    "ACCEPTED",
    "REJECTED",
    "UTILISED",
    "PREFERENCE_DENIED",
    "CANCELLATION_ACKNOWLEDGED",
)
OUTCOMES: tuple[str, ...] = ("CONFIRMED", "NOT_CONFIRMED")
REMARK_ORDER: tuple[str, ...] = ("BackToBack", "ThirdPartyInvoicing", "IssuedRetroactively")

MAX_BODY_BYTES = policy.MAX_BODY_BYTES  # T-04

RULE_PREFIX = "RBR-"
ERROR_PREFIX = "RCPX-"  # of the wire codes of T- and M- requirements


def error_code(requirement: str) -> str:
    """The wire code for a requirement: ``M-06`` -> ``RCPX-M06``; RBR IDs travel as themselves
    (a StatusNotification's Reason Code is the rule ID, RCPX section 1). EFDX's mapping."""
    return family_codes.error_code(requirement, ERROR_PREFIX, RULE_PREFIX)


# The names the shared protocol code reads from every profile of the family (family/dialect.py).
PAYLOAD_NS = CO_NS
SIGNATURE_RULE = "RBR-12"  # the CO signature's rule
TOKEN_ENV = "RCPX_TEST_TOKEN"


def code_requirement(code: str) -> str:
    """``RCPX-M06`` -> ``M-06``: the requirement an error code names. EFDX's mapping."""
    return family_codes.code_requirement(code, ERROR_PREFIX)
