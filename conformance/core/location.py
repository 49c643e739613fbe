"""Judge an Error's Location (M-03, M-04) as errata 2 defines it, without evaluating candidate XPath.

Errata 2: "Location is an XPath 1.0 location path into the refused message, at most 512 characters:
steps and position predicates only, no other functions. A receiver may write it with the prefixes
env (envelope namespace), co (the CO's namespace) and ds (XML-DSig), or with unprefixed names,
which a judge reads as *[local-name()='name']. It must select at least one node, and every node it
selects must be the offending element or attribute, or the element that holds it."

A Location is candidate text: it is never handed to an XPath engine. This module parses that
restricted grammar itself and walks the refused message's tree:

- an absolute path (``/env:Envelope/env:Header/env:To``) or a relative one, read from the document
  (``Envelope/Header/To``); ``//`` (descendant-or-self) between steps;
- a step: ``name``, ``prefix:name``, ``*``, ``prefix:*``, ``*[local-name()='name']`` (what an
  unprefixed name means), ``child::`` before any of them, ``@name`` / ``attribute::name`` (last step
  only);
- predicates: ``[n]`` or ``[position()=n]`` (n a positive integer), any number per step.

Anything else (other functions, axes, operators, unknown prefixes, over 512 characters) is outside
the grammar, and reported as such.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

MAX_LENGTH = 512
MAX_STEPS = 64

# One step: an optional axis, a node test, then predicates. Names are XML NCNames (ASCII and beyond).
_NCNAME = r"[^\W\d][\w.\-]*"
_STEP = re.compile(
    rf"""
    (?P<axis>child::|attribute::|@)?
    (?:
        \*\[\s*local-name\(\s*\)\s*=\s*(?P<quote>['"])(?P<local>{_NCNAME})(?P=quote)\s*\]
      | (?:(?P<prefix>{_NCNAME}):)?(?P<name>{_NCNAME}|\*)
    )
    (?P<predicates>(?:\[\s*(?:position\(\s*\)\s*=\s*)?\d+\s*\])*)
    """,
    re.VERBOSE | re.UNICODE,
)
_PREDICATE = re.compile(r"\[\s*(?:position\(\s*\)\s*=\s*)?(\d+)\s*\]")


class LocationSyntaxError(ValueError):
    """The Location is not a location path of errata 2's grammar."""


@dataclass(frozen=True)
class Step:
    attribute: bool
    namespace: str | None  # None: any namespace (an unprefixed name, or *[local-name()=...])
    local: str | None  # None: any name (*)
    positions: tuple[int, ...]
    descendants: bool  # preceded by // (descendant-or-self::node()/)


# A node of the refused message: an element, or (element, attribute name in Clark notation).
Node = etree._Element | tuple[etree._Element, str]


def parse(location: str, namespaces: Mapping[str, str]) -> tuple[Step, ...]:
    """The steps of ``location``; LocationSyntaxError when it is outside errata 2's grammar.

    ``namespaces``: the prefixes a receiver may use (env, co, ds) and their URIs."""
    if len(location) > MAX_LENGTH:
        raise LocationSyntaxError(f"{len(location)} characters, over the {MAX_LENGTH} allowed")
    text = location.strip()
    if not text:
        raise LocationSyntaxError("empty")
    steps: list[Step] = []
    position, descendants = 0, False
    if text.startswith("//"):
        position, descendants = 2, True
    elif text.startswith("/"):
        position = 1
    while True:
        match = _STEP.match(text, position)
        if match is None or match.end() == position:
            raise LocationSyntaxError(
                f"no step of the grammar at character {position + 1}: {text[position:]!r}"
            )
        steps.append(_step(match, namespaces, descendants))
        if len(steps) > MAX_STEPS:
            raise LocationSyntaxError(f"over {MAX_STEPS} steps")
        position = match.end()
        if position == len(text):
            break
        if text.startswith("//", position):
            position, descendants = position + 2, True
        elif text.startswith("/", position):
            position, descendants = position + 1, False
        else:
            raise LocationSyntaxError(f"unexpected {text[position:]!r} after a step")
    if any(step.attribute for step in steps[:-1]):
        raise LocationSyntaxError("an attribute step is not the last step")
    return tuple(steps)


def _step(match: re.Match[str], namespaces: Mapping[str, str], descendants: bool) -> Step:
    axis, prefix = match["axis"], match["prefix"]
    attribute = axis in ("@", "attribute::")
    namespace: str | None = None
    if prefix is not None:
        if prefix not in namespaces:
            raise LocationSyntaxError(f"prefix {prefix!r} is not one of {', '.join(sorted(namespaces))}")
        namespace = namespaces[prefix]
    elif attribute:
        namespace = ""  # an unprefixed attribute is in no namespace (Id, profileVersion, unitCode ...)
    local = match["local"] or (None if match["name"] == "*" else match["name"])
    positions = tuple(int(n) for n in _PREDICATE.findall(match["predicates"] or ""))
    if any(n < 1 for n in positions):
        raise LocationSyntaxError("a position predicate below 1 selects nothing")
    return Step(attribute, namespace, local, positions, descendants)


def _element_matches(element: etree._Element, step: Step) -> bool:
    if not isinstance(element.tag, str):
        return False  # a comment or processing instruction: not an element
    qname = etree.QName(element)
    if step.local is not None and qname.localname != step.local:
        return False
    return step.namespace is None or (qname.namespace or "") == step.namespace


def _descendants_or_self(contexts: Iterable[etree._Element | etree._ElementTree]) -> list:
    found: list = []
    for context in contexts:
        found.append(context)
        root = context.getroot() if isinstance(context, etree._ElementTree) else context
        if isinstance(context, etree._ElementTree):
            found.append(root)
        found.extend(node for node in root.iterdescendants() if isinstance(node.tag, str))
    return found


def _children(context: etree._Element | etree._ElementTree) -> list[etree._Element]:
    if isinstance(context, etree._ElementTree):
        return [context.getroot()]
    return [child for child in context if isinstance(child.tag, str)]


def _attributes(context: etree._Element | etree._ElementTree, step: Step) -> list[Node]:
    if isinstance(context, etree._ElementTree):
        return []
    found: list[Node] = []
    for name in context.attrib:
        qname = etree.QName(name)
        if step.local is not None and qname.localname != step.local:
            continue
        if step.namespace is not None and (qname.namespace or "") != step.namespace:
            continue
        found.append((context, str(name)))
    return found


def _pick(nodes: Sequence[Node], positions: tuple[int, ...]) -> list[Node]:
    for n in positions:  # each predicate filters what the one before left (XPath: in turn)
        nodes = [nodes[n - 1]] if len(nodes) >= n else []
    return list(nodes)


def select(location: str, document: etree._Element, namespaces: Mapping[str, str]) -> list[Node]:
    """The nodes of ``document`` (the refused message's root) that ``location`` selects, in order."""
    steps = parse(location, namespaces)
    contexts: list = [document.getroottree()]
    for step in steps:
        if step.descendants:
            contexts = _descendants_or_self(contexts)
        selected: list[Node] = []
        for context in contexts:
            if step.attribute:
                candidates: list[Node] = _attributes(context, step)
            else:
                candidates = [child for child in _children(context) if _element_matches(child, step)]
            selected.extend(_pick(candidates, step.positions))
        contexts = _unique(selected)
    return contexts


def _key(node: Node) -> tuple[str, str]:
    if isinstance(node, tuple):
        element, name = node
        return element.getroottree().getpath(element), name
    return node.getroottree().getpath(node), ""


def _unique(nodes: Iterable[Node]) -> list[Node]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for node in nodes:
        key = _key(node)
        if key not in seen:
            seen.add(key)
            unique.append(node)
    return unique


def describe(node: Node) -> str:
    """A node as a plain path, for a report (``/Envelope/Header/To``, ``/Envelope/Header/@Id``)."""
    element = node[0] if isinstance(node, tuple) else node
    steps = []
    current: etree._Element | None = element
    while current is not None:
        name = etree.QName(current).localname
        parent = current.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == name]
            if len(same) > 1:
                name += f"[{same.index(current) + 1}]"
        steps.append(name)
        current = parent
    path = "/" + "/".join(reversed(steps))
    return f"{path}/@{etree.QName(node[1]).localname}" if isinstance(node, tuple) else path


def _holder(node: Node) -> etree._Element | None:
    return node[0] if isinstance(node, tuple) else node.getparent()


def problem(
    location: str,
    document: etree._Element,
    namespaces: Mapping[str, str],
    offending: Sequence[str] = (),
) -> str | None:
    """What is wrong with ``location`` as the Location of a fault in ``document``; None when nothing.

    ``offending``: the offending nodes as the vector knows them (paths in the same grammar, written
    by the harness); when given, every selected node must be one of them or the element that holds
    it. A path that selects nothing names a missing element or attribute: only the element that
    should hold it is admitted. Without them only the grammar and "selects at least one node" are
    judged."""
    try:
        selected = select(location, document, namespaces)
    except LocationSyntaxError as exc:
        return f"Location {_shown(location)} is not a location path of errata 2's grammar ({exc})"
    if not selected:
        return f"Location {_shown(location)} selects no node of the refused message"
    if not offending:
        return None
    allowed: dict[tuple[str, str], Node] = {}
    for path in offending:
        found = select(path, document, namespaces)
        for node in found:
            allowed[_key(node)] = node
            holder = _holder(node)
            if holder is not None:
                allowed[_key(holder)] = holder
        if not found:  # a missing element or attribute: only the element that should hold it
            for node in select(_parent_path(path), document, namespaces):
                allowed[_key(node)] = node
    if not allowed:
        raise ValueError(f"the vector's offending node {list(offending)} is not in the message")
    wrong = [node for node in selected if _key(node) not in allowed]
    if wrong:
        shown = ", ".join(describe(node) for node in wrong[:3])
        return (
            f"Location {_shown(location)} selects {shown}, not the offending node "
            f"({', '.join(describe(node) for node in allowed.values())})"
        )
    return None


def _parent_path(path: str) -> str:
    """``path`` without its last step (``/env:Envelope/@profileVersion`` -> ``/env:Envelope``)."""
    return path.rstrip("/").rsplit("/", 1)[0] or "/"


def _shown(location: str) -> str:
    return repr(location if len(location) <= 160 else f"{location[:160]}... ({len(location)} characters)")
