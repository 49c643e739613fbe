"""The family's code mapping: a requirement's wire code and back, for any pack's prefixes.

The shared suite and the shared seeded faults name codes and rules in the family's base words, EFDX
1.0's (``EFDX-M17``, ``BR-12``): the protocol was written first for it, and every other profile of
the family is written as a difference from it. ``Dialect.own_code`` and ``Dialect.own_rules`` turn
them into a profile's own words.
"""

from __future__ import annotations

BASE_ERROR_PREFIX = "EFDX-"  # the wire-code prefix the shared suite writes
BASE_RULE_PREFIX = "BR-"  # the rule-ID prefix the shared suite and faults write


def error_code(requirement: str, prefix: str, rule_prefix: str) -> str:
    """The wire code for a requirement: ``M-06`` -> ``EFDX-M06`` (prefix ``EFDX-``); rule IDs travel as
    themselves. The family's one mapping: each profile gives its own prefixes (RCPX: ``RCPX-``, ``RBR-``)."""
    if requirement.startswith(rule_prefix):
        return requirement
    return prefix + requirement.replace("-", "")


def code_requirement(code: str, prefix: str) -> str:
    """``EFDX-M06`` -> ``M-06``: the T- or M- requirement an error code names (the inverse of
    ``error_code`` for those)."""
    letters = code.removeprefix(prefix)
    return f"{letters[:-2]}-{letters[-2:]}"
