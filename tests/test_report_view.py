"""What report.html is built from (results/view.py, xmlview.py, html.py), on hand-made results data:
the failed requirement and its knock-ons at the top, the offending node marked, hostile text kept
text, and a Content-Security-Policy that admits exactly the page's own style and script."""

from __future__ import annotations

import base64
import hashlib
import html
import re

from markupsafe import escape

from conformance.results import bidi, xmlview
from conformance.results.html import shown_lines, write_html
from conformance.results.view import ProfileText, decision, hint, report_view

REQUEST = (
    '<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="urn:efdx:envelope:1"><Header>'
    "<MessageId>m1</MessageId><To>XX</To></Header><Payload><CO/></Payload></Envelope>"
)
ERROR = (
    '<Error xmlns="urn:efdx:envelope:1"><Fault><Code>EFDX-M01</Code>'
    "<Location>/Envelope/Header/To</Location></Fault></Error>"
)


def exchange(request: str = REQUEST, answer: str = ERROR, status: int = 400) -> dict:
    return {
        "label": "m13-wrong-receiver",
        "method": "POST",
        "url": "http://127.0.0.1:1/efdx/1/messages",
        "started": "2026-11-30T12:00:00+00:00",
        "duration_s": 0.25,
        "request_headers": {"Content-Type": "application/xml"},
        "request_body": request,
        "status": status,
        "response_headers": {"Content-Type": "application/xml"},
        "response_body": answer,
        "error": None,
    }


def entry(test_id: str, verdict: str, requirements: list[str], **fields) -> dict:
    return {
        "id": test_id,
        "title": "The manifest's vector gets the manifest's answer (and status).",
        "description": "",
        "requirements": requirements,
        "purposes": [],
        "verdict": verdict,
        "reason": fields.pop("reason", ""),
        "expected": fields.pop("expected", ""),
        "observed": fields.pop("observed", ""),
        "failed_requirements": fields.pop("failed", []),
        "location": fields.pop("location", None),
        "duration_s": 0.3,
        "exchanges": fields.pop("exchanges", []),
        "received": [],
        "notes": [],
    }


def run_data() -> dict:
    tests = [
        entry(
            "t.py::test_single_message[m13-wrong-receiver]",
            "fail",
            ["M-13", "M-20"],
            failed=["M-13"],
            reason="M-13: expected Fault/Code EFDX-M13; observed Fault/Code EFDX-M01",
            expected="Fault/Code EFDX-M13",
            observed="Fault/Code EFDX-M01",
            exchanges=[exchange()],
        ),
        entry("t.py::test_follow_up", "inconclusive", ["A-01"], reason="setup failed: M-13 broken"),
        entry("t.py::test_operator", "inconclusive", ["A-06"], reason="not run: the operator did not act"),
        entry("t.py::test_ping", "pass", ["T-01"], exchanges=[exchange(status=200)]),
        entry("t.py::test_tls", "not-applicable", ["T-05"], reason="the ICS does not enable TLS"),
    ]
    rows = [
        ("T-01", "pass", ["t.py::test_ping"]),
        ("T-05", "not-applicable", ["t.py::test_tls"]),
        ("M-13", "fail", ["t.py::test_single_message[m13-wrong-receiver]"]),
        ("M-20", "inconclusive", ["t.py::test_single_message[m13-wrong-receiver]"]),
        ("A-01", "inconclusive", ["t.py::test_follow_up"]),
        ("A-06", "inconclusive", ["t.py::test_operator"]),
    ]
    return {
        "profile": "EFDX 1.0",
        "harness_version": "0",
        "sut": {"party": "KH", "url": "http://127.0.0.1:1/efdx/1/messages", "reference": False},
        "ics": {
            "roles": ["importing"],
            "capabilities": [],
            "windows": {},
            "tls": False,
            "trigger": True,
            "harness_party": "SG",
        },
        "started": "2026-11-30T12:00:00+00:00",
        "finished": "2026-11-30T12:01:00+00:00",
        "verdict": "not-conformant",
        "interrupted": False,
        "partial": False,
        "not_tested": [],
        "certification": {"can_certify": False, "reasons": ["plain HTTP"]},
        "tests": tests,
        "requirements": [
            {
                "id": rid,
                "title": f"title of {rid}",
                "level": "MUST",
                "layer": rid.split("-")[0],
                "verdict": verdict,
                "tests": judged,
            }
            for rid, verdict, judged in rows
        ],
        "purposes": [
            {
                "id": "M-13/to",
                "requirement": "M-13",
                "clause": "To is the receiver",
                "verdict": "fail",
                "tests": ["t.py::test_single_message[m13-wrong-receiver]"],
            }
        ],
        "purpose_gaps": [],
    }


