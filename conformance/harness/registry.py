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
def _loaded() -> tuple[dict[str, Profile], dict[str, str]]:
    found: dict[str, Profile] = {}
    broken: dict[str, str] = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            profile = entry.load()
        except Exception as exc:  # a pack's import error must not stop the others: it is reported
            broken[entry.name] = f"{type(exc).__name__}: {exc}"
            continue
        if not isinstance(profile, Profile):
            broken[entry.name] = f"{entry.value} is not a conformance.core.profile.Profile"
        elif profile.key != entry.name:
            broken[entry.name] = f"entry point {entry.name!r} names a profile keyed {profile.key!r}"
        else:
            found[entry.name] = profile
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
    for profile in installed().values():
        if wanted in (profile.key.lower(), profile.title.lower()):
            return profile
    if name in broken():
        raise ProfileError(f"profile {name!r} is installed but does not load: {broken()[name]}")
    known = ", ".join(f"{p.key} ({p.title})" for p in installed().values()) or "none"
    raise ProfileError(f"no profile {name!r} is installed (installed: {known})")


def default() -> Profile:
    return get(DEFAULT[0])
