"""The load report reads as report.html does and its charts can be read: report.html's style and
policy, a colour-blind-safe palette with a dash pattern per series (offered no longer hides under
answered right), the claimed bounds drawn as lines, a legend above the plot, and the statuses lost or
sent twice listed with their conversation."""

from __future__ import annotations

from lxml import html

from conformance.results import load_report
from conformance.results.html import _asset


def results() -> dict:
    windows = [
        {
            "t_s": float(t),
            "offered_per_s": 20.0,
            "answered_per_s": 20.0,  # the same as offered: the line lies on it
            "statuses_per_s": 18.0,
            "receipt_ms": {"p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 120.0},
            "status_lag_ms": {"p50_ms": 300.0, "p95_ms": 700.0, "p99_ms": 900.0},
        }
        for t in range(0, 60, 5)
    ]
    load = {
        "verdict": "not-held",
        "capacity": {
            "rate_per_s": 20,
            "duration_s": 60,
            "receipt_p95_s": 0.25,
            "status_p95_s": 2.0,
            "gateway_fault_share": 0.0,
        },  # fmt: skip
        "checks": [],
        "notes": [],
        "offered": {"rate_per_s": 20, "duration_s": 60, "ramp_s": 0, "users": 4, "workers": 1, "tls": True},
        "achieved": {"offered_per_s": 20.0, "answered_per_s": 20.0},
        "receipt_latency": {"p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 120.0, "max_ms": 200.0},
        "status_lag": {"p50_ms": 300.0, "p95_ms": 700.0, "p99_ms": 900.0, "max_ms": 1000.0},
        "lost_statuses": 3,
        "duplicate_statuses": 1,
        "unexpected_statuses": 0,
        "redelivered_statuses": 0,
        "wrong_answers": {},
        "errors": {},
        "sent_by_kind": {"IssueCO": 1200},
        "gateway_faults": {},
        "examples": {
            "lost status": ["no answer to m-1@sg.efdx (IssueCO, conversation c-1)"],
            "duplicate status": ["a second answer s-9@kh.efdx to m-7@sg.efdx (conversation c-7)"],
        },
        "over_time": windows,
        "window_s": 5.0,
    }
    return {
        "profile": "EFDX 1.0", "verdict": "not-held", "sut": {"party": "KH", "url": "https://x/efdx/1/messages"},
        "started": "2026-12-06T00:00:00Z", "finished": "2026-12-06T00:01:00Z", "harness_version": "0",
        "load": load,
    }  # fmt: skip


def test_the_load_report_has_the_reports_style_readable_charts_and_the_lost_messages():
    page = load_report.page(results())
    assert _asset("report.css.j2") in page
    tree = html.fromstring(page)
    charts = tree.xpath("//figure[@class='load-chart']/svg")
    assert len(charts) == 3
    throughput = charts[0]
    offered, answered = throughput.xpath(".//polyline")[:2]
    assert offered.get("points") == answered.get("points")  # on top of each other ...
    assert (offered.get("stroke"), answered.get("stroke")) == ("#0072B2", "#D55E00")
    assert offered.get("stroke-dasharray") is None and answered.get("stroke-dasharray")  # ... yet both show
    assert float(offered.get("stroke-width")) > float(answered.get("stroke-width"))
    bounds = [chart.xpath(".//line[@class='bound']") for chart in charts]
    labels = ["".join(chart.xpath(".//text/text()")) for chart in charts]
    assert [len(found) for found in bounds] == [1, 1, 1]
    assert (
        "claimed rate 20" in labels[0] and "claimed p95 250" in labels[1] and "claimed p95 2000" in labels[2]
    )
    pad = load_report.PAD
    legend_texts = [
        t for t in throughput.xpath(".//text") if t.text in ("offered", "answered right", "statuses")
    ]
    assert len(legend_texts) == 3 and all(float(t.get("y")) < pad for t in legend_texts)  # above the plot
    lost = tree.xpath("//ul[@id='lost-status']/li")
    assert [li.text_content() for li in lost] == ["no answer to m-1@sg.efdx (IssueCO, conversation c-1)"]
    assert "of 3" in tree.xpath("string(//h3[@class='load-messages'][1])")
    assert "conversation c-7" in tree.xpath("string(//ul[@id='duplicate-status'])")
