"""The candidate's configuration: its ICS (what it claims) and IXIT (how to reach it), one TOML file.

Every key is checked on load; a missing or wrong one raises ConfigError naming the key, which the
command reports on one line with exit code 4. See examples/candidate.toml for an annotated file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.harness import registry

ROLES = ("importing", "exporting")


class ConfigError(Exception):
    """A configuration key is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Windows:
    status_s: float = 60.0
    verification_s: float = 60.0
    retry_schedule_s: tuple[float, ...] = (5.0, 30.0, 120.0)
    request_timeout_s: float = 30.0  # T-01
    grace_s: float = 1.0  # how long to watch for something that must not come (a second status)
    peer_timeout_s: float = 30.0  # how long the candidate waits for a partner's answer (M-21's timeout)
    operator_s: float = 300.0  # manual mode: how long an operator may take to make the candidate send


@dataclass(frozen=True)
class Capacity:
    """The capacity the candidate claims (spec section 8, optional capability `capacity`)."""

    rate_per_s: float  # inbound CO messages per second, sustained
    duration_s: float  # for this long
    receipt_p95_s: float  # p95 of request to Receipt
    status_p95_s: float  # p95 of Receipt to StatusNotification
    gateway_fault_share: float = 0.0  # the share of its sends the partner's inbox may fail (P-03)


CAPACITY_KEYS = ("rate_per_s", "duration_s", "receipt_p95_s", "status_p95_s", "gateway_fault_share")


def _capacity(table: dict | None) -> Capacity | None:
    """``candidate.capacity``: present means claimed; every bound but the fault share is required."""
    if table is None:
        return None
    where = "candidate.capacity"
    _unknown(table, set(CAPACITY_KEYS), where)
    values = {
        key: _number(_get(table, key, (int, float), where), f"{where}.{key}") for key in CAPACITY_KEYS[:4]
    }
    for key in ("rate_per_s", "duration_s"):
        if values[key] <= 0:
            raise ConfigError(f"{where}.{key}: expected a number above 0, got {table[key]!r}")
    share = _number(
        _get(table, "gateway_fault_share", (int, float), where, 0.0), f"{where}.gateway_fault_share"
    )
    if share >= 1:
        raise ConfigError(f"{where}.gateway_fault_share: expected a share from 0 to below 1, got {share!r}")
    return Capacity(**values, gateway_fault_share=share)


