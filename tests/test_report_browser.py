"""report.html as a person sees it: opened from disk in headless Chromium, driven over the DevTools
Protocol (CDP).

Two small reports are made against the embedded reference NSW (requirement M-06 only): one
conformant, one with the seeded fault ``ignore-digests`` so that failed tests, their reasons and the
exchanged messages are on the page. Each is loaded from its file:// URL; the test checks that the
page raises no console error or exception, fetches nothing but itself, shows the overall verdict,
the full requirement matrix and (for the fault) the failure details, and that a screenshot of it is
a real PNG.

Chromium is kept off every network: besides the background-networking switches, every host name
resolves to nothing and every proxied request goes to a closed local port.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websocket
from conftest import require_tool

from conformance.app.run import RunOptions, run
from conformance.profiles.efdx import catalogue
from conformance.profiles.efdx.pack import PROFILE as EFDX
from conformance.results import xmlview
from conformance.results.pdf import offline_flags

START_TIMEOUT_S = 20.0  # Chromium writing DevToolsActivePort
CALL_TIMEOUT_S = 10.0  # one CDP command answered
LOAD_TIMEOUT_S = 15.0  # Page.loadEventFired after Page.navigate
SETTLE_S = 0.5  # after the load, how long late events (requests, console) are still collected
STOP_TIMEOUT_S = 5.0  # SIGTERM to the process group, then SIGKILL

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PASS_COLOUR = "rgb(26, 127, 55)"  # --pass in the template
FAIL_COLOUR = "rgb(207, 34, 46)"  # --fail in the template


# What would make the page fetch something, now or on a click: elements with a source or a link
# (other than to a place on the page itself), and url(...) in its style sheets. The report has
# neither (exchanged URLs are shown as text only).
LINKED_RESOURCES = """[
  ...[...document.querySelectorAll(
    '[src], [srcset], [href]:not(a[href^="#"]), [poster], [data], [background], link, iframe, object, embed,'
    + ' base, form'
  )].map(e => e.outerHTML.slice(0, 200)),
  ...[...document.styleSheets]
    .flatMap(s => { try { return [...s.cssRules]; } catch { return []; } })  // others' sheets: a link
    .map(r => r.cssText).filter(t => t.includes('url(')),
]"""


class CdpError(RuntimeError):
    pass


class Cdp:
    """A minimal, synchronous CDP client over one browser websocket (flat sessions).

    Every event received is kept in ``events``; every wait has a deadline.
    """

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(
            url, timeout=CALL_TIMEOUT_S, suppress_origin=True, http_no_proxy=["127.0.0.1"]
        )
        self.events: list[dict] = []
        self._last_id = 0

    def close(self) -> None:
        self.ws.close()

    def _receive(self, deadline: float) -> dict | None:
        """The next message, or None when the deadline passed first."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.ws.settimeout(remaining)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._last_id += 1
        request = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            request["sessionId"] = session
        self.ws.send(json.dumps(request))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            message = self._receive(deadline)
            if message is None:
                raise TimeoutError(f"no answer to {method} within {CALL_TIMEOUT_S} s")
            if message.get("id") == self._last_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, method: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            if self._receive(deadline) is None:
                raise TimeoutError(f"no {method} within {timeout} s")

    def settle(self, seconds: float) -> None:
        """Collect whatever events arrive during the next `seconds`."""
        deadline = time.monotonic() + seconds
        while self._receive(deadline) is not None:
            pass

    def session_events(self, session: str, method: str) -> list[dict]:
        return [e["params"] for e in self.events if e.get("sessionId") == session and e["method"] == method]


