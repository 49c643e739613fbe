"""The spec's clauses traced to test purposes (core/clauses.py, each pack's trace.toml,
`conformance list --trace`): every clause of every shipped spec has purposes or an explicit mark."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance.app import clause_trace
from conformance.core import clauses
from conformance.harness import registry

SPEC = """# X 1.0

## 2. Binding

- Inbox: `POST /x`, body one document.
  It continues here.

A receiver MUST answer. This sentence is prose. Ids are never reused.

## 3. Messages

```
Envelope @profileVersion
  Header @Id (xs:ID)
    MessageId        1     1..255 chars, unique per sender
    Action           1     IssueCO | ReplaceCO |
                           Ping
  Item               1..n
    Code                   WO | PE
  Note?                    free text
```

### R — rules

| ID | rule |
|---|---|
| R-01 | every item is numbered |
"""


def test_clauses_are_bullets_normative_sentences_rows_and_field_constraints() -> None:
    keys = [clause.key for clause in clauses.extract(SPEC)]
    assert keys == [
        "2. Binding | Inbox: `POST /x`, body one document. It continues here.",
        "2. Binding | A receiver MUST answer.",
        "2. Binding | Ids are never reused.",
        "3. Messages | Envelope: attributes @profileVersion",
        "3. Messages | Envelope/Header: attributes @Id (xs:ID)",
        "3. Messages | Envelope/Header/MessageId: cardinality 1",
        "3. Messages | Envelope/Header/MessageId: length 1..255 chars",
        "3. Messages | Envelope/Header/MessageId: unique per sender",
        "3. Messages | Envelope/Header/Action: cardinality 1",
        "3. Messages | Envelope/Header/Action: codes IssueCO | ReplaceCO | Ping",
        "3. Messages | Envelope/Item: cardinality 1..n",
        "3. Messages | Envelope/Item/Code: codes WO | PE",
        "3. Messages | Envelope/Note: cardinality 0..1",
        "3. Messages | Envelope/Note: free text",
        "R — rules | R-01 | every item is numbered",
    ]
    assert [c.requirement for c in clauses.extract(SPEC)][-1] == "R-01"


@pytest.mark.parametrize("key", ["efdx", "rcpx"])
def test_every_clause_of_the_shipped_spec_is_traced_or_marked(key: str) -> None:
    found = clause_trace.trace_of(registry.get(key))
    untraced = [item.clause.key for item in found.clauses if item.status == "untraced"]
    assert untraced == [], "clauses with neither purposes nor a mark (add them to the pack's trace.toml)"
    assert found.stale == (), "trace entries whose clause the shipped spec no longer has"
    assert found.counts()["traced"] > 0
    assert len(found.clauses) > 50  # the extraction found the spec's clauses, not a handful


@pytest.mark.parametrize("key", ["efdx", "rcpx"])
def test_a_requirement_row_traces_to_its_own_purposes(key: str) -> None:
    profile = registry.get(key)
    found = clause_trace.trace_of(profile)
    rows = {item.clause.requirement: item for item in found.clauses if item.clause.requirement}
    for requirement in profile.catalogue().requirements():
        if requirement.id in rows and rows[requirement.id].purposes:
            expected = tuple(p.id for p in profile.catalogue().of_requirement(requirement.id))
            assert rows[requirement.id].purposes == expected, requirement.id


def test_a_clause_without_a_trace_is_untraced_and_a_stale_entry_is_named() -> None:
    catalogue = registry.get("efdx").catalogue()
    raw = b'[[clause]]\nkey = "9. Gone | a clause the spec dropped"\nmark = "untestable: gone"\n'
    found = clauses.trace(SPEC, catalogue, raw)
    assert {item.status for item in found.clauses} == {"untraced"}
    assert found.stale == ("9. Gone | a clause the spec dropped",)
    assert found.counts()["untraced"] == len(found.clauses)


@pytest.mark.parametrize(
    "entry, message",
    [
        ('key = "2. Binding | x"', "either purposes or a mark"),
        ('key = "2. Binding | x"\nmark = "maybe"', "is not declared"),
        ('key = "2. Binding | x"\nmark = "untestable"', "is not declared"),
        ('key = "2. Binding | x"\npurposes = ["M-99/none"]', "M-99/none"),
        ('key = "no section"\nmark = "declared"', "key must be"),
    ],
)
def test_a_bad_trace_entry_is_refused_with_its_reason(entry: str, message: str) -> None:
    catalogue = registry.get("efdx").catalogue()
    with pytest.raises((ValueError, KeyError), match=message):
        clauses.load_entries(f"[[clause]]\n{entry}\n".encode(), catalogue)


def test_list_trace_prints_each_clause_and_the_counts() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "conformance.app.cli", "list", "--trace", "--profile", "rcpx"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    out = finished.stdout
    assert "RCPX 1.0: the spec's clauses and their trace to test purposes" in out
    assert "A ReplaceCO without Replaces breaks RBR-14.\n      -> RBR-14/replace-without-replaces" in out
    last = out.strip().splitlines()[-1]
    assert last.endswith("0 untraced") and " traced to purposes, " in last, last