@dataclass(frozen=True)
class Tls:
    """Mutual TLS towards the candidate and for the harness inbox (test PKI by default)."""

    enabled: bool = False
    ca_bundle: Path | None = None  # whom the harness trusts as the candidate's server; default: test CAs
    client_cert: Path | None = None  # the harness's certificate; default: the test PKI's NSW of its party
    client_key: Path | None = None
    inbox_cert: Path | None = None  # the harness inbox's server certificate; default: the test PKI's NSW
    inbox_key: Path | None = None
    # the client certificate(s) the candidate presents to the harness inbox (PEM): given, the inbox
    # admits only those (core.pins; a shared test bed registers one per system); default: any the
    # profile's trust accepts
    candidate_cert: Path | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where one profile's inbox and test trigger are on the candidate (RCPX section 4: both profiles
    on one base URL, the paths telling them apart, or on two)."""

    inbox_url: str
    trigger_url: str | None = None


@dataclass(frozen=True)
class Config:
    party: str
    inbox_url: str
    roles: tuple[str, ...] = ROLES
    capabilities: frozenset[str] = frozenset()
    # purposes the candidate states rather than a test shows (errata 2: its own CRL handling)
    declarations: tuple[str, ...] = ()
    windows: Windows = field(default_factory=Windows)
    trigger_url: str | None = None
    trigger_token: str | None = None
    tls: Tls = field(default_factory=Tls)
    harness_party: str = "SG"  # [harness] party; in a profile's run, the party the harness plays in it
    # the claimed profiles (by key) in which the harness plays another party than harness_party
    harness_parties: dict[str, str] = field(default_factory=dict)
    harness_listen: str = "127.0.0.1:0"
    harness_url: str | None = None  # the URL the candidate reaches the harness inbox by
    # [harness.profiles.<key>] listen / url: a profile's own harness inbox (by profile key)
    harness_listens: dict[str, str] = field(default_factory=dict)
    harness_urls: dict[str, str] = field(default_factory=dict)
    build: str | None = None  # the candidate's build or version, for the certification record
    site: str | None = None  # where the run took place (the certifying body or lab)
    operator: str | None = None  # who ran it
    site_cert: Path | None = None  # the site's certificate (then its chain), signing the evidence
    site_key: Path | None = None  # its private key (PEM); neither: a rehearsal's TEST ONLY key
    site_passphrase_env: str | None = None  # the environment variable holding site_key's passphrase
    sha256: str | None = None  # of the configuration file as read
    profiles: tuple[str, ...] = ("efdx",)  # the profile packs claimed (candidate.profiles), by key
    capacity: Capacity | None = None  # claimed under [candidate.capacity] (spec section 8)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # by profile key, as configured

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities

    def endpoint(self, key: str) -> Endpoint:
        """The inbox and trigger of the claimed profile ``key`` (ConfigError if they cannot be told)."""
        if key in self.endpoints:
            return self.endpoints[key]
        return derive_endpoint(key, self.profiles, self.inbox_url, self.trigger_url)

    def gateway_path_of(self, key: str) -> str:
        """The harness's gateway inbox path in the claimed profile ``key``: of the party it plays there
        (EFDX section 9; RCPX errata 1)."""
        return registry.get(key).gateway_path(self.harness_parties.get(key, self.harness_party))

    def for_profile(self, key: str) -> Config:
        """This configuration as one profile's run sees it: that profile's inbox and trigger URLs, its
        own harness inbox when ``[harness.profiles.<key>]`` gives one, else harness.url with that
        profile's inbox path when it ends with a claimed profile's."""
        found = self.endpoint(key)
        harness_url = self.harness_url
        if key in self.harness_urls:
            harness_url = self.harness_urls[key]
        elif harness_url is not None and self.claims("gateway"):
            gateways = {name: self.gateway_path_of(name) for name in self.profiles}
            base = _strip(harness_url, gateways)
            if base is not None:  # checked on load: it ends with one of them
                harness_url = base[0] + gateways[key]
        elif harness_url is not None:
            paths = {name: registry.get(name).inbox_path for name in self.profiles}
            stripped = _strip(harness_url, paths)
            if stripped is not None:
                harness_url = stripped[0] + registry.get(key).inbox_path
        return dataclasses.replace(
            self,
            inbox_url=found.inbox_url,
            trigger_url=found.trigger_url,
            harness_url=harness_url,
            harness_listen=self.harness_listens.get(key, self.harness_listen),
            harness_party=self.harness_parties.get(key, self.harness_party),
        )

    def harness_listen_of(self, key: str) -> str:
        """host:port of the harness inbox in the claimed profile ``key``."""
        return self.harness_listens.get(key, self.harness_listen)


def _strip(url: str, paths: dict[str, str]) -> tuple[str, str] | None:
    """``(base, key)`` when ``url`` ends with one of ``paths`` (by profile key), else None."""
    for key, path in paths.items():
        if path and url.rstrip("/").endswith(path.rstrip("/")):
            return url.rstrip("/")[: -len(path.rstrip("/"))], key
    return None


def derive_endpoint(key: str, claimed: tuple[str, ...], inbox_url: str, trigger_url: str | None) -> Endpoint:
    """A profile's endpoint from candidate.inbox_url and candidate.trigger.url: these are the URLs of
    the claimed profile whose inbox path candidate.inbox_url ends with (the first claimed one when it
    ends with none); every other profile is the same base URL with its own paths (Profile.inbox_path,
    trigger_path). A base that cannot be told needs [candidate.endpoints.<key>]."""
    profiles = {name: registry.get(name) for name in dict.fromkeys((*claimed, key))}
    profile = profiles[key]
    found = _strip(inbox_url, {name: p.inbox_path for name, p in profiles.items()})
    owner = found[1] if found else (claimed[0] if claimed else key)
    if key == owner:
        inbox = inbox_url
    elif found is not None:
        inbox = found[0] + profile.inbox_path
    else:
        raise ConfigError(
            f"candidate.endpoints.{key}: missing: candidate.inbox_url {inbox_url} does not end with an "
            f"inbox path of a claimed profile, so the base URL of {profile.title}'s inbox cannot be told"
        )
    if trigger_url is None or key == owner:
        return Endpoint(inbox, trigger_url)
    trigger = _strip(trigger_url, {name: p.trigger_path for name, p in profiles.items()})
    base = trigger[0] if trigger else inbox[: len(inbox) - len(profile.inbox_path)]
    return Endpoint(inbox, base + profile.trigger_path)


def _endpoints(
    candidate: dict, profiles: tuple[str, ...], inbox_url: str, trigger_url: str | None, tls: bool
) -> dict[str, Endpoint]:
    """``[candidate.endpoints.<key>] inbox_url, trigger_url``: where a claimed profile lives when it
    is not candidate.inbox_url's base with the profile's paths; every claimed profile resolved now, so
    that a run finds no missing URL half-way; the tables given are kept."""
    given = _endpoint_tables(candidate, profiles)
    resolved = {}
    for key in profiles:
        endpoint = _resolve_endpoint(key, given.get(key, {}), profiles, inbox_url, trigger_url)
        _check_scheme(endpoint.inbox_url, tls, f"candidate.endpoints.{key}.inbox_url")
        if key in given:  # the others are derived again on use (Config.endpoint), as checked here
            resolved[key] = endpoint
    return resolved


def _endpoint_tables(candidate: dict, profiles: tuple[str, ...]) -> dict[str, dict]:
    """The ``[candidate.endpoints.<name>]`` tables by profile key: each of a claimed profile, with
    no key but inbox_url and trigger_url."""
    given: dict[str, dict] = {}
    for name, table in _get(candidate, "endpoints", dict, "candidate", {}).items():
        where = f"candidate.endpoints.{name}"
        try:
            key = registry.get(name).key
        except registry.ProfileError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if key not in profiles:
            raise ConfigError(f"{where}: {key} is not claimed (candidate.profiles: {', '.join(profiles)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table, got {table!r}")
        _unknown(table, {"inbox_url", "trigger_url"}, where)
        given[key] = table
    return given


def _resolve_endpoint(
    key: str, table: dict, profiles: tuple[str, ...], inbox_url: str, trigger_url: str | None
) -> Endpoint:
    """One claimed profile's endpoint: its table's own inbox (else the one derived from
    candidate.inbox_url), and its table's trigger_url (else the one told from the inbox)."""
    where = f"candidate.endpoints.{key}"
    if "inbox_url" in table:
        told = _endpoint_at_own_inbox(key, table, trigger_url)
    else:
        told = derive_endpoint(key, profiles, inbox_url, trigger_url)
    trigger = _get(table, "trigger_url", str, where, None)
    return Endpoint(told.inbox_url, _url(trigger, f"{where}.trigger_url") if trigger else told.trigger_url)


