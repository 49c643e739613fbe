"""What report.html shows, worked out from results.json data: the decision at the top (verdict,
certification, failed requirements with their spec text and the tests that failed them, knock-on
inconclusives under their root cause), requirement rows linked to purposes, tests and text, and one
card per test (description, expected and observed, a timeline, the messages with the offending
node marked, a line on what to look at).

The profile's words (a requirement's text, a vector's description) come in as ``ProfileText``
callbacks from the app: results/ knows no profile. IDs are profile-qualified (``EFDX 1.0 M-06``);
the callbacks get the bare ones, from the text of the row's own profile. Data of an older
results.json (bare IDs, one profile) is shown as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from conformance.results import xmlview
from conformance.results.results import qualified, split_qualified

NOT_PASSED_BADLY = ("fail", "error")
PASSED_OR_NA = ("pass", "not-applicable")
_REQUIREMENT_ID = re.compile(r"\b[A-Z]{1,3}-\d{2}\b")
MAX_TESTS_LISTED = 5  # under a failed requirement at the top; the rest behind a link


@dataclass(frozen=True)
class ProfileText:
    """The profile's words, handed in by the app (results/ stays profile-free)."""

    requirement: Callable[[str], str] = lambda rid: ""  # a requirement's normative text
    test_description: Callable[[str], str | None] = lambda test_id: None  # the vector's description
    spec_file: str | None = None  # where the whole specification is shipped
    profiles: dict[str, ProfileText] = field(default_factory=dict)  # a run of several: each one's, by title

    def of(self, profile: str | None) -> ProfileText:
        """The words of the profile titled ``profile`` (these, for a run of one profile)."""
        return self.profiles.get(profile or "", self)


def anchor(kind: str, name: str) -> str:
    """An HTML id for ``name`` (test IDs hold brackets, slashes and colons)."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")


def layer_of(rid: str) -> str:
    """``EFDX 1.0 M-06`` (or a bare ``M-06``) -> ``M``."""
    return bare(rid).split("-")[0]


def bare(item_id: str) -> str:
    return split_qualified(item_id)[1]


def requirement_text(text: ProfileText, row: dict) -> str:
    """A requirement row's normative text, from its own profile's words: without the list of its test
    purposes that `conformance spec ID` prints after it (the report lists them once, in their table
    and under the spec text; a failed M-03 quoted them all at the top of the page)."""
    words = text.of(row.get("profile")).requirement(row.get("requirement") or bare(row["id"]))
    return words.split(PURPOSES_LINE)[0] if isinstance(words, str) else words


PURPOSES_LINE = "\n  test purposes:"  # where `conformance spec ID` starts listing them


def _size(text: str | None) -> int:
    return len((text or "").encode("utf-8"))


def _clock(moment: str | None) -> str:
    if not moment:
        return ""
    try:
        return datetime.fromisoformat(moment).strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return moment


def timeline(test: dict) -> list[dict]:
    """Every exchange and arrival of a test, in time order: time, direction, what, status, headers, size."""
    rows = []
    for number, exchange in enumerate(test.get("exchanges", []), start=1):
        started = exchange.get("started", "")
        rows.append(
            {
                "sort": started,
                "time": _clock(started),
                "direction": "harness → candidate",
                "what": " ".join(
                    (exchange.get("method", "POST"), exchange.get("url", ""), exchange.get("label", ""))
                ),
                "status": "",
                "headers": exchange.get("request_headers", {}),
                "size": _size(exchange.get("request_body")),
                "message": f"m-{number}-request",
            }
        )
        try:
            answered = datetime.fromtimestamp(
                datetime.fromisoformat(started).timestamp() + float(exchange.get("duration_s") or 0),
                datetime.fromisoformat(started).tzinfo,
            ).isoformat()
        except ValueError:
            answered = started
        status = exchange.get("status")
        rows.append(
            {
                "sort": answered,
                "time": _clock(answered),
                "direction": "candidate → harness (answer)",
                "what": exchange.get("error") or f"answer after {exchange.get('duration_s', 0)} s",
                "status": "" if status is None else str(status),
                "headers": exchange.get("response_headers", {}),
                "size": _size(exchange.get("response_body")),
                "message": f"m-{number}-answer",
            }
        )
    for number, arrival in enumerate(test.get("received", []), start=1):
        rows.append(
            {
                "sort": arrival.get("received_at", ""),
                "time": _clock(arrival.get("received_at")),
                "direction": "candidate → harness inbox",
                "what": "message" + (f" ({', '.join(arrival['codes'])})" if arrival.get("codes") else ""),
                "status": f"answered {arrival.get('answered')}",
                "headers": {"Content-Type": arrival["content_type"]} if arrival.get("content_type") else {},
                "size": arrival.get("size", _size(arrival.get("body"))),
                "message": f"m-{number}-arrival",
            }
        )
    return sorted(rows, key=lambda row: row["sort"])


def messages(test: dict) -> list[dict]:
    """The test's messages pretty-printed; the node at an Error's Location (in the request it
    answered) or at the failed check's location is marked."""
    check_location = test.get("location")
    shown = []
    for number, exchange in enumerate(test.get("exchanges", []), start=1):
        answer = exchange.get("response_body", "")
        faults = xmlview.fault_locations(answer)
        locations = tuple(x for x in (*faults, check_location) if x)
        request = xmlview.pretty(exchange.get("request_body", ""), locations)
        shown.append(
            {
                "id": f"m-{number}-request",
                "title": f"request {number}: {exchange.get('label') or exchange.get('url', '')}",
                "shown": request,
                "note": _marked_note(request, faults, check_location),
            }
        )
        reply = xmlview.pretty(answer, (check_location,) if check_location else ())
        error = f" ({exchange['error']})" if exchange.get("error") else ""
        shown.append(
            {
                "id": f"m-{number}-answer",
                "title": f"answer {number}: HTTP {exchange.get('status')}{error}",
                "shown": reply,
                "note": _marked_note(reply, (), check_location),
            }
        )
    for number, arrival in enumerate(test.get("received", []), start=1):
        body = xmlview.pretty(arrival.get("body", ""), (check_location,) if check_location else ())
        shown.append(
            {
                "id": f"m-{number}-arrival",
                "title": "sent by the candidate to the harness inbox at "
                + _clock(arrival.get("received_at")),
                "shown": body,
                "note": _marked_note(body, (), check_location),
            }
        )
    return shown


