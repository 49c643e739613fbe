"""RCPX 1.0: EFDX's gateway tests (conformance/family/suite/test_gateway.py), run in RCPX (errata 1:
section 9 with RCPX's names)."""

from conformance.family.suite.test_gateway import *  # noqa: F403
