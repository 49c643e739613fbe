"""Bidi isolation of the text a page shows (a candidate's answers, a results.json from elsewhere).

A string holding right-to-left characters or explicit directional controls (U+202E RIGHT-TO-LEFT
OVERRIDE, ...) could otherwise reorder the harness's own text after it ("pass" shown for "ssap").
``finalize`` is every report environment's jinja2 ``finalize``: each such string a template prints
is put in a ``<bdi>`` element, so its direction ends where it ends, and an isolate terminator it
holds with no initiator of its own (U+2069, which would close the element's isolate early and let
an override run on) is dropped. Strings with none of these characters are printed unchanged.
"""

from __future__ import annotations

import unicodedata

from markupsafe import Markup, escape

_REORDERING = frozenset({"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
_INITIATORS = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
_TERMINATOR = "\u2069"  # PDI


def reorders(text: str) -> bool:
    """Whether ``text`` can change the order in which the text around it is shown. (ASCII, nearly
    every string a report prints, cannot: one C-speed test; else each distinct character once.)"""
    if text.isascii():
        return False
    return any(unicodedata.bidirectional(ch) in _REORDERING for ch in set(text))


def balanced(text: str) -> str:
    """``text`` without the isolate terminators that match no isolate initiator of its own."""
    depth, kept = 0, []
    for ch in text:
        if ch in _INITIATORS:
            depth += 1
        elif ch == _TERMINATOR:
            if depth == 0:
                continue
            depth -= 1
        kept.append(ch)
    return "".join(kept)


def isolate(value: object) -> object:
    """A string that could reorder what is around it, escaped in a ``<bdi>``; anything else as is."""
    if isinstance(value, Markup) or not isinstance(value, str) or not reorders(value):
        return value
    return Markup("<bdi>") + escape(balanced(value)) + Markup("</bdi>")


def isolate_plain(value: object) -> Markup:
    """For text that cannot hold an element (a ``<title>``): the string, escaped, between U+2068
    FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, when it could reorder what follows."""
    text = str(value)
    if not reorders(text):
        return Markup.escape(text)
    return Markup.escape("\u2068" + balanced(text) + "\u2069")


finalize = isolate
