"""One protocol, several profiles: what the family's shared protocol code reads from a profile.

RCPX 1.0 is written as a difference from EFDX 1.0: the envelope, the signals, the T-, M- and A-
requirements and their order are the family's; namespaces, paths, parties, codes, the CO and its
rules are the profile's own. So the family's protocol modules (judge, signals, steps, the harness
inbox, the reference NSW, the vector builders) are written once against a ``Dialect``, and each
pack of the family gives one: a bundle of its modules with the same names (codes, messages, rules,
catalogue) plus where its schemas and test PKI live. There is no default: every caller passes the
dialect it speaks (or an object that carries one), and a harness whose profile gives none is an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from conformance.family import codes as family_codes


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
        """An error code as the shared suite writes it (the family's base words: ``EFDX-M17``), in
        this profile's words."""
        if code.startswith(family_codes.BASE_ERROR_PREFIX):
            return self.error_code(family_codes.code_requirement(code, family_codes.BASE_ERROR_PREFIX))
        return next(iter(self.own_rules([code])), code)

    def own_rules(self, rules: Any) -> list[str]:
        """Rule IDs the shared suite names (the family's base words, EFDX's BR-nn) as this profile
        names them (RCPX: RBR-nn);
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
        from conformance.family.validation import SchemaSet

        return SchemaSet(self.key, self.payload_schema)


def of(harness: Any) -> Dialect:
    """The dialect of the profile a harness runs; LookupError when its profile gives none (a profile
    not of the family: there is no default dialect)."""
    profile = getattr(harness, "profile", None)
    found = getattr(profile, "extras", {}).get("dialect") if profile is not None else None
    if not isinstance(found, Dialect):
        title = getattr(profile, "title", None) or repr(profile)
        raise LookupError(f"{title} is not a profile of the signed-XML exchange family: it gives no Dialect")
    return found
