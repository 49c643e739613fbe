"""How the reference NSW's seeded faults judge: the spec's receiver with one thing made wrong.

Each entry of ``LAX`` is keyed by the test purpose it breaks and is a ``Lax``: the spec's
parameters with one changed (``Policy``: SHA-1 let in, a window one second short), or the spec's
checks with one swapped, wrapped or passed over (``core/checks.py``: a References comparison that
ignores order, a DOCTYPE that passes when it declares no entity ...), or one business rule left
out. The wrong checks are written here, in the reference NSW, and nowhere in the code that judges
candidates, which holds no switch for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from conformance.core import safexml, verify
from conformance.core import xmldsig as ds
from conformance.core.checks import Checks
from conformance.core.policy import MAX_BODY_BYTES, STRICT, Policy
from conformance.core.trust import TrustStore
from conformance.core.violations import Violation
from conformance.family import judge
from conformance.family.dialect import Rules
from conformance.family.reference import lax_signatures, over_strict


@dataclass(frozen=True)
class Lax:
    """A faulty receiver: its parameters, how it changes the spec's checks, a rule it leaves out."""

    policy: Policy = STRICT
    change: Callable[[Checks], Checks] | None = None
    without_rule: str | None = None

    def checks(self, spec: Checks = judge.CHECKS) -> Checks:
        changed = self.change(spec) if self.change else spec
        if self.without_rule:  # the rule's findings of the CO's own signature too (BR-12 left out)
            changed = changed.wrapped("co.signature", _without_findings(self.without_rule))
        return changed

    def rules(self, rulebook: Rules) -> Rules:
        return WithoutRule(rulebook, self.without_rule) if self.without_rule else rulebook


SPEC = Lax()  # the spec's receiver: faults of behaviour judge as it does


def params(**fields: Any) -> Lax:
    """The spec's checks with other parameters."""
    return Lax(policy=replace(STRICT, **fields))


def swap(name: str, run: Callable[..., Any], *more: tuple[str, Callable[..., Any]]) -> Lax:
    """The spec's checks with ``name`` done by ``run`` (and each further pair likewise)."""

    def change(checks: Checks) -> Checks:
        for each, function in ((name, run), *more):
            checks = checks.swapped(each, function)
        return checks

    return Lax(change=change)


def wrap(name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Lax:
    return Lax(change=lambda checks: checks.wrapped(name, wrapper))


def passes(*args: Any) -> None:
    """A check passed over: whatever it was given, it finds nothing wrong."""


class WithoutRule:
    """A rulebook that does not apply one of its rules (its findings dropped, never run if stateful)."""

    def __init__(self, rulebook: Rules, rule: str) -> None:
        self._rulebook, self._rule = rulebook, rule

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rulebook, name)

    @property
    def RULES(self) -> Mapping[str, Callable[..., list]]:
        return {rid: rule for rid, rule in self._rulebook.RULES.items() if rid != self._rule}

    @property
    def STATEFUL_RULES(self) -> tuple[str, ...]:
        return tuple(rid for rid in self._rulebook.STATEFUL_RULES if rid != self._rule)

    def check_certificate(self, co: etree._Element, ctx: Any) -> list:
        return [f for f in self._rulebook.check_certificate(co, ctx) if f.rule != self._rule]

    def check_cancellation(self, cancellation: etree._Element, ctx: Any) -> list:
        return [f for f in self._rulebook.check_cancellation(cancellation, ctx) if f.rule != self._rule]


def _without_findings(rule: str) -> Callable[[Callable[..., list]], Callable[..., list]]:
    def wrapper(check: Callable[..., list]) -> Callable[..., list]:
        return lambda *args: [f for f in check(*args) if f.rule != rule]

    return wrapper


# --- wrong checks ------------------------------------------------------------------------------


