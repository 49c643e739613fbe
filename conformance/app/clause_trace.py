"""`conformance list --trace`: every clause of a pack's shipped spec with the test purposes that
exercise it or the mark that says why none does (core/clauses.py), then the counts."""

from __future__ import annotations

from conformance.core import clauses
from conformance.core.profile import Profile
from conformance.core.terminal_text import printable_lines


def trace_of(profile: Profile) -> clauses.Trace:
    """The pack's trace of its spec; a pack that ships none has every non-row clause untraced."""
    raw = profile.clause_trace() if profile.clause_trace is not None else b""
    return clauses.trace(profile.spec_document(), profile.catalogue(), raw)


def listing(profile: Profile, verbose: bool = False) -> str:
    """One line a clause (section, text cut to the width unless verbose, its trace), then the counts."""
    found = trace_of(profile)
    lines, section = [f"{profile.title}: the spec's clauses and their trace to test purposes"], None
    for item in found.clauses:
        if item.clause.section != section:
            section = item.clause.section
            lines.append(f"\n{section or '(before the first section)'}")
        text = item.clause.text if verbose or len(item.clause.text) <= 100 else item.clause.text[:99] + "…"
        shown = ", ".join(item.purposes) if item.purposes else item.mark or "UNTRACED"
        lines.append(f"  {text}\n      -> {shown}")
    counts = found.counts()
    lines.append("")
    lines.append(
        f"{len(found.clauses)} clauses: {counts['traced']} traced to purposes, "
        f"{counts['declared']} declared, {counts['untestable']} untestable, "
        f"{counts['pending']} pending, {counts['untraced']} untraced"
    )
    for key in found.stale:
        lines.append(f"stale trace entry (the spec has no such clause): {key}")
    return printable_lines("\n".join(lines))
