"""The load section of a report: the capacity verdict, the figures and charts over time (inline SVG).

``section(load)`` renders ``templates/load_section.html.j2`` for a results.json ``load`` block;
report.html includes it when the run has one, and `conformance load` wraps it in a page of its own
(``page``). Charts are plain SVG polylines computed here: no script, no external fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
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


# Okabe and Ito's palette (safe for every common colour-vision deficiency), and a dash pattern per
# series as well, so that a series that lies on another (offered under answered) still shows.
STYLES = (("#0072B2", ""), ("#D55E00", "6 3"), ("#009E73", "2 2"), ("#CC79A7", "8 2 2 2"))
BOUND_COLOUR = "#000000"


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y ..." in the chart's pixels
    css: str
    colour: str = STYLES[0][0]
    dashes: str = ""


@dataclass(frozen=True)
class Bound:
    """A claimed bound drawn across the chart: the declared rate, a p95 the candidate promised."""

    label: str
    value: float
    y: float  # in the chart's pixels


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    y_max: float
    x_max: float
    lines: tuple[Line, ...]
    bounds: tuple[Bound, ...] = ()
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


def _chart(
    title: str,
    unit: str,
    over_time: list[dict],
    window_s: float,
    series: list[tuple],
    bounds: Sequence[tuple[str, float]] = (),
) -> Chart:
    x_max = max((w["t_s"] + window_s for w in over_time), default=1.0)
    values = [pick(w) for w in over_time for _, pick, _ in series] + [value for _, value in bounds]
    y_max = _nice(max((v for v in values if v is not None), default=0.0))

    def y_of(value: float) -> float:
        return HEIGHT - PAD - value / y_max * (HEIGHT - 2 * PAD)

    lines = []
    for index, (label, pick, css) in enumerate(series):
        points = []
        for window in over_time:
            value = pick(window)
            if value is None:
                continue
            x = PAD + (window["t_s"] + window_s / 2) / x_max * (WIDTH - 2 * PAD)
            points.append(f"{x:.1f},{y_of(value):.1f}")
        colour, dashes = STYLES[index % len(STYLES)]
        lines.append(Line(label, " ".join(points), css, colour, dashes))
    drawn = tuple(Bound(label, value, round(y_of(value), 1)) for label, value in bounds)
    return Chart(title, unit, y_max, x_max, tuple(lines), drawn)


def charts(load: dict) -> list[Chart]:
    over_time, width = load.get("over_time", []), load.get("window_s", 1.0)
    capacity = load.get("capacity")
    claimed: dict = capacity if isinstance(capacity, dict) else {}

    def bound(label: str, key: str, scale: float = 1.0) -> list[tuple[str, float]]:
        value = claimed.get(key)
        return [(label, float(value) * scale)] if isinstance(value, (int, float)) else []

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
            bound("claimed rate", "rate_per_s"),
        ),
        _chart(
            "Receipt latency",
            "ms",
            over_time,
            width,
            [(p, pct("receipt_ms", f"{p}_ms"), p) for p in ("p50", "p95", "p99")],
            bound("claimed p95", "receipt_p95_s", 1000.0),
        ),
        _chart(
            "Status lag (Receipt to StatusNotification)",
            "ms",
            over_time,
            width,
            [(p, pct("status_lag_ms", f"{p}_ms"), p) for p in ("p50", "p95", "p99")],
            bound("claimed p95", "status_p95_s", 1000.0),
        ),
    ]


def section(load: dict) -> Markup:
    """The load section's HTML for a results.json ``load`` block."""
    return Markup(_environment.get_template("load_section.html.j2").render(load=load, charts=charts(load)))


def page(results: dict) -> str:
    """A self-contained report.html for a `conformance load` run, under report.html's
    Content-Security-Policy (its one inline style by hash; no script, nothing fetched); whatever the
    candidate or a results.json from elsewhere put in it is escaped and bidi-isolated."""
    from conformance.results.html import _asset, policy

    style = _asset("report.css.j2") + _LOAD_STYLE  # report.html's look
    sut = results.get("sut") or {}
    title = f"{results.get('profile', 'EFDX 1.0')} capacity: {results['verdict']}"

    def text(value: object) -> Markup:
        return Markup.escape(bidi.isolate(str(value)))

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{Markup.escape(policy(style))}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{bidi.isolate_plain(title)}</title><style>{style}</style></head><body>"
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


_LOAD_STYLE = (
    "\n.load-chart svg{max-width:100%;height:auto}.load-chart figcaption{font-weight:600}"
    "\n.load-checks tr.fail td{background:#fff0f0}.load-checks tr.inconclusive td{background:#fff8e6}"
)
