"""The policies of the reference NSW's seeded faults: STRICT with one check made wrongly.

Each entry of ``LAX`` is keyed by the test purpose it breaks and differs from ``policy.STRICT`` in
one field; the wrong checks those fields need (a References comparison that ignores order, a
DOCTYPE that passes when it declares no entity ...) are written here, in the reference NSW, and
nowhere in the code that judges candidates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from lxml import etree

from conformance.core import xmldsig as ds
from conformance.core.policy import MAX_BODY_BYTES, STRICT, Policy
from conformance.family.reference import lax_signatures, over_strict


def references_in_any_order(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    return sorted(uris) == sorted(expected)


def references_subset(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    return bool(uris) and set(uris) <= set(expected)


def references_superset(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    return set(expected) <= set(uris)


def references_by_name(uris: list[str], expected: list[str], signature: etree._Element) -> bool:
    """Wrapping: any element with the right name will do, wherever it is."""
    root = signature.getroottree().getroot()
    return len(uris) == len(expected) and _target_names(root, uris) == _target_names(root, expected)


def _target_names(root: etree._Element, uris: list[str]) -> list[str | None]:
    names = []
    for uri in uris:
        nodes = root.xpath("//*[@Id=$id]", id=uri[1:]) if uri and uri.startswith("#") else []
        names.append(etree.QName(nodes[0]).localname if nodes else None)
    return names


def transforms_or_none(transforms: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    return not transforms or transforms == expected


def foreign_transforms_too(transforms: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    return tuple(t for t in transforms if t in expected) == expected


def _external(doctype: bytes) -> bool:
    return b"SYSTEM" in doctype or b"PUBLIC" in doctype


def _declares_entities(doctype: bytes) -> bool:
    return b"<!ENTITY" in doctype


# A window made exclusive, and then some: the edges (and 10 s inside them) refused.
_EDGE = timedelta(seconds=10)

LAX: dict[str, Policy] = {
    "T-03/content-type": replace(STRICT, content_types=None),
    "T-03/text-xml": replace(STRICT, content_types=frozenset({"application/xml"})),
    "T-04/over-5-mib": replace(STRICT, max_body_bytes=None),
    "T-04/one-byte-over": replace(STRICT, max_body_bytes=MAX_BODY_BYTES + 1),
    "T-04/exactly-5-mib": replace(STRICT, max_body_bytes=MAX_BODY_BYTES - 1),
    "M-01/well-formed": replace(STRICT, recover_broken_xml=True),
    "M-01/declared-encoding": replace(STRICT, encodings=None),
    "M-01/invalid-utf8": replace(STRICT, not_utf8_read_as="latin-1"),
    "M-02/doctype": replace(STRICT, doctype_allowed=lambda doctype: True),
    "M-02/internal-entities": replace(
        STRICT, doctype_allowed=lambda doctype: _declares_entities(doctype) and not _external(doctype)
    ),
    "M-02/external-entity": replace(STRICT, doctype_allowed=_external),
    "M-02/doctype-without-entities": replace(
        STRICT, doctype_allowed=lambda doctype: not _declares_entities(doctype)
    ),
    "M-02/before-parsing": replace(STRICT, doctype_before_parsing=False),
    "M-03/envelope-schema": replace(STRICT, envelope_schema=False),
    "M-04/payload-schema": replace(STRICT, payload_schema=False),
    "M-18/version": replace(STRICT, version_checked=False),
    "M-05/missing": replace(STRICT, signature_required=False),
    "M-06/digest": replace(STRICT, value_check=lax_signatures.value_only),
    "M-06/value": replace(STRICT, value_check=lax_signatures.digests_only),
    "M-07/wrapping": replace(STRICT, references_accepted=references_by_name),
    "M-07/duplicate-ids": replace(STRICT, unique_ids=False),
    "M-07/reference-order": replace(STRICT, references_accepted=references_in_any_order),
    "M-07/missing-reference": replace(STRICT, references_accepted=references_subset),
    "M-07/extra-reference": replace(STRICT, references_accepted=references_superset),
    "M-07/foreign-transform": replace(
        STRICT, transforms_accepted=foreign_transforms_too, value_check=lax_signatures.value_only_if_foreign
    ),
    "M-07/missing-transform": replace(STRICT, transforms_accepted=transforms_or_none),
    "M-07/canonicalization": replace(STRICT, canonicalizations=None),
    "M-08/chain": replace(STRICT, signer_ca="any"),
    "M-08/party-ca": replace(STRICT, signer_ca="any-party"),
    "M-08/key-usage": replace(STRICT, key_usage=False),
    "M-08/eku": replace(STRICT, extended_key_usage=False),
    "M-08/no-certificate": replace(STRICT, certificate_required=False),
    "M-09/expired": replace(STRICT, not_after=False),
    "M-09/not-yet-valid": replace(STRICT, not_before=False),
    "M-10/revoked": replace(STRICT, revocation=False),
    "M-11/country": replace(STRICT, country=False),
    "M-12/weak-digest": replace(STRICT, digest_methods=STRICT.digest_methods | {ds.SHA1, ds.MD5}),
    "M-12/weak-signature-method": replace(STRICT, signature_methods=STRICT.signature_methods | {ds.RSA_SHA1}),
    "M-12/short-key": replace(STRICT, min_rsa_bits=1024),
    "M-13/to": replace(STRICT, receiver_checked=False),
    "M-14/payload": replace(STRICT, payload_matches_action=False),
    "M-14/cancel-carrying-co": replace(STRICT, payload_unmatched_actions=frozenset({"CancelCO"})),
    "M-14/replace-carrying-cancellation": replace(STRICT, payload_unmatched_actions=frozenset({"ReplaceCO"})),
    "M-15/stale": replace(STRICT, max_age=None),
    "M-15/future": replace(STRICT, future_skew=None),
    "M-15/inclusive-window": replace(STRICT, max_age=timedelta(hours=12)),
    "M-17/conflict": replace(STRICT, conflicts_refused=False),
    # too strict: a valid variant of sections 2-4 refused
    "M-12/sha384-digest": replace(STRICT, digest_methods=frozenset({ds.SHA256, ds.SHA512})),
    "M-12/sha512-digest": replace(STRICT, digest_methods=frozenset({ds.SHA256, ds.SHA384})),
    "M-12/ecdsa": replace(STRICT, signature_methods=frozenset({ds.RSA_SHA256})),
    "M-15/exact-bounds": replace(
        STRICT,
        max_age=timedelta(hours=24) - _EDGE,
        future_skew=timedelta(minutes=15) - _EDGE,
    ),
    "M-03/max-lengths": replace(STRICT, over_strict=over_strict.longest_message_id),
    "M-04/max-lengths": replace(STRICT, over_strict=over_strict.longest_co_texts),
    "M-04/optional-present": replace(STRICT, over_strict=over_strict.optional_co_elements),
    "M-04/optional-absent": replace(STRICT, over_strict=over_strict.vessel_or_flight_required),
    "M-03/optional-ref-to-message-id": replace(STRICT, over_strict=over_strict.no_ref_on_requests),
    "M-03/any-ncname-id": replace(STRICT, over_strict=over_strict.plain_ids),
    "M-15/utc-offset": replace(STRICT, over_strict=over_strict.zulu_only),
}

# BR-12's clauses are the envelope signature's checks applied to the CO's own signature.
_CO_SIGNATURE = {
    "BR-12/tampered": "M-06/digest",
    "BR-12/signature-value": "M-06/value",
    "BR-12/authority-key-usage": None,
    "BR-12/wrong-country-authority": "M-11/country",
    "BR-12/expired-authority": "M-09/expired",
    "BR-12/not-yet-valid-authority": "M-09/not-yet-valid",
    "BR-12/revoked-authority": "M-10/revoked",
    "BR-12/untrusted-authority": "M-08/chain",
    "BR-12/foreign-transform": "M-07/foreign-transform",
}
LAX.update(
    {
        purpose: replace(STRICT, co_signature=LAX[envelope])
        for purpose, envelope in _CO_SIGNATURE.items()
        if envelope
    }
)
LAX["BR-12/authority-key-usage"] = replace(STRICT, co_signature=replace(STRICT, non_repudiation=False))
LAX["BR-12/other-party-authority"] = replace(
    STRICT, co_signature=replace(STRICT, signer_ca="any-party", country=False)
)
LAX["BR-12/weak-algorithm"] = replace(
    STRICT,
    co_signature=replace(
        STRICT,
        digest_methods=STRICT.digest_methods | {ds.SHA1, ds.MD5},
        signature_methods=STRICT.signature_methods | {ds.RSA_SHA1},
    ),
)
LAX["BR-12/unsigned"] = replace(STRICT, unsigned_co_accepted=True)
LAX["BR-12/allowed-digests"] = replace(
    STRICT, co_signature=replace(STRICT, digest_methods=frozenset({ds.SHA256}))
)
LAX["BR-12/ecdsa"] = replace(
    STRICT, co_signature=replace(STRICT, signature_methods=frozenset({ds.RSA_SHA256}))
)
LAX["BR-12/short-key"] = replace(STRICT, co_signature=replace(STRICT, min_rsa_bits=1024))
LAX["BR-12/weak-signature-method"] = replace(STRICT, co_signature=LAX["M-12/weak-signature-method"])
LAX["BR-12/canonicalization"] = replace(STRICT, co_signature=LAX["M-07/canonicalization"])
LAX["BR-12/extra-reference"] = replace(STRICT, co_signature=LAX["M-07/extra-reference"])
# issue 17: section 4's algorithms, every allowed one taken and every refused neighbour refused
LAX["M-12/ecdsa-p384"] = replace(STRICT, ecdsa_curves=frozenset({"secp256r1", "secp384r1"}))
LAX["BR-12/ecdsa-p384"] = replace(STRICT, co_signature=LAX["M-12/ecdsa-p384"])
LAX["BR-12/md5-digest"] = replace(
    STRICT,
    co_signature=replace(
        STRICT,
        digest_methods=STRICT.digest_methods | {ds.MD5},
        value_check=lax_signatures.value_and_digests,  # signxml refuses MD5 itself: BR-12 all the same
    ),
)
LAX["M-12/rsa-2048"] = replace(STRICT, min_rsa_bits=3072)  # too strict: RSA 2048 is allowed
LAX["M-12/ecdsa-sha1"] = replace(
    STRICT,
    signature_methods=STRICT.signature_methods | {ds.ECDSA_SHA1},
    ecdsa_methods=STRICT.ecdsa_methods | {ds.ECDSA_SHA1},
    value_check=lax_signatures.value_and_digests,  # whether signxml takes SHA-1 is not the point
)
LAX["BR-12/ecdsa-sha1"] = replace(STRICT, co_signature=LAX["M-12/ecdsa-sha1"])
LAX["BR-12/rsa-2048"] = replace(STRICT, co_signature=LAX["M-12/rsa-2048"])


def dropping(rule: str) -> Policy:
    """A receiver that does not apply the business rule ``rule``."""
    return replace(STRICT, dropped_rules=frozenset({rule}))
