"""EFDX 1.0: the family's tls tests (conformance/family/suite/test_tls.py), run in EFDX."""

from conformance.family.suite.test_tls import *  # noqa: F403