def _marked_note(shown: xmlview.Shown, faults: tuple[str, ...], check: str | None) -> str:
    if shown.marked_at is None:
        return ""
    if shown.marked_at in faults:
        return f"marked: {shown.marked_at}, the Location the candidate's Error gives"
    return f"marked: {shown.marked_at}, where the check failed"


def hint(test: dict, titles: dict[str, str], cards: list[dict]) -> str:
    """One line on what to look at."""
    verdict, reason = test.get("verdict"), test.get("reason", "")
    if verdict == "pass":
        count = len(test.get("exchanges", [])) + len(test.get("received", []))
        return f"Passed; its evidence is the {count} message(s) below."
    if verdict == "not-applicable":
        return f"Not applicable: {reason}."
    if verdict == "error":
        return "The harness or its environment failed, not the candidate: fix what the reason says and rerun."
    if verdict == "inconclusive":
        return (
            "Not judged: " + (reason or "the test did not finish") + ". Fix that, then rerun "
            "(conformance run --rerun-failed on this folder)."
        )
    failed = list(test.get("failed_requirements") or test.get("requirements") or [])
    rule = f"{failed[0]} ({titles.get(failed[0], '')})" if failed else "the requirement"
    marked = next((card for card in cards if card["shown"].marked_at), None)
    if marked is not None:
        where = f"the marked node {marked['shown'].marked_at} in {marked['title']}"
    elif test.get("exchanges"):
        last = test["exchanges"][-1]
        got = last.get("error") or "no answer"
        if last.get("status") is not None:
            got = f"HTTP {last['status']}"
        where = f"the candidate's answer to {last.get('label') or 'the request'} ({got})"
    elif test.get("received"):
        where = "what the candidate sent to the harness inbox"
    else:
        where = "the reason"
    expected = test.get("expected")
    return f"Look at {where}: {rule} expects {expected}." if expected else f"Look at {where}: {rule}."


def test_cards(data: dict, text: ProfileText) -> list[dict]:
    titles = {row["id"]: row.get("title", "") for row in data.get("requirements", [])}
    profile = data.get("profile", "")
    cards = []
    for test in data.get("tests", []):
        shown = messages(test)
        cards.append(
            {
                "test": test,
                "anchor": anchor("test", test["id"]),
                "description": test.get("description")
                or text.of(test.get("profile")).test_description(test.get("nodeid") or test["id"])
                or "",
                "layers": sorted({layer_of(rid) for rid in test.get("requirements", [])}),
                "profile": test.get("profile", profile),
                "timeline": timeline(test),
                "messages": shown,
                "hint": hint(test, titles, shown),
                "open": test.get("verdict") not in ("pass", "not-applicable"),
                "remedies": [] if test.get("verdict") in PASSED_OR_NA else remedies_of([test], data),
            }
        )
    return cards