def recovering_parser(body: bytes) -> etree._Element:
    """M-01 made wrong: lxml's recovery mends broken XML instead of refusing it."""
    try:
        root = etree.fromstring(body, parser=safexml.hardened_parser(recover=True))
    except etree.XMLSyntaxError as exc:
        raise Violation("M-01", "one well-formed XML document", f"not well-formed: {exc}") from None
    if root is None:  # recovery found nothing
        raise Violation("M-01", "one well-formed XML document", "nothing could be read")
    return root


def read_as_latin1(body: bytes) -> bytes:
    """M-01 made wrong: bytes that are not UTF-8 read as Latin-1 instead of refused."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1").encode("utf-8")
    return body


def parsed_first(check: Callable[[bytes, bytes], bool]) -> Callable[[bytes, bytes], bool]:
    """M-02 made wrong: the body parsed before its DOCTYPE is looked at (a broken one is then M-01)."""

    def doctype(body: bytes, prolog: bytes) -> bool:
        safexml.well_formed(body)
        return check(body, prolog)

    return doctype


def unchecked_for(action: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """M-14 made wrong for one Action: its payload is taken whatever it is."""

    def wrapper(check: Callable[..., None]) -> Callable[..., None]:
        def payload_action(payload: etree._Element, header: judge.Header, dialect: Any) -> None:
            if header.action != action:
                check(payload, header, dialect)

        return payload_action

    return wrapper


def refusing(refusal: Callable[[etree._Element], Violation | None]) -> Lax:
    """Too strict: after the payload schema, a valid variant of the Envelope refused (over_strict)."""

    def wrapper(check: Callable[..., None]) -> Callable[..., None]:
        def payload_schema(payload: etree._Element, *args: Any) -> None:
            check(payload, *args)
            violation = refusal(payload.getroottree().getroot())
            if violation is not None:
                raise violation

        return payload_schema

    return wrap("payload.schema", wrapper)


def any_chain(store: TrustStore, chain: Any, party: str) -> Any:
    """M-08 made wrong: the chain is not checked to end at any CA."""
    return chain


def any_party_ca(store: TrustStore, chain: Any, party: str) -> Any:
    """M-08 made wrong: a chain ending at any trusted party's CA will do."""
    return store.chain_to_ca(chain, store.issuing_party(chain[-1], party) if chain else party)


def certificate_if_any(signature: etree._Element) -> Any:
    """M-08 made wrong: a signature without a certificate is taken on trust."""
    return verify.signer_chain(signature) if signature.findall(f".//{ds.DS}X509Certificate") else None


def never_revoked(store: TrustStore, chain: Any, party: str, at: datetime) -> None:
    """M-10 made wrong: no CRL is read."""
    return None


def signature_optional(signature: etree._Element | None) -> bool:
    """M-05 made wrong: an Envelope without a signature is taken unsigned."""
    return signature is not None


def unsigned_co_taken(check: Callable[..., list]) -> Callable[..., list]:
    """BR-12 made wrong: an unsigned CO is taken (a signed one is still checked)."""
    return lambda receiver, co, at: [] if verify.find_signature(co) is None else check(receiver, co, at)


def co_signature(envelope: Lax) -> Lax:
    """BR-12's clauses are the envelope signature's checks applied to the CO's own signature: the
    CO's signature judged as the faulty ``envelope`` receiver judges an Envelope's."""

    checks = envelope.checks()  # once: the table is the same for every CO

    def check(receiver: judge.Receiver, co: etree._Element, at: datetime) -> list:
        return judge.co_signed_by_authority(receiver, co, at, policy=envelope.policy, checks=checks)

    return swap("co.signature", check)


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
    names: list[str | None] = []
    for uri in uris:
        nodes = ds.elements(root, "//*[@Id=$id]", id=uri[1:]) if uri and uri.startswith("#") else []
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

