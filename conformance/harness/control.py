"""Making the candidate send: through its test trigger (section 2), or by asking an operator.

Trigger mode posts ``{"action", "to", "document"}`` with the profile's token header (EFDX 1.0:
X-EFDX-Test-Token) and expects 202.
Manual mode (a candidate without a trigger) writes the document to a file, tells the operator
exactly what to do in the candidate's own interface, and the test then waits, bounded by the ICS's
operator window, for the message to arrive; with --non-interactive such a test is inconclusive.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from lxml import etree

from conformance.core.verdicts import Inconclusive
from conformance.harness.session import Harness


class TriggerFailed(Exception):
    """The candidate's test trigger did not take the request: the test cannot go on (error)."""


class TokenRefused(Exception):
    """The test trigger refused the configured token: a configuration error, found before the tests."""


# Only a clear authentication refusal is the configuration's fault; anything else (400 for the empty
# request, 404, 5xx, no answer) leaves the tests to find out, as before.
AUTH_REFUSED = (401, 403)


def check_trigger_token(harness: Harness) -> None:
    """Ask the trigger once, before the tests, whether it takes the token: a wrong one would otherwise
    error every exporting test. The request is an empty JSON object: no action, no document, nothing a
    candidate could send (the reference answers it 400 with the right token and 403 with a wrong one)."""
    config = harness.config
    if harness.manual_mode:
        return
    exchange = harness.client.post(
        config.trigger_url,
        b"{}",
        content_type="application/json",
        headers={harness.profile.trigger_header: config.trigger_token or ""},
        label="trigger token check",
    )
    if exchange.status not in AUTH_REFUSED:
        return
    answer = exchange.response_body[:120].decode("utf-8", errors="replace").strip()
    which = "the configured token" if config.trigger_token else "an empty token (none is configured)"
    raise TokenRefused(
        f"candidate.trigger.token: the test trigger at {config.trigger_url} refused {which}: "
        f"HTTP {exchange.status}{f' {answer}' if answer else ''}"
    )


def ask_to_send(harness: Harness, action: str, document: etree._Element, what: str) -> float:
    """Make the candidate send ``action`` with ``document`` to the harness party; return the window
    (seconds) to wait for it: the status window with a trigger, the operator window without."""
    config = harness.config
    text = etree.tostring(document, encoding="unicode")
    if not harness.manual_mode:
        request = {"action": action, "to": harness.party, "document": text}
        exchange = harness.client.post(
            config.trigger_url,
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
    harness.tell_operator(instruction)
    return config.windows.operator_s
