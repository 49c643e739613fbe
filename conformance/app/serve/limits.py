"""The run's process caps, set in the child before it becomes `conformance run`, and the run's
process group tied to its worker's life.

``python -m conformance.app.serve.limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...`` sets RLIMIT_AS
(address space), RLIMIT_FSIZE (largest file written), no core dumps and a lower priority than the
web process (RUN_NICENESS), then runs PROGRAM as its
child and waits for it, ending as PROGRAM ended (its exit code, or killed by the same signal). A
separate program, not subprocess's preexec_fn: that is unsafe in a process with threads (the
service's workers are threads). The limits are inherited by the run's own children.

Why it stays as PROGRAM's parent instead of executing it in its place: a worker killed outright
(SIGKILL, the OOM killer) must not leave its run's processes behind, the CLI and the reference
servers and pools the CLI starts, writing a report nobody records. Linux's PR_SET_PDEATHSIG
sends this process SIGTERM when the worker dies; it then kills its whole process group (the run's
session: execute.py starts it in one of its own). A SIGTERM while the worker lives is the worker
stopping the run's group (its time cap, the service stopping): PROGRAM received it too and writes
its report, so it is ignored here. Where PR_SET_PDEATHSIG does not exist, the reaper still ends the
run's record (lease.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1
WORKER_PID_ENV = "CONFORMANCE_WORKER_PID"
# Runs yield the CPU to the web process (its pages and API keep answering while runs fill the
# cores); runs are equal among themselves, so no run's timing is judged against another's.
RUN_NICENESS = 5


def _watch_parent(parent: int) -> None:
    def on_term(_signum, _frame) -> None:
        if os.getppid() != parent:  # the worker is gone: so is the whole run
            os.killpg(0, signal.SIGKILL)

    signal.signal(signal.SIGTERM, on_term)
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the reaper still ends the record
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the worker died before the request took effect
        os.killpg(0, signal.SIGKILL)


def main(argv: list[str]) -> None:
    memory, file_size, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...")
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size), int(file_size)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(RUN_NICENESS)
    _watch_parent(int(os.environ.get(WORKER_PID_ENV) or os.getppid()))
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.execv(command[0], command)
    _, status = os.waitpid(child, 0)  # retried across the signals handled above (PEP 475)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # end as the run ended: killed by the same signal
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
