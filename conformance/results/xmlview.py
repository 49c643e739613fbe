"""Exchanged XML as a reader needs it: pretty-printed, one line per node, with the offending node
marked (an Error's Fault/Location, or the failed check's location).

A message is untrusted text: it is parsed with entities, DTDs and the network off, and whatever does
not parse is shown as it came, never dropped. Locations are XPaths as EFDX writes them
(``/Envelope/Header/To``, with or without prefixes or ``{namespace}`` names, ``[n]`` steps): each
step is matched by local name so that a reader sees the node whatever notation the candidate used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

MAX_PRETTY_BYTES = 2 * 1024 * 1024  # larger bodies are shown as they came
_STEP = re.compile(r"^(?:\{[^}]*\}|[\w.-]+:)?([\w.-]+|\*)(?:\[(\d+)\])?$")


def _parser(keep_blanks: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=not keep_blanks,
    )


class Line(NamedTuple):
    text: str
    marked: bool = False


@dataclass(frozen=True)
class Shown:
    """A message ready to print: its lines, whether it was XML, and what was marked (if anything).
    The lines are kept as plain strings and the marked ones as a range of line numbers: a run's
    report shows about 100,000 lines, and an object for each was a fifth of the time to write it."""

    texts: tuple[str, ...]  # its lines
    xml: bool
    marked_at: str | None = None  # the location whose node is marked
    marked: range = range(0)  # the marked node's lines, numbered from 1

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(Line(text, number in self.marked) for number, text in enumerate(self.texts, start=1))

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def _parse(text: str, keep_blanks: bool = False) -> etree._Element | None:
    data = text.encode("utf-8")
    if not data.strip() or len(data) > MAX_PRETTY_BYTES:
        return None
    try:
        return etree.fromstring(data, _parser(keep_blanks))
    except (etree.XMLSyntaxError, ValueError):
        return None


def find(root: etree._Element, location: str) -> etree._Element | None:
    """The element at ``location`` (an absolute or relative XPath of element steps), or None."""
    path = location.strip()
    if not path or path in ("/", "./"):
        return root
    steps = [step for step in path.split("/") if step and step != "."]
    if not steps:
        return root
    current = [root]
    first = _STEP.match(steps[0])
    if path.startswith("/") and first and first.group(1) in (etree.QName(root).localname, "*"):
        steps = steps[1:]  # the root's own step
    for step in steps:
        match = _STEP.match(step)
        if not match:
            return None
        name, index = match.group(1), int(match.group(2) or 1)
        children = [
            child
            for child in current[0]
            if isinstance(child.tag, str) and (name == "*" or etree.QName(child).localname == name)
        ]
        if len(children) < index:
            return None
        current = [children[index - 1]]
    return current[0]


def _long_base64(element: etree._Element) -> str | None:
    """The element's text when it is a long run of base64 (a signature's value, a certificate)."""
    text = element.text if isinstance(element.tag, str) and len(element) == 0 else None
    if text and len(text) > 100 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", text) is not None:
        return text
    return None


def pretty(text: str, locations: tuple[str, ...] = ()) -> Shown:
    """``text`` pretty-printed when it is XML, with the lines of the node at the first location found
    marked; anything else as it came."""
    root = _parse(text)
    if root is None:
        return Shown(tuple(text.splitlines()), xml=False)
    etree.indent(root, space="  ")
    for element in root.iter():  # the signature's long base64 lines: wrapped, not one endless line
        base64_text = _long_base64(element)
        if base64_text is not None:
            compact = "".join(base64_text.split())
            element.text = "\n" + "\n".join(compact[i : i + 76] for i in range(0, len(compact), 76)) + "\n"
    serialized = etree.tostring(root, encoding="unicode")
    reparsed = _parse(serialized, keep_blanks=True) if locations else None  # to find a node's lines
    marked = range(0)
    marked_at = None
    if reparsed is not None:
        for location in locations:
            node = find(reparsed, location)
            # lxml-stubs declares sourceline as `...` (its comment: Optional[int])
            start: int | None = node.sourceline if node is not None else None  # type: ignore[assignment]
            if node is not None and start:
                span = etree.tostring(node, encoding="unicode", with_tail=False).count("\n")
                marked = range(start, start + span + 1)
                marked_at = location
                break
    return Shown(tuple(serialized.splitlines()), xml=True, marked_at=marked_at, marked=marked)


def fault_locations(text: str) -> tuple[str, ...]:
    """The Location of every Fault in an Error (none for anything else)."""
    root = _parse(text)
    if root is None or etree.QName(root).localname != "Error":
        return ()
    found = []
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname == "Location" and element.text:
            found.append(element.text.strip())
    return tuple(location for location in found if location)
