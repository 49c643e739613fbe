"""EFDX 1.0: the family's transport tests (conformance/family/suite/test_transport.py), run in EFDX."""

from conformance.family.suite.test_transport import *  # noqa: F403
