"""Seeded faults in the reference NSW's own copy of its schemas: one declaration changed.

An NSW often validates against its own copy of the profile's schemas, one facet off: an element
made optional or repeatable, a code dropped from a list or added to it, a pattern widened or
narrowed. Each such fault is a ``SchemaEdit`` of one declaration; the reference NSW that runs it
compiles a copy of its profile's schemas with the edit made (``edited_schemas``) and hands them to
the shared judge, which answers as that NSW would. STRICT, the judge and the harness know none of it.

Declarations are found by name, so that one edit serves every profile of the family: the ``owner``
is a named complexType, element or simpleType of the file, ``name`` the element or attribute
declared inside it.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import cast

from lxml import etree

from conformance.family.validation import SchemaSet

XS = "http://www.w3.org/2001/XMLSchema"
_NS = {"xs": XS}


@dataclass(frozen=True)
class SchemaEdit:
    """One declaration of one schema file changed: ``file`` is "envelope", "payload" or "codelists"."""

    file: str
    owner: str
    name: str = ""  # an element declared in the owner, "@name" an attribute, "*" its xs:any; "" the owner
    attributes: dict[str, str] = field(default_factory=dict)  # set on the declaration (minOccurs ...)
    drop_codes: tuple[str, ...] = ()  # enumeration values taken out of the owner (a simpleType)
    add_codes: tuple[str, ...] = ()  # enumeration values added to it
    restriction: tuple[str, dict[str, str]] | None = None  # the element's type, restricted: base, facets
    pattern: str | None = None  # the owner's (a simpleType's) pattern facet, replaced
    after: str | None = None  # a copy of the declaration put after this sibling, both optional

    def apply(self, schema: etree._ElementTree) -> None:
        owners = _elements(schema.xpath("//xs:*[@name=$owner]", namespaces=_NS, owner=self.owner))
        if not owners:
            raise ValueError(f"no declaration {self.owner!r} in the {self.file} schema")
        node = owners[0]
        if self.name == "*":
            found = _elements(node.xpath(".//xs:any", namespaces=_NS))
            if not found:
                raise ValueError(f"no xs:any in {self.owner!r}")
            node = found[0]
        elif self.name:
            kind = "attribute" if self.name.startswith("@") else "element"
            found = _elements(
                node.xpath(f".//xs:{kind}[@name=$name]", namespaces=_NS, name=self.name.lstrip("@"))
            )
            if not found:
                raise ValueError(f"no {kind} {self.name!r} in {self.owner!r}")
            node = found[0]
        for key, value in self.attributes.items():
            node.set(key, value)
        if self.drop_codes or self.add_codes or self.pattern is not None:
            restriction = _child(node, "restriction", self.owner)
            for code in self.drop_codes:
                for enumeration in _elements(
                    restriction.xpath("xs:enumeration[@value=$v]", namespaces=_NS, v=code)
                ):
                    restriction.remove(enumeration)
            for code in self.add_codes:
                etree.SubElement(restriction, f"{{{XS}}}enumeration", value=code)
            if self.pattern is not None:
                _child(restriction, "pattern", self.owner).set("value", self.pattern)
        if self.after is not None:
            parent = node.getparent()
            assert parent is not None  # a named declaration is inside xs:schema at least
            sibling = _elements(parent.xpath("xs:element[@name=$name]", namespaces=_NS, name=self.after))[0]
            node.set("minOccurs", "0")
            sibling.addnext(copy.deepcopy(node))
        if self.restriction is not None:
            base, facets = self.restriction
            node.attrib.pop("type", "")  # if it has one
            simple = etree.SubElement(node, f"{{{XS}}}simpleType")
            restricted = etree.SubElement(simple, f"{{{XS}}}restriction", base=base)
            for facet, value in facets.items():
                etree.SubElement(restricted, f"{{{XS}}}{facet}", value=value)


def _elements(found: object) -> list[etree._Element]:
    """What an XPath that selects elements found (lxml types every XPath result alike)."""
    return cast(list[etree._Element], found)


def _child(node: etree._Element, name: str, owner: str) -> etree._Element:
    """The xs:``name`` child of ``node``; ValueError if the declaration has none."""
    child = node.find(f"{{{XS}}}{name}")
    if child is None:
        raise ValueError(f"no xs:{name} in {owner!r}")
    return child


def edited_schemas(folder: str, payload_schema: str, edit: SchemaEdit, copy: Path) -> SchemaSet:
    """The profile's schemas (``schemas/<folder>/``) with ``edit`` made, copied into ``copy``."""
    shutil.copytree(Path(str(resources.files("conformance.schemas") / folder)), copy, dirs_exist_ok=True)
    path = copy / {"envelope": "envelope.xsd", "payload": payload_schema}.get(edit.file, f"{edit.file}.xsd")
    schema = etree.parse(str(path))
    edit.apply(schema)
    schema.write(str(path), xml_declaration=True, encoding="UTF-8")
    return SchemaSet(folder, payload_schema, root=copy)


# The edits the field faults make, by what they get wrong.


def optional(file: str, owner: str, name: str) -> SchemaEdit:
    """A required element (or attribute, "@name") made optional: its absence is taken."""
    if name.startswith("@"):
        return SchemaEdit(file, owner, name, {"use": "optional"})
    return SchemaEdit(file, owner, name, {"minOccurs": "0"})


def repeatable(file: str, owner: str, name: str) -> SchemaEdit:
    """An element of at most one made repeatable: a second one is taken."""
    return SchemaEdit(file, owner, name, {"maxOccurs": "unbounded"})


def single(file: str, owner: str, name: str) -> SchemaEdit:
    """An element of 1..n made 0..1 or 1: a second one is refused."""
    return SchemaEdit(file, owner, name, {"maxOccurs": "1"})


def at_most(file: str, owner: str, name: str, count: int) -> SchemaEdit:
    """An element of 1..n bounded: more than ``count`` of it refused."""
    return SchemaEdit(file, owner, name, {"maxOccurs": str(count)})


def required(file: str, owner: str, name: str) -> SchemaEdit:
    """An optional element made required: its absence is refused."""
    return SchemaEdit(file, owner, name, {"minOccurs": "1"})


def forbidden(file: str, owner: str, name: str) -> SchemaEdit:
    """An optional element taken out of the schema: its presence is refused."""
    return SchemaEdit(file, owner, name, {"minOccurs": "0", "maxOccurs": "0"})


def without_code(simple_type: str, code: str) -> SchemaEdit:
    """A code list without one of its codes."""
    return SchemaEdit("codelists", simple_type, drop_codes=(code,))


def with_code(simple_type: str, code: str) -> SchemaEdit:
    """A code list with one code more."""
    return SchemaEdit("codelists", simple_type, add_codes=(code,))


def restricted(
    file: str, owner: str, name: str, base: str, facets: dict[str, str] | None = None
) -> SchemaEdit:
    """An element's type replaced by ``base`` with these facets (a pattern widened, a bound moved)."""
    return SchemaEdit(file, owner, name, restriction=(base, facets or {}))


def pattern(simple_type: str, value: str) -> SchemaEdit:
    """A simple type of the code lists with another pattern (widened or narrowed)."""
    return SchemaEdit("codelists", simple_type, pattern=value)


def movable(file: str, owner: str, name: str, after: str) -> SchemaEdit:
    """An element that may also come after ``after`` (a receiver reading children by name)."""
    return SchemaEdit(file, owner, name, after=after)
