"""What a receiver accepts, as data: the spec's answer in every field of ``STRICT``.

The parser, the signature verifier, the trust store and the judge read their limits from a Policy
instead of hard-wiring them, and know no seeded fault: candidates are always judged with ``STRICT``.
The reference NSW's seeded faults (``reference/faults.py``) are small policies made from it with
one field changed (``dataclasses.replace``) and chosen at start-up, so a wrong behaviour can only
reach the one process that asked for it, and never by a stray switch inside the judging code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lxml import etree

from conformance.core import xmldsig as ds
from conformance.core.violations import Violation


def exact_references(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    """M-07: the References name exactly the processed Header and Payload, in that order."""
    return uris == expected


def exact_transforms(transforms: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    """M-07: exactly the allowed Transforms, none foreign, none missing."""
    return transforms == expected


def no_doctype(doctype: bytes) -> bool:
    """M-02: any DOCTYPE is refused (section 7)."""
    return False


MAX_BODY_BYTES = 5 * 1024 * 1024  # the HTTP binding's cap (T-04); RCPX keeps it


@dataclass(frozen=True)
class Policy:
    # T: transport
    max_body_bytes: int | None = MAX_BODY_BYTES  # T-04 (None: no limit)
    content_types: frozenset[str] | None = frozenset({"application/xml", "text/xml"})  # T-03 (None: any)
    # M-01, M-02: the body
    encodings: frozenset[str] | None = frozenset({"utf-8", "utf8"})  # an XML declaration's (None: any)
    not_utf8_read_as: str | None = None  # None: bytes that are not UTF-8 are refused
    recover_broken_xml: bool = False
    doctype_allowed: Callable[[bytes], bool] = no_doctype
    doctype_before_parsing: bool = True  # a DOCTYPE before a broken body is M-02, not M-01
    # M-03, M-04, M-18: schemas and version
    envelope_schema: bool = True
    payload_schema: bool = True
    version_checked: bool = True  # the profile's profileVersion (M-18)
    # M-05..M-12: the signature
    signature_required: bool = True
    unique_ids: bool = True
    canonicalizations: frozenset[str] | None = frozenset({ds.EXC_C14N})  # None: any
    references_accepted: Callable[[list[str], list[str], etree._Element], bool] = exact_references
    transforms_accepted: Callable[[tuple[str, ...], tuple[str, ...]], bool] = exact_transforms
    certificate_required: bool = True
    signature_methods: frozenset[str] = ds.ALLOWED_SIGNATURE_METHODS
    digest_methods: frozenset[str] = ds.ALLOWED_DIGESTS
    min_rsa_bits: int = ds.MIN_RSA_BITS
    ecdsa_curves: frozenset[str] = frozenset({"secp256r1"})  # section 4: ECDSA on P-256 only
    ecdsa_methods: frozenset[str] = frozenset({ds.ECDSA_SHA256})  # ... with ECDSA-SHA256 only
    value_check: Callable[[etree._Element, Any, int | bool], None] | None = None  # None: signxml's full check
    # the signer (M-08..M-11, BR-12's signer, T-05's client)
    signer_ca: str = "party"  # "party": the From party's CA; "any-party": any trusted CA; "any": none checked
    key_usage: bool = True
    non_repudiation: bool = True
    extended_key_usage: bool = True
    not_before: bool = True
    not_after: bool = True
    revocation: bool = True
    country: bool = True
    # M-13..M-17: header and duplicates
    receiver_checked: bool = True
    payload_matches_action: bool = True
    payload_unmatched_actions: frozenset[str] = frozenset()  # M-14: Actions whose payload goes unchecked
    max_age: timedelta | None = timedelta(hours=24)  # None: no lower bound
    future_skew: timedelta | None = timedelta(minutes=15)  # None: no upper bound
    conflicts_refused: bool = True
    # BR: business rules
    dropped_rules: frozenset[str] = frozenset()
    unsigned_co_accepted: bool = False
    co_signature: Policy | None = None  # the CO's own signature (BR-12); None: STRICT
    # a refusal of what the spec allows (a seeded fault of the reference NSW: too strict); judged after
    # the payload schema, given the Envelope; None: none (STRICT)
    over_strict: Callable[[etree._Element], Violation | None] | None = None


STRICT = Policy()
