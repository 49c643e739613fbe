"""The family's Dialect has no default: every family callable that takes a dialect requires it, and a
harness whose profile gives none is an error, not EFDX (issue 18: RCPX once read its messages as EFDX)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from types import SimpleNamespace

import pytest

import conformance.family
from conformance.family import dialect as dialects
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.efdx.pack import PROFILE as EFDX_PROFILE
from conformance.profiles.rcpx.dialect import RCPX
from conformance.profiles.rcpx.pack import PROFILE as RCPX_PROFILE


def _family_modules() -> list:
    prefix = conformance.family.__name__ + "."
    names = [info.name for info in pkgutil.walk_packages(conformance.family.__path__, prefix)]
    return [importlib.import_module(name) for name in names]


def _callables_taking_a_dialect():
    for module in _family_modules():
        for name, found in vars(module).items():
            if getattr(found, "__module__", None) != module.__name__:
                continue
            targets = [(name, found)]
            if inspect.isclass(found):
                targets += [(f"{name}.{m}", f) for m, f in vars(found).items() if inspect.isfunction(f)]
            for label, target in targets:
                if not callable(target):
                    continue
                try:
                    parameters = inspect.signature(target).parameters
                except (TypeError, ValueError):
                    continue
                if "dialect" in parameters:
                    yield f"{module.__name__}.{label}", parameters["dialect"]


def test_no_family_callable_defaults_the_dialect():
    found = dict(_callables_taking_a_dialect())
    assert len(found) > 30  # judge, signals, inbox, vectors, reference, load, steps ...
    empty = inspect.Parameter.empty
    defaulted = [name for name, parameter in found.items() if parameter.default is not empty]
    assert defaulted == []


def test_a_dialect_has_no_default_field():
    assert all(
        field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        for field in dataclasses.fields(dialects.Dialect)
    )


def test_of_gives_the_dialect_of_the_profile_run():
    assert dialects.of(SimpleNamespace(profile=EFDX_PROFILE)) is EFDX
    assert dialects.of(SimpleNamespace(profile=RCPX_PROFILE)) is RCPX


@pytest.mark.parametrize(
    "harness",
    [
        SimpleNamespace(),  # no profile at all
        SimpleNamespace(profile=SimpleNamespace(title="Toy 1.0", extras={})),  # a pack not of the family
        SimpleNamespace(profile=SimpleNamespace(title="Odd 1.0", extras={"dialect": "efdx"})),
    ],
)
def test_a_harness_whose_profile_gives_no_dialect_is_an_error_not_efdx(harness):
    with pytest.raises(LookupError, match="gives no Dialect"):
        dialects.of(harness)
