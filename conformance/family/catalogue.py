"""What every profile of the family shares in its catalogue: the capabilities a candidate claims and
EFDX 1.0 section 5's order of the synchronous checks (the first failure decides the answer), which
RCPX 1.0 keeps. Each pack's own catalogue (requirements.toml, purposes.toml, layers) is its own.
"""

from __future__ import annotations

CAPABILITIES: tuple[str, ...] = (
    "replace",
    "cancel",
    "verification",
    "utilisation",
    "ecdsa",
    "trigger",
    "capacity",  # section 8: claimed by [candidate.capacity]
)

# Section 5: the synchronous checks run in this order and the first failure decides the answer.
# The spec writes "T-03/T-04" and "M-17/M-16" as pairs; they are listed here one after the other.
CHECK_ORDER: tuple[str, ...] = (
    "T-03",
    "T-04",
    "M-01",
    "M-02",
    "M-03",
    "M-18",
    "M-05",
    "M-07",
    "M-12",
    "M-06",
    "M-08",
    "M-09",
    "M-10",
    "M-11",
    "M-13",
    "M-14",
    "M-04",
    "M-15",
    "M-17",
    "M-16",
)
