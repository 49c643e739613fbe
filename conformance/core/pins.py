"""Certificate pins: the SHA-256 of a certificate's DER, the one thing a harness inbox compares to
admit only the client certificate registered for a candidate (``tls.candidate_cert``).

Why a pin and not a trust anchor: the test PKI is shared TEST ONLY material, so any party's test
certificate chains to the same CAs; on a shared test bed, the chain says "some NSW of this party",
the pin says "this system's". The chain is still checked first (the TLS handshake, against the
profile's trust); the pin only narrows who gets past it.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PEM_FILE_MAX = 1024 * 1024  # a certificate file's bytes read at most (it is the user's, not this run's)


def pin_of_der(der: bytes) -> str:
    """The pin of one certificate, given as DER (``ssl.SSLSocket.getpeercert(binary_form=True)``)."""
    return hashlib.sha256(der).hexdigest()


def pins_of_pem(pem: bytes) -> frozenset[str]:
    """The pins of every certificate in a PEM file's bytes (ValueError when it holds none)."""
    certificates = x509.load_pem_x509_certificates(pem)
    return frozenset(pin_of_der(cert.public_bytes(Encoding.DER)) for cert in certificates)


def pin_of_pem_text(pem: str | None) -> str | None:
    """The pin of a peer certificate werkzeug gives as PEM text (``SSL_CLIENT_CERT``); None for none."""
    if not pem:
        return None
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None
    return pin_of_der(cert.public_bytes(Encoding.DER))
