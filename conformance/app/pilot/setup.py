"""Who takes part in a pilot, and the gateway (pilot.toml).

```toml
profile = "efdx"              # optional: the profile piloted (default: the first all parties claim)

[gateway]
listen = "127.0.0.1:8450"     # where the gateway listens (port 0: a free one)
tls = true                    # mutual TLS on every hop (section 9); the parties' ICS say tls.enabled alike
cert_file = "gateway.pem"     # its certificate (OU=gateway, EKU clientAuth and serverAuth) and key;
key_file = "gateway.key.pem"  #   default: the test PKI's TEST ONLY gateway certificate, on loopback only
timeout_s = 25                # no whole answer within this: 504 (section 9: 25 s)

[[party]]
ics = "kh.toml"               # the party's ICS, as `conformance run --config` reads it
ca_file = "kh-ca.pem"         # its CA and current CRL (default: the profile's TEST ONLY ones)
crl_file = "kh.crl.pem"
```

Each party's ICS is read by the harness's own loader (``harness/config.py``): party, inbox URL,
windows, capabilities, trigger. Relative paths are taken from pilot.toml's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography import x509

from conformance.core.egress import is_loopback_host
from conformance.core.profile import Profile
from conformance.core.trust import Credential, TrustStore
from conformance.family.dialect import Dialect
from conformance.harness import registry
from conformance.harness.config import Config, ConfigError, Windows
from conformance.harness.config import load as load_ics


@dataclass(frozen=True)
class PilotParty:
    """One NSW of the pilot: its ICS (for the profile piloted)."""

    config: Config

    @property
    def party(self) -> str:
        return self.config.party

    @property
    def windows(self) -> Windows:
        return self.config.windows

    def claims(self, capability: str) -> bool:
        return self.config.claims(capability)

    @property
    def has_trigger(self) -> bool:
        return self.config.claims("trigger") and self.config.trigger_url is not None


@dataclass(frozen=True)
class GatewaySetup:
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    credential: Credential | None = None  # over TLS: its certificate and key
    timeout_s: float = 25.0


@dataclass(frozen=True)
class SiteSetup:
    """``[site]`` of pilot.toml, as in an ICS (``conformance pki site`` makes them): the evidence's
    signing certificate and key, and the environment variable holding the key's passphrase."""

    cert_file: Path
    key_file: Path
    passphrase_env: str | None = None


@dataclass(frozen=True)
class PilotSetup:
    profile: Profile
    parties: tuple[PilotParty, ...]
    gateway: GatewaySetup
    trust: TrustStore
    # party -> the pid of its embedded reference process (an embedded pilot's only)
    processes: Mapping[str, int] = field(default_factory=dict)
    site: SiteSetup | None = None  # [site]: the key the evidence is signed with (None: TEST ONLY)

    @property
    def dialect(self) -> Dialect:
        return dialect_of(self.profile)

    def party(self, code: str) -> PilotParty:
        return next(p for p in self.parties if p.party == code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.party for p in self.parties)


def dialect_of(profile: Profile) -> Dialect:
    """The profile's Dialect: a pilot judges with the family's judge, so only a family profile pilots."""
    found = profile.extras.get("dialect")
    if not isinstance(found, Dialect):
        raise ConfigError(
            f"{profile.title} is not of the signed-XML exchange family: a pilot cannot judge it"
        )
    return found


def gateway_credential(profile: Profile) -> Credential:
    """The TEST ONLY gateway certificate of the profile's test PKI (section 9: OU=gateway)."""
    return dialect_of(profile).load_pki().gateway()


def load(path: Path) -> PilotSetup:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, Path(path).resolve().parent)


def parse(data: dict[str, Any], base: Path) -> PilotSetup:
    _unknown(data, {"profile", "gateway", "party", "site"}, "(top level)")
    tables = data.get("party")
    if not isinstance(tables, list) or len(tables) < 2:
        raise ConfigError("party: at least two [[party]] tables (each with its ics file)")
    configs = []
    for number, table in enumerate(tables, 1):
        where = f"party[{number}]"
        if not isinstance(table, dict) or not isinstance(table.get("ics"), str):
            raise ConfigError(f"{where}.ics: missing (the party's ICS file)")
        _unknown(table, {"ics", "ca_file", "crl_file"}, where)
        configs.append(load_ics(_path(base, table["ics"])))
    profile = _profile(data.get("profile"), configs)
    parties = tuple(PilotParty(config.for_profile(profile.key)) for config in configs)
    codes = [p.party for p in parties]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"party: each party once, not {' '.join(codes)}")
    gateway = _gateway(data.get("gateway", {}), base, profile)
    for party in parties:
        if party.config.tls.enabled != gateway.tls:
            raise ConfigError(
                f"party {party.party}: tls.enabled is {str(party.config.tls.enabled).lower()} in its ICS, "
                f"gateway.tls {str(gateway.tls).lower()}: every hop is alike (section 9)"
            )
    trust = _trust(tables, codes, base, profile)
    return PilotSetup(profile, parties, gateway, trust, site=_site(data.get("site"), base))


