"""RCPX 1.0: EFDX's sequences tests (conformance/family/suite/test_sequences.py), run in RCPX."""

from conformance.family.suite.test_sequences import *  # noqa: F403