SPEC = ProfileText(requirement=lambda rid: f"the normative text of {rid}")


def test_the_failed_requirement_leads_with_its_text_its_test_and_its_knock_ons():
    top = decision(run_data(), SPEC)
    (root,) = top["roots"]
    assert root["row"]["id"] == "M-13" and root["text"] == "the normative text of M-13"
    assert [test["id"] for _, test in root["tests"]] == ["t.py::test_single_message[m13-wrong-receiver]"]
    assert [row["id"] for row in root["knock_on_requirements"]] == ["M-20"]
    assert [test["id"] for _, test in root["knock_on_tests"]] == ["t.py::test_follow_up"]
    # A-01 is inconclusive by a test of its own (which names M-13 as its cause): not a pure knock-on
    assert {row["id"] for row in top["other_requirements"]} == {"A-01", "A-06"}
    assert [cause for cause, _ in top["inconclusive_causes"]] == ["the operator did not act"]


def test_the_node_at_the_errors_location_is_marked_in_the_request():
    shown = xmlview.pretty(REQUEST, xmlview.fault_locations(ERROR))
    marked = [line.text.strip() for line in shown.lines if line.marked]
    assert marked == ["<To>XX</To>"] and shown.marked_at == "/Envelope/Header/To"
    assert len(shown.lines) > 5  # pretty-printed, one node a line


def _line_by_line(shown: xmlview.Shown) -> str:
    """What a template loop printed for each line: escaped, in a <bdi> when it could reorder what
    follows, a marked line in its span."""
    printed = []
    for line in shown.lines:
        text = str(bidi.isolate(line.text)) if bidi.reorders(line.text) else str(escape(line.text))
        printed.append(f'<span class="mark">{text}</span>\n' if line.marked else text + "\n")
    return "".join(printed)


def test_a_messages_lines_in_one_piece_are_what_a_line_by_line_loop_prints():
    arabic = "\u0627\u0644\u0639\u0631\u0628\u064a\u0629"
    for body in (REQUEST, REQUEST.replace("<From>", f"<Note>{arabic}</Note><From>"), "a\r\nb\x0bc\n\n"):
        for locations in ((), ("/Envelope/Header/To",), ("/Envelope",), ("/Envelope/Payload",)):
            shown = xmlview.pretty(body, locations)
            assert str(shown_lines(shown)) == _line_by_line(shown), (body[:40], locations)
    marked_last = xmlview.pretty("<a>\n<b/>\n</a>", ("/a/b",))
    assert marked_last.lines[-2].marked and not marked_last.lines[-1].marked
    assert xmlview.pretty("").texts == () and str(shown_lines(xmlview.pretty(""))) == ""


def test_locations_in_other_notations_find_the_same_node():
    root = xmlview._parse(REQUEST)
    for location in ("/e:Envelope/e:Header/e:To", "/{urn:efdx:envelope:1}Envelope/Header[1]/To", "Header/To"):
        assert xmlview.find(root, location).text == "XX", location
    assert xmlview.find(root, "/Envelope/Header/Nothing") is None
    assert xmlview.find(root, "/Envelope/Header[2]") is None


def test_what_is_not_xml_is_shown_as_it_came():
    shown = xmlview.pretty("HTTP/1.1 garbage <not xml", ("/a",))
    assert not shown.xml and shown.text == "HTTP/1.1 garbage <not xml"


def test_the_hint_points_at_the_marked_node():
    data = run_data()
    view = report_view(data, {"fail": 1}, SPEC)
    card = next(card for card in view["cards"] if card["test"]["verdict"] == "fail")
    assert "/Envelope/Header/To" in card["hint"] and "M-13" in card["hint"]
    assert "Fault/Code EFDX-M13" in card["hint"]
    na = next(card for card in view["cards"] if card["test"]["verdict"] == "not-applicable")
    assert na["hint"] == "Not applicable: the ICS does not enable TLS."
    assert hint(data["tests"][1], {}, []).startswith("Not judged: setup failed")


