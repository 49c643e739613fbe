"""A pilot's report.html and evidence.zip (EFDX section 9, issue 20), from results.json's ``pilot``
block and the gateway's relays as plain data: the results know no pilot module, no gateway and no
pack (``results`` never imports the app or the harness).

report.html has the run report's look (its style sheet) and its strict Content-Security-Policy: one
inline style by hash, no script, nothing fetched; everything a party sent is escaped text, bidi
isolated (``results/bidi.py``). It shows the pairs' verdicts, the matrix by message kind, what each
party broke, every finding with its relays, a timeline per conversation across both parties, and
every relay with the SHA-256 of its request and answer.

evidence.zip holds results.json, report.html and every relay whole: ``relays/NNNN-request.xml`` as
the gateway received and forwarded it, ``relays/NNNN-answer.xml`` as it returned it (empty for an
answer of the gateway's own, which has no body), indexed in ``index.json``; its manifest is signed
as a run's evidence is (``evidence.write_evidence``), so `conformance evidence verify` checks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import jinja2

from conformance.core.trust import Credential
from conformance.results import bidi, safe_write
from conformance.results.evidence import write_evidence
from conformance.results.history import readable_time

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("conformance.results") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=bidi.finalize,  # a party's text never reorders the harness's own
)
_environment.filters["plain"] = bidi.isolate_plain
_environment.filters["when"] = readable_time  # 2026-12-07 03:13:08 UTC, not the raw ISO stamp

FILES = ("results.json", "report.html")  # the pilot's report files the bundle holds
PILOT_STYLE = (
    "\n.pilot-matrix td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "\n.pilot-matrix td.bad{background:#fff0f0;font-weight:600}"
    "\n.v-interoperable{background:var(--pass)}.v-not-interoperable{background:var(--fail)}"
    "\n.timeline code,.relays code{font-size:12px;overflow-wrap:anywhere}"
    "\n.relays td,.timeline td{font-size:13px}.pilot-finding{margin:.3rem 0}"
)


def relay_file(number: int, part: str) -> str:
    """The bundle's name of a relay's ``request`` or ``answer``."""
    return f"relays/{number:04d}-{part}.xml"


def relay_entries(bodies: Mapping[int, tuple[bytes, bytes]]) -> dict[str, bytes]:
    """relay number -> (request, answer) bytes, as the bundle's files."""
    entries = {}
    for number, (request, answer) in sorted(bodies.items()):
        entries[relay_file(number, "request")] = bytes(request)
        entries[relay_file(number, "answer")] = bytes(answer)
    return entries


def check_digests(relays: Sequence[dict], bodies: Mapping[int, tuple[bytes, bytes]]) -> None:
    """Each relay's bytes are those its SHA-256 in results.json names (ValueError otherwise): what
    the bundle holds is what was judged."""
    for relay in relays:
        request, answer = bodies[relay["relay"]]
        if hashlib.sha256(request).hexdigest() != relay["request_sha256"] or (
            hashlib.sha256(answer).hexdigest() != relay["answer_sha256"]
        ):
            raise ValueError(f"relay {relay['relay']}: its bytes are not those its digests name")


def page(data: dict) -> str:
    """The pilot's report.html from its results.json."""
    from conformance.results.html import _asset, policy

    style = _asset("report.css.j2") + PILOT_STYLE
    pilot = data["pilot"]
    columns = next((list(counts) for pair in pilot["pairs"] for counts in pair["kinds"].values()), [])
    return _environment.get_template("pilot_report.html.j2").render(
        data=data, pilot=pilot, columns=columns, style=style, csp=policy(style)
    )


def write(
    folder: Path,
    data: dict,
    bodies: Mapping[int, tuple[bytes, bytes]],
    signer: Credential,
) -> str:
    """report.html and evidence.zip in ``folder`` (results.json is there already); the bundle's
    SHA-256. ``bodies``: each relay's request and answer, by relay number."""
    relays = data["pilot"].get("relays", [])
    check_digests(relays, bodies)
    safe_write.write_text(folder / "report.html", page(data))
    index = {
        "kind": "pilot",
        "profile": data.get("profile"),
        "verdict": data.get("verdict"),
        "relays": [
            {
                **{key: relay.get(key) for key in INDEXED},
                "request": relay_file(relay["relay"], "request"),
                "answer": relay_file(relay["relay"], "answer"),
            }
            for relay in relays
        ],
    }
    return write_evidence(
        folder,
        data,
        folder / "evidence.zip",
        signer,
        files=FILES,
        extra=relay_entries(bodies),
        index=index,
    )


# What index.json says of each relay besides its files.
INDEXED = (
    "relay",
    "at",
    "from",
    "to",
    "action",
    "message_id",
    "conversation_id",
    "try",
    "status",
    "gateway",
    "request_sha256",
    "answer_sha256",
)
