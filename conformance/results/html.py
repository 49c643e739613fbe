"""report.html: one self-contained page (no scripts, no external fetches) rendered with jinja2."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def write_html(data: dict, counts: dict[str, int], path: Path) -> None:
    page = _environment.get_template("report.html.j2").render(data=data, counts=counts)
    path.write_text(page, encoding="utf-8")
