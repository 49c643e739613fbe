"""The egress policy a run gets from whoever started it: ``CONFORMANCE_EGRESS_POLICY`` names a JSON
policy file (core/egress.py's ``EgressPolicy.from_json``).

Why an environment variable: the shared test bed's worker starts ``conformance run`` in a child
process; a variable it sets in that child's environment reaches the run whatever the command line
says, so a user's options (or a forgotten flag) cannot drop it. It is read once, here, by the app as
the run starts, and handed down as data (RunOptions.egress): the core never reads the environment.

Unset: no policy, the CLI's behaviour (a vendor's laptop run connects where it is told). Set, to
anything that is not a readable policy file (empty, missing, a link, over MAX_POLICY_BYTES, not
JSON, a bad entry): ConfigError, one line, and the run stops before its first test (exit 4); a
policy that was asked for is never silently dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from conformance.core.egress import EgressPolicy, PolicyError
from conformance.harness.config import ConfigError
from conformance.results.safe_read import UnsafeInput, load_json

ENVIRONMENT_VARIABLE = "CONFORMANCE_EGRESS_POLICY"
MAX_POLICY_BYTES = 1024 * 1024  # an admin's allow-list; MAX_ENTRIES caps each list within it
MAX_DEPTH = 4  # an object of lists of strings


def policy_from_environment(environ: Mapping[str, str] | None = None) -> EgressPolicy | None:
    """The policy the file named by CONFORMANCE_EGRESS_POLICY holds; None when it is not set."""
    environ = os.environ if environ is None else environ
    if ENVIRONMENT_VARIABLE not in environ:
        return None
    path = environ[ENVIRONMENT_VARIABLE]
    if not path.strip():
        raise ConfigError(f"{ENVIRONMENT_VARIABLE} is set but empty: it names an egress policy file")
    return read_policy(Path(path))


def read_policy(path: Path) -> EgressPolicy:
    """The policy in ``path`` (untrusted: capped, no link followed); ConfigError naming the file."""
    try:
        data = load_json(path, cap=MAX_POLICY_BYTES, depth=MAX_DEPTH)
        return EgressPolicy.from_json(data)
    except UnsafeInput as exc:
        raise ConfigError(f"{ENVIRONMENT_VARIABLE}: {_one_line(str(exc))}") from None
    except PolicyError as exc:
        raise ConfigError(f"{ENVIRONMENT_VARIABLE}: {path}: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