def _endpoint_at_own_inbox(key: str, table: dict, trigger_url: str | None) -> Endpoint:
    """The table's inbox_url, and (when the candidate has a test trigger) the trigger on the same base
    with the profile's trigger path; ConfigError when that base cannot be told and no trigger_url is
    given."""
    where = f"candidate.endpoints.{key}"
    inbox = _url(_get(table, "inbox_url", str, where), f"{where}.inbox_url")
    if trigger_url is None:
        return Endpoint(inbox)
    profile = registry.get(key)
    own = _strip(inbox, {key: profile.inbox_path})
    if own is not None:
        return Endpoint(inbox, own[0] + profile.trigger_path)
    if "trigger_url" not in table:
        raise ConfigError(
            f"{where}.trigger_url: missing (the candidate has a test trigger, and {inbox} does not "
            f"end with {profile.inbox_path}, so its trigger's URL cannot be told)"
        )
    return Endpoint(inbox)


def _check_scheme(url: str, tls: bool, where: str) -> None:
    """https needs mutual TLS on (tls.enabled), http needs it off."""
    if url.startswith("https://") != tls:
        raise ConfigError(
            f"{where}: {url.split(':')[0]}:// does not go with tls.enabled = "
            f"{str(tls).lower()} (https needs mutual TLS on, http needs it off)"
        )


