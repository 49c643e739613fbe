"""report.html (and certificate.html): self-contained pages rendered with jinja2.

A page fetches nothing: its one style sheet and one script are inline, and a strict
Content-Security-Policy allows exactly those (by their SHA-256), nothing from anywhere else, so
that a message a candidate sent can never become markup that runs or loads (everything it sent is
escaped as text, too).
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from conformance.results import bidi, safe_write
from conformance.results.history import readable_time
from conformance.results.view import ProfileText, anchor, report_view
from conformance.results.xmlview import Shown

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=bidi.finalize,  # candidate text never reorders the harness's own (results/bidi.py)
)


def brief(text: str, limit: int = 160) -> str:
    """A one-line gist of an observation: a message in it is cut off (the test card shows it whole)."""
    text = " ".join((text or "").split())
    if "<" in text:
        text = text[: text.index("<")].rstrip() + " (message shown in the test)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_lines(shown: Shown) -> Markup:
    """A message's lines for its ``<pre>``, as the template would print them one by one (each line
    escaped, one that could reorder what follows in a ``<bdi>``, a marked line in ``<span
    class="mark">``), made in one piece: a run's report shows about 100,000 such lines, and a
    template loop over them was most of the time it took to write."""
    texts = shown.texts
    first = max(0, min(shown.marked.start - 1, len(texts))) if shown.marked else len(texts)
    last = max(first, min(shown.marked.stop - 1, len(texts))) if shown.marked else len(texts)
    parts = [_unmarked(texts[:first])]
    parts.extend(f'<span class="mark">{_line(text)}</span>\n' for text in texts[first:last])
    parts.append(_unmarked(texts[last:]))
    return Markup("".join(parts))


def _unmarked(texts: tuple[str, ...]) -> str:
    """Lines in one escaped piece, or each in its ``<bdi>`` when one could reorder what follows."""
    if not texts:
        return ""
    text = "\n".join(texts) + "\n"
    if bidi.reorders(text):
        return "".join(_line(line) + "\n" for line in texts)
    return str(escape(text))


def _line(text: str) -> str:
    return escape(bidi.isolate(text))


_environment.filters["brief"] = brief
_environment.filters["shown_lines"] = shown_lines
_environment.filters["when"] = readable_time  # 2026-12-07 03:13:08 UTC, not the raw ISO stamp
_environment.filters["plain"] = bidi.isolate_plain  # in a <title>, which holds no element
_environment.filters["anchor"] = lambda name, kind: anchor(kind, name)  # {{ rid | anchor("req") }}


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def policy(style: str, script: str | None = None) -> str:
    """The page's Content-Security-Policy: its own inline style and script, by hash; nothing else."""
    scripts = _hash(script) if script is not None else "'none'"
    return (
        f"default-src 'none'; style-src {_hash(style)}; script-src {scripts}; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _asset(name: str) -> str:
    return _environment.get_template(name).render()


def _load_section(load: dict | None) -> str:
    """The load section (results/load_report.py) for a run with a ``load`` block; none otherwise."""
    if not load:
        return ""
    try:
        from conformance.results.load_report import section
    except ImportError:
        return ""
    try:
        return section(load)
    except jinja2.TemplateNotFound:
        return ""


def write_html(
    data: dict,
    counts: dict[str, int],
    path: Path,
    text: ProfileText | None = None,
    *,
    scripted: bool = True,
    summary: bool = False,
) -> None:
    """report.html; ``scripted=False`` (a page to print) has no script and a policy that runs none;
    ``summary`` (the PDF's default) leaves out every exchange and lists the purposes and spec text of
    the failed requirements only, so that it prints in a few A4 pages."""
    style = _asset("report.css.j2")
    script = _asset("report.js.j2") if scripted else None
    view = report_view(data, counts, text or ProfileText())
    page = _environment.get_template("report.html.j2").render(
        **view,
        style=style,
        script=script,
        csp=policy(style, script),
        load_html=_load_section(data.get("load")),
        summary=summary,
        failed_purposes=_purposes_of_failed(data) if summary else [],
    )
    safe_write.write_text(path, page)


def _purposes_of_failed(data: dict) -> list[dict]:
    """The purpose rows that did not pass, of the requirements that failed or erred (qualified IDs,
    or bare in an older results.json): the clauses to fix."""
    failed = {
        str(row.get("id"))
        for row in data.get("requirements", [])
        if isinstance(row, dict) and row.get("verdict") in ("fail", "error")
    }
    return [
        row
        for row in data.get("purposes", [])
        if isinstance(row, dict)
        and (
            f"{row.get('profile')} {row.get('requirement')}" in failed
            or str(row.get("requirement")) in failed
        )
    ]


def write_load_certificate(data: dict, bundle_sha256: str, path: Path) -> None:
    """certificate.html of a held, certifying load run: the capacity claimed and achieved (P-01..P-03)."""
    style = _asset("certificate.css.j2")
    page = _environment.get_template("load_certificate.html.j2").render(
        data=data, bundle_sha256=bundle_sha256, style=style, csp=policy(style)
    )
    safe_write.write_text(path, page)


def write_certificate(data: dict, bundle_sha256: str, path: Path) -> None:
    """certificate.html: one page naming the candidate, its build, the profiles, the date, the site
    and the evidence bundle's SHA-256 (see certificate.py for when one is written)."""
    style = _asset("certificate.css.j2")
    page = _environment.get_template("certificate.html.j2").render(
        data=data, bundle_sha256=bundle_sha256, style=style, csp=policy(style)
    )
    safe_write.write_text(path, page)
