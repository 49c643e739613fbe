"""RCPX 1.0: EFDX's tls tests (conformance/family/suite/test_tls.py), run in RCPX."""

from conformance.family.suite.test_tls import *  # noqa: F403
