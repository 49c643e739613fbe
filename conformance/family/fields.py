"""The family's field-line machinery: section 3's field lines as data, each bound of a structure
broken or met by one vector.

Coverage comes from the spec's text: every field line of a structure block states a cardinality, a
code list or another bound, and each of them is exercised on both sides. A ``Case`` is one such
side: the test purpose, the vector (the valid message of the builders with one change, re-signed,
so that nothing else is wrong), what a conforming receiver answers (the vector manifest holds it:
``tests/test_fields.py`` keeps the two in step), and the seeded fault that proves the vector can
fail (a declaration of the reference NSW's own copy of the schemas changed, see
``family/reference/schema_faults.py``; each pack's ``reference/seeded_faults.py`` turns ``FaultSpec`` into
faults):

- cardinality 1: the element absent, and twice, are refused (M-03 in the envelope, M-04 in a payload);
- 1..n: none refused, several taken; 0..1: absent and present taken, twice refused;
- a code list: every listed code taken, one outside refused; a length or pattern: the longest taken,
  one over refused.

The family's helpers and the Header's cases (section 3.1, the same in every profile of the family)
are here; each pack's CO cases are its own ``fields.py`` (EFDX's ``CASES``, RCPX's).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from conformance.core import xmldsig as ds
from conformance.family.nodes import required

# (fault name, what the faulty NSW does, schema_faults function, its arguments)
FaultSpec = tuple[str, str, str, tuple[Any, ...]]
LOCATION = ("location", "location-selects-node", "location-offending-node")


@dataclass(frozen=True)
class Case:
    """One side of one bound of a field line: a purpose, its vector, its answer, its faults."""

    purpose: str  # "M-04/reference-number-absent"
    clause: str  # the purpose's clause, in words (purposes.toml)
    vector: str  # the vector's id (manifest.toml)
    description: str  # the vector's description
    change: Callable[[Any], None]  # applied to a default Build of the vector
    refused: bool  # True: the requirement's Error (M-03, M-04); False: taken (and ACCEPTED for a CO)
    offending: tuple[str, ...] = ()  # the broken nodes, as location paths (errata 2)
    faults: tuple[FaultSpec, ...] = ()
    action: str = "IssueCO"
    also: tuple[str, ...] = ()  # further purposes the vector covers

    @property
    def requirement(self) -> str:
        return self.purpose.split("/")[0]

    @property
    def purposes(self) -> list[str]:
        """The vector's purposes: its own, and the Location's where the Error must give one."""
        own = [self.purpose, *self.also]
        return own + [f"{self.requirement}/{name}" for name in LOCATION] if self.refused else own


# --- changes of the message, by local name ({*}: any profile's namespace) ------------------------


def in_co(change: Callable[[etree._Element], object]) -> Callable[[Any], None]:
    """A change of the CO before its authority signs it (the envelope is signed after)."""
    return lambda build: build.co_before_signing.append(change)


def in_envelope(change: Callable[[etree._Element], object]) -> Callable[[Any], None]:
    """A change of the envelope before the sender's NSW signs it."""
    return lambda build: build.before_signing.append(change)


def drop(path: str) -> Callable[[etree._Element], None]:
    """The first element at ``path`` removed."""
    return lambda root: ds.remove_keeping_tail(required(root, path))


