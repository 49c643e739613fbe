"""The egress policy of a service run (core/egress.py): every run of a registered system gets one,
written by the service into the run's folder and named to `conformance run` by
CONFORMANCE_EGRESS_POLICY (app/egress_setting.py), so the run refuses a denied address before its
first test, with one line, and never connects to it.

The policy: ``EgressPolicy.for_service`` (loopback, link-local, metadata, private ranges and the
rest denied) with the service's own hosts denied (``--own-host``, the database's and Redis's hosts,
this machine's name) and the admin's allow-list (table egress_allow, API GET/PUT /api/admin/egress)
allowed. It is read from the database when the run starts: an allow-list change applies to the
next run, never to one under way. The embedded reference NSW (the demo system, on loopback in the
run's own process) gets none: it is not a candidate anyone typed.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from conformance.app.egress_setting import ENVIRONMENT_VARIABLE
from conformance.app.serve.models import EgressAllow
from conformance.app.serve.settings import ServeSettings
from conformance.core.egress import EgressPolicy, PolicyError

POLICY_FILE = "egress-policy.json"
MAX_ALLOW_ENTRIES = 1000


def own_hosts(settings: ServeSettings) -> list[str]:
    """The service's own hosts, each a valid policy entry (a name that is not one is left out)."""
    found = [*settings.own_hosts, socket.gethostname()]
    for url in (settings.url, settings.redis_url):
        host = _host_of(url)
        if host:
            found.append(host)
    kept = []
    for entry in dict.fromkeys(found):
        try:
            EgressPolicy.for_service(own_hosts=[entry])
        except PolicyError:
            continue
        kept.append(entry)
    return kept


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return make_url(url).host if "://" in url and not url.startswith("unix:") else None
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read names no host to deny
        return None


def allow_list(db: Session) -> list[str]:
    return list(db.scalars(select(EgressAllow.entry).order_by(EgressAllow.id)))


def check_allow_list(entries: list[str]) -> list[str]:
    """The entries as kept (stripped, each once), or PolicyError naming the first bad one."""
    if len(entries) > MAX_ALLOW_ENTRIES:
        raise PolicyError(f"allow: more than {MAX_ALLOW_ENTRIES} entries")
    kept = list(dict.fromkeys(entry.strip() for entry in entries))
    EgressPolicy.for_service(allow=kept)
    return kept


def policy_for(settings: ServeSettings, db: Session) -> EgressPolicy:
    return EgressPolicy.for_service(own_hosts=own_hosts(settings), allow=allow_list(db))


def write_policy(folder: Path, policy: EgressPolicy) -> dict[str, str]:
    """The policy written (0600) into the run's folder; the environment entry that names it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / POLICY_FILE).resolve()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(policy.to_json(), out, indent=1)
    return {ENVIRONMENT_VARIABLE: str(path)}