@dataclass
class LoadedPage:
    cdp: Cdp
    session: str
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def evaluate(self, expression: str):
        result = self.cdp.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} threw {result['exceptionDetails']}")
        return result["result"].get("value")

    def collect(self) -> None:
        """Refresh requests and errors from the events received so far."""
        cdp, session = self.cdp, self.session
        self.requests = [
            e["request"]["url"] for e in cdp.session_events(session, "Network.requestWillBeSent")
        ]
        self.errors = [
            f"console.{e['type']}: {[a.get('value', a.get('description')) for a in e['args']]}"
            for e in cdp.session_events(session, "Runtime.consoleAPICalled")
            if e["type"] in ("error", "assert")
        ]
        self.errors += [
            f"exception: {e['exceptionDetails']}"
            for e in cdp.session_events(session, "Runtime.exceptionThrown")
        ]
        self.errors += [
            f"log {e['entry']['source']}: {e['entry']['text']} ({e['entry'].get('url', '')})"
            for e in cdp.session_events(session, "Log.entryAdded")
            if e["entry"]["level"] == "error"
        ]

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(
            self.cdp.call("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        )
        path.write_bytes(data)
        return data


@dataclass
class Browser:
    process: subprocess.Popen
    cdp: Cdp
    log: Path

    def open(self, path: Path) -> LoadedPage:
        """A new tab with the file loaded; CDP domains are enabled before navigating."""
        target = self.cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.cdp.call(f"{domain}.enable", session=session)
        url = path.resolve().as_uri()
        navigated = self.cdp.call("Page.navigate", {"url": url}, session)
        assert "errorText" not in navigated, navigated
        self.cdp.wait_for("Page.loadEventFired", session, LOAD_TIMEOUT_S)
        self.cdp.settle(SETTLE_S)
        page = LoadedPage(self.cdp, session, url)
        page.collect()
        return page


def start_browser(chromium: str, home: Path, profile: Path, log: Path) -> subprocess.Popen:
    profile.mkdir()
    # Chromium's crash handler keeps its database under $XDG_CONFIG_HOME (~/.config): keep it here.
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    command = [
        chromium,
        *offline_flags(profile),  # no host name resolves, anything proxied goes to a closed port
        "--remote-debugging-port=0",
        "--window-size=1280,1600",
        "about:blank",
    ]
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )


def stop_browser(process: subprocess.Popen) -> None:
    """Stop Chromium and all its helper processes: its own process group, SIGTERM then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    # Whatever is left of the group (the main process if it ignored SIGTERM, lingering helpers).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_S)


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line names `marker` (Linux /proc; zombies have none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def stop_crash_handlers(home: Path) -> None:
    """Chromium's crash handlers leave its process group (they daemonise) and end by themselves once
    the browser is gone; those that name this test's home are waited for, then killed by pid."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while (left := processes_mentioning(str(home))) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def devtools_url(process: subprocess.Popen, profile: Path, log: Path) -> str:
    """The browser's websocket URL, from <user-data-dir>/DevToolsActivePort (port, then path)."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chromium exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        lines = active.read_text().split() if active.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    pytest.fail(
        f"chromium wrote no DevToolsActivePort within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """Two report folders: the whole suite against the reference (conformant; a subset could only be
    incomplete) and M-06 against ignore-digests (not conformant)."""
    conformant_code, conformant = run(  # every installed profile: the reference claims them all
        RunOptions(report_dir=tmp_path_factory.mktemp("conformant"), live=False)
    )
    fault_code, fault = run(
        RunOptions(
            report_dir=tmp_path_factory.mktemp("fault"),
            live=False,
            requirements=("M-06",),
            reference_fault="ignore-digests",
            profile=EFDX,
        )
    )
    crl_code, crl = run(
        RunOptions(
            report_dir=tmp_path_factory.mktemp("crl"),
            live=False,
            requirements=("M-10",),
            reference_fault="ignore-crl",
            profile=EFDX,
        )
    )
    assert (conformant_code, fault_code, crl_code) == (0, 1, 1)
    return {"conformant": conformant, "fault": fault, "crl": crl}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = require_tool("chromium")
    home = tmp_path_factory.mktemp("chromium")
    profile, log = home / "profile", home / "chromium.log"
    process = start_browser(chromium, home, profile, log)
    cdp = None
    try:
        cdp = Cdp(devtools_url(process, profile, log))
        yield Browser(process, cdp, log)
    finally:
        if cdp is not None:
            cdp.close()
        stop_browser(process)
        stop_crash_handlers(home)


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def normalised(text: str) -> str:
    return " ".join(text.split())


def check_png(data: bytes) -> tuple[int, int]:
    """The PNG's width and height, after checking it is a whole PNG with more than a blank page in it."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert width > 0 and height > 0
    chunks, offset = {}, 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunks.setdefault(kind, []).append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    assert b"IEND" in chunks
    pixels = zlib.decompress(b"".join(chunks[b"IDAT"]))
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8
    assert len(pixels) == height * (1 + width * channels)
    assert len(set(pixels)) > 16, "the screenshot is (nearly) blank"
    return width, height


def check_page_basics(page: LoadedPage, data: dict, verdict: str, m06: str, colour: str) -> None:
    # Nothing but the document itself was requested, and nothing complained.
    assert page.requests == [page.url]
    assert page.evaluate("performance.getEntriesByType('resource').length") == 0
    assert page.errors == []
    # one inline script, admitted by the page's Content-Security-Policy (by its hash), and nothing else
    assert page.evaluate("document.scripts.length") == 1
    policy = page.evaluate(
        "document.querySelector('meta[http-equiv=Content-Security-Policy]').getAttribute('content')"
    )
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert page.evaluate(LINKED_RESOURCES) == []

    overall = page.evaluate("document.querySelector('#overall').innerText")
    assert verdict in overall.split()
    assert page.evaluate("document.title").endswith(verdict)

    rows = page.evaluate(
        "[...document.querySelectorAll('#matrix tbody tr')]"
        ".map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    rows = [row for row in rows if row[0].startswith("EFDX 1.0 ")]
    assert len(rows) == len(catalogue.requirements())
    assert [row[0] for row in rows] == [
        f"EFDX 1.0 {requirement.id}" for requirement in catalogue.requirements()
    ]
    assert {row[0]: row[3] for row in rows}["EFDX 1.0 M-06"] == m06
    badge = page.evaluate(
        "getComputedStyle([...document.querySelectorAll('#matrix tbody tr')]"
        ".find(r => r.cells[0].innerText.trim() === 'EFDX 1.0 M-06').cells[3].querySelector('.verdict'))"
        ".backgroundColor"
    )
    assert badge == colour

    tests = page.evaluate(
        "[...document.querySelectorAll('#tests tbody tr')]"
        ".map(r => [r.cells[0].innerText, r.cells[2].innerText])"
    )
    assert tests == [[test["id"], test["verdict"]] for test in data["tests"]]


def test_conformant_report_in_chromium(browser, reports, tmp_path):
    data = results(reports["conformant"])
    assert data["verdict"] == "conformant"
    page = browser.open(reports["conformant"] / "report.html")
    check_page_basics(page, data, "conformant", "pass", PASS_COLOUR)
    assert page.evaluate("document.querySelectorAll('details.test[open]').length") == 0
    assert page.evaluate("document.querySelectorAll('details.test').length") == len(data["tests"])
    assert page.evaluate("document.querySelector('#failed-requirements')") is None

    png = page.screenshot(tmp_path / "conformant.png")
    check_png(png)
    page.collect()
    assert page.requests == [page.url] and page.errors == []


def test_not_conformant_report_in_chromium(browser, reports, tmp_path):
    data = results(reports["fault"])
    assert data["verdict"] == "not-conformant"
    failed = [test for test in data["tests"] if test["verdict"] not in ("pass", "not-applicable")]
    assert failed and all(test["verdict"] == "fail" for test in failed)
    assert failed[0]["exchanges"], "the failed test recorded no exchange"

    page = browser.open(reports["fault"] / "report.html")
    check_page_basics(page, data, "not-conformant", "fail", FAIL_COLOUR)

    sections = page.evaluate(
        "[...document.querySelectorAll('details.test[open]')].map(s => ({id: s.id,"
        " heading: s.querySelector('h3').innerText, reason: s.querySelector('.reason').innerText}))"
    )
    assert [section["heading"] for section in sections] == [test["id"] for test in failed]
    assert [normalised(section["reason"]) for section in sections] == [
        normalised(test["reason"]) for test in failed
    ]

    # The exchanged messages are folded away in <details>: unfold them as a reader would, then
    # the request and the answer of the first failed test are on screen, pretty-printed.
    first = sections[0]["id"]
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; }); true")
    shown = page.evaluate(
        f"[...document.getElementById('{first}').querySelectorAll('pre.xml')].map(p => p.innerText)"
    )
    exchange = failed[0]["exchanges"][0]
    assert "<Envelope" in exchange["request_body"]
    for body in (exchange["request_body"], exchange["response_body"]):
        assert normalised(xmlview.pretty(body).text) in [normalised(text) for text in shown]

    # The screenshot shows the first failure, unfolded.
    page.evaluate(f"document.getElementById('{first}').scrollIntoView(); true")
    png = page.screenshot(tmp_path / "not-conformant.png")
    width, height = check_png(png)
    assert (width, height) == tuple(page.evaluate("[window.innerWidth, window.innerHeight]"))
    page.collect()
    assert page.requests == [page.url] and page.errors == []


