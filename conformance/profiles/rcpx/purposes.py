"""RCPX 1.0 test purposes (``purposes.toml``): each requirement split into its atomic clauses.

As in EFDX: a purpose has a stable ID ``<requirement>/<clause>``, the tests that cover it and a seeded
fault that proves they can fail. The T, M and A purposes are EFDX's with RCPX names; the RBR purposes
are one per way each rule of RCPX section 3 can be broken (and, where a receiver can be too strict,
one for the boundary that must pass).
"""

from __future__ import annotations

from conformance.core.catalogue import Purpose as Purpose
from conformance.profiles.rcpx.catalogue import of_requirement as of_requirement
from conformance.profiles.rcpx.catalogue import purpose as purpose
from conformance.profiles.rcpx.catalogue import purposes as purposes