def requirement_rows(data: dict, text: ProfileText) -> list[dict]:
    by_requirement: dict[str, list[dict]] = {}
    for row in data.get("purposes", []):
        by_requirement.setdefault(purpose_requirement(row), []).append(row)
    profile = data.get("profile", "")
    return [
        {
            **row,
            "anchor": anchor("req", row["id"]),
            "spec_anchor": anchor("spec", row["id"]),
            "text": requirement_text(text, row),
            "purposes": by_requirement.get(row["id"], []),
            "test_anchors": [(anchor("test", test_id), test_id) for test_id in row.get("tests", [])],
            "profile": row.get("profile", profile),
        }
        for row in data.get("requirements", [])
    ]


def purpose_requirement(row: dict) -> str:
    """The ID of a purpose row's requirement, as the requirement rows have it (qualified when the
    purpose row is: it carries its bare ``purpose`` beside the qualified ``id``)."""
    return qualified(row.get("profile", ""), row["requirement"]) if "purpose" in row else row["requirement"]


def _knocked_on(test: dict, rid: str) -> bool:
    """The test failed on another of its requirements, so ``rid`` was not judged by it."""
    return test["verdict"] in NOT_PASSED_BADLY and rid not in (test.get("failed_requirements") or ())


def _primary(test: dict) -> str:
    failed = test.get("failed_requirements") or test.get("requirements") or ["?"]
    return failed[0]


def decision(data: dict, text: ProfileText) -> dict:
    """The top of the page: failed requirements (spec text, failing tests), each with the knock-on
    inconclusives it caused; inconclusives with another root cause grouped by that cause."""
    rows = {row["id"]: row for row in data.get("requirements", [])}
    tests = data.get("tests", [])
    failed_rows = [row for row in data.get("requirements", []) if row["verdict"] in NOT_PASSED_BADLY]
    failed_ids = {row["id"] for row in failed_rows}
    roots: dict[str, dict] = {}
    for row in failed_rows:
        failing = [
            test
            for test in tests
            if test["verdict"] in NOT_PASSED_BADLY
            and (
                row["id"] in (test.get("failed_requirements") or ())
                or (not test.get("failed_requirements") and row["id"] in test.get("requirements", ()))
            )
        ]
        roots[row["id"]] = {
            "row": row,
            "anchor": anchor("req", row["id"]),
            "text": requirement_text(text, row),
            "tests": [(anchor("test", test["id"]), test) for test in failing],
            "more": max(len(failing) - MAX_TESTS_LISTED, 0),
            "remedies": remedies_of(failing, data, failed_only=True, of_requirement=row["id"]),
            "knock_on_requirements": [],
            "knock_on_tests": [],
        }
    other_requirements = []
    for row in data.get("requirements", []):
        if row["verdict"] != "inconclusive":
            continue
        judged = [test for test in tests if test["id"] in row.get("tests", ())]
        inconclusive_by = [test for test in judged if test["verdict"] != "pass"]
        knocked = [test for test in inconclusive_by if _knocked_on(test, row["id"])]
        knocked_by = {_primary(test) for test in knocked}
        only_knock_on = bool(inconclusive_by) and len(knocked) == len(inconclusive_by)
        root = next((cause for cause in sorted(knocked_by) if cause in roots), None)
        if only_knock_on and root:
            roots[root]["knock_on_requirements"].append(row)
        else:
            other_requirements.append(row)
    causes: dict[str, list[tuple[str, dict]]] = {}
    for test in tests:
        if test["verdict"] != "inconclusive":
            continue
        named = [
            qualified
            for rid in _REQUIREMENT_ID.findall(test.get("reason", ""))
            if (qualified := _same_profile(test, rid)) in failed_ids
        ]
        if named:
            roots[named[0]]["knock_on_tests"].append((anchor("test", test["id"]), test))
            continue
        causes.setdefault(_cause(test.get("reason", "")), []).append((anchor("test", test["id"]), test))
    groups = failure_groups(tests, data.get("purposes"))
    return {
        "causes": groups[:MAX_CAUSES_SHOWN],
        "more_causes": max(len(groups) - MAX_CAUSES_SHOWN, 0),
        "roots": list(roots.values()),
        "other_requirements": other_requirements,
        "inconclusive_causes": sorted(causes.items(), key=lambda item: -len(item[1])),
        "titles": {rid: row.get("title", "") for rid, row in rows.items()},
    }


def _same_profile(test: dict, rid: str) -> str:
    """A bare ID named in a test's reason, qualified as the test's own IDs are."""
    return qualified(test.get("profile", ""), rid) if "nodeid" in test else rid


def _cause(reason: str) -> str:
    """What inconclusive tests share: the reason before its first ';', without 'not run: '."""
    return reason.removeprefix("not run: ").split(";")[0].strip() or "no reason given"