def test_the_checks_see_fetches_and_errors(browser, reports, tmp_path):
    """Negative control: a page that fetches and complains is caught by the same checks."""
    planted = (
        '<link rel="stylesheet" href="https://fonts.example.invalid/report.css">'
        '<img alt="" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">'
        "<script>console.error('planted'); throw new Error('planted too');</script>"
    )
    page_html = (reports["conformant"] / "report.html").read_text(encoding="utf-8")
    tampered = tmp_path / "report.html"
    tampered.write_text(page_html.replace("</body>", planted + "</body>"), encoding="utf-8")

    page = browser.open(tampered)
    assert page.requests[0] == page.url
    assert "https://fonts.example.invalid/report.css" in page.requests
    assert any(url.startswith("data:image/gif") for url in page.requests)
    # The report's Content-Security-Policy refuses the planted script (and says so as an error)...
    assert any("Content Security Policy" in error for error in page.errors), page.errors
    assert not any("planted" in error for error in page.errors)
    assert len(page.evaluate(LINKED_RESOURCES)) == 2
    # ...and without that policy, the same checks see the script's complaints.
    unguarded = tmp_path / "unguarded.html"
    policy = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
    unguarded.write_text(policy.sub("", tampered.read_text()))
    page = browser.open(unguarded)
    assert any("console.error" in error and "planted" in error for error in page.errors)
    assert any(error.startswith("exception") and "planted too" in error for error in page.errors)


