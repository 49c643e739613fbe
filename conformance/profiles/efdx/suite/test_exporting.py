"""EFDX 1.0: the family's exporting tests (conformance/family/suite/test_exporting.py), run in EFDX."""

from conformance.family.suite.test_exporting import *  # noqa: F403
