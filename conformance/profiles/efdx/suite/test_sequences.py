"""EFDX 1.0: the family's sequences tests (conformance/family/suite/test_sequences.py), run in EFDX."""

from conformance.family.suite.test_sequences import *  # noqa: F403