# --- a failing run as a certification officer reads it ------------------------------------------------

VISIBLE_CARDS = "[...document.querySelectorAll('details.test')].filter(c => !c.hidden).map(c => c.id)"
VISIBLE_ROWS = (
    "[...document.querySelectorAll('#matrix tbody tr')].filter(r => !r.hidden).map(r => r.cells[0].innerText)"
)


def click(page: LoadedPage, selector: str) -> None:
    page.evaluate(f"document.querySelector({json.dumps(selector)}).click(); true")


def toggle(page: LoadedPage, group: str, value: str) -> None:
    """Untick or tick a filter box as a reader does (a click fires the change)."""
    click(page, f".filters input[data-group={group}][value={json.dumps(value)}]")


def test_a_failing_run_puts_the_failed_requirement_and_its_knock_ons_first(browser, reports):
    """ignore-crl: m10-revoked-signer fails on M-10, which leaves M-20 (its other requirement)
    inconclusive. Above the fold: M-10 with the spec's text and the failing test; M-20 under it."""
    from conformance.harness import registry

    data = results(reports["crl"])
    (failed,) = [test for test in data["tests"] if test["verdict"] == "fail"]
    assert failed["failed_requirements"] == ["EFDX 1.0 M-10"] and "EFDX 1.0 M-20" in failed["requirements"]
    assert failed["description"], "the vector's description was not recorded"
    page = browser.open(reports["crl"] / "report.html")
    assert page.requests == [page.url] and page.errors == []

    top = page.evaluate(
        """(() => { const root = document.querySelector('#failed-requirements .root');
           const box = root.getBoundingClientRect();
           return {id: root.id, top: box.top, bottom: box.bottom, height: window.innerHeight,
                   heading: root.querySelector('h3').innerText, spec: root.querySelector('.spec').innerText,
                   tests: [...root.querySelectorAll('.failing-tests a')].map(a => a.innerText),
                   knockOn: [...root.querySelectorAll('.knock-on-requirement a')].map(a => a.innerText)};
         })()"""
    )
    assert top["id"] == "root-EFDX_1_0_M-10" and top["heading"].startswith("EFDX 1.0 M-10")
    assert top["top"] >= 0 and top["bottom"] <= top["height"], "the failed requirement is below the fold"
    words = registry.default().spec_text("M-10").split("\n  test purposes:")[0]  # no purposes list
    assert top["spec"].strip() == words.strip()
    assert top["tests"] == [failed["id"]]
    assert top["knockOn"] == ["EFDX 1.0 M-20"]

    # The test's card: the vector's description, expected beside observed, the timeline.
    card = page.evaluate(
        f"""(() => {{ const card = [...document.querySelectorAll('details.test')]
             .find(c => c.querySelector('h3').innerText === {json.dumps(failed["id"])});
           return {{open: card.open, description: card.querySelector('.description').innerText,
                    expected: card.querySelector('.compare .expected').innerText,
                    observed: card.querySelector('.compare .observed').innerText,
                    hint: card.querySelector('.hint').innerText,
                    timeline: [...card.querySelectorAll('.timeline tbody tr')]
                      .map(r => r.cells[3].innerText)}};
         }})()"""
    )
    assert card["open"] and card["description"] == failed["description"]
    assert failed["expected"] in card["expected"] and "HTTP 200" in card["observed"]
    assert card["hint"].startswith("Look at") and "M-10" in card["hint"]
    assert card["timeline"] == ["", "200"]  # the request, then the candidate's answer

    # Filters: only what did not pass, then without layer M, then everything again.
    total = len(data["tests"])
    click(page, "#only-not-passed")
    assert page.evaluate(VISIBLE_CARDS) == [page.evaluate("document.querySelector('details.test[open]').id")]
    assert set(page.evaluate(VISIBLE_ROWS)) == {"EFDX 1.0 M-10", "EFDX 1.0 M-20"}
    assert page.evaluate("document.getElementById('filter-count').innerText") == f"1 of {total} tests shown"
    toggle(page, "layer", "M")
    assert page.evaluate(VISIBLE_CARDS) == [] and page.evaluate(VISIBLE_ROWS) == []
    click(page, "#show-all")
    toggle(page, "layer", "M")
    assert len(page.evaluate(VISIBLE_CARDS)) == total
    toggle(page, "profile", data["profile"])
    assert page.evaluate(VISIBLE_CARDS) == []
    toggle(page, "profile", data["profile"])

    # A requirement row links to its tests, and following the link unfolds the test.
    link = page.evaluate(
        "document.querySelector('#matrix tr#req-EFDX_1_0_M-20 .test-links a').getAttribute('href')"
    )
    page.evaluate(f"document.getElementById({json.dumps(link[1:])}).open = false; true")
    page.evaluate(f"location.hash = {json.dumps(link)}; true")
    page.cdp.settle(0.2)
    assert page.evaluate(f"document.getElementById({json.dumps(link[1:])}).open") is True
    page.collect()
    assert page.requests == [page.url] and page.errors == []