LAX: dict[str, Lax] = {
    "T-03/content-type": params(content_types=None),
    "T-03/text-xml": params(content_types=frozenset({"application/xml"})),
    "T-04/over-5-mib": params(max_body_bytes=None),
    "T-04/one-byte-over": params(max_body_bytes=MAX_BODY_BYTES + 1),
    "T-04/exactly-5-mib": params(max_body_bytes=MAX_BODY_BYTES - 1),
    "M-01/well-formed": swap("xml.well-formed", recovering_parser),
    "M-01/declared-encoding": params(encodings=None),
    "M-01/invalid-utf8": swap("xml.utf-8", read_as_latin1),
    "M-02/doctype": swap("xml.doctype", lambda body, doctype: True),
    "M-02/internal-entities": swap(
        "xml.doctype", lambda body, doctype: _declares_entities(doctype) and not _external(doctype)
    ),
    "M-02/external-entity": swap("xml.doctype", lambda body, doctype: _external(doctype)),
    "M-02/doctype-without-entities": swap(
        "xml.doctype", lambda body, doctype: not _declares_entities(doctype)
    ),
    "M-02/before-parsing": wrap("xml.doctype", parsed_first),
    "M-03/envelope-schema": swap("envelope.schema", passes),
    "M-04/payload-schema": swap("payload.schema", passes),
    "M-18/version": swap("envelope.version", passes),
    "M-05/missing": swap("signature.present", signature_optional),
    "M-06/digest": swap("signature.value", lax_signatures.value_only),
    "M-06/value": swap("signature.value", lax_signatures.digests_only),
    "M-07/wrapping": swap("signature.references", references_by_name),
    "M-07/duplicate-ids": swap("signature.unique-ids", passes),
    "M-07/reference-order": swap("signature.references", references_in_any_order),
    "M-07/missing-reference": swap("signature.references", references_subset),
    "M-07/extra-reference": swap("signature.references", references_superset),
    "M-07/foreign-transform": swap(
        "signature.transforms",
        foreign_transforms_too,
        ("signature.value", lax_signatures.value_only_if_foreign),
    ),
    "M-07/missing-transform": swap("signature.transforms", transforms_or_none),
    "M-07/canonicalization": params(canonicalizations=None),
    "M-08/chain": swap("signer.chain", any_chain),
    "M-08/party-ca": swap("signer.chain", any_party_ca),
    "M-08/key-usage": swap("signer.key-usage", passes),
    "M-08/eku": swap("signer.extended-key-usage", passes),
    "M-08/no-certificate": swap("signer.certificate", certificate_if_any),
    "M-09/expired": swap("signer.not-after", passes),
    "M-09/not-yet-valid": swap("signer.not-before", passes),
    "M-10/revoked": swap("signer.revocation", never_revoked),
    "M-11/country": swap("signer.country", passes),
    "M-12/weak-digest": params(digest_methods=STRICT.digest_methods | {ds.SHA1, ds.MD5}),
    "M-12/weak-signature-method": params(signature_methods=STRICT.signature_methods | {ds.RSA_SHA1}),
    "M-12/short-key": params(min_rsa_bits=1024),
    "M-13/to": swap("header.to", passes),
    "M-14/payload": swap("payload.action", passes),
    "M-14/cancel-carrying-co": wrap("payload.action", unchecked_for("CancelCO")),
    "M-14/replace-carrying-cancellation": wrap("payload.action", unchecked_for("ReplaceCO")),
    "M-15/stale": params(max_age=None),
    "M-15/future": params(future_skew=None),
    "M-15/inclusive-window": params(max_age=timedelta(hours=12)),
    "M-17/conflict": swap("duplicate.same-content", passes),
    # too strict: a valid variant of sections 2-4 refused
    "M-12/sha384-digest": params(digest_methods=frozenset({ds.SHA256, ds.SHA512})),
    "M-12/sha512-digest": params(digest_methods=frozenset({ds.SHA256, ds.SHA384})),
    "M-12/ecdsa": params(signature_methods=frozenset({ds.RSA_SHA256})),
    "M-15/exact-bounds": params(
        max_age=timedelta(hours=24) - _EDGE, future_skew=timedelta(minutes=15) - _EDGE
    ),
    "M-03/max-lengths": refusing(over_strict.longest_message_id),
    "M-04/max-lengths": refusing(over_strict.longest_co_texts),
    "M-04/optional-present": refusing(over_strict.optional_co_elements),
    "M-04/optional-absent": refusing(over_strict.vessel_or_flight_required),
    "M-03/optional-ref-to-message-id": refusing(over_strict.no_ref_on_requests),
    "M-03/any-ncname-id": refusing(over_strict.plain_ids),
    "M-15/utc-offset": refusing(over_strict.zulu_only),
}