def drop_all(path: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        for node in root.findall(path):
            ds.remove_keeping_tail(node)

    return change


def twice(path: str) -> Callable[[etree._Element], None]:
    """The first element at ``path`` followed by a copy of itself."""

    def change(root: etree._Element) -> None:
        node = required(root, path)
        node.addnext(copy.deepcopy(node))

    return change


def text(path: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        required(root, path).text = value

    return change


def attribute(path: str, name: str, value: str | None) -> Callable[[etree._Element], None]:
    """The attribute ``name`` of the element at ``path`` set (None: removed)."""

    def change(root: etree._Element) -> None:
        node = required(root, path)
        if value is None:
            node.attrib.pop(name)
        else:
            node.set(name, value)

    return change


def swap(first: str, second: str) -> Callable[[etree._Element], None]:
    """Two sibling elements in each other's place (``second`` moved before ``first``)."""

    def change(root: etree._Element) -> None:
        node = required(root, second)
        ds.remove_keeping_tail(node)
        required(root, first).addprevious(node)

    return change


def data(**changes: Any) -> Callable[[Any], None]:
    """The sample CO's data with ``changes`` (a dict value merged into the sample's)."""

    def change(build: Any) -> None:
        sample = build.co()
        for key, value in changes.items():
            sample[key] = sample[key] | value if isinstance(value, dict) and sample.get(key) else value
        build.data = sample

    return change


# --- cases of a cardinality -------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A structure whose children the cases change: how to change them, how a location path names
    them, where the schema declares them (file, owner) and whose Error refuses a broken one."""

    requirement: str  # "M-03" or "M-04"
    wrap: Callable[[Callable[[etree._Element], None]], Callable[[Any], None]]
    path: str  # the structure's path from the changed root ("{*}Header/"; "" for the CO itself)
    location: str  # the structure as a location path ("/env:Envelope/env:Header")
    prefix: str  # its children's prefix in a location path ("env", "co")
    file: str  # "envelope" or "payload"
    owner: str  # the complexType or element of the schema that declares its children
    title: str  # "Header", "CertificateOfOrigin", "Invoice"
    infix: str = ""  # in purpose ids: "" for the Header and the CO, "invoice-" for an Invoice's children
    fault: str = ""  # in fault names: "header-", "co-", "invoice-"

    @property
    def slug(self) -> str:
        return self.requirement.lower().replace("-", "")


def slug(name: str) -> str:
    """``MessageId`` -> ``message-id``, ``FOBValue`` -> ``fob-value``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def one(where: Where, name: str, then: str | None, section: str) -> list[Case]:
    """Cardinality 1 (stated, or "otherwise exactly one"): absent refused, twice refused. ``then``:
    the element found in its place when it is missing (what a validator names; None: the end, so
    the missing element), with its prefix where it is not the structure's (``ds:Signature``)."""
    field, req, loc, what = slug(name), where.requirement, where.location, where.title
    key = f"{where.infix}{field}"
    path = f"{where.path}{{*}}{name}"
    # nothing follows: the missing element itself (a Location may then name its holder alone)
    missing = f"{loc}/{where.prefix}:{name}"
    found = missing if then is None else f"{loc}/{then if ':' in then else f'{where.prefix}:{then}'}"
    declared = (where.file, where.owner, name)
    return [
        Case(
            f"{req}/{key}-absent",
            f"Section {section}: {what}/{name} (exactly one) absent is refused 400 with {req}.",
            f"{where.slug}-{key}-absent",
            f"{what} without {name} (section {section}: exactly one)",
            where.wrap(drop(path)),
            True,
            (found,),
            ((f"{where.fault}{field}-optional", f"takes a {what} without {name}", "optional", declared),),
        ),
        Case(
            f"{req}/{key}-twice",
            f"Section {section}: {what}/{name} (exactly one) twice is refused 400 with {req}.",
            f"{where.slug}-{key}-twice",
            f"{what} with {name} twice, the second a copy of the first (section {section}: exactly one)",
            where.wrap(twice(path)),
            True,
            (f"{loc}/{where.prefix}:{name}[2]",),
            (
                (
                    f"{where.fault}{field}-repeatable",
                    f"takes {name} twice in a {what}",
                    "repeatable",
                    declared,
                ),
            ),
        ),
    ]


def ones(where: Where, names: Iterable[str], section: str, last: str | None = None) -> list[Case]:
    """Cardinality 1 for each of ``names``, consecutive in schema order (``last``: what follows)."""
    names = list(names)
    return [
        case
        for name, then in zip(names, [*names[1:], last], strict=True)
        for case in one(where, name, then, section)
    ]


def zero_or_one(
    where: Where,
    name: str,
    section: str,
    *,
    absent: Callable[[Any], None],
    present: Callable[[Any], None],
) -> list[Case]:
    """Cardinality 0..1: absent taken (a fault requires it), present taken (a fault forbids it),
    twice refused (a fault repeats it). ``absent`` and ``present`` make the valid message without and
    with it (one of them may leave the sample as it is)."""
    field, req, loc, what = slug(name), where.requirement, where.location, where.title
    key, declared = f"{where.infix}{field}", (where.file, where.owner, name)
    path = f"{where.path}{{*}}{name}"

    def present_twice(build: Any) -> None:
        present(build)
        where.wrap(twice(path))(build)

    return [
        case(
            f"{req}/{key}-absent",
            f"Section {section}: a {what} without {name} (0..1) is taken.",
            f"valid-{key}-absent",
            f"{what} without {name} (section {section}: 0..1)",
            absent,
            refused=False,
            fault=(
                f"{where.fault}{field}-required",
                f"refuses a {what} without {name}",
                "required",
                declared,
            ),
        ),
        case(
            f"{req}/{key}-present",
            f"Section {section}: a {what} with one {name} (0..1) is taken.",
            f"valid-{key}-present",
            f"{what} with one {name} (section {section}: 0..1)",
            present,
            refused=False,
            fault=(f"{where.fault}{field}-refused", f"refuses a {what} with {name}", "forbidden", declared),
        ),
        case(
            f"{req}/{key}-twice",
            f"Section {section}: a {what} with {name} (0..1) twice is refused 400 with {req}.",
            f"{where.slug}-{key}-twice",
            f"{what} with {name} twice, the second a copy of the first (section {section}: 0..1)",
            present_twice,
            refused=True,
            offending=(f"{loc}/{where.prefix}:{name}[2]",),
            fault=(
                f"{where.fault}{field}-repeatable",
                f"takes {name} twice in a {what}",
                "repeatable",
                declared,
            ),
        ),
    ]


def case(
    purpose: str,
    clause: str,
    vector: str,
    description: str,
    change: Callable[[Any], None],
    *,
    refused: bool,
    fault: FaultSpec,
    offending: tuple[str, ...] = (),
    action: str = "IssueCO",
) -> Case:
    return Case(purpose, clause, vector, description, change, refused, offending, (fault,), action)


def codes(
    where: Where,
    name: str,
    listed: Iterable[str],
    outside: str,
    simple_type: str,
    section: str,
    *,
    field: str | None = None,
    made: dict[str, Callable[[Any], None]] | None = None,
) -> list[Case]:
    """A code list: each listed code taken (a fault drops it from the list), one outside refused (a
    fault adds it). ``name``: the coded element's path from the structure (``Transport/Mode``,
    ``Item[1]/OriginCriterion/Code``); ``made``: how to make a valid message with a code that needs
    more than the code itself (an RVC Item needs its Percent and FOBValue)."""
    field, req = field or slug(name.replace("/", "")), where.requirement
    path = where.path + "/".join(f"{{*}}{step}" for step in name.split("/"))
    node = f"{where.location}/" + "/".join(f"{where.prefix}:{step}" for step in name.split("/"))
    listed, made = tuple(listed), made or {}
    taken = [
        case(
            f"{req}/{field}-codes",
            f"Section {section}: every code of {name}'s list ({' | '.join(listed)}) is taken.",
            f"valid-{field}-{code.lower()}",
            f"{where.title} with {name} {code}, one of its listed codes",
            made.get(code) or where.wrap(text(path, code)),
            refused=False,
            fault=(
                f"{field}-without-{code.lower()}",
                f"refuses {name} {code}",
                "without_code",
                (simple_type, code),
            ),
        )
        for code in listed
    ]
    return [
        *taken,
        case(
            f"{req}/{field}-outside",
            f"Section {section}: a {name} outside its list ({outside}) is refused 400 with {req}.",
            f"{where.slug}-{field}-outside",
            f"{where.title} with {name} {outside}, not in its list",
            where.wrap(text(path, outside)),
            refused=True,
            offending=(node,),
            fault=(
                f"{field}-with-{outside.lower()}",
                f"takes {name} {outside}",
                "with_code",
                (simple_type, outside),
            ),
        ),
    ]


# --- the family's Header, the same in every profile ---------------------------------------------------

HEADER = Where(
    "M-03",
    in_envelope,
    "{*}Header/",
    "/env:Envelope/env:Header",
    "env",
    "envelope",
    "HeaderType",
    "Header",
    fault="header-",
)
TRANSPORT_MODES = ("SEA", "AIR", "ROAD", "RAIL", "MULTIMODAL")


def item_one(flags: dict[str, bool] | None = None, **changes: Any) -> Callable[[Any], None]:
    """The sample CO with its first Item changed (and, in EFDX, these Flags set)."""

    def change(build: Any) -> None:
        sample = build.co()
        sample["items"][0] |= changes
        if flags:
            sample["flags"] = sample["flags"] | flags
        build.data = sample

    return change


def envelope_cases(header: Where = HEADER) -> list[Case]:
    """Section 3.1's Header, the same in every profile of the family."""
    found = header.location
    message_id_absent, *rest = ones(header, ["MessageId", "ConversationId"], "3.1", "From")
    return [
        # an Error cannot refer to a MessageId that is not there (section 3.2: "whenever ... read")
        dataclasses.replace(message_id_absent, also=("M-20/no-ref-without-message-id",)),
        # the other side of 1..255 chars (the longest and one over are m03-message-id-* of vectors.py);
        # an empty MessageId cannot be referred to either (RefToMessageId is 1..255 chars too)
        dataclasses.replace(
            case(
                "M-03/message-id-empty",
                "Section 3.1: an empty Header/MessageId (1..255 characters) is refused 400 with M-03.",
                "m03-message-id-empty",
                "Header with an empty MessageId (section 3.1: 1..255 characters)",
                in_envelope(text("{*}Header/{*}MessageId", "")),
                refused=True,
                offending=(f"{found}/env:MessageId",),
                fault=(
                    "message-id-empty-taken",
                    "takes an empty MessageId (1..255 characters read as at most 255)",
                    "restricted",
                    ("envelope", "HeaderType", "MessageId", "xs:string", {"maxLength": "255"}),
                ),
            ),
            also=("M-20/no-ref-without-message-id",),
        ),
        *rest,
        *ones(header, ["From", "To", "Action", "Timestamp"], "3.1"),
        case(
            "M-03/profile-version-absent",
            "Section 3.1: an Envelope without its profileVersion attribute is refused 400 with M-03.",
            "m03-profile-version-absent",
            "Envelope without profileVersion (sections 1 and 3.1: on every envelope)",
            in_envelope(lambda root: root.attrib.pop("profileVersion")),
            refused=True,
            offending=("/env:Envelope/@profileVersion",),
            fault=(
                "profile-version-optional",
                "takes an Envelope without profileVersion",
                "optional",
                ("envelope", "Envelope", "@profileVersion"),
            ),
        ),
        case(
            "M-03/from-non-member",
            "Section 1: a From outside the party list (TL, kept out of the default list) is refused: M-03.",
            "m03-from-non-member",
            "From TL, a code outside the party list (section 1: Timor-Leste is kept out of it)",
            in_envelope(text("{*}Header/{*}From", "TL")),
            refused=True,
            offending=(f"{found}/env:From",),
            fault=("party-list-with-tl", "takes TL as a party", "with_code", ("PartyCode", "TL")),
        ),
        case(
            "M-03/order",
            "Section 3: Header children out of order (ConversationId first) are refused 400 with M-03.",
            "m03-header-out-of-order",
            "Header with ConversationId before MessageId (section 3: children in the order listed)",
            in_envelope(swap("{*}Header/{*}MessageId", "{*}Header/{*}ConversationId")),
            refused=True,
            offending=(f"{found}/env:ConversationId", f"{found}/env:MessageId"),
            fault=(
                "header-any-order",
                "takes MessageId after ConversationId",
                "movable",
                ("envelope", "HeaderType", "MessageId", "ConversationId"),
            ),
        ),
    ]


def party_faults(parties: Iterable[str]) -> list[FaultSpec]:
    """The party list: one fault per party, refusing it wherever a party is coded (the caller leaves
    out the parties of its plain exchange, which every test would catch: the fault would break all)."""
    return [
        (f"refuse-party-{party.lower()}", f"refuses {party} as a party", "without_code", ("PartyCode", party))
        for party in parties
    ]