def test_printing_unfolds_every_exchange(browser, reports, tmp_path):
    """In print media every message is laid out (none folded away), and the page prints to a PDF."""
    data = results(reports["crl"])
    page = browser.open(reports["crl"] / "report.html")
    count = sum(len(test["exchanges"]) * 2 + len(test["received"]) for test in data["tests"])
    folded = "[...document.querySelectorAll('pre.xml')].filter(p => !p.checkVisibility()).length"
    assert page.evaluate("document.querySelectorAll('pre.xml').length") == count
    assert page.evaluate(folded) > 0  # on screen, passing tests' messages are folded
    page.cdp.call("Emulation.setEmulatedMedia", {"media": "print"}, page.session)
    assert page.evaluate(folded) == 0
    pdf = base64.b64decode(page.cdp.call("Page.printToPDF", {}, page.session)["data"])
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
    page.cdp.call("Emulation.setEmulatedMedia", {"media": ""}, page.session)


def test_report_pdf_prints_the_report_and_says_when_chromium_is_missing(reports, capsys, monkeypatch):
    from conformance.app import cli

    require_tool("chromium")
    folder = reports["crl"]
    assert cli.main(["report", "pdf", str(folder)]) == 0
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert str(folder / "report.pdf") in capsys.readouterr().out
    monkeypatch.setenv("CONFORMANCE_CHROMIUM", str(folder / "no-such-chromium"))
    assert cli.main(["report", "pdf", str(folder)]) == 4
    assert "Chromium is needed" in capsys.readouterr().err
    assert cli.main(["report", "pdf", str(folder / "nowhere")]) == 4


