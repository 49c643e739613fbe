"""Conformance harness for NSW connections to the ASEAN Single Window (EFDX 1.0 profile)."""

__version__ = "0.1.0"
