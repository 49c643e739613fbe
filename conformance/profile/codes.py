"""EFDX 1.0 code lists and namespaces (section 1 and 3 of the spec)."""

from __future__ import annotations

ENVELOPE_NS = "urn:efdx:envelope:1"
EFORMD_NS = "urn:efdx:eformd:1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
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

MAX_BODY_BYTES = 5 * 1024 * 1024  # T-04
