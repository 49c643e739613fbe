"""What the API and the pages both do (register a system, start a run, find what a user may see),
written once so that the two cannot drift apart in what they allow.

Visibility: ``visible_system`` and ``visible_run`` answer 404 for what does not exist and for what
belongs to an organisation the user may not see, alike.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conformance.app.serve.auth import Principal
from conformance.app.serve.execute import ATTESTATION, REPORT_FILES
from conformance.app.serve.models import ACTIVE_STATES, AuditEvent, Run, System
from conformance.app.serve.systems import SystemRefused, check_config, seal_tls
from conformance.core.pins import pins_of_pem
from conformance.harness.config import Config

ITEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._ \-]{0,59}$")  # a profile key or requirement ID
TEST_NAME = re.compile(r"^[A-Za-z0-9_][\w:+\-.\[\]/]{0,199}$")  # one -k word (pytest's identifier chars)
KEYWORDS = frozenset({"and", "or", "not"})
MAX_ITEMS = 200


class ActiveRun(Exception):
    def __init__(self, run_id: int) -> None:
        super().__init__(run_id)
        self.run_id = run_id


class TooManyRuns(Exception):
    """The organisation started its ``limit`` runs in the last hour; the next may start after
    ``retry_after_s`` seconds."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(limit)
        self.limit, self.retry_after_s = limit, retry_after_s


def audit(db: Session, who: Principal | None, action: str, target: str | None = None, **extra: Any) -> None:
    db.add(
        AuditEvent(
            user_id=who.user_id if who else None,
            user_name=who.name if who else extra.pop("user_name", None),
            organisation_id=who.organisation_id if who else None,
            action=action,
            target=target,
            detail=extra.get("detail"),
            client=extra.get("client"),
        )
    )


def visible_system(db: Session, who: Principal, system_id: int) -> System:
    system = db.get(System, system_id)
    if system is None or not who.sees(system.organisation_id):
        raise HTTPException(404, "no such system")
    return system


def visible_run(db: Session, who: Principal, run_id: int) -> Run:
    run = db.get(Run, run_id)
    if run is None or not who.sees(run.system.organisation_id):
        raise HTTPException(404, "no such run")
    return run


def may_change(who: Principal, organisation_id: int) -> None:
    if not who.changes(organisation_id):
        raise HTTPException(403, "your role may not change this organisation's systems or runs")


def fixed_ports(config: Config) -> set[int]:
    """The fixed ports a system's runs listen on for its harness inbox (port 0: a free port each run)."""
    listens = {config.harness_listen_of(key) for key in config.profiles}
    return {int(port) for port in (listen.rpartition(":")[2] for listen in listens) if int(port or 0)}


def _own_harness_ports(db: Session, config: Config) -> None:
    """A system's harness inbox is stable when its TOML fixes the port (``[harness] listen``): its
    candidate is configured once. Two systems' runs may run at once, so no two systems share a fixed
    port; the other system is not named (it may be another organisation's)."""
    wanted = fixed_ports(config)
    if not wanted:
        return
    for other in db.scalars(select(System).where(System.ics_toml.is_not(None))):
        if clash := sorted(wanted & _ports_named(other.ics_toml or "")):
            raise SystemRefused(
                f"harness.listen: port {clash[0]} is already another system's harness inbox on this "
                "test bed; give this system a port of its own"
            )


def _registered_client(config: Config, tls_files: dict[str, bytes]) -> None:
    """Over mutual TLS a system registers its NSW's client certificate, the only one its harness inbox
    admits (the test PKI is shared: its chain says only "an NSW of this party"), and it must hold a
    certificate (found now, not at the first run). Plain HTTP systems stay registrable; their runs
    cannot certify (no T-05)."""
    if not config.tls.enabled:
        return
    if config.tls.candidate_cert is None:
        raise SystemRefused(
            "tls.candidate_cert: a system over mutual TLS registers the client certificate its NSW "
            "presents to the harness inbox (upload it with the TLS files and name it here); its harness "
            "inbox admits no other"
        )
    name = config.tls.candidate_cert.name
    try:
        pins_of_pem(tls_files.get(name, b""))
    except ValueError:
        raise SystemRefused(f"tls.candidate_cert: {name} holds no PEM certificate") from None


def _ports_named(toml: str) -> set[int]:
    """The fixed ports a registered system's TOML names (``[harness] listen`` and each
    ``[harness.profiles.<key>] listen``): read from the TOML itself, its TLS files being elsewhere."""
    try:
        harness = tomllib.loads(toml).get("harness") or {}
    except tomllib.TOMLDecodeError:
        return set()
    tables = [harness, *(harness.get("profiles") or {}).values()]
    listens = [table.get("listen") for table in tables if isinstance(table, dict)]
    ports = {listen.rpartition(":")[2] for listen in listens if isinstance(listen, str)}
    return {int(port) for port in ports if port.isdigit() and int(port)}


def systems_of(db: Session, who: Principal) -> list[System]:
    query = select(System).order_by(System.id)
    if not who.admin:
        query = query.where(System.organisation_id == who.organisation_id)
    return list(db.scalars(query))