def _get(table: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{where}.{key}: missing")
        return default
    value, kinds = table[key], kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ConfigError(f"{where}.{key}: expected {_kind_name(kinds)}, got {value!r}")
    return value


def _kind_name(kind: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(dict.fromkeys(names[k] for k in kind))


def _number(value: Any, where: str) -> float:
    """A finite number from 0 up (TOML has nan and inf: neither is a number of anything here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: expected a number of seconds, got {value!r}")
    return float(value)


# Every window and timeout is a wait of the harness (or of the candidate it judges): above 0, and at
# most a day; 1e308 s would overflow a deadline (a traceback), a week makes a run that never ends.
WINDOW_MAX_S = 24 * 3600.0


def _seconds(value: Any, where: str) -> float:
    """A window or timeout: a finite number of seconds above 0 and at most WINDOW_MAX_S."""
    seconds = _number(value, where)
    if not 0 < seconds <= WINDOW_MAX_S:
        raise ConfigError(
            f"{where}: expected a number of seconds above 0 and at most {WINDOW_MAX_S:g}, got {value!r}"
        )
    return seconds


def _windows(table: dict) -> Windows:
    """``candidate.windows``: each key given (checked in the table's order) replaces its default."""
    seconds: dict[str, float] = {}
    schedule = Windows().retry_schedule_s
    for key in table:
        where = f"candidate.windows.{key}"
        if key == "retry_schedule_s":
            schedule = tuple(_seconds(value, where) for value in _get(table, key, list, "candidate.windows"))
        else:
            seconds[key] = _seconds(table[key], where)
    return Windows(retry_schedule_s=schedule, **seconds)


def _listen(value: str, where: str = "harness.listen") -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: expected host:port (port 0 to 65535), got {value!r}")
    return value


def _party(value: str, where: str, profiles: tuple[str, ...]) -> str:
    """A party of every profile claimed (an NSW serving two agreements is a party to both)."""
    for key in profiles:
        profile = registry.get(key)
        if value not in profile.parties:
            raise ConfigError(
                f"{where}: {value!r} is not a party of {profile.title} ({' '.join(profile.parties)})"
            )
    return value


def _harness_parties(harness: dict, candidate: str, profiles: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """``[harness] party`` (the default) and the party the harness plays in each claimed profile:
    ``[harness.profiles.<key>] party``; else ``[harness] party`` where it is a party of that profile;
    else the pack's default partner (Profile.partner_party), so that a candidate claiming profiles
    whose parties differ (a KH NSW serving EFDX and RCPX) needs no table per profile. The second
    value holds the profiles where that party is not ``[harness] party``."""
    default = _get(harness, "party", str, "harness", "SG")
    if not any(default in registry.get(key).parties for key in profiles):
        titles = ", ".join(registry.get(key).title for key in profiles)
        raise ConfigError(f"harness.party: {default!r} is not a party of any claimed profile ({titles})")
    chosen: dict[str, str] = {}
    for name, table in _get(harness, "profiles", dict, "harness", {}).items():
        where = f"harness.profiles.{name}"
        try:
            profile = registry.get(name)
        except registry.ProfileError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if profile.key not in profiles:
            raise ConfigError(
                f"{where}: {profile.key} is not claimed (candidate.profiles: {', '.join(profiles)})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table, got {table!r}")
        _unknown(table, PROFILE_HARNESS_KEYS, where)
        if not table:
            raise ConfigError(f"{where}: empty (give party, listen or url)")
        if "party" not in table:
            continue  # only its own inbox (listen, url): the party as if no table were given
        value = _get(table, "party", str, where)
        if value not in profile.parties:
            raise ConfigError(
                f"{where}.party: {value!r} is not a party of {profile.title} ({' '.join(profile.parties)})"
            )
        if value == candidate:
            raise ConfigError(
                f"{where}.party: the harness plays a partner, not the candidate's party {candidate}"
            )
        chosen[profile.key] = value
    for key in profiles:
        profile = registry.get(key)
        if key in chosen:
            continue
        if default in profile.parties:
            if default == candidate:
                raise ConfigError(
                    f"harness.party: the harness plays a partner, not the candidate's party {candidate}"
                )
            chosen[key] = default
        elif profile.partner_party != candidate:
            chosen[key] = profile.partner_party
        else:
            raise ConfigError(
                f"harness.profiles.{key}.party: missing (harness.party {default} is not a party of "
                f"{profile.title}, and its default partner {profile.partner_party} is the candidate's party)"
            )
    return default, {key: chosen[key] for key in profiles if chosen[key] != default}


PROFILE_HARNESS_KEYS = {"party", "listen", "url"}


def _harness_inboxes(harness: dict, profiles: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """``[harness.profiles.<key>] listen`` and ``url``, by profile key: a profile's own harness inbox.

    Why: a run of several profiles runs them side by side, each with its own harness inbox; with one
    fixed ``harness.listen`` port for all they must take turns, and a candidate's waits (M-21's
    retries of minutes) add up. A candidate whose peer table takes a URL per profile can be given one
    port per profile instead. (The tables were checked by _harness_parties.)"""
    listens: dict[str, str] = {}
    urls: dict[str, str] = {}
    for name, table in _get(harness, "profiles", dict, "harness", {}).items():
        key, where = registry.get(name).key, f"harness.profiles.{name}"
        if "listen" in table:
            listens[key] = _listen(_get(table, "listen", str, where), f"{where}.listen")
        if "url" in table:
            urls[key] = _url(_get(table, "url", str, where), f"{where}.url")
    return listens, urls


def _profiles(candidate: dict) -> tuple[str, ...]:
    """``candidate.profiles``: the profiles claimed, by key or title (default: EFDX 1.0 alone)."""
    names = _get(candidate, "profiles", list, "candidate", list(registry.DEFAULT))
    if not names:
        raise ConfigError("candidate.profiles: empty (claim at least one profile)")
    keys = []
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"candidate.profiles: {name!r} is not a profile name")
        try:
            keys.append(registry.get(name).key)
        except registry.ProfileError as exc:
            raise ConfigError(f"candidate.profiles: {exc}") from None
    return tuple(dict.fromkeys(keys))


def check_url(value: str, where: str) -> str:
    """An http:// or https:// URL, or ConfigError naming ``where``."""
    return _url(value, where)


def _url(value: str, where: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    return value


def _path(value: str, where: str, base: Path) -> Path:
    path = (base / value).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: no such file {path}")
    return path


def _site_file(site: dict, key: str, base: Path) -> Path | None:
    """``site.cert_file`` or ``site.key_file``: an existing file, or None when not given."""
    return _path(_get(site, key, str, "site"), f"site.{key}", base) if key in site else None


# A certificate and its key are given together or not at all: one alone would be paired with the
# test PKI's other half (a key that matches no certificate), or silently not used.
TLS_PAIRS = (("client_cert", "client_key"), ("inbox_cert", "inbox_key"))


def _tls(table: dict, files: tuple[str, ...], base: Path) -> Tls:
    """``[tls]``: its files exist, and each certificate comes with its key (both or neither); whether
    they load and pair is checked before the tests (app.run.check_tls_files)."""
    for cert, key in TLS_PAIRS:
        if (cert in table) != (key in table):
            given, missing = (cert, key) if cert in table else (key, cert)
            raise ConfigError(f"tls.{missing}: missing (tls.{given} is given; give both or neither)")
    enabled = _get(table, "enabled", bool, "tls", False)
    if "candidate_cert" in table and not enabled:
        raise ConfigError(
            "tls.candidate_cert: given, but tls.enabled is false (plain HTTP has no client certificate)"
        )
    return Tls(
        enabled=enabled,
        **{key: _path(_get(table, key, str, "tls"), f"tls.{key}", base) for key in files if key in table},
    )


def _unknown(table: dict, known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: unknown key (known: {', '.join(sorted(known))})")


def _declarations(candidate: dict, profiles: tuple[str, ...]) -> tuple[str, ...]:
    """candidate.declarations: purpose IDs that a claimed profile's catalogue marks declarable."""
    stated = _get(candidate, "declarations", list, "candidate", [])
    declarable = {item.id for key in profiles for item in registry.get(key).catalogue().declarable()}
    for purpose in stated:
        if not isinstance(purpose, str) or purpose not in declarable:
            raise ConfigError(
                f"candidate.declarations: {purpose!r} is no declarable test purpose of the profiles "
                f"claimed (declarable: {', '.join(sorted(declarable)) or 'none'})"
            )
    return tuple(dict.fromkeys(stated))


CANDIDATE_KEYS = {
    "party",
    "inbox_url",
    "roles",
    "capabilities",
    "windows",
    "trigger",
    "build",
    "profiles",
    "capacity",
    "endpoints",
    "declarations",
}
TLS_FILES = ("ca_bundle", "client_cert", "client_key", "inbox_cert", "inbox_key", "candidate_cert")


def parse(data: dict, base: Path = Path(".")) -> Config:
    """Build a Config from parsed TOML; relative paths are taken from ``base``. The parts are checked
    one after the other in a fixed order, so that a file with several mistakes always gets the same
    one named first."""
    _unknown(data, {"candidate", "harness", "tls", "site"}, "(top level)")
    candidate = _get(data, "candidate", dict, "(top level)")
    _unknown(candidate, CANDIDATE_KEYS, "candidate")
    profiles = _profiles(candidate)
    site, passphrase_env = _site_table(data)
    party = _party(_get(candidate, "party", str, "candidate"), "candidate.party", profiles)
    roles = _roles(candidate)
    capabilities, capacity = _claims(candidate, profiles)
    declarations = _declarations(candidate, profiles)
    windows = _windows(_table(candidate, "windows", "candidate", set(Windows.__dataclass_fields__)))
    trigger_url, token = _trigger(candidate, capabilities)
    harness = _table(data, "harness", "(top level)", {"party", "listen", "url", "profiles"})
    harness_party, harness_parties = _harness_parties(harness, party, profiles)
    harness_url = _get(harness, "url", str, "harness", None)
    tls = _tls(_table(data, "tls", "(top level)", {"enabled", *TLS_FILES}), TLS_FILES, base)
    inbox_url = _url(_get(candidate, "inbox_url", str, "candidate"), "candidate.inbox_url")
    _check_scheme(inbox_url, tls.enabled, "candidate.inbox_url")
    trigger_url = _url(trigger_url, "candidate.trigger.url") if trigger_url else None
    harness_listen = _listen(_get(harness, "listen", str, "harness", "127.0.0.1:0"))
    harness_listens, harness_urls = _harness_inboxes(harness, profiles)
    harness_url = _url(harness_url, "harness.url") if harness_url else None
    if harness_url is not None:
        _check_gateway_url(harness_url, "gateway" in capabilities, profiles, harness_party, harness_parties)
    for key, url in harness_urls.items():
        _check_gateway_url(url, "gateway" in capabilities, (key,), harness_party, harness_parties)
    return Config(
        party=party,
        inbox_url=inbox_url,
        roles=roles,
        capabilities=capabilities,
        declarations=declarations,
        windows=windows,
        trigger_url=trigger_url,
        trigger_token=token,
        tls=tls,
        harness_party=harness_party,
        harness_parties=harness_parties,
        harness_listen=harness_listen,
        harness_url=harness_url,
        harness_listens=harness_listens,
        harness_urls=harness_urls,
        **_record(candidate, site, base),
        site_passphrase_env=passphrase_env,
        profiles=profiles,
        capacity=capacity,
        endpoints=_endpoints(candidate, profiles, inbox_url, trigger_url, tls.enabled),
    )


def _check_gateway_url(
    url: str, gateway: bool, profiles: tuple[str, ...], default: str, parties: dict[str, str]
) -> None:
    """``harness.url`` and the claim of ``gateway`` (EFDX section 9). A candidate claiming it takes the
    harness as its gateway: its peer inbox for the party the harness plays is the harness's gateway
    inbox of that party (``/efdx/1/SG/messages``), so harness.url, when given, must be that URL (G-01
    is judged by the path the candidate posts to). A candidate not claiming it posts to the harness's
    own inbox path: a gateway inbox there would be an unclaimed gateway."""
    gateways = {key: registry.get(key).gateway_path(parties.get(key, default)) for key in profiles}
    through = _strip(url, gateways)
    if gateway and through is None:
        expected = " or ".join(dict.fromkeys(gateways.values()))
        raise ConfigError(
            f"harness.url: the candidate claims gateway, so the harness is its gateway and its peer "
            f"inbox for the harness's party is the harness's gateway inbox: expected a URL ending "
            f"{expected}, got {url!r}"
        )
    if not gateway and through is not None:
        raise ConfigError(
            f"harness.url: {url!r} is a gateway inbox ({gateways[through[1]]}); claim the capability "
            "'gateway' (candidate.capabilities) for the harness to be the candidate's gateway, or give "
            f"the harness's own inbox ({registry.get(through[1]).inbox_path})"
        )


def _table(parent: dict, key: str, where: str, known: set[str]) -> dict:
    """An optional table (empty when absent) with no key but ``known``: a misspelt key is named, not
    silently ignored."""
    table = _get(parent, key, dict, where, {})
    _unknown(table, known, key if where == "(top level)" else f"{where}.{key}")
    return table


def _site_table(data: dict) -> tuple[dict, str | None]:
    """``[site]`` and its passphrase_env: the evidence key and certificate come together, and a
    passphrase variable only with a key (and not empty), so that a half-given signer is refused now,
    not when the evidence is signed."""
    site = _table(
        data, "site", "(top level)", {"name", "operator", "key_file", "cert_file", "passphrase_env"}
    )
    if ("key_file" in site) != ("cert_file" in site):
        given, missing = ("key_file", "cert_file") if "key_file" in site else ("cert_file", "key_file")
        raise ConfigError(f"site.{missing}: missing (site.{given} is given; the evidence needs both)")
    passphrase_env = _get(site, "passphrase_env", str, "site", None)
    if passphrase_env is not None and "key_file" not in site:
        raise ConfigError("site.passphrase_env: given without site.key_file (whose passphrase it holds)")
    if passphrase_env is not None and not passphrase_env.strip():
        raise ConfigError("site.passphrase_env: empty (name the environment variable holding the passphrase)")
    return site, passphrase_env


def _roles(candidate: dict) -> tuple[str, ...]:
    """``candidate.roles`` (default: both): a role the spec does not have would select no test."""
    roles = tuple(_get(candidate, "roles", list, "candidate", list(ROLES)))
    for role in roles:
        if role not in ROLES:
            raise ConfigError(f"candidate.roles: {role!r} is not one of {', '.join(ROLES)}")
    return roles


def _claims(candidate: dict, profiles: tuple[str, ...]) -> tuple[frozenset[str], Capacity | None]:
    """``candidate.capabilities`` and ``[candidate.capacity]``: each capability one a claimed profile
    knows; the capacity table is itself the claim of 'capacity' (section 8), and that capability
    without its table is refused, as there would be nothing to judge it by."""
    capabilities = frozenset(_get(candidate, "capabilities", list, "candidate", []))
    known_capabilities = tuple(dict.fromkeys(c for key in profiles for c in registry.get(key).capabilities))
    for capability in capabilities:
        if capability not in known_capabilities:
            raise ConfigError(
                f"candidate.capabilities: {capability!r} is not one of {', '.join(known_capabilities)}"
            )
    capacity = _capacity(_get(candidate, "capacity", dict, "candidate", None))
    if capacity is not None and "capacity" in known_capabilities:  # the table is the claim (section 8)
        capabilities |= {"capacity"}
    elif "capacity" in capabilities:
        raise ConfigError(
            "candidate.capacity: missing (the candidate claims the capability 'capacity': "
            "rate_per_s, duration_s, receipt_p95_s, status_p95_s)"
        )
    return capabilities, capacity


def _trigger(candidate: dict, capabilities: frozenset[str]) -> tuple[str | None, str | None]:
    """``[candidate.trigger]``: its url (not yet checked as a URL) and its token; a candidate claiming
    the capability 'trigger' must say where its trigger is."""
    trigger = _table(candidate, "trigger", "candidate", {"url", "token", "token_env"})
    token = _trigger_token(trigger)
    trigger_url = _get(trigger, "url", str, "candidate.trigger", None)
    if "trigger" in capabilities and trigger_url is None:
        raise ConfigError("candidate.trigger.url: missing (the candidate claims the capability 'trigger')")
    return trigger_url, token


def _trigger_token(trigger: dict) -> str | None:
    """The trigger's token: given, or read from the environment variable token_env names (so that it
    need not be written in the file); a variable that is not set is an error, not no token."""
    token = _get(trigger, "token", str, "candidate.trigger", None)
    if token is None and "token_env" in trigger:
        variable = _get(trigger, "token_env", str, "candidate.trigger")
        token = os.environ.get(variable)
        if token is None:
            raise ConfigError(f"candidate.trigger.token_env: environment variable {variable} is not set")
    return token


def _record(candidate: dict, site: dict, base: Path) -> dict[str, Any]:
    """What the certification record says of the run (the build, the site, its operator) and the
    site's evidence signer; checked in this order."""
    return {
        "build": _get(candidate, "build", str, "candidate", None),
        "site": _get(site, "name", str, "site", None),
        "operator": _get(site, "operator", str, "site", None),
        "site_cert": _site_file(site, "cert_file", base),
        "site_key": _site_file(site, "key_file", base),
    }


UNREAD_TOKEN = "(not read: this command sends nothing)"


def load(path: Path, inbox_url: str | None = None, *, secrets: bool = True) -> Config:
    """Load the file; ``inbox_url`` (from --sut) stands in for, or overrides, candidate.inbox_url.
    ``secrets=False``, for a command that runs nothing (``list``): the trigger's token is not read
    from its environment variable, so that listing never asks for it."""
    try:
        raw = Path(path).read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if inbox_url is not None and isinstance(data.get("candidate"), dict):
        data["candidate"]["inbox_url"] = inbox_url
    trigger = data.get("candidate", {}).get("trigger") if isinstance(data.get("candidate"), dict) else None
    if not secrets and isinstance(trigger, dict) and "token_env" in trigger and "token" not in trigger:
        trigger["token"] = UNREAD_TOKEN
        del trigger["token_env"]
    config = parse(data, Path(path).resolve().parent)
    return dataclasses.replace(config, sha256=hashlib.sha256(raw).hexdigest())
