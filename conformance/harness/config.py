"""The candidate's configuration: its ICS (what it claims) and IXIT (how to reach it), one TOML file.

Every key is checked on load; a missing or wrong one raises ConfigError naming the key, which the
command reports on one line with exit code 4. See examples/candidate.toml for an annotated file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.profiles.efdx.codes import PARTIES

ROLES = ("importing", "exporting")
CAPABILITIES = ("replace", "cancel", "verification", "utilisation", "ecdsa", "trigger")


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
class Tls:
    """Mutual TLS towards the candidate and for the harness inbox (test PKI by default)."""

    enabled: bool = False
    ca_bundle: Path | None = None  # whom the harness trusts as the candidate's server; default: test CAs
    client_cert: Path | None = None  # the harness's certificate; default: the test PKI's NSW of its party
    client_key: Path | None = None
    inbox_cert: Path | None = None  # the harness inbox's server certificate; default: the test PKI's NSW
    inbox_key: Path | None = None


@dataclass(frozen=True)
class Config:
    party: str
    inbox_url: str
    roles: tuple[str, ...] = ROLES
    capabilities: frozenset[str] = frozenset()
    windows: Windows = field(default_factory=Windows)
    trigger_url: str | None = None
    trigger_token: str | None = None
    tls: Tls = field(default_factory=Tls)
    harness_party: str = "SG"
    harness_listen: str = "127.0.0.1:0"
    harness_url: str | None = None  # the URL the candidate reaches the harness inbox by
    build: str | None = None  # the candidate's build or version, for the certification record
    site: str | None = None  # where the run took place (the certifying body or lab)
    operator: str | None = None  # who ran it
    sha256: str | None = None  # of the configuration file as read

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities


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
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: expected a number of seconds, got {value!r}")
    return float(value)


def _window(table: dict, key: str) -> float | tuple[float, ...]:
    where = f"candidate.windows.{key}"
    if key == "retry_schedule_s":
        return tuple(_number(value, where) for value in _get(table, key, list, "candidate.windows"))
    return _number(table[key], where)


def _listen(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"harness.listen: expected host:port (port 0 to 65535), got {value!r}")
    return value


def _party(value: str, where: str) -> str:
    if value not in PARTIES:
        raise ConfigError(f"{where}: {value!r} is not a party ({' '.join(PARTIES)})")
    return value


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


def _unknown(table: dict, known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: unknown key (known: {', '.join(sorted(known))})")


def parse(data: dict, base: Path = Path(".")) -> Config:
    """Build a Config from parsed TOML; relative paths are taken from ``base``."""
    _unknown(data, {"candidate", "harness", "tls", "site"}, "(top level)")
    candidate = _get(data, "candidate", dict, "(top level)")
    _unknown(
        candidate, {"party", "inbox_url", "roles", "capabilities", "windows", "trigger", "build"}, "candidate"
    )
    site = _get(data, "site", dict, "(top level)", {})
    _unknown(site, {"name", "operator"}, "site")
    party = _party(_get(candidate, "party", str, "candidate"), "candidate.party")
    roles = tuple(_get(candidate, "roles", list, "candidate", list(ROLES)))
    for role in roles:
        if role not in ROLES:
            raise ConfigError(f"candidate.roles: {role!r} is not one of {', '.join(ROLES)}")
    capabilities = frozenset(_get(candidate, "capabilities", list, "candidate", []))
    for capability in capabilities:
        if capability not in CAPABILITIES:
            raise ConfigError(
                f"candidate.capabilities: {capability!r} is not one of {', '.join(CAPABILITIES)}"
            )
    windows_table = _get(candidate, "windows", dict, "candidate", {})
    _unknown(windows_table, set(Windows.__dataclass_fields__), "candidate.windows")
    windows = Windows(**{key: _window(windows_table, key) for key in windows_table})
    trigger = _get(candidate, "trigger", dict, "candidate", {})
    _unknown(trigger, {"url", "token", "token_env"}, "candidate.trigger")
    token = _get(trigger, "token", str, "candidate.trigger", None)
    if token is None and "token_env" in trigger:
        variable = _get(trigger, "token_env", str, "candidate.trigger")
        token = os.environ.get(variable)
        if token is None:
            raise ConfigError(f"candidate.trigger.token_env: environment variable {variable} is not set")
    trigger_url = _get(trigger, "url", str, "candidate.trigger", None)
    if "trigger" in capabilities and trigger_url is None:
        raise ConfigError("candidate.trigger.url: missing (the candidate claims the capability 'trigger')")
    harness = _get(data, "harness", dict, "(top level)", {})
    _unknown(harness, {"party", "listen", "url"}, "harness")
    harness_party = _party(_get(harness, "party", str, "harness", "SG"), "harness.party")
    if harness_party == party:
        raise ConfigError(f"harness.party: the harness plays a partner, not the candidate's party {party}")
    harness_url = _get(harness, "url", str, "harness", None)
    tls_table = _get(data, "tls", dict, "(top level)", {})
    tls_files = ("ca_bundle", "client_cert", "client_key", "inbox_cert", "inbox_key")
    _unknown(tls_table, {"enabled", *tls_files}, "tls")
    tls = Tls(
        enabled=_get(tls_table, "enabled", bool, "tls", False),
        **{
            key: _path(_get(tls_table, key, str, "tls"), f"tls.{key}", base)
            for key in tls_files
            if key in tls_table
        },
    )
    inbox_url = _url(_get(candidate, "inbox_url", str, "candidate"), "candidate.inbox_url")
    if inbox_url.startswith("https://") != tls.enabled:
        raise ConfigError(
            f"candidate.inbox_url: {inbox_url.split(':')[0]}:// does not go with tls.enabled = "
            f"{str(tls.enabled).lower()} (https needs mutual TLS on, http needs it off)"
        )
    return Config(
        party=party,
        inbox_url=inbox_url,
        roles=roles,
        capabilities=capabilities,
        windows=windows,
        trigger_url=_url(trigger_url, "candidate.trigger.url") if trigger_url else None,
        trigger_token=token,
        tls=tls,
        harness_party=harness_party,
        harness_listen=_listen(_get(harness, "listen", str, "harness", "127.0.0.1:0")),
        harness_url=_url(harness_url, "harness.url") if harness_url else None,
        build=_get(candidate, "build", str, "candidate", None),
        site=_get(site, "name", str, "site", None),
        operator=_get(site, "operator", str, "site", None),
    )


def load(path: Path, inbox_url: str | None = None) -> Config:
    """Load the file; ``inbox_url`` (from --sut) stands in for, or overrides, candidate.inbox_url."""
    try:
        raw = Path(path).read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if inbox_url is not None and isinstance(data.get("candidate"), dict):
        data["candidate"]["inbox_url"] = inbox_url
    config = parse(data, Path(path).resolve().parent)
    return dataclasses.replace(config, sha256=hashlib.sha256(raw).hexdigest())