# BR-12's clauses are the envelope signature's checks applied to the CO's own signature.
_CO_SIGNATURE = {
    "BR-12/tampered": "M-06/digest",
    "BR-12/signature-value": "M-06/value",
    "BR-12/wrong-country-authority": "M-11/country",
    "BR-12/expired-authority": "M-09/expired",
    "BR-12/not-yet-valid-authority": "M-09/not-yet-valid",
    "BR-12/revoked-authority": "M-10/revoked",
    "BR-12/untrusted-authority": "M-08/chain",
    "BR-12/foreign-transform": "M-07/foreign-transform",
    "BR-12/weak-signature-method": "M-12/weak-signature-method",
    "BR-12/canonicalization": "M-07/canonicalization",
    "BR-12/extra-reference": "M-07/extra-reference",
}
LAX.update({purpose: co_signature(LAX[envelope]) for purpose, envelope in _CO_SIGNATURE.items()})
LAX["BR-12/authority-key-usage"] = co_signature(swap("signer.non-repudiation", passes))
LAX["BR-12/other-party-authority"] = co_signature(
    swap("signer.chain", any_party_ca, ("signer.country", passes))
)
LAX["BR-12/weak-algorithm"] = co_signature(
    params(
        digest_methods=STRICT.digest_methods | {ds.SHA1, ds.MD5},
        signature_methods=STRICT.signature_methods | {ds.RSA_SHA1},
    )
)
LAX["BR-12/unsigned"] = wrap("co.signature", unsigned_co_taken)
LAX["BR-12/allowed-digests"] = co_signature(params(digest_methods=frozenset({ds.SHA256})))
LAX["BR-12/ecdsa"] = co_signature(params(signature_methods=frozenset({ds.RSA_SHA256})))
LAX["BR-12/short-key"] = co_signature(params(min_rsa_bits=1024))
# issue 17: section 4's algorithms, every allowed one taken and every refused neighbour refused
LAX["M-12/ecdsa-p384"] = params(ecdsa_curves=frozenset({"secp256r1", "secp384r1"}))
LAX["BR-12/ecdsa-p384"] = co_signature(LAX["M-12/ecdsa-p384"])
LAX["BR-12/md5-digest"] = co_signature(
    Lax(  # signxml refuses MD5 itself: BR-12 all the same
        policy=replace(STRICT, digest_methods=STRICT.digest_methods | {ds.MD5}),
        change=lambda checks: checks.swapped("signature.value", lax_signatures.value_and_digests),
    )
)
LAX["M-12/rsa-2048"] = params(min_rsa_bits=3072)  # too strict: RSA 2048 is allowed
LAX["M-12/ecdsa-sha1"] = Lax(  # whether signxml takes SHA-1 is not the point
    policy=replace(
        STRICT,
        signature_methods=STRICT.signature_methods | {ds.ECDSA_SHA1},
        ecdsa_methods=STRICT.ecdsa_methods | {ds.ECDSA_SHA1},
    ),
    change=lambda checks: checks.swapped("signature.value", lax_signatures.value_and_digests),
)
LAX["BR-12/ecdsa-sha1"] = co_signature(LAX["M-12/ecdsa-sha1"])
LAX["BR-12/rsa-2048"] = co_signature(LAX["M-12/rsa-2048"])


def dropping(rule: str) -> Lax:
    """A receiver that does not apply the business rule ``rule``."""
    return Lax(without_rule=rule)
