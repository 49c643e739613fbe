"""The receiver's checks by name (core/checks.py): what keeps fault switches out of the judging code.

Policy holds the spec's parameters and nothing a fault alone would turn; every named check judges a
requirement of the catalogue; a fault can only name a check that exists; and a seeded fault's
table differs from the spec's in the one check it swaps."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.core.checks import Check, Checks
from conformance.core.policy import STRICT, Policy
from conformance.family.judge import CHECKS
from conformance.family.reference.lax import LAX, SPEC, passes
from conformance.profiles.efdx.dialect import EFDX

# The spec's parameters (T-03, T-04, M-01, M-07, M-12, M-15): each has a value section 2-4 or 7 states.
PARAMETERS = {
    "max_body_bytes",
    "content_types",
    "encodings",
    "canonicalizations",
    "signature_methods",
    "digest_methods",
    "min_rsa_bits",
    "ecdsa_curves",
    "ecdsa_methods",
    "max_age",
    "future_skew",
}


def test_policy_holds_the_specs_parameters_only():
    assert {field.name for field in dataclasses.fields(Policy)} == PARAMETERS
    assert not any(isinstance(getattr(STRICT, name), bool) for name in PARAMETERS)


def test_every_check_judges_a_requirement_of_the_catalogue():
    catalogue = EFDX.catalogue
    for name, check in CHECKS.table.items():
        assert check.name == name
        assert catalogue.requirement(check.requirement), name


def test_a_check_that_does_not_exist_cannot_be_swapped():
    with pytest.raises(KeyError):
        CHECKS.swapped("header.too", passes)
    with pytest.raises(ValueError, match="two checks"):
        Checks.of([Check("a", "M-01", passes)], [Check("a", "M-02", passes)])


def test_a_swap_changes_that_check_only_and_keeps_its_requirement():
    changed = CHECKS.swapped("header.to", passes)
    assert changed["header.to"] is passes and changed.table["header.to"].requirement == "M-13"
    assert [n for n in CHECKS.table if changed[n] is not CHECKS[n]] == ["header.to"]
    assert CHECKS["header.to"] is not passes  # the spec's table is untouched


@pytest.mark.parametrize("purpose", sorted(LAX))
def test_each_faulty_receiver_differs_from_the_spec_in_parameters_checks_or_a_rule(purpose):
    lax = LAX[purpose]
    changed = [name for name in CHECKS.table if lax.checks()[name] is not CHECKS[name]]
    assert lax.policy != STRICT or changed or lax.without_rule, purpose
    assert len(changed) <= 2, (purpose, changed)  # one check (two where one fault needs a pair)


def test_the_spec_receiver_is_the_spec():
    assert SPEC.policy == STRICT and SPEC.checks() is CHECKS and SPEC.rules(EFDX.rules) is EFDX.rules
