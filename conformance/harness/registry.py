"""The installed profile packs: the ``conformance.profiles`` entry-point group.

``pip install`` of a pack that declares ``[project.entry-points."conformance.profiles"] KEY =
"package.module:PROFILE"`` is all it takes for ``conformance profiles`` to list it and
``conformance run --profile KEY`` to run it. A pack that fails to load is named with its error
rather than taking the command down, so that one broken private pack does not stop the others.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from conformance.core.profile import Profile

GROUP = "conformance.profiles"
DEFAULT = ("efdx",)  # what a run covers when neither the ICS nor the command line names profiles


class ProfileError(Exception):
    """An unknown profile was asked for, or a pack could not be loaded; the message says which."""


@functools.cache
def _load(name: str) -> Profile | str:
    """The pack of one entry point, or why it does not load."""
    entry = next((entry for entry in entry_points(group=GROUP) if entry.name == name), None)
    if entry is None:
        return f"no entry point {name!r}"
    try:
        profile = entry.load()
    except Exception as exc:  # a pack's import error must not stop the others: it is reported
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(profile, Profile):
        return f"{entry.value} is not a conformance.core.profile.Profile"
    if profile.key != entry.name:
        return f"entry point {entry.name!r} names a profile keyed {profile.key!r}"
    return profile


@functools.cache
def _loaded() -> tuple[dict[str, Profile], dict[str, str]]:
    found: dict[str, Profile] = {}
    broken: dict[str, str] = {}
    for name in sorted({entry.name for entry in entry_points(group=GROUP)}):
        loaded = _load(name)
        if isinstance(loaded, Profile):
            found[name] = loaded
        else:
            broken[name] = loaded
    return found, broken


def installed() -> dict[str, Profile]:
    """Every loadable pack, by key."""
    return dict(_loaded()[0])


def broken() -> dict[str, str]:
    """Packs that are installed but could not be loaded, with why."""
    return dict(_loaded()[1])


def get(name: str) -> Profile:
    """The pack by key (``efdx``) or title (``EFDX 1.0``), case-insensitive."""
    wanted = name.strip().lower()
    exact = _load(wanted)  # by key: only that pack is imported (a reference serving one starts sooner)
    if isinstance(exact, Profile):
        return exact
    for profile in installed().values():
        if wanted in (profile.key.lower(), profile.title.lower()):
            return profile
    if name in broken():
        raise ProfileError(f"profile {name!r} is installed but does not load: {broken()[name]}")
    known = ", ".join(f"{p.key} ({p.title})" for p in installed().values()) or "none"
    raise ProfileError(f"no profile {name!r} is installed (installed: {known})")


def default() -> Profile:
    return get(DEFAULT[0])
