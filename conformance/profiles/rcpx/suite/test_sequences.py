"""RCPX 1.0: EFDX's sequences tests (conformance/profiles/efdx/suite/test_sequences.py), run in RCPX."""

from conformance.profiles.efdx.suite.test_sequences import *  # noqa: F403
