"""RCPX 1.0: EFDX's transport tests (conformance/family/suite/test_transport.py), run in RCPX."""

from conformance.family.suite.test_transport import *  # noqa: F403
