"""The load section of a report: the capacity verdict, the figures and charts over time (inline SVG).

``section(load)`` renders ``templates/load_section.html.j2`` for a results.json ``load`` block;
report.html includes it when the run has one, and `conformance load` wraps it in a page of its own
(``page``). Charts are plain SVG polylines computed here: no script, no external fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import jinja2
from markupsafe import Markup

from conformance.results import bidi

WIDTH, HEIGHT, PAD = 640, 180, 40

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=bidi.finalize,  # candidate text never reorders the harness's own (results/bidi.py)
)


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y ..." in the chart's pixels
    css: str


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    y_max: float
    x_max: float
    lines: tuple[Line, ...]
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def _nice(value: float) -> float:
    """A round upper bound for an axis."""
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return value


def _chart(title: str, unit: str, over_time: list[dict], window_s: float, series: list[tuple]) -> Chart:
    x_max = max((w["t_s"] + window_s for w in over_time), default=1.0)
    values = [pick(w) for w in over_time for _, pick, _ in series]
    y_max = _nice(max((v for v in values if v is not None), default=0.0))
    lines = []
    for label, pick, css in series:
        points = []
        for window in over_time:
            value = pick(window)
            if value is None:
                continue
            x = PAD + (window["t_s"] + window_s / 2) / x_max * (WIDTH - 2 * PAD)
            y = HEIGHT - PAD - value / y_max * (HEIGHT - 2 * PAD)
            points.append(f"{x:.1f},{y:.1f}")
        lines.append(Line(label, " ".join(points), css))
    return Chart(title, unit, y_max, x_max, tuple(lines))


def charts(load: dict) -> list[Chart]:
    over_time, width = load.get("over_time", []), load.get("window_s", 1.0)

    def pct(kind: str, key: str):
        return lambda window: window[kind][key]

    return [
        _chart(
            "Throughput",
            "messages/s",
            over_time,
            width,
            [
                ("offered", lambda w: w["offered_per_s"], "offered"),
                ("answered right", lambda w: w["answered_per_s"], "answered"),
                ("statuses", lambda w: w["statuses_per_s"], "statuses"),
            ],
        ),
        _chart(
            "Receipt latency",
            "ms",
            over_time,
            width,
            [(p, pct("receipt_ms", f"{p}_ms"), p) for p in ("p50", "p95", "p99")],
        ),
        _chart(
            "Status lag (Receipt to StatusNotification)",
            "ms",
            over_time,
            width,
            [(p, pct("status_lag_ms", f"{p}_ms"), p) for p in ("p50", "p95", "p99")],
        ),
    ]


def section(load: dict) -> Markup:
    """The load section's HTML for a results.json ``load`` block."""
    return Markup(_environment.get_template("load_section.html.j2").render(load=load, charts=charts(load)))


def page(results: dict) -> str:
    """A self-contained report.html for a `conformance load` run, under report.html's
    Content-Security-Policy (its one inline style by hash; no script, nothing fetched); whatever the
    candidate or a results.json from elsewhere put in it is escaped and bidi-isolated."""
    from conformance.results.html import policy

    sut = results.get("sut") or {}
    title = f"{results.get('profile', 'EFDX 1.0')} capacity: {results['verdict']}"

    def text(value: object) -> Markup:
        return Markup.escape(bidi.isolate(str(value)))

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{Markup.escape(policy(_STYLE))}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{bidi.isolate_plain(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{text(title)}</h1><p>candidate {text(sut.get('party', ''))} at "
        f"<code>{text(sut.get('url', ''))}</code>; {text(results['started'])} to "
        f"{text(results['finished'])}; harness {text(results['harness_version'])}</p>"
        f"{_certification(results.get('certification'), text)}"
        f"{section(results['load'])}</body></html>\n"
    )


def _certification(certification: object, text) -> str:
    """Whether the run can certify the claimed capacity (errata 2: a load run certifies P-01..P-03)."""
    if not isinstance(certification, dict):  # a results.json of an older harness
        return ""
    if certification.get("can_certify"):
        return '<p id="certification">This run can certify the claimed capacity (P-01..P-03).</p>'
    reasons = "; ".join(str(reason) for reason in certification.get("reasons") or ())
    return f'<p id="certification">Rehearsal: this run cannot certify: {text(reasons)}.</p>'


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
)
