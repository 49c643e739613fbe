"""Schema validation: fast with libxml2 (lxml), explained with xmlschema (path and reason).

Valid messages, the common case, cost one libxml2 pass. Only an invalid message is validated a
second time, by xmlschema, whose errors name the offending node's path and the reason in words;
that explanation becomes the Error's Location and Description (M-03, M-04).
Schemas load from package data and never touch the network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.core.safexml import hardened_parser

ENVELOPE_SCHEMA = "envelope"  # the envelope and its signals (envelope.xsd in every profile)
PAYLOAD_SCHEMA = "payload"  # the profile's payloads (EFDX: eformd.xsd)
EFORMD_SCHEMA = PAYLOAD_SCHEMA


def schema_path(name: str, folder: str) -> Path:
    return Path(str(resources.files("conformance.schemas") / folder / name))


@dataclass(frozen=True)
class SchemaProblem:
    path: str
    reason: str


class SchemaSet:
    """A profile's compiled envelope and payload schemas, both engines, loaded once per process."""

    def __init__(self, folder: str, payload_schema: str, root: Path | None = None) -> None:
        """The schemas of ``schemas/<folder>/``, or of the folder ``root`` (a copy of them)."""
        where = (lambda name: root / name) if root is not None else (lambda name: schema_path(name, folder))
        self._files = {
            ENVELOPE_SCHEMA: where("envelope.xsd"),
            PAYLOAD_SCHEMA: where(payload_schema),
        }
        self._lxml = {
            name: etree.XMLSchema(etree.parse(str(path), hardened_parser()))
            for name, path in self._files.items()
        }

    @functools.cached_property
    def _explainers(self) -> dict[str, Any]:
        """xmlschema's schemas: imported and compiled at the first invalid message (about 0.9 s),
        which a run of valid messages never pays."""
        import xmlschema

        return {name: xmlschema.XMLSchema(str(path), allow="local") for name, path in self._files.items()}

    def problem(self, element: etree._Element, schema: str) -> SchemaProblem | None:
        """None when ``element`` is valid against ``schema``; otherwise the first problem, explained."""
        try:
            if self._lxml[schema].validate(element):
                return None
        except etree.XMLSchemaValidateError as exc:  # libxml2 gave up on a node (e.g. an entity)
            return SchemaProblem(path="/", reason=f"the validator could not process the document: {exc}")
        for error in self._explainers[schema].iter_errors(element):
            return SchemaProblem(path=error.path or "/", reason=error.reason or str(error))
        # xmlschema saw nothing: fall back to libxml2 (lxml-stubs declare _ErrorLog without its members)
        entry = self._lxml[schema].error_log.last_error  # type: ignore[attr-defined]
        return SchemaProblem(path=getattr(entry, "path", None) or "/", reason=entry.message)

    def lxml_valid(self, element: etree._Element, schema: str) -> bool:
        return self._lxml[schema].validate(element)

    def xmlschema_valid(self, element: etree._Element, schema: str) -> bool:
        return self._explainers[schema].is_valid(element)
