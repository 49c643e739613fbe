"""Throughput of ``conformance validate``: lxml fast path against xmlschema alone.

Builds the vector set for one day into a temporary folder, then measures, single process:

* the whole receive pipeline (``Receiver.judge``, what ``conformance validate`` runs per file) on
  every vector but the oversized t04 one, with the normal SchemaSet (libxml2 validates, xmlschema
  only explains failures) and with a SchemaSet whose ``problem()`` uses xmlschema alone;
* schema validation alone (envelope + payload) on the valid vectors, for both engines, since that
  is the only part the choice of engine changes;
* the t04 vector on its own: 5 MiB, refused by size before parsing, so no engine is involved.

Setup (PKI, schema compilation, vector building, file reading) is not timed; each path gets one
untimed warm-up round, which also checks that the verdicts are the manifest's. Figures are printed,
never asserted: this is a benchmark, not a test.

    python bench/validate_throughput.py [--rounds N] [--date YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path

import lxml
import xmlschema
from lxml import etree

from conformance.core import safexml
from conformance.core.xmldsig import element_children
from conformance.family.judge import Receiver
from conformance.family.validation import EFORMD_SCHEMA, ENVELOPE_SCHEMA, SchemaProblem, SchemaSet
from conformance.family.vectors import build_all, load_manifest
from conformance.profiles.efdx.codes import MAX_BODY_BYTES
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pki import TestPki

OVERSIZED = "t04-oversized-body"
# Schema-only rounds per pipeline round, per engine, so that each gets a comparable stretch of time
# (a libxml2 pass over the valid vectors takes about half a millisecond, an xmlschema pass ~25 ms).
LXML_SCHEMA_FACTOR = 100
XMLSCHEMA_SCHEMA_FACTOR = 10


class XmlschemaOnlySchemaSet(SchemaSet):
    """The same schemas, but every message is validated by xmlschema (no libxml2 fast path)."""

    def problem(self, element: etree._Element, schema: str) -> SchemaProblem | None:
        for error in self._explainers[schema].iter_errors(element):
            return SchemaProblem(path=error.path or "/", reason=error.reason or str(error))
        return None


@dataclass(frozen=True)
class Figure:
    path: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def read_capped(path: Path) -> bytes:
    """What ``conformance validate`` reads of a file: no more than the 5 MiB cap needs."""
    with open(path, "rb") as handle:
        return handle.read(MAX_BODY_BYTES + 1)


def timed(label: str, rounds: int, per_round: int, one_round: Callable[[], None]) -> Figure:
    one_round()  # warm-up: lazy schema compilation, caches, first-call costs
    gc.collect()
    start = time.perf_counter()
    for _ in range(rounds):
        one_round()
    return Figure(label, rounds * per_round, time.perf_counter() - start)


def check_verdicts(
    receiver: Receiver, bodies: dict[str, bytes], expected: dict[str, list[str]], at: datetime
) -> list[str]:
    wrong = []
    for vector_id, body in bodies.items():
        codes = receiver.judge(body, at=at).codes
        if codes != expected[vector_id]:
            wrong.append(f"{vector_id}: {codes}, manifest says {expected[vector_id]}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="vector day, YYYY-MM-DD (default today UTC)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    day = args.date or datetime.now(UTC).date()
    at = datetime.combine(day, clock_time(12), tzinfo=UTC)  # as `conformance validate --at DAY`

    pki = TestPki.load()
    trust = pki.trust_store()
    expected = {vector.id: vector.expected_codes for vector in load_manifest(dialect=EFDX)}
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as folder:
        bodies = {path.stem: read_capped(path) for path in build_all(Path(folder), day, pki, dialect=EFDX)}
    oversized = {OVERSIZED: bodies.pop(OVERSIZED)}
    valid_ids = [vector_id for vector_id in bodies if not expected[vector_id]]

    fast = Receiver("KH", trust, schemas=SchemaSet("efdx", "eformd.xsd"), dialect=EFDX)
    slow = Receiver("KH", trust, schemas=XmlschemaOnlySchemaSet("efdx", "eformd.xsd"), dialect=EFDX)
    for name, receiver in (("lxml", fast), ("xmlschema-only", slow)):
        wrong = check_verdicts(receiver, bodies | oversized, expected, at)
        if wrong:
            print(f"{name} pipeline disagrees with the manifest; no figures:", *wrong, sep="\n  ")
            return 1

    def pipeline(receiver: Receiver, which: dict[str, bytes]) -> Callable[[], None]:
        def one_round() -> None:
            for body in which.values():
                receiver.judge(body, at=at)

        return one_round

    parts = []
    for vector_id in valid_ids:
        root = safexml.parse_untrusted(bodies[vector_id])
        parts.append((root, element_children(element_children(root)[1])[0]))

    def schema_only(valid: Callable[[etree._Element, str], bool]) -> Callable[[], None]:
        for root, payload in parts:
            if not (valid(root, ENVELOPE_SCHEMA) and valid(payload, EFORMD_SCHEMA)):
                raise SystemExit(f"{valid.__name__} finds a valid vector invalid")

        def one_round() -> None:
            for root, payload in parts:
                valid(root, ENVELOPE_SCHEMA)
                valid(payload, EFORMD_SCHEMA)

        return one_round

    schemas = fast.schemas
    rounds = args.rounds
    lxml_rounds, xmlschema_rounds = rounds * LXML_SCHEMA_FACTOR, rounds * XMLSCHEMA_SCHEMA_FACTOR
    messages, valid = len(bodies), len(parts)
    pipeline_lxml = timed("pipeline, lxml (+ xmlschema explains)", rounds, messages, pipeline(fast, bodies))
    pipeline_xs = timed("pipeline, xmlschema alone", rounds, messages, pipeline(slow, bodies))
    schema_lxml = timed("schema only, lxml", lxml_rounds, valid, schema_only(schemas.lxml_valid))
    schema_xs = timed("schema only, xmlschema", xmlschema_rounds, valid, schema_only(schemas.xmlschema_valid))
    refused = timed("t04 oversized, refused by size", rounds, 1, pipeline(fast, oversized))

    print(f"vectors for {day} (received at {at:%Y-%m-%dT%H:%M}Z), single process")
    print(
        f"Python {platform.python_version()}, lxml {lxml.__version__} "
        f"(libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}), xmlschema {xmlschema.__version__}"
    )
    print(
        f"pipeline: {messages} vectors x {rounds} rounds; "
        f"schema only: {valid} valid vectors (envelope + payload) x {lxml_rounds} rounds (lxml), "
        f"x {xmlschema_rounds} rounds (xmlschema)"
    )
    print()
    print(f"| {'path':<38} | {'messages':>8} | {'seconds':>7} | {'msgs/s':>8} |")
    print(f"|{'-' * 40}|{'-' * 9}:|{'-' * 8}:|{'-' * 9}:|")
    for figure in (pipeline_lxml, pipeline_xs, schema_lxml, schema_xs, refused):
        print(f"| {figure.path:<38} | {figure.messages:>8} | {figure.seconds:>7.3f} | {figure.rate:>8.1f} |")
    print()
    print(f"ratio lxml/xmlschema (msgs/s): pipeline {pipeline_lxml.rate / pipeline_xs.rate:.2f}x, ", end="")
    print(f"schema only {schema_lxml.rate / schema_xs.rate:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
