"""Candidate text in a page never reorders the harness's own text: every string holding a
right-to-left override (U+202E) or other reordering character is bidi-isolated in a <bdi> (with
any isolate terminator of its own that would close the <bdi>'s isolate early dropped), in
report.html, the load report and certificate.html; the load report has report.html's CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from lxml import html as lxml_html
from test_report_browser import browser  # noqa: F401  (the fixture: a headless Chromium over CDP)

from conformance.app import cli
from conformance.results import load_report
from conformance.results.html import write_certificate, write_html

RLO, PDI = "\u202e", "\u2069"
HOSTILE = f"{PDI}{RLO}ssap"  # would show as "pass", and reverse what follows on its line
REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069\u0590-\u08ff]")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    reports = tmp_path_factory.mktemp("reports")
    assert cli.main(["run", "--profile", "efdx", "--requirement", "M-10", "--report-dir", str(reports)]) == 0
    (folder,) = [f for f in reports.iterdir() if f.is_dir()]
    found = json.loads((folder / "results.json").read_text())
    found["sut"]["party"] = "KH" + HOSTILE
    found["sut"]["url"] = "http://nsw.example/" + HOSTILE
    found["record"]["candidate_build"] = "build " + HOSTILE
    test = found["tests"][0]
    test.update(verdict="fail", reason="answered " + HOSTILE, observed="HTTP 200 " + HOSTILE)
    test["expected"] = "HTTP 403"
    exchange = test["exchanges"][0]
    exchange["response_headers"] = {"X-Evil": HOSTILE, "Content-Type": "application/xml"}
    exchange["response_body"] = exchange["response_body"].replace("<Error ", f"<!-- {HOSTILE} --><Error ", 1)
    return found


def check_isolated(page: str) -> int:
    """Every text holding a reordering character is inside a <bdi> that holds no unmatched U+2069;
    the number of such <bdi> elements."""
    tree = lxml_html.document_fromstring(page)
    body = tree.find("body")
    assert body is not None
    for element in body.iter():
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            if not text or not REORDERING.search(text):
                continue
            assert holder is not None and (
                holder.tag == "bdi" or any(a.tag == "bdi" for a in holder.iterancestors())
            ), f"not isolated: {text!r} in <{holder.tag}>"
    isolates = body.findall(".//bdi")
    for bdi in isolates:
        depth = 0
        for ch in bdi.text_content():
            depth += ch in "\u2066\u2067\u2068"
            if ch == PDI:
                assert depth > 0, "an isolate terminator would close the <bdi> early"
                depth -= 1
    return len(isolates)


def test_report_html_isolates_candidate_text(data, tmp_path):
    counts = {"fail": 1}
    write_html(data, counts, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert check_isolated(page) >= 5
    title = lxml_html.document_fromstring(page).findtext(".//title")
    assert "<bdi>" not in title and title.count("\u2068") == title.count(PDI) >= 1


def test_certificate_isolates_candidate_text(data, tmp_path):
    write_certificate(data, "0" * 64, tmp_path / "certificate.html")
    assert check_isolated((tmp_path / "certificate.html").read_text()) >= 1


def load_results(party: str) -> dict:
    figures = {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "max_ms": 4.0}
    window = {
        "t_s": 0.0,
        "offered_per_s": 1.0,
        "answered_per_s": 1.0,
        "statuses_per_s": 1.0,
        "receipt_ms": figures,
        "status_lag_ms": figures,
    }
    load = {
        "verdict": "held",
        "capacity": None,
        "checks": [{"requirement": "P-01", "held": True, "expected": "x", "observed": "oops " + HOSTILE}],
        "notes": ["a note " + HOSTILE],
        "offered": {"rate_per_s": 1, "duration_s": 1, "ramp_s": 0, "users": 1, "workers": 1, "tls": False},
        "achieved": {"offered_per_s": 1.0, "answered_per_s": 1.0},
        "receipt_latency": figures,
        "status_lag": figures,
        "lost_statuses": 0,
        "duplicate_statuses": 0,
        "unexpected_statuses": 0,
        "redelivered_statuses": 0,
        "wrong_answers": {},
        "errors": {"answer " + HOSTILE: 1},
        "sent_by_kind": {"IssueCO": 1},
        "gateway_faults": {},
        "over_time": [window],
        "window_s": 1.0,
    }
    return {
        "profile": "EFDX 1.0",
        "verdict": "held",
        "sut": {"party": party, "url": "http://x/" + HOSTILE},
        "started": "2026-12-06T00:00:00Z",
        "finished": "2026-12-06T00:00:01Z",
        "harness_version": "0",
        "load": load,
    }


def test_the_load_report_has_the_report_csp_and_isolates_candidate_text():
    page = load_report.page(load_results("KH" + HOSTILE))
    tree = lxml_html.document_fromstring(page)
    (policy,) = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    (style,) = tree.xpath("//style/text()")
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy.startswith("default-src 'none'; ") and f"style-src 'sha256-{digest}'" in policy
    assert "script-src 'none'" in policy and "img-src 'none'" in policy
    assert not tree.xpath("//script | //*[@src] | //link")
    assert check_isolated(page) >= 4


WORDS_LEFT_TO_RIGHT = """
(() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const left = (node, i) => { range.setStart(node, i); range.setEnd(node, i + 1);
                               return range.getBoundingClientRect(); };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.indexOf(WORD);
    if (at < 0) continue;
    const first = left(node, at), last = left(node, at + WORD.length - 1);
    if (!first.width || Math.abs(first.top - last.top) > 2) continue;  // folded, or wrapped
    found.push(first.left < last.left);
  }
  return found;
})()
"""


@pytest.mark.parametrize("word", ["UTC", "build"])
def test_in_chromium_the_harness_text_after_candidate_text_reads_left_to_right(
    browser,  # noqa: F811  (test_report_browser's fixture)
    data,
    tmp_path,
    word,
):
    """The verdict line at the top: "— KH<party>, build <build>, <date> UTC": with the candidate's
    U+202E not isolated, ", build" and "UTC" after it are shown reversed ("CTU")."""
    write_html(data, {"fail": 1}, tmp_path / "report.html")
    page = browser.open(tmp_path / "report.html")
    order = page.evaluate(WORDS_LEFT_TO_RIGHT.replace("WORD", json.dumps(word)))
    assert order and all(order), order
