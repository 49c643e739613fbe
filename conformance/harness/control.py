"""Making the candidate send: through its test trigger (section 2), or by asking an operator.

Trigger mode posts ``{"action", "to", "document"}`` with the profile's token header (EFDX 1.0:
X-EFDX-Test-Token) and expects 202.
Manual mode (a candidate without a trigger) writes the document to a file, tells the operator
exactly what to do in the candidate's own interface, and the test then waits, bounded by the ICS's
operator window, for the message to arrive; with --non-interactive such a test is inconclusive.

A channel that hears the operator's answer (the test bed's, app/operator_files.py) waits for it
within the operator window instead; the message is then waited for within the status window (the
operator said they sent it: it comes soon, or was already there; nobody answered: the operator
window is spent, and a message sent without a word has had its time). "Cannot" ends the test
inconclusive at once, saying so, rather than after a window in which nothing can come. The answer,
or its absence, is in the test's notes, so the report shows who did what when.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from lxml import etree

from conformance.core.client import Exchange
from conformance.core.verdicts import Inconclusive
from conformance.harness.operator import Prompt
from conformance.harness.session import Harness


class TriggerFailed(Exception):
    """The candidate's test trigger did not take the request: the test cannot go on (error)."""


class TokenRefused(Exception):
    """The test trigger refused the configured token, or is not there: a configuration error, found
    before the tests (the message names the key)."""


# A clear authentication refusal is the token's fault; 404 or 405 (a trigger not enabled, or not at
# that URL) and no connection at all are the URL's. Anything else (400 for the empty request, 5xx, no
# answer) leaves the tests to find out, as before.
AUTH_REFUSED = (401, 403)
NOT_THERE = (404, 405)


def _trigger_url(harness: Harness) -> str:
    """The trigger's URL: outside manual mode the candidate claims a trigger and has one."""
    url = harness.config.trigger_url
    assert url is not None and not harness.manual_mode, "the trigger is asked only outside manual mode"
    return url


def check_trigger_token(harness: Harness) -> None:
    """Ask the trigger once, before the tests, whether it is enabled and takes the token: a wrong one
    would otherwise error every exporting test. The request is an empty JSON object: no action, no
    document, nothing a candidate could send (the reference answers it 400 with the right token, 403
    with a wrong one, and 404 when its trigger is not enabled)."""
    config = harness.config
    if harness.manual_mode:
        return
    exchange = harness.client.post(
        _trigger_url(harness),
        b"{}",
        content_type="application/json",
        headers={harness.profile.trigger_header: config.trigger_token or ""},
        label="trigger token check",
    )
    refusal(harness, exchange)


def refusal(harness: Harness, exchange: Exchange) -> None:
    """TokenRefused when the trigger's answer says its token is refused, or that it is not there."""
    config = harness.config
    answer = exchange.response_body[:120].decode("utf-8", errors="replace").strip()
    said = f"HTTP {exchange.status}{f' {answer}' if answer else ''}"
    if exchange.status in AUTH_REFUSED:
        which = "the configured token" if config.trigger_token else "an empty token (none is configured)"
        raise TokenRefused(
            f"candidate.trigger.token: the test trigger at {config.trigger_url} refused {which}: {said}"
        )
    if exchange.status in NOT_THERE:
        raise TokenRefused(
            f"candidate.trigger.url: no test trigger is enabled at {config.trigger_url}: {said} "
            "(the ICS claims 'trigger': enable it on the candidate, or correct the URL)"
        )
    if exchange.status is None and exchange.error and exchange.error.startswith("TLS failure"):
        raise TokenRefused(f"candidate.trigger.url: {config.trigger_url}: {exchange.error}")


def ask_for_ping(harness: Harness) -> Exchange:
    """Errata 2 ("Test trigger: Ping"): ask the candidate to send a signed Ping to the harness party,
    no document. Returns the trigger's Exchange (202: it will send); TokenRefused as for the token."""
    config = harness.config
    exchange = harness.client.post(
        _trigger_url(harness),
        json.dumps({"action": "Ping", "to": harness.party}).encode(),
        content_type="application/json",
        headers={harness.profile.trigger_header: config.trigger_token or ""},
        label="trigger Ping (pre-flight: is the harness inbox reached?)",
    )
    refusal(harness, exchange)
    return exchange


def ask_to_send(harness: Harness, action: str, document: etree._Element, what: str) -> float:
    """Make the candidate send ``action`` with ``document`` to the harness party; return the window
    (seconds) to wait for it: the status window with a trigger, the operator window without."""
    config = harness.config
    text = etree.tostring(document, encoding="unicode")
    if not harness.manual_mode:
        request = {"action": action, "to": harness.party, "document": text}
        exchange = harness.client.post(
            _trigger_url(harness),
            json.dumps(request).encode(),
            content_type="application/json",
            headers={harness.profile.trigger_header: config.trigger_token or ""},
            label=f"trigger {action}",
        )
        if exchange.error or exchange.status != 202:
            observed = exchange.error or f"HTTP {exchange.status} {exchange.response_body[:200]!r}"
            raise TriggerFailed(f"the test trigger did not take {action}: {observed}")
        return config.windows.status_s
    if harness.non_interactive:
        raise Inconclusive(f"manual mode without an operator (--non-interactive): nobody can {what}")
    path = harness.workfile(f"{action}-{uuid.uuid4().hex[:8]}.xml")
    Path(path).write_text(text, encoding="utf-8")
    instruction = (
        f"OPERATOR: in the candidate NSW ({config.party}), {what}.\n"
        f"  action: {action}\n  to: {harness.party}\n  document: {path}\n"
        f"  The harness waits up to {config.windows.operator_s:g} s for it to arrive at {harness.inbox_url}."
    )
    harness.note(instruction)
    prompt = Prompt(instruction, action, harness.party, text, path, config.windows.operator_s)
    heard = harness.tell_operator(prompt)
    if heard is None:  # the terminal: no answer can come back, the message is the answer
        return config.windows.operator_s
    if heard.answer is None:
        harness.note(f"the operator did not answer within {config.windows.operator_s:g} s")
        return config.windows.status_s
    at = f" at {heard.at:%H:%M:%S} UTC" if heard.at is not None else ""
    harness.note(f"the operator answered {heard.answer}{at}")
    if heard.answer == "cannot":
        raise Inconclusive(f"manual mode: the operator answered they cannot {what}")
    return config.windows.status_s