def _site(table: Any, base: Path) -> SiteSetup | None:
    """``[site]``: cert_file and key_file together (existing files), passphrase_env only with them."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError("site: a table (cert_file, key_file, passphrase_env)")
    _unknown(table, {"name", "operator", "cert_file", "key_file", "passphrase_env"}, "site")
    if ("key_file" in table) != ("cert_file" in table):
        given, missing = ("key_file", "cert_file") if "key_file" in table else ("cert_file", "key_file")
        raise ConfigError(f"site.{missing}: missing (site.{given} is given; the evidence needs both)")
    variable = table.get("passphrase_env")
    if variable is not None and (not isinstance(variable, str) or not variable.strip()):
        raise ConfigError("site.passphrase_env: the name of the environment variable holding the passphrase")
    if "key_file" not in table:
        if variable is not None:
            raise ConfigError("site.passphrase_env: given without site.key_file (whose passphrase it holds)")
        return None
    files = {}
    for key in ("cert_file", "key_file"):
        path = _path(base, table[key])
        if not path.is_file():
            raise ConfigError(f"site.{key}: no such file: {path}")
        files[key] = path
    return SiteSetup(files["cert_file"], files["key_file"], variable)


def _profile(name: Any, configs: list[Config]) -> Profile:
    claimed = [key for key in configs[0].profiles if all(key in c.profiles for c in configs)]
    if name is not None and not isinstance(name, str):
        raise ConfigError('profile: a profile key, e.g. "efdx"')
    try:
        profile = registry.get(name) if name else registry.get(claimed[0]) if claimed else None
    except registry.ProfileError as exc:
        raise ConfigError(f"profile: {exc}") from None
    if profile is None or any(profile.key not in c.profiles for c in configs):
        raise ConfigError("profile: every party must claim the profile piloted (candidate.profiles)")
    dialect_of(profile)
    return profile


def _gateway(table: Any, base: Path, profile: Profile) -> GatewaySetup:
    if not isinstance(table, dict):
        raise ConfigError("gateway: a table")
    _unknown(table, {"listen", "tls", "cert_file", "key_file", "timeout_s"}, "gateway")
    host, _, port = str(table.get("listen", "127.0.0.1:0")).rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"gateway.listen: host:port, not {table.get('listen')!r}")
    tls = table.get("tls", False)
    if not isinstance(tls, bool):
        raise ConfigError("gateway.tls: true or false")
    timeout = table.get("timeout_s", 25.0)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise ConfigError("gateway.timeout_s: seconds above 0, at most an hour")
    credential = None
    if ("cert_file" in table) != ("key_file" in table):
        raise ConfigError("gateway.cert_file and gateway.key_file: both or neither")
    if "cert_file" in table:
        cert, key = _path(base, table["cert_file"]), _path(base, table["key_file"])
        try:
            credential = _credential_from(cert, key)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"gateway.cert_file / key_file: {exc}") from None
    elif tls:
        if not is_loopback_host(host):
            raise ConfigError(
                "gateway.cert_file: the TEST ONLY gateway certificate is for loopback only; "
                "name the gateway's own certificate and key"
            )
        credential = gateway_credential(profile)
    return GatewaySetup(host, int(port), tls, credential, float(timeout))


def _credential_from(cert: Path, key: Path) -> Credential:
    from cryptography.hazmat.primitives import serialization

    chain = tuple(x509.load_pem_x509_certificates(cert.read_bytes()))
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    return Credential("gateway", "gateway", chain[0], private, chain, cert, key)


def _trust(tables: list[dict], codes: list[str], base: Path, profile: Profile) -> TrustStore:
    """Each party's CA and CRL (default: the profile's TEST ONLY ones); every CRL must be current."""
    default = profile.load_pki().trust_store()
    cas, crls = dict(default.cas), dict(default.crls)
    for code, table in zip(codes, tables, strict=True):
        try:
            if "ca_file" in table:
                cas[code] = x509.load_pem_x509_certificate(_path(base, table["ca_file"]).read_bytes())
            if "crl_file" in table:
                crls[code] = x509.load_pem_x509_crl(_path(base, table["crl_file"]).read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"party {code}: ca_file / crl_file: {exc}") from None
        if code not in cas:
            raise ConfigError(f"party {code}: ca_file: missing (the profile's test PKI has no CA for {code})")
    now = datetime.now(timezone.utc)
    for code in codes:
        crl = crls.get(code)
        if crl is None:
            raise ConfigError(f"party {code}: crl_file: missing (a current CRL of each party)")
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            raise ConfigError(
                f"party {code}: crl_file: not current (nextUpdate {crl.next_update_utc:%Y-%m-%d})"
            )
    return TrustStore(cas, crls)


def _path(base: Path, value: Any) -> Path:
    if not isinstance(value, str):
        raise ConfigError(f"a file name, not {value!r}")
    return (base / value).resolve()


def _unknown(table: dict, known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}")
