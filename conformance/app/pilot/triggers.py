"""The parties' test triggers (section 2; errata 2's Ping), as the pilot asks them to send.

Over TLS the pilot presents the gateway's certificate to each trigger (an NSW that claims gateway
trusts the gateway CA for TLS, section 9) and checks the party's server certificate against the
parties' CAs."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass

import urllib3

from conformance.core.egress import EgressPolicy
from conformance.core.egress_transport import egress_failure, guarded_pool_manager

from .setup import PilotParty, PilotSetup

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Asked:
    status: int | None  # None: no answer
    message_id: str | None  # what a 202 named
    said: str  # the answer (or the error) in a line

    @property
    def taken(self) -> bool:
        return self.status == 202 and self.message_id is not None


class Triggers:
    def __init__(self, setup: PilotSetup, egress: EgressPolicy | None = None) -> None:
        context = None
        if setup.gateway.tls:
            credential = setup.gateway.credential
            assert credential is not None  # setup gives the gateway a certificate over TLS
            context = ssl.create_default_context(cadata=setup.trust.ca_pem().decode("ascii"))
            context.load_cert_chain(str(credential.cert_path), str(credential.key_path))
        self.egress = egress  # where the triggers may be asked (None: anywhere)
        self._pool = guarded_pool_manager(
            egress, ssl_context=context, cert_reqs="CERT_REQUIRED", retries=False, timeout=TIMEOUT_S
        )
        self.header = setup.profile.trigger_header

    def ask(self, party: PilotParty, request: dict) -> Asked:
        url = party.config.trigger_url
        if url is None:
            return Asked(None, None, f"{party.party} has no test trigger")
        try:
            answer = self._pool.request(
                "POST",
                url,
                body=json.dumps(request).encode(),
                headers={"Content-Type": "application/json", self.header: party.config.trigger_token or ""},
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            coarse = egress_failure(exc) if self.egress is not None else None
            return Asked(None, None, f"{url}: {coarse or f'{type(exc).__name__}: {exc}'}")
        said = answer.data[:200].decode("utf-8", errors="replace").strip()
        message_id = None
        if answer.status == 202:
            try:
                found = json.loads(answer.data).get("messageId")
                message_id = found if isinstance(found, str) else None
            except (ValueError, AttributeError):
                message_id = None
        return Asked(answer.status, message_id, f"HTTP {answer.status} {said}".strip())

    def close(self) -> None:
        self._pool.clear()
