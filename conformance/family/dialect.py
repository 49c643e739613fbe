"""One protocol, several profiles: what the shared EFDX protocol code reads from a profile.

RCPX 1.0 is written as a difference from EFDX 1.0: the envelope, the signals, the T-, M- and A-
requirements and their order are EFDX's; namespaces, paths, parties, codes, the CO and its rules
are the profile's own. So the protocol modules of this pack (judge, signals, steps, the harness
inbox, the reference NSW, the vector builders) are written once against a ``Dialect``, and each
profile of the family gives one: a bundle of its modules with the same names (codes, messages,
rules, catalogue) plus where its schemas and test PKI live. EFDX is the default wherever a caller
names none, so existing callers keep working; an RCPX path that forgets to pass its dialect fails
loudly on the first namespace check rather than passing quietly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from conformance.profiles.efdx import catalogue as efdx_catalogue
from conformance.profiles.efdx import codes as efdx_codes
from conformance.profiles.efdx import messages as efdx_messages
from conformance.profiles.efdx import rules as efdx_rules


@dataclass(frozen=True, eq=False)
class Dialect:
    """A profile of the family, as the shared protocol code sees it."""

    key: str  # "efdx": also the folder of its schemas and test vectors
    codes: ModuleType  # ENVELOPE_NS, PAYLOAD_NS, PARTIES, PAYLOAD_FOR_ACTION, error_code() ...
    messages: ModuleType  # render(), sample_certificate(), EnvelopeFields, envelope(), serialize() ...
    rules: ModuleType  # check_certificate(), check_cancellation(), Context, Finding
    catalogue: ModuleType  # requirement(), requirements(), CHECK_ORDER
    payload_schema: str  # the payload XSD's file name in schemas/<key>/
    load_pki: Callable[[], Any]
    faults: Callable[[], Any]  # the reference NSW's seeded faults (name, purpose, policy ...)
    # who sends and who receives the dated vector set (the bad signers claim the sender's party)
    vector_parties: dict[str, str] = field(default_factory=lambda: {"sender": "SG", "receiver": "KH"})

    @property
    def title(self) -> str:
        return self.codes.TITLE

    def error_code(self, requirement: str) -> str:
        return self.codes.error_code(requirement)

    def own_code(self, code: str) -> str:
        """An EFDX error code, as the shared suite writes it, in this profile's words."""
        if code.startswith(efdx_codes.ERROR_PREFIX):
            return self.error_code(efdx_codes.code_requirement(code))
        return next(iter(self.own_rules([code])), code)

    def own_rules(self, rules: Any) -> list[str]:
        """Rule IDs the shared suite names (EFDX's BR-nn) as this profile names them (RCPX: RBR-nn);
        a rule with no counterpart is dropped."""
        catalogue = self.catalogue.catalogue()
        return [found for found in (catalogue.resolve(rule) for rule in rules) if found is not None]

    def e(self, name: str) -> str:
        """The Clark name of an envelope element: ``{urn:efdx:envelope:1}Header``."""
        return f"{{{self.codes.ENVELOPE_NS}}}{name}"

    def p(self, name: str) -> str:
        """The Clark name of a payload element: ``{urn:efdx:eformd:1}CertificateOfOrigin``."""
        return f"{{{self.codes.PAYLOAD_NS}}}{name}"

    @property
    def namespaces(self) -> dict[str, str]:
        """Prefixes for XPath: ``e`` the envelope, ``f`` the payload."""
        return {"e": self.codes.ENVELOPE_NS, "f": self.codes.PAYLOAD_NS}

    def fault(self, name: str | None) -> Any:
        """The seeded fault called ``name`` (None for None); KeyError naming the choices otherwise."""
        if name is None:
            return None
        for found in self.faults():
            if found.name == name:
                return found
        known = ", ".join(found.name for found in self.faults())
        raise KeyError(f"unknown fault {name!r}; known: {known}")

    @functools.cached_property
    def schemas(self) -> Any:
        from conformance.profiles.efdx.validation import SchemaSet

        return SchemaSet(self.key, self.payload_schema)


def _efdx_pki() -> Any:
    from conformance.profiles.efdx.pki import TestPki

    return TestPki.load()


def _efdx_faults() -> Any:
    from conformance.profiles.efdx.reference.faults import FAULTS

    return FAULTS


EFDX = Dialect(
    key="efdx",
    codes=efdx_codes,
    messages=efdx_messages,
    rules=efdx_rules,
    catalogue=efdx_catalogue,
    payload_schema="eformd.xsd",
    load_pki=_efdx_pki,
    faults=_efdx_faults,
)


def of(harness: Any) -> Dialect:
    """The dialect of the profile a harness runs (EFDX 1.0 for a harness given none)."""
    profile = getattr(harness, "profile", None)
    found = getattr(profile, "extras", {}).get("dialect") if profile is not None else None
    return found if isinstance(found, Dialect) else EFDX
