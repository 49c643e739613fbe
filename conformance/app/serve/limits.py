"""The run's process caps, set in the child before it becomes `conformance run`.

``python -m conformance.app.serve.limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...`` sets RLIMIT_AS
(address space), RLIMIT_FSIZE (largest file written) and no core dumps, then executes PROGRAM in its
place. A separate program, not subprocess's preexec_fn: that is unsafe in a process with threads
(the service's workers are threads). The limits are inherited by the run's own children.
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    memory, file_size, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: limits AS_BYTES FSIZE_BYTES -- PROGRAM ARGS...")
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size), int(file_size)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