MAX_CAUSES_SHOWN = 5  # the largest groups of failures at the top; the rest are counted
_XML_ROOT = re.compile(r"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_VARYING = (
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (
        re.compile(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:@[\w.-]+)?"
        ),
        "<id>",
    ),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<id>"),
)


def observed_gist(test: dict) -> str:
    """What a failing test observed, without what differs from one message to the next (its IDs,
    its times), and with a message named by its root element: failures of one cause read alike."""
    text = " ".join(str(test.get("observed") or test.get("reason") or "").split())
    if "<" in text:
        head, _, rest = text.partition("<")
        root = _XML_ROOT.search("<" + rest)
        text = f"{head.rstrip()} a {root.group(1)}" if root else head.rstrip()
    for pattern, placeholder in _VARYING:
        text = pattern.sub(placeholder, text)
    return text.strip() or "nothing observed"


def remedies_of(
    tests: list[dict], data: dict, failed_only: bool = False, of_requirement: str = ""
) -> list[tuple[str, str]]:
    """(purpose ID, remedy) of the tests' purposes, each once, in order: only those the run failed
    (verdict fail or error) with ``failed_only``; only ``of_requirement``'s where it has any."""
    rows = {row["id"]: row for row in data.get("purposes", ())}
    found: dict[str, str] = {}
    for test in tests:
        for pid in test.get("purposes") or ():
            row = rows.get(pid)
            if row and row.get("remedy") and (not failed_only or row.get("verdict") in NOT_PASSED_BADLY):
                found[pid] = row["remedy"]
    own = [(pid, remedy) for pid, remedy in found.items() if pid.startswith(of_requirement + "/")]
    return own if of_requirement and own else list(found.items())


def failure_groups(tests: list[dict], purposes: list[dict] | None = None) -> list[dict]:
    """The failing tests grouped across requirements by what they observed, largest first: one
    wrong mapping that fails 18 requirements is one cause, said once, not 18 sections down the page.
    With ``purposes`` (results.json's rows), each group has the remedy of its most common failing
    purpose."""
    groups: dict[str, dict] = {}
    for test in tests:
        if test.get("verdict") not in NOT_PASSED_BADLY:
            continue
        group = groups.setdefault(observed_gist(test), {"tests": [], "requirements": {}, "expected": {}})
        group["tests"].append((anchor("test", test["id"]), test))
        for rid in test.get("failed_requirements") or test.get("requirements") or ():
            group["requirements"][rid] = None
        expected = str(test.get("expected") or "")
        if expected:
            group["expected"][expected] = group["expected"].get(expected, 0) + 1
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]["tests"]), item[0]))
    return [
        {
            "observed": gist,
            "tests": group["tests"],
            "requirements": list(group["requirements"]),
            "expected": sorted(group["expected"], key=lambda e: -group["expected"][e])[:3],
            "remedy": _most_common_remedy([test for _, test in group["tests"]], purposes or []),
        }
        for gist, group in ordered
    ]


def _most_common_remedy(tests: list[dict], purposes: list[dict]) -> tuple[str, str] | None:
    """(purpose ID, remedy) of the failing purpose most of ``tests`` share, or None."""
    counts: dict[tuple[str, str], int] = {}
    for test in tests:
        for pair in remedies_of([test], {"purposes": purposes}, failed_only=True):
            counts[pair] = counts.get(pair, 0) + 1
    return max(counts, key=lambda pair: counts[pair]) if counts else None


def report_view(data: dict, counts: dict[str, int], text: ProfileText) -> dict:
    cards = test_cards(data, text)
    return {
        "data": data,
        "counts": counts,
        "decision": decision(data, text),
        "requirements": requirement_rows(data, text),
        "cards": cards,
        "layers": sorted({layer for card in cards for layer in card["layers"]}, key=_layer_order),
        "profiles": profile_titles(data, cards),
        "verdicts": [
            verdict
            for verdict in REPORTED_VERDICTS
            if counts.get(verdict) or any(row["verdict"] == verdict for row in data.get("requirements", []))
        ],
        "spec_file": text.spec_file,
    }


REPORTED_VERDICTS = ("fail", "error", "inconclusive", "pass", "not-applicable", "not-tested", "by-load-run")


def profile_titles(data: dict, cards: list[dict]) -> list[str]:
    """The profiles to filter by: those run, in run order (an older results.json: its one profile)."""
    listed = [row["title"] for row in data.get("profiles", []) if row.get("run", True) and "title" in row]
    found = listed or [data.get("profile", "")]
    found += [card["profile"] for card in cards]
    return [title for title in dict.fromkeys(found) if title]


def _layer_order(layer: str) -> tuple[int, str]:
    order = ("T", "M", "A", "BR")
    return (order.index(layer) if layer in order else len(order), layer)
