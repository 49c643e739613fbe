"""What the operator chose for one `conformance serve`: kept in one frozen record so that the app, the
queue and the run executor read the same values (and a later worker process can be given them).

Decisions: the data folder holds everything the service writes (the SQLite file, the secret key,
the runs' folders), so that backing up or moving a test bed is copying one folder. Caps are per run
and conservative for a 2-core machine; an operator raises them with environment variables later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATABASE_URL_ENV = "CONFORMANCE_DATABASE_URL"
SECRET_KEYS_ENV = "CONFORMANCE_SECRET_KEYS"


@dataclass(frozen=True)
class RunCaps:
    """Per-run limits, enforced on the run's child process (``limits``) and by its supervisor."""

    wall_s: float = 30 * 60.0  # a whole suite takes well under a minute against the reference
    memory_bytes: int = 4 << 30  # RLIMIT_AS of the run's processes (address space, not resident)
    file_bytes: int = 1 << 30  # RLIMIT_FSIZE: no file the run writes grows past this
    progress_lines: int = 50_000  # lines of progress kept per run (the rest are counted, not kept)
    line_chars: int = 2_000  # one progress line is cut here
    results_bytes: int = 256 << 20  # results.json read back at most this large
    kill_grace_s: float = 10.0  # after SIGTERM (the CLI then writes its report), before SIGKILL


@dataclass(frozen=True)
class ServeSettings:
    data: Path = Path("testbed")
    database_url: str | None = None  # None: SQLite at DATA/serve.sqlite
    workers: int = 2
    caps: RunCaps = field(default_factory=RunCaps)
    upload_bytes: int = 1 << 20  # an ICS TOML or a TLS file uploaded is at most this large
    session_hours: float = 12.0
    keep_days: int = 365  # a run's folder is removed this long after it ended (retention.py; 0: kept)
    runs_per_hour: int = 60  # runs an organisation may start in any hour (a vendor's CI, not a flood)
    # Workers (lease.py, queue.py): None runs the embedded thread pool; a Redis URL, Dramatiq workers.
    redis_url: str | None = None
    lease_s: float = 30.0  # a running run whose worker has not renewed its lease for this long is reaped
    heartbeat_s: float = 5.0  # how often the worker running a run renews its lease
    broker_heartbeat_s: float = 60.0  # Dramatiq: a worker silent this long has its messages redelivered
    requeue_s: float = 300.0  # a run queued this long is sent to the broker again (requeue.py)
    own_hosts: tuple[str, ...] = ()  # the service's own hosts, denied to runs (egress.py adds its URLs')
    # The site's evidence key (``[site]`` of the CLI): signs and attests certifying runs.
    site_cert: Path | None = None
    site_key: Path | None = None
    site_passphrase_env: str | None = None

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{(self.data / 'serve.sqlite').resolve()}"

    @property
    def runs(self) -> Path:
        return self.data / "runs"
