"""What a receiver accepts, as data: the spec's parameters, each field of ``STRICT`` the spec's value.

The parser, the signature verifier and the judge read their limits from a Policy instead of
hard-wiring them: the size limit, the media types and encodings, the algorithms and key sizes of
section 4, the M-15 window. Candidates are always judged with ``STRICT``. What a receiver checks is
not here but in its named checks (``core/checks.py``); a seeded fault of the reference NSW either
changes one parameter here (``dataclasses.replace``: a window one second short, SHA-1 let in) or
swaps one check, chosen at start-up, so a wrong behaviour reaches only the process that asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from conformance.core import xmldsig as ds

MAX_BODY_BYTES = 5 * 1024 * 1024  # the HTTP binding's cap (T-04); RCPX keeps it


@dataclass(frozen=True)
class Policy:
    # T: transport
    max_body_bytes: int | None = MAX_BODY_BYTES  # T-04 (None: no limit)
    content_types: frozenset[str] | None = frozenset({"application/xml", "text/xml"})  # T-03 (None: any)
    # M-01: the body's XML declaration names one of these encodings (None: any)
    encodings: frozenset[str] | None = frozenset({"utf-8", "utf8"})
    # M-07, M-12: the signature's algorithms and keys (section 4)
    canonicalizations: frozenset[str] | None = frozenset({ds.EXC_C14N})  # None: any
    signature_methods: frozenset[str] = ds.ALLOWED_SIGNATURE_METHODS
    digest_methods: frozenset[str] = ds.ALLOWED_DIGESTS
    min_rsa_bits: int = ds.MIN_RSA_BITS
    ecdsa_curves: frozenset[str] = frozenset({"secp256r1"})  # section 4: ECDSA on P-256 only
    ecdsa_methods: frozenset[str] = frozenset({ds.ECDSA_SHA256})  # ... with ECDSA-SHA256 only
    # M-15: the Timestamp window
    max_age: timedelta | None = timedelta(hours=24)  # None: no lower bound
    future_skew: timedelta | None = timedelta(minutes=15)  # None: no upper bound


STRICT = Policy()
