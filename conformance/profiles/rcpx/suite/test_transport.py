"""RCPX 1.0: EFDX's transport tests (conformance/profiles/efdx/suite/test_transport.py), run in RCPX."""

from conformance.profiles.efdx.suite.test_transport import *  # noqa: F403