def _pdf_pages(pdf: bytes) -> tuple[int, list[bytes]]:
    """Pages and media boxes of a PDF as Chromium writes it (page dictionaries uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf)), re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)


@pytest.fixture(scope="module")
def wrong_code_run(tmp_path_factory) -> Path:
    """The whole EFDX suite against wrong-error-code: one wrong mapping (every Error carries
    EFDX-M01) that fails many requirements."""
    code, folder = run(
        RunOptions(
            report_dir=tmp_path_factory.mktemp("wrong-code"),
            live=False,
            reference_fault="wrong-error-code",
            profile=EFDX,
        )
    )
    assert code == 1
    return folder


def test_the_first_screen_shows_the_verdict_the_certify_line_and_the_largest_cause(browser, wrong_code_run):
    """At 1280 x 1000: "Failed requirements (18)" used to fill 15,000 px before anything said that
    one cause explains them all."""
    page = browser.open(wrong_code_run / "report.html")
    page.cdp.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
        page.session,
    )
    first_screen = page.evaluate(
        """(() => { const seen = el => { const box = el.getBoundingClientRect();
                                          return box.top >= 0 && box.bottom <= 1000; };
           const cause = document.querySelector('#causes .cause-group');
           return {verdict: seen(document.getElementById('overall')),
                   certify: seen(document.getElementById('certification')),
                   cause: cause && seen(cause), text: cause ? cause.innerText : ''};
         })()"""
    )
    failed = [row for row in results(wrong_code_run)["requirements"] if row["verdict"] == "fail"]
    assert first_screen["verdict"] and first_screen["certify"] and first_screen["cause"], first_screen
    assert first_screen["text"].startswith(f"{len(failed)} requirements, ")
    assert "observed Fault/Code EFDX-M01" in first_screen["text"]
    # and nothing runs off the side: no horizontal scrollbar at 1280 px (long test ids wrap)
    sideways = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sideways[0] <= sideways[1], sideways
    page.collect()
    assert page.errors == []


def test_report_pdf_is_an_a4_summary_and_full_keeps_every_exchange(wrong_code_run, capsys):
    """A run whose one wrong error-code mapping fails many requirements (wrong-error-code): the PDF
    printed 1,300 Letter pages, mostly base64 certificates; its summary is a few A4 pages naming
    what failed, and --full still prints every exchange."""
    from conformance.app import cli

    require_tool("chromium")
    folder = wrong_code_run
    data = json.loads((folder / "results.json").read_text())
    failed = [row for row in data["requirements"] if row["verdict"] == "fail"]
    assert len(failed) >= 10
    assert cli.main(["report", "pdf", str(folder)]) == 0
    summary = (folder / "report.pdf").read_bytes()
    pages, boxes = _pdf_pages(summary)
    assert 1 <= pages < 20, pages
    width, height = (float(n) for n in boxes[0].split()[2:4])
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
    assert cli.main(["report", "pdf", "--full", str(folder)]) == 0
    full_pages, _ = _pdf_pages((folder / "report.pdf").read_bytes())
    assert full_pages > 5 * pages
    capsys.readouterr()


def test_the_printed_summary_names_what_failed_and_leaves_out_the_exchanges(reports, tmp_path):
    from conformance.results import html

    data = json.loads((reports["crl"] / "results.json").read_text())
    html.write_html(data, {}, tmp_path / "summary.html", scripted=False, summary=True)
    html.write_html(data, {}, tmp_path / "full.html", scripted=False)
    summary, full = (tmp_path / "summary.html").read_text(), (tmp_path / "full.html").read_text()
    assert "EFDX 1.0 M-10" in summary and "m10-revoked-signer" in summary
    assert "<pre" in full and "<pre" not in summary  # no message bytes, no base64 certificate
    assert "test purposes of the failed requirements that did not pass" in summary
    assert "EFDX 1.0 M-10/revoked" in summary


# --- a pilot's report (issue 20) ----------------------------------------------------------------------


def test_a_pilots_report_in_chromium(browser, tmp_path):
    """A pilot with ignore-br10 at TH: its report.html fetches nothing, runs nothing, complains of
    nothing, and shows the failing pairs in the fail colour, the finding with links to its relays, and
    a timeline per conversation."""
    import io

    from conformance.app import reference_process
    from conformance.app.pilot.session import PilotOptions
    from conformance.app.pilot.session import run as run_pilot

    try:
        result = run_pilot(
            PilotOptions(report_dir=tmp_path, out=io.StringIO(), reference_fault=("ignore-br10", "TH"))
        )
    finally:
        reference_process.stopped()
    page = browser.open(result.folder / "report.html")
    assert page.requests == [page.url]
    assert page.errors == []
    assert page.evaluate("document.scripts.length") == 0
    policy = page.evaluate(
        "document.querySelector('meta[http-equiv=Content-Security-Policy]').getAttribute('content')"
    )
    assert "default-src 'none'" in policy and "script-src 'none'" in policy
    assert page.evaluate(LINKED_RESOURCES) == []
    pairs = page.evaluate(
        "[...document.querySelectorAll('table.pairs tbody tr')].map(r => [r.cells[0].innerText.trim(),"
        " r.cells[1].innerText.trim(),"
        " getComputedStyle(r.cells[1].querySelector('.verdict')).backgroundColor])"
    )
    by_pair = {pair: (verdict, colour) for pair, verdict, colour in pairs}
    assert by_pair["KH → TH"] == by_pair["SG → TH"] == ("not-interoperable", FAIL_COLOUR)
    assert by_pair["TH → KH"] == ("interoperable", PASS_COLOUR)
    findings = page.evaluate("[...document.querySelectorAll('.pilot-finding')].map(f => f.innerText)")
    assert len(findings) == 2 and all("TH as receiver broke EFDX 1.0 BR-10" in f for f in findings)
    links = page.evaluate(
        "[...document.querySelectorAll('.pilot-finding a')].map(a => a.getAttribute('href'))"
    )
    assert links and all(page.evaluate(f"!!document.querySelector('{link}')") for link in links)
    timelines = page.evaluate("document.querySelectorAll('#conversations ~ details.timeline').length")
    assert timelines == len(result.results["pilot"]["conversations"]) > 0
    check_png(page.screenshot(tmp_path / "pilot.png"))
