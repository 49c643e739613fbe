"""The run's process caps, set in the child before it becomes `conformance run`.

``python -m conformance.app.serve.limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...`` sets RLIMIT_AS
(address space), RLIMIT_FSIZE (largest file written) and no core dumps, then executes PROGRAM in its
place. A separate program, not subprocess's preexec_fn: that is unsafe in a process with threads
(the service's workers are threads). The limits are inherited by the run's own children.

The run is also tied to its worker's life (Linux PR_SET_PDEATHSIG, kept across exec): a worker
killed mid-run takes its run's process with it, instead of leaving an orphan writing a report that
nobody records (the run itself is then reaped incomplete: lease.py).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the reaper still ends the run's record
        return
    if os.getppid() != parent:  # the worker died before the request took effect
        os._exit(70)


def main(argv: list[str]) -> None:
    memory, file_size, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...")
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size), int(file_size)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _die_with_parent(int(os.environ.get("CONFORMANCE_WORKER_PID", os.getppid())))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
