"""Text that came from the candidate, made safe to print on a terminal.

A candidate's bytes (an Error's description, an answer quoted in a reason, a test id) must not reach
a terminal raw: an ESC sequence can retitle the window or erase a line, a CR plus text can print a
fake verdict over a real one, and a bidi override can make a line read differently than it is.
"""

from __future__ import annotations

import re

from rich.markup import escape as _escape_markup

# C0 (all of it: a newline from a candidate would fake a line of our own), DEL, C1, the bidi
# embeddings, overrides, isolates and marks, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control, bidi and line-separator character shown as ``\\x1b``/``\\u202e``."""
    return _UNSAFE.sub(_escaped, str(text))


def printable_markup(text: object) -> str:
    """``printable(text)`` for a place where rich parses markup: a ``[`` cannot start a style either."""
    return _escape_markup(printable(text))


def printable_lines(text: object) -> str:
    """Our own multi-line text (an operator instruction) with candidate-made pieces in it: each line
    made printable, our line breaks kept."""
    return "\n".join(printable(line) for line in str(text).split("\n"))
