"""A spec's clauses, extracted from its text by code, and their trace to test purposes.

Test purposes written by imagining ways to break a requirement miss the ways nobody imagined; the
spec's own text is the complete list. So every normative line of a shipped spec is a *clause*,
keyed by its section and its quoted text, and each clause is traced to the test purposes that
exercise it or carries an explicit mark saying why none does:

- every table row (a requirement row traces itself: its purposes are its requirement's);
- every bullet (with its continuation lines);
- every other sentence containing MUST, MUST NOT, never, only, exactly or at most;
- every field line of a structure block (the fenced blocks of the message sections): its
  cardinality, length, code list and the rest of its constraint counted as separate clauses.

The pack lists its traces in a TOML file (``[[clause]]`` with ``key`` and either ``purposes`` or
``mark``); ``trace`` joins them with the extracted clauses and says which clauses have neither,
and which trace entries name no clause of the spec any more (the spec changed under them).
Profile-free: the pack hands in its spec's text, its catalogue and its trace file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

from conformance.core.catalogue import Catalogue

# What a mark may say: the clause is not observable over the wire and the candidate declares it
# (errata 2), cannot be tested (with the reason), or waits for an issue (``pending: <issue>``).
MARKS: tuple[str, ...] = ("declared", "untestable", "pending")
_NORMATIVE = re.compile(r"\b(MUST|MUST NOT|never|only|exactly|at most)\b")
_HEADING = re.compile(r"^(#{2,4}) (.+)$")
_ROW_ID = re.compile(r"^\|\s*([A-Z]{1,3}-\d\d)\s*\|")
_CARDINALITY = re.compile(r"^(1|0\.\.1|1\.\.n|0\.\.n)$")
_LENGTH = re.compile(r"\b(\d+\.\.\d+) chars\b")
_CODES = re.compile(r"\(?([A-Za-z][\w]*(?:\s*\|\s*[A-Za-z][\w]*)+)\)?")
_FIELD = re.compile(  # indent, name(s), ? or *, @attributes (and their type), the rest
    r"^(\s*)([A-Za-z][\w:]*(?:, [A-Za-z]\w*)*)(\?|\*)?"
    r"(?:\s+(@[^ ]+(?: @[^ ]+)*(?: \([\w:]+\))?))?(?:\s+(.*))?$"
)
_CONTINUATION_INDENT = 16  # a structure block's description column: deeper lines continue the field above


@dataclass(frozen=True)
class Clause:
    """One normative line of a spec: where it stands and what it says."""

    section: str
    text: str
    requirement: str | None = None  # the requirement a table row defines

    @property
    def key(self) -> str:
        return f"{self.section} | {self.text}"


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _sentences(paragraph: str) -> Iterator[str]:
    for sentence in re.split(r"(?<=[.:;])\s+(?=[A-Z(`*])", paragraph):
        if _NORMATIVE.search(sentence):
            yield _collapse(sentence)


def _field_clauses(section: str, line: str, parents: list[tuple[int, str]]) -> Iterator[Clause]:
    """The clauses of one field line of a structure block: cardinality, length, codes, the rest."""
    match = _FIELD.match(line)
    if not match or not line.strip():
        return
    indent, name, short, attributes, rest = (
        len(match.group(1)),
        match.group(2),
        match.group(3),
        match.group(4),
        match.group(5) or "",
    )
    while parents and parents[-1][0] >= indent:
        parents.pop()
    path = "/".join([p for _, p in parents] + [name])
    parents.append((indent, name))
    words = rest.split(None, 1)
    cardinality = {"?": "0..1", "*": "0..n"}.get(short or "", "")
    if words and _CARDINALITY.match(words[0]):
        cardinality, rest = words[0], (words[1] if len(words) > 1 else "")
    if cardinality:
        yield Clause(section, f"{path}: cardinality {cardinality}")
    if attributes:
        yield Clause(section, f"{path}: attributes {_collapse(attributes)}")
    length = _LENGTH.search(rest)
    if length:
        yield Clause(section, f"{path}: length {length.group(1)} chars")
        rest = rest.replace(length.group(0), "")
    codes = _CODES.search(rest)
    if codes and "|" in codes.group(1):
        yield Clause(section, f"{path}: codes {_collapse(codes.group(1))}")
        rest = rest.replace(codes.group(0), "")
    rest = _collapse(rest.strip(" ,;"))
    if rest:
        yield Clause(section, f"{path}: {rest}")


def _joined(block: list[str]) -> Iterator[str]:
    """A structure block's lines with each field's continuation lines joined to it."""
    current = ""
    for line in block:
        indent = len(line) - len(line.lstrip())
        if current and indent >= _CONTINUATION_INDENT:
            current += " " + line.strip()
            continue
        if current:
            yield current
        current = line.rstrip()
    if current:
        yield current


def extract(markdown: str) -> tuple[Clause, ...]:
    """Every clause of a spec's markdown text, in document order, each once."""
    found: dict[str, Clause] = {}
    section, block = "", False
    parents: list[tuple[int, str]] = []
    fields: list[str] = []
    paragraph: list[str] = []
    bullet: list[str] = []
    lines = markdown.splitlines()

    def close() -> Iterator[Clause]:
        if bullet:
            yield Clause(section, _collapse(" ".join(bullet)))
            bullet.clear()
        if paragraph:
            for sentence in _sentences(" ".join(paragraph)):
                yield Clause(section, sentence)
            paragraph.clear()

    def add(clauses: Iterator[Clause]) -> None:
        for clause in clauses:
            found.setdefault(clause.key, clause)

    for index, line in enumerate(lines):
        if line.startswith("```"):
            add(close())
            if block and section[:1].isdigit():
                for field_line in _joined(fields):
                    add(_field_clauses(section, field_line, parents))
            block, parents, fields = not block, [], []
            continue
        if block:
            fields.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            add(close())
            section = _collapse(heading.group(2))
            continue
        if line.startswith("|"):
            add(close())
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if set(line.replace("|", "").strip()) <= set("-: ") or following.startswith("|---"):
                continue  # a separator or a header row
            row = _ROW_ID.match(line)
            add(iter([Clause(section, _collapse(line.strip("| ")), row.group(1) if row else None)]))
            continue
        if re.match(r"^\s*- ", line):
            add(close())
            bullet.append(line.strip()[2:])
            continue
        if not line.strip():
            add(close())
            continue
        (bullet if bullet else paragraph).append(line.strip())
    add(close())
    return tuple(found.values())


