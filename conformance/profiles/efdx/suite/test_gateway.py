"""EFDX 1.0: the family's gateway tests (conformance/family/suite/test_gateway.py), run in EFDX."""

from conformance.family.suite.test_gateway import *  # noqa: F403