def test_the_page_escapes_what_the_candidate_sent_and_allows_only_its_own_script(tmp_path):
    data = run_data()
    hostile = '<b onmouseover="alert(1)">x</b><script>alert(2)</script>'
    data["tests"][0]["exchanges"] = [exchange(answer=hostile)]
    data["tests"][0]["observed"] = hostile
    path = tmp_path / "report.html"
    write_html(data, {"fail": 1, "inconclusive": 2, "pass": 1, "not-applicable": 1}, path, SPEC)
    page = path.read_text(encoding="utf-8")
    assert "<script>alert(2)</script>" not in page and "&lt;script&gt;alert(2)" in page
    assert 'onmouseover="alert' not in page
    policy = html.unescape(
        re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    )
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    for body, directive in ((scripts[0], "script-src"), (styles[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    assert "the normative text of M-13" in page
    assert 'id="spec-M-13"' in page and 'href="#spec-M-13"' in page


def test_a_load_block_is_shown_by_the_load_section(tmp_path, monkeypatch):
    """The hook for `conformance load`'s section: rendered by results/load_report.py when present."""
    from markupsafe import Markup

    from conformance.results import load_report

    monkeypatch.setattr(
        load_report, "section", lambda load: Markup(f'<section id="load">{load["n"]}</section>')
    )
    data = run_data()
    write_html(data, {"fail": 1}, tmp_path / "plain.html", SPEC)
    assert 'id="load"' not in (tmp_path / "plain.html").read_text(encoding="utf-8")
    data["load"] = {"n": 7}
    write_html(data, {"fail": 1}, tmp_path / "load.html", SPEC)
    assert '<section id="load">7</section>' in (tmp_path / "load.html").read_text(encoding="utf-8")


def test_failures_are_grouped_by_what_they_observed_across_requirements():
    """One cause, one group: what differs from one message to the next (IDs, times) and the message's
    bytes do not split it; the largest group comes first."""
    from conformance.results.view import failure_groups, observed_gist

    def failing(test_id: str, requirement: str, observed: str, expected: str = "x") -> dict:
        return {
            "id": test_id, "verdict": "fail", "failed_requirements": [requirement],
            "requirements": [requirement], "observed": observed, "expected": expected,
        }  # fmt: skip

    receipt = (
        "HTTP 200 <?xml version='1.0'?> <Receipt xmlns='urn:efdx:envelope:1'>"
        "<RefToMessageId>{}</RefToMessageId>"
    )
    tests = [
        failing("t1", "EFDX 1.0 M-03", "Fault/Code EFDX-M01", "Fault/Code EFDX-M03"),
        failing("t2", "EFDX 1.0 M-04", "Fault/Code EFDX-M01", "Fault/Code EFDX-M04"),
        failing("t3", "EFDX 1.0 M-04", "Fault/Code  EFDX-M01", "Fault/Code EFDX-M04"),
        failing("t4", "EFDX 1.0 M-10", receipt.format("4ada66aa-4bdb-5afb-8fbb-1160c635545b@sg.efdx")),
        failing("t5", "EFDX 1.0 M-09", receipt.format("5bda66aa-4bdb-5afb-8fbb-1160c635545c@sg.efdx")),
        {"id": "t6", "verdict": "pass", "observed": "Fault/Code EFDX-M01"},
    ]
    groups = failure_groups(tests)
    assert [(g["observed"], len(g["tests"]), g["requirements"]) for g in groups] == [
        ("Fault/Code EFDX-M01", 3, ["EFDX 1.0 M-03", "EFDX 1.0 M-04"]),
        ("HTTP 200 a Receipt", 2, ["EFDX 1.0 M-10", "EFDX 1.0 M-09"]),
    ]
    assert groups[0]["expected"] == ["Fault/Code EFDX-M04", "Fault/Code EFDX-M03"]
    assert observed_gist({"reason": "at 2026-12-06T10:00:00Z id 0123456789abcdef0123"}) == "at <time> id <id>"
