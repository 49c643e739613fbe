"""Read-only share links: one run's report, or one statement, for a partner state without an account.

The link is ``/shared/ID.EXPIRES.SIGNATURE``: the row's id, its expiry (Unix seconds) and an
HMAC-SHA256 over both (signing.py, a key derived from the service's secret keys for this purpose
alone). Every use checks the signature, the expiry, and the row (there, not revoked, the same
expiry), so a link is revocable, cannot be stretched, and ids cannot be walked. Every failure is
the same 404 (a stranger learns nothing of which links exist). Creation and every use are
audit-logged. Expiry: chosen in days, 1 to MAX_DAYS.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from fastapi import HTTPException
from sqlalchemy.orm import Session

from conformance.app.serve import signing
from conformance.app.serve.auth import Principal
from conformance.app.serve.models import Run, ShareLink
from conformance.app.serve.operations import audit, iso, may_change

PURPOSE = "share links"
MAX_DAYS = 90
_TOKEN = re.compile(r"^([0-9]{1,12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")
GONE = "no such share link (or it expired, or was revoked)"


def _message(link_id: int, expires: int) -> bytes:
    return f"share-link:{link_id}:{expires}".encode()


def token_of(box, link: ShareLink) -> str:
    expires = int(_aware(link.expires).timestamp())
    return f"{link.id}.{expires}.{signing.sign(box.derived_keys(PURPOSE), _message(link.id, expires))}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def create(
    db: Session, who: Principal, box, run: Run, days: float, profile: str | None, label: str | None
) -> tuple[ShareLink, str]:
    may_change(who, run.system.organisation_id)
    if not 0 < days <= MAX_DAYS:
        raise HTTPException(422, f"days: more than 0, at most {MAX_DAYS}")
    if run.state != "finished" or not run.report_folder:
        raise HTTPException(409, "only a finished run with a report can be shared")
    if profile is not None and profile not in (run.profile_verdicts or {}):
        raise HTTPException(422, "profile: the run did not run it")
    expires = (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)
    link = ShareLink(run_id=run.id, profile=profile, label=label, expires=expires, created_by=who.user_id)
    db.add(link)
    db.flush()
    audit(db, who, "share-link-created", f"share:{link.id}", detail=f"run:{run.id} until {iso(expires)}")
    return link, token_of(box, link)


def resolve(db: Session, box, token: str, client: str | None) -> ShareLink:
    """The link ``token`` stands for, if good now (audit-logged as a use); else 404."""
    found = _TOKEN.match(token)
    if found is None:
        raise HTTPException(404, GONE)
    link_id, expires, signature = int(found[1]), int(found[2]), found[3]
    if not signing.verify(box.derived_keys(PURPOSE), _message(link_id, expires), signature):
        raise HTTPException(404, GONE)
    now = datetime.now(timezone.utc)
    link = db.get(ShareLink, link_id)
    if (
        link is None
        or link.revoked is not None
        or int(_aware(link.expires).timestamp()) != expires
        or _aware(link.expires) <= now
    ):
        raise HTTPException(404, GONE)
    audit(db, None, "share-link-used", f"share:{link.id}", user_name="(share link)", client=client)
    return link


def revoke(db: Session, who: Principal, link: ShareLink) -> None:
    may_change(who, link.run.system.organisation_id)
    if link.revoked is None:
        link.revoked = datetime.now(timezone.utc)
        audit(db, who, "share-link-revoked", f"share:{link.id}")


def link_json(box, link: ShareLink) -> dict:
    token = token_of(box, link)
    return {
        "id": link.id,
        "run": link.run_id,
        "profile": link.profile,
        "label": link.label,
        "created": iso(link.created),
        "expires": iso(link.expires),
        "revoked": iso(link.revoked),
        "url": f"/shared/{token}",
        "api": f"/api/shared/{token}",
    }
