"""Conformance statements and the secretariat's regional matrix.

A statement is one system × profile: the latest *certifying* run (finished, can_certify) that ran
the profile, its verdict for that profile (results.json's, copied into Run.profile_verdicts by the
executor; never judged here), its certificate (certificate.html in the run's report folder) and its
attestation when there is one. Publishing a statement records which run it stands on (a
Publication row; the newest per system × profile counts), which makes it visible to the
secretariat; a newer certifying run is not published until someone publishes it again.

Who sees what:
- the organisation's members (and an admin) see their systems' statements, published or not;
- a ``secretariat`` user sees every organisation's *published* statements and nothing else (no run,
  no unpublished statement: the published run's files are served through the statement only);
- the matrix (organisations × installed profiles) shows published statements only, plus "in
  progress" while a run that covers the profile is queued or running, for every role; a member of
  an organisation (not secretariat or admin) sees only their own organisation's row.

A matrix cell's status is the published verdict when there is one (conformant when any of the
organisation's systems has a conformant published statement, else not conformant), else "in
progress" while a run covering the profile is under way, else "never run"; ``in_progress`` says a
run is under way whatever the status (a statement published earlier stays what it was meanwhile).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from conformance.app.serve.auth import Principal
from conformance.app.serve.models import ACTIVE_STATES, Organisation, Publication, Run, System
from conformance.app.serve.operations import audit, iso, may_change
from conformance.app.serve.report_files import ATTESTATION, CERTIFICATE, has_file

CONFORMANT, NOT_CONFORMANT, IN_PROGRESS, NEVER_RUN = (
    "conformant",
    "not conformant",
    "in progress",
    "never run",
)
CELL_ORDER = (CONFORMANT, NOT_CONFORMANT, IN_PROGRESS, NEVER_RUN)
WIDE_ROLES = ("admin", "secretariat")


def profile_keys() -> list[str]:
    from conformance.harness import registry

    return sorted(registry.installed())


def latest_certifying(db: Session, system_id: int, profile: str) -> Run | None:
    query = (
        select(Run)
        .where(Run.system_id == system_id, Run.state == "finished", Run.can_certify.is_(True))
        .order_by(Run.id.desc())
    )
    return next((run for run in db.scalars(query) if profile in (run.profile_verdicts or {})), None)


def publication(db: Session, system_id: int, profile: str) -> Publication | None:
    query = (
        select(Publication)
        .where(Publication.system_id == system_id, Publication.profile == profile)
        .order_by(Publication.id.desc())
        .limit(1)
    )
    return db.scalar(query)


def statement_run(
    db: Session, who: Principal, system_id: int, profile: str
) -> tuple[System, Run, Publication | None]:
    """The run a statement shows to ``who``: the latest certifying run to the organisation's members,
    the published one to the secretariat; 404 alike for what does not exist and what is not theirs."""
    system = db.get(System, system_id)
    if system is None or profile not in profile_keys():
        raise HTTPException(404, "no such statement")
    published = publication(db, system_id, profile)
    if who.sees(system.organisation_id):
        run = latest_certifying(db, system_id, profile)
    elif who.role == "secretariat" and published is not None:
        run = published.run
    else:
        run = None
    if run is None:
        raise HTTPException(404, "no such statement")
    return system, run, published


def statement_json(
    settings, system: System, run: Run, profile: str, published: Publication | None
) -> dict[str, Any]:
    base = f"/api/statements/{system.id}/{profile}"
    folder = settings.data.resolve() / run.report_folder if run.report_folder else None
    return {
        "system": system.id,
        "system_name": system.name,
        "organisation": system.organisation_id,
        "organisation_name": system.organisation.name,
        "profile": profile,
        "run": run.id,
        "verdict": (run.profile_verdicts or {}).get(profile),
        "run_verdict": run.verdict,
        "finished": iso(run.finished),
        "certificate": f"{base}/files/{CERTIFICATE}" if folder and has_file(folder, CERTIFICATE) else None,
        "attestation": f"{base}/files/{ATTESTATION}" if folder and has_file(folder, ATTESTATION) else None,
        "published": published is not None and published.run_id == run.id,
        "published_at": iso(published.published) if published else None,
        "published_run": published.run_id if published else None,
        "page": f"/statements/{system.id}/{profile}",
    }


def statements(db: Session, who: Principal, settings) -> list[dict[str, Any]]:
    """Every statement ``who`` may see: their organisation's (an admin: all), latest certifying
    runs; a secretariat user: every published one."""
    found = []
    for system in db.scalars(select(System).order_by(System.id)):
        for profile in profile_keys():
            try:
                system, run, published = statement_run(db, who, system.id, profile)
            except HTTPException:
                continue
            found.append(statement_json(settings, system, run, profile, published))
    return found


def publish(db: Session, who: Principal, system_id: int, profile: str) -> Publication:
    """Publish the latest certifying run of system × profile (a tester of its organisation, or an
    admin); 409 when there is none; publishing it again changes nothing."""
    system = db.get(System, system_id)
    if system is None or not who.sees(system.organisation_id):
        raise HTTPException(404, "no such statement")
    may_change(who, system.organisation_id)
    run = latest_certifying(db, system_id, profile)
    if run is None:
        raise HTTPException(409, "no certifying run of this system and profile to publish")
    current = publication(db, system_id, profile)
    if current is not None and current.run_id == run.id:
        return current
    row = Publication(system_id=system_id, profile=profile, run_id=run.id, published_by=who.user_id)
    db.add(row)
    db.flush()
    audit(db, who, "statement-published", f"system:{system_id}", detail=f"{profile}: run {run.id}")
    return row


def _covers(run: Run, profile: str) -> bool:
    chosen = (run.selection or {}).get("profiles") or []
    return not chosen or profile in chosen


def matrix(db: Session, who: Principal) -> dict[str, Any]:
    profiles = profile_keys()
    query = select(Organisation).order_by(Organisation.name)
    if who.role not in WIDE_ROLES:
        query = query.where(Organisation.id == who.organisation_id)
    rows = []
    for organisation in db.scalars(query):
        systems = list(
            db.scalars(select(System).where(System.organisation_id == organisation.id).order_by(System.id))
        )
        active = list(
            db.scalars(
                select(Run)
                .join(System)
                .where(System.organisation_id == organisation.id, Run.state.in_(ACTIVE_STATES))
            )
        )
        cells = {}
        for profile in profiles:
            entries = []
            for system in systems:
                published = publication(db, system.id, profile)
                running = any(run.system_id == system.id and _covers(run, profile) for run in active)
                if published is not None:
                    verdict = (published.run.profile_verdicts or {}).get(profile)
                    status = CONFORMANT if verdict == "conformant" else NOT_CONFORMANT
                else:
                    status = NEVER_RUN
                entries.append(
                    {
                        "system": system.id,
                        "name": system.name,
                        "status": status,
                        "in_progress": running,
                        "statement": f"/statements/{system.id}/{profile}" if published else None,
                    }
                )
            running = any(e["in_progress"] for e in entries)
            statuses = {e["status"] for e in entries} | ({IN_PROGRESS} if running else set())
            cells[profile] = {
                "status": next((s for s in CELL_ORDER if s in statuses), NEVER_RUN),
                "in_progress": running,
                "systems": entries,
            }
        rows.append({"organisation": organisation.id, "name": organisation.name, "cells": cells})
    return {"profiles": profiles, "organisations": rows}
