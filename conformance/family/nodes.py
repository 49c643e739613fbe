"""Reading the nodes a message's shape guarantees, typed: lxml's ``find`` and ``text`` may be None.

A builder that changes its own valid message, or a step that reads a message the judge took, relies
on nodes being there. These say so, and name the node when it is not (a builder's bug): a
LookupError, not an AttributeError about None further on.
"""

from __future__ import annotations

from typing import cast

from lxml import etree


def required(parent: etree._Element, path: str) -> etree._Element:
    """The first element at ``path`` under ``parent``, which must be there."""
    node = parent.find(path)
    if node is None:
        raise LookupError(f"no {path} in {parent.tag}")
    return node


def text_of(node: etree._Element) -> str:
    """The text of ``node``, which must have some."""
    if node.text is None:
        raise LookupError(f"no text in {node.tag}")
    return node.text


def texts(node: etree._Element, path: str, namespaces: dict[str, str] | None = None) -> list[str]:
    """The text nodes an XPath ending in ``text()`` selects (lxml's stubs type any XPath's result)."""
    return cast("list[str]", node.xpath(path, namespaces=namespaces))
