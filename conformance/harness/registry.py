"""The installed profile packs: the ``conformance.profiles`` entry-point group.

``pip install`` of a pack that declares ``[project.entry-points."conformance.profiles"] KEY =
"package.module:PROFILE"`` is all it takes for ``conformance profiles`` to list it and
``conformance run --profile KEY`` to run it. A pack that fails to load is named with its error
rather than taking the command down, so that one broken private pack does not stop the others.
"""

from __future__ import annotations

import functools
import importlib.util
from importlib.metadata import entry_points
from typing import Any

from conformance.core.catalogue import Catalogue
from conformance.core.profile import HarnessInbox, PackPki, Profile, SeededFault

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
    problems = check(profile)
    if problems:
        return f"{entry.value}: " + "; ".join(problems)
    return profile


PACK_GUIDE = "README: Writing a profile pack"
_TEXT_FIELDS = (
    "key", "title", "description", "suite_package", "trigger_header", "inbox_path", "trigger_path",
    "reference_party",
)  # fmt: skip
_CALLABLE_FIELDS = (
    "catalogue", "load_pki", "make_inbox", "build_vector", "new_build", "after_suite", "start_reference",
    "serve_reference", "faults", "spec_text", "spec_document", "validator", "build_vectors",
)  # fmt: skip
_INBOX_FOR_TRIGGER = ("wait_for", "forget")  # the pre-flight's Ping through the candidate's trigger


def _missing(obj: Any, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks (runtime_checkable only says yes or no)."""
    methods = [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]
    # looked up without being read: a property of an inbox not yet started (its url) may raise
    present = set(dir(type(obj))) | set(getattr(obj, "__dict__", {}))
    return sorted(name for name in [*protocol.__annotations__, *methods] if name not in present)


def check(profile: Profile) -> list[str]:
    """What a pack lacks that the engine needs, each named in a few words: checked when the pack is
    loaded, so that a pack missing a piece is reported in one line and never crashes a run midway.
    It calls the pack's light parts (catalogue, faults); the PKI and the harness inbox, which may take
    a while to make, are checked when a run makes them (``check_made``), before its first test."""
    problems = [f"{name} is empty" for name in _TEXT_FIELDS if not getattr(profile, name, "")]
    problems += [
        f"{name} is not callable" for name in _CALLABLE_FIELDS if not callable(getattr(profile, name))
    ]
    if problems:
        return problems
    if importlib.util.find_spec(profile.suite_package.split(".")[0]) is None:
        problems.append(f"suite_package {profile.suite_package!r} cannot be imported")
    try:
        if not isinstance(profile.catalogue(), Catalogue):
            problems.append("catalogue() does not give a conformance.core.catalogue.Catalogue")
        for fault in profile.faults():
            if not isinstance(fault, SeededFault):
                lacks = ", ".join(_missing(fault, SeededFault))
                problems.append(f"seeded fault {getattr(fault, 'name', fault)!r} lacks {lacks}")
                break
    except Exception as exc:  # a pack's own error, named rather than raised midway through a run
        problems.append(f"{type(exc).__name__}: {exc}")
    return [f"{problem} ({PACK_GUIDE})" for problem in problems]


def check_made(profile: Profile, pki: object, inbox: object) -> str | None:
    """Why the PKI or the harness inbox a pack made cannot serve a run (None: they can): one line."""
    problems = []
    if lacks := _missing(pki, PackPki):
        problems.append(f"its PKI (load_pki) lacks {', '.join(lacks)}")
    lacks = _missing(inbox, HarnessInbox)
    if "trigger" in profile.capabilities:
        lacks += [name for name in _INBOX_FOR_TRIGGER if name not in dir(type(inbox))]
    if lacks:
        problems.append(f"its harness inbox (make_inbox) lacks {', '.join(lacks)}")
    return f"profile {profile.key}: {'; '.join(problems)} ({PACK_GUIDE})" if problems else None


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