@dataclass(frozen=True)
class TracedClause:
    """A clause with the purposes that exercise it, or the mark that says why there are none."""

    clause: Clause
    purposes: tuple[str, ...] = ()
    mark: str = ""

    @property
    def status(self) -> str:
        """traced, declared, untestable, pending, or untraced (neither purposes nor a mark)."""
        if self.purposes:
            return "traced"
        return self.mark.split(":")[0] if self.mark else "untraced"


@dataclass(frozen=True)
class Trace:
    clauses: tuple[TracedClause, ...]
    stale: tuple[str, ...]  # trace entries whose key is no clause of the spec

    def counts(self) -> dict[str, int]:
        counted = {status: 0 for status in ("traced", *MARKS, "untraced")}
        for item in self.clauses:
            counted[item.status] += 1
        return counted


def load_entries(raw: bytes, catalogue: Catalogue, resource: str = "trace.toml") -> dict[str, TracedClause]:
    """The pack's ``[[clause]]`` entries by key, checked: known purposes, a known mark, not both."""
    entries: dict[str, TracedClause] = {}
    for position, entry in enumerate(tomllib.loads(raw.decode("utf-8")).get("clause", []), start=1):
        key, purposes, mark = entry.get("key"), tuple(entry.get("purposes", ())), entry.get("mark", "")
        where = f"{resource}: clause #{position}"
        if not isinstance(key, str) or " | " not in key:
            raise ValueError(f"{where}: key must be '<section> | <text>'")
        if bool(purposes) == bool(mark):
            raise ValueError(f"{where} ({key[:60]}): give either purposes or a mark")
        if mark and (mark.split(":")[0] not in MARKS or (mark != "declared" and ":" not in mark)):
            raise ValueError(f"{where}: mark {mark!r} is not declared, 'untestable: why' or 'pending: issue'")
        for purpose in purposes:
            catalogue.purpose(purpose)  # KeyError naming it
        if key in entries:
            raise ValueError(f"{where}: {key[:60]} is traced twice")
        entries[key] = TracedClause(Clause(*key.split(" | ", 1)), purposes, mark)
    return entries


def trace(markdown: str, catalogue: Catalogue, raw_entries: bytes) -> Trace:
    """Every clause of the spec with its trace: a requirement row traces to its requirement's
    purposes, any other clause to its entry in the pack's trace file."""
    entries = load_entries(raw_entries, catalogue)
    traced = []
    for clause in extract(markdown):
        entry = entries.get(clause.key)
        if entry is not None:
            traced.append(TracedClause(clause, entry.purposes, entry.mark))
        elif clause.requirement and catalogue.of_requirement(clause.requirement):
            purposes = tuple(p.id for p in catalogue.of_requirement(clause.requirement))
            traced.append(TracedClause(clause, purposes))
        else:
            traced.append(TracedClause(clause))
    keys = {item.clause.key for item in traced}
    return Trace(tuple(traced), tuple(key for key in entries if key not in keys))
