"""The embedded default: three reference NSWs of one profile (EFDX: KH, SG, TH), each a `conformance
reference serve` process of its own (``app/reference_process.py``, as `conformance run` starts its
reference), each configured with the gateway's inboxes as its peers (G-01), one of them with a seeded
fault when asked. Short windows, as the embedded reference of `conformance run` has
(``REFERENCE_WINDOWS``), keep a pilot under a minute.

The gateway must listen before the references start (they are given its inboxes) and the
references before the gateway can forward to them: the gateway is started with a route whose
receivers' URLs are filled in as each reference announces its inbox (the route's mapping is read at
each forward; no request can come before the references, who alone send, are up).
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import tempfile
from pathlib import Path

from conformance.app import reference_process
from conformance.app.run import REFERENCE_WINDOWS, reference_config
from conformance.core.profile import Profile, ReferenceSettings
from conformance.family.gateway import Gateway

from .setup import GatewaySetup, PilotParty, PilotSetup, gateway_credential

PARTIES = {"efdx": ("KH", "SG", "TH")}  # the embedded pilot's parties, by profile key


def parties_of(profile: Profile) -> tuple[str, ...]:
    """Three parties of the profile: the listed ones, else its reference party, its partner and one more."""
    if profile.key in PARTIES:
        return PARTIES[profile.key]
    first = [profile.reference_party, profile.partner_party]
    return (*first, next(p for p in profile.parties if p not in first))


def embedded_setup(profile: Profile, tls: bool) -> PilotSetup:
    """The setup before the references run: the parties' ICS are filled in by ``start``."""
    gateway = GatewaySetup(tls=tls, credential=gateway_credential(profile) if tls else None)
    return PilotSetup(profile, (), gateway, profile.load_pki().trust_store())


def start(
    stack: contextlib.ExitStack,
    setup: PilotSetup,
    gateway: Gateway,
    inboxes: dict[str, str],
    fault: tuple[str, str] | None,
) -> PilotSetup:
    """Start the references (stopped by ``stack``); fill in ``inboxes``; the setup with their ICS."""
    profile, tls = setup.profile, setup.gateway.tls
    token = secrets.token_hex(16)
    parties: list[PilotParty] = []
    processes: dict[str, int] = {}
    for party in parties_of(profile):
        workdir = Path(tempfile.mkdtemp(prefix=f"pilot-{profile.key}-{party}-"))  # removed once stopped
        settings = ReferenceSettings(
            party=party,
            db=workdir / "reference.sqlite",
            peers=gateway.peers(profile.inbox_path, [p for p in parties_of(profile) if p != party]),
            fault=fault[0] if fault and fault[1] == party else None,
            retry_schedule=REFERENCE_WINDOWS.retry_schedule_s,
            outbound_timeout=REFERENCE_WINDOWS.peer_timeout_s,
            trigger_token=token,
            tls=tls,
            gateway=True,
        )
        running = stack.enter_context(reference_process.serving(profile, settings, workdir))
        assert running.trigger_url is not None  # started with a token: serving waited for its trigger
        inboxes[party] = running.url
        processes[party] = running.pid
        config = reference_config(profile, running.url, running.trigger_url, token, tls)
        parties.append(PilotParty(dataclasses.replace(config, party=party)))
    return dataclasses.replace(setup, parties=tuple(parties), processes=processes)