def register_system(
    db: Session,
    who: Principal,
    box,
    name: str,
    toml: str,
    organisation_id: int,
    trigger_token: str | None = None,
    tls_files: dict[str, bytes] | None = None,
) -> System:
    """A new system from its ICS TOML (checked as the CLI checks it); SystemRefused says why not."""
    name = name.strip()
    if not 0 < len(name) <= 200:
        raise SystemRefused("name: 1 to 200 characters")
    may_change(who, organisation_id)
    config = check_config(toml, tls_files or {})
    _registered_client(config, tls_files or {})
    _own_harness_ports(db, config)
    system = System(
        organisation_id=organisation_id,
        name=name,
        ics_toml=toml,
        trigger_token_enc=box.seal(trigger_token.encode()) if trigger_token else None,
        tls_material_enc=seal_tls(box, tls_files or {}),
        created_by=who.user_id,
    )
    db.add(system)
    db.flush()
    audit(db, who, "system-registered", f"system:{system.id}", detail=name)
    return system


def selection(profiles: list[str], requirements: list[str], tests: list[str]) -> dict[str, list[str]]:
    """The run's selection, each item checked for its shape (it reaches a command line as an argument,
    never through a shell; the CLI then says whether it names anything)."""
    from conformance.harness import registry

    installed = set(registry.installed())
    for profile in profiles:
        if profile not in installed:
            raise HTTPException(
                422, f"profile {profile!r}: not installed (one of {', '.join(sorted(installed))})"
            )
    for requirement in requirements:
        if not ITEM.match(requirement):
            raise HTTPException(422, f"requirement {requirement!r}: not a requirement ID")
    for test in tests:
        if not TEST_NAME.match(test) or test.lower() in KEYWORDS:
            raise HTTPException(422, f"test {test!r}: not a test name")
    if max(len(profiles), len(requirements), len(tests)) > MAX_ITEMS:
        raise HTTPException(422, f"at most {MAX_ITEMS} of each")
    return {"profiles": list(dict.fromkeys(profiles)), "requirements": requirements, "tests": tests}


def start_run(
    db: Session, who: Principal, system: System, chosen: dict[str, list[str]], per_hour: int = 0
) -> Run:
    """Queue a run of ``system``; ActiveRun when one is queued or running (the database's unique
    index on active runs decides, so two requests at once cannot both win); TooManyRuns when the
    system's organisation started ``per_hour`` runs in the last hour (0: no limit)."""
    may_change(who, system.organisation_id)
    if per_hour:
        _within_hourly_runs(db, system.organisation_id, per_hour)
    active = db.scalar(select(Run.id).where(Run.system_id == system.id, Run.state.in_(ACTIVE_STATES)))
    if active is not None:
        raise ActiveRun(active)
    run = Run(system_id=system.id, selection=chosen, started_by=who.user_id)
    db.add(run)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        active = db.scalar(select(Run.id).where(Run.system_id == system.id, Run.state.in_(ACTIVE_STATES)))
        raise ActiveRun(active or 0) from None
    audit(db, who, "run-started", f"run:{run.id}", detail=f"system:{system.id}")
    return run


def _within_hourly_runs(db: Session, organisation_id: int, per_hour: int) -> None:
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    started = (
        select(Run.created)
        .join(System, Run.system_id == System.id)
        .where(System.organisation_id == organisation_id, Run.created >= since)
    )
    count = db.scalar(select(func.count()).select_from(started.subquery())) or 0
    if count < per_hour:
        return
    oldest = db.scalar(select(func.min(started.subquery().c.created)))
    oldest = oldest.replace(tzinfo=oldest.tzinfo or timezone.utc) if oldest else since
    retry = (oldest + timedelta(hours=1) - datetime.now(timezone.utc)).total_seconds()
    raise TooManyRuns(per_hour, max(1, int(retry) + 1))


def iso(moment: datetime | None) -> str | None:
    """A stored moment in ISO 8601 with its zone (SQLite gives back naive UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def run_json(run: Run) -> dict[str, Any]:
    base = f"/api/runs/{run.id}"
    listed = [
        name for name in REPORT_FILES if name != ATTESTATION or run.can_certify
    ]  # only a certifying run's
    files = {name: f"{base}/files/{name}" for name in listed} if run.report_folder else {}
    return {
        "id": run.id,
        "system": run.system_id,
        "state": run.state,
        "verdict": run.verdict,
        "can_certify": run.can_certify,
        "counts": run.counts,
        "profile_verdicts": run.profile_verdicts,
        "reason": run.reason,
        "selection": run.selection,
        "created": iso(run.created),
        "started": iso(run.started),
        "finished": iso(run.finished),
        "events": f"{base}/events",
        "files": files,
        "attended": bool((run.selection or {}).get("attended")),
        "prompts": f"{base}/prompts",
    }


def system_json(system: System) -> dict[str, Any]:
    return {
        "id": system.id,
        "organisation": system.organisation_id,
        "name": system.name,
        "embedded": system.embedded,
        "ics_toml": system.ics_toml,
        "has_trigger_token": system.trigger_token_enc is not None,
        "has_tls_material": system.tls_material_enc is not None,
        "created": iso(system.created),
    }
