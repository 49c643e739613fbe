"""RCPX 1.0: EFDX's exporting tests (conformance/profiles/efdx/suite/test_exporting.py), run in RCPX."""

from conformance.profiles.efdx.suite.test_exporting import *  # noqa: F403
