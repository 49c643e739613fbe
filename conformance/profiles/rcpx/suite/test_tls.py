"""RCPX 1.0: EFDX's tls tests (conformance/profiles/efdx/suite/test_tls.py), run in RCPX."""

from conformance.profiles.efdx.suite.test_tls import *  # noqa: F403
