"""The retention policy: a run's folder (its progress and report) is kept ``keep_days`` days after the
run ended, then removed; the run's row (verdict, counts, who started it) and the audit trail stay.

Kept whatever its age: a run a published statement stands on (a partner state may still open its
report and certificate) and a run not ended. ``keep_days`` 0 keeps every run. The web process prunes
when it starts and then every PRUNE_EVERY_S; each removal is audit-logged. A folder is removed only
where the service put it (DATA/runs/ID, a real folder, not a link), so a row pointing elsewhere is
never followed.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from conformance.app.serve.db import Store
from conformance.app.serve.models import ACTIVE_STATES, AuditEvent, Publication, Run
from conformance.app.serve.periodic import Every
from conformance.app.serve.settings import ServeSettings

PRUNE_EVERY_S = 6 * 3600.0


def prune(settings: ServeSettings, store: Store, now: datetime | None = None) -> list[int]:
    """Remove the folders of runs that ended over ``settings.keep_days`` days ago (see the module's
    docstring for what is kept); the ids of the runs pruned."""
    if settings.keep_days <= 0:
        return []
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=settings.keep_days)
    pruned: list[int] = []
    with store.session() as db:
        published = select(Publication.run_id)
        old = select(Run).where(
            Run.finished.is_not(None),
            Run.finished < cutoff,
            Run.report_folder.is_not(None),
            Run.state.not_in(ACTIVE_STATES),
            Run.id.not_in(published),
        )
        for run in db.scalars(old):
            _remove_folder(settings, run.id)
            run.report_folder = None
            db.add(
                AuditEvent(
                    organisation_id=run.system.organisation_id,
                    action="run-pruned",
                    target=f"run:{run.id}",
                    detail=f"its report removed: ended over {settings.keep_days} days ago",
                )
            )
            pruned.append(run.id)
    return pruned


def _remove_folder(settings: ServeSettings, run_id: int) -> None:
    runs = settings.runs.resolve()
    folder = runs / str(run_id)
    if folder.is_symlink() or not folder.is_dir() or folder.resolve().parent != runs:
        return
    shutil.rmtree(folder, ignore_errors=True)


def pruner(settings: ServeSettings, store: Store, every_s: float = PRUNE_EVERY_S) -> Every:
    """``prune`` now and every ``every_s`` seconds in a daemon thread until ``stop``."""
    return Every("pruning old runs", every_s, lambda: prune(settings, store), at_once=True)
