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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lxml import etree

from conformance.core import business_rules
from conformance.core.catalogue import Catalogue, Requirement
from conformance.core.testpki import PkiFolder
from conformance.family import codes as family_codes
from conformance.family import messages as family_messages


class Codes(Protocol):
    """A pack's ``codes`` module: its names, code lists and paths (section 1 and 3 of its spec)."""

    @property
    def TITLE(self) -> str: ...  # "EFDX 1.0"
    @property
    def ENVELOPE_NS(self) -> str: ...
    @property
    def PAYLOAD_NS(self) -> str: ...
    @property
    def CO_ELEMENT(self) -> str: ...  # the CO's element name in the payload namespace
    @property
    def PROFILE_VERSION(self) -> str: ...
    @property
    def PARTIES(self) -> tuple[str, ...]: ...
    @property
    def PAYLOAD_FOR_ACTION(self) -> dict[str, str]: ...
    @property
    def INBOX_PATH(self) -> str: ...
    @property
    def TRIGGER_PATH(self) -> str: ...
    @property
    def TRIGGER_HEADER(self) -> str: ...
    @property
    def TOKEN_ENV(self) -> str: ...
    @property
    def MESSAGE_ID_DOMAIN(self) -> str: ...
    @property
    def ERROR_PREFIX(self) -> str: ...  # of the wire codes of T- and M- requirements ("EFDX-")
    @property
    def RULE_PREFIX(self) -> str: ...  # of its business rules' IDs ("BR-")
    @property
    def SIGNATURE_RULE(self) -> str: ...  # the CO signature's rule
    @property
    def error_code(self) -> Callable[[str], str]: ...  # M-06 -> EFDX-M06
    @property
    def code_requirement(self) -> Callable[[str], str]: ...  # EFDX-M06 -> M-06


class Messages(Protocol):
    """A pack's ``messages`` module: its templates rendered, its sample CO, its payloads, its
    envelope (the family's, ``conformance.family.messages``, in its namespace)."""

    @property
    def EnvelopeFields(self) -> type[family_messages.EnvelopeFields]: ...
    @property
    def render(self) -> Callable[[str, Mapping[str, Any]], etree._Element]: ...
    @property
    def sample_certificate(self) -> Callable[..., dict[str, Any]]: ...
    @property
    def certificate(self) -> Callable[[Mapping[str, Any]], etree._Element]: ...
    @property
    def payload(self) -> Callable[[str, Mapping[str, Any]], etree._Element]: ...
    @property
    def envelope(self) -> Callable[[family_messages.EnvelopeFields, etree._Element], etree._Element]: ...
    @property
    def message_id(self) -> Callable[..., str]: ...  # (party, seed=None)
    @property
    def conversation_id(self) -> Callable[[str, str], str]: ...
    @property
    def utc_timestamp(self) -> Callable[[datetime], str]: ...
    @property
    def serialize(self) -> Callable[[etree._Element], bytes]: ...


class Rules(Protocol):
    """A pack's ``rules`` module: its business rules on the core's rule kit (and ``STATEFUL_RULES``, the
    rules that need a history, which the reference NSW reads)."""

    @property
    def Context(self) -> type[business_rules.Context]: ...
    @property
    def Finding(self) -> type[business_rules.Finding]: ...
    @property
    def RULES(self) -> Mapping[str, Callable[..., list[business_rules.Finding]]]: ...

    @property
    def STATEFUL_RULES(self) -> tuple[str, ...]: ...  # those that need a history (the reference NSW's)

    @property
    def check_certificate(self) -> Callable[..., list[business_rules.Finding]]: ...  # (co, ctx)
    @property
    def check_cancellation(self) -> Callable[..., list[business_rules.Finding]]: ...  # (cancellation, ctx)
    @property
    def failed_rules(self) -> Callable[..., Sequence[str]]: ...  # (findings)


class CatalogueModule(Protocol):
    """A pack's ``catalogue`` module: its requirements and test purposes."""

    @property
    def CAPABILITIES(self) -> tuple[str, ...]: ...
    @property
    def CHECK_ORDER(self) -> tuple[str, ...]: ...
    @property
    def catalogue(self) -> Callable[[], Catalogue]: ...
    @property
    def requirement(self) -> Callable[[str], Requirement]: ...
    @property
    def requirements(self) -> Callable[[], tuple[Requirement, ...]]: ...


@dataclass(frozen=True, eq=False)
class Dialect:
    """A profile of the family, as the shared protocol code sees it. Every field is the pack's: a
    Dialect has no default, and the family has no default Dialect."""

    key: str  # "efdx": also the folder of its schemas and test vectors
    codes: Codes
    messages: Messages
    rules: Rules
    catalogue: CatalogueModule
    payload_schema: str  # the payload XSD's file name in schemas/<key>/
    load_pki: Callable[..., PkiFolder]  # its TEST ONLY PKI: load_pki() the committed one, load_pki(folder)
    faults: Callable[[], Sequence[Any]]  # its reference NSW's seeded faults (Fault: name, purpose ...)
    # who sends and who receives the dated vector set (the bad signers claim the sender's party)
    vector_parties: dict[str, str]

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
