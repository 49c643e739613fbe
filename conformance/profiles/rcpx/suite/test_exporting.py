"""RCPX 1.0: EFDX's exporting tests (conformance/family/suite/test_exporting.py), run in RCPX."""

from conformance.family.suite.test_exporting import *  # noqa: F403
