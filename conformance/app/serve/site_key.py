"""The test bed's site key (the CLI's ``[site]``): the key pair that signs a certifying run's
evidence.zip and its in-toto attestation, given to `conformance serve` (and to every `serve worker`)
by --site-cert/--site-key/--site-passphrase-env.

A run gets it through its system's TOML: before the run, the service rewrites the TOML's ``[site]``
so that key_file, cert_file and passphrase_env are the service's (a member's own key, or a path on
the service's disk a member typed, is never used); the site's name and operator stay the member's
words. Without a site key those three are taken out: the run is a rehearsal, signed by the TEST ONLY
key, and cannot certify (the run page says so). The CLI then writes evidence.zip.intoto.jsonl for a
certifying run itself (app/run.py): the service adds no second signing path.

The key is checked when a process starts (``check``): it must load with its passphrase and must not
be TEST ONLY material (a test bed that certifies with a test key certifies nothing).

The rewritten TOML is written by ``dump``, a small writer for what tomllib reads (tables as inline
tables, strings as JSON-escaped basic strings, which TOML reads alike), checked by reading it back.
"""

from __future__ import annotations

import datetime
import json
import math
import tomllib
from typing import Any

from conformance.app.serve.settings import ServeSettings
from conformance.app.site_pki import SitePkiError, passphrase_from, signer_test_material
from conformance.results.evidence import SiteKeyError, load_site_signer

SITE_KEY_FIELDS = ("key_file", "cert_file", "passphrase_env")


class SiteKeyRefused(ValueError):
    """The configured site key cannot sign (one line, never the key)."""


def check(settings: ServeSettings) -> None:
    if settings.site_key is None or settings.site_cert is None:
        return
    try:
        passphrase = (
            passphrase_from(settings.site_passphrase_env, "--site-passphrase-env", minimum=1)
            if settings.site_passphrase_env
            else None
        )
        signer = load_site_signer(settings.site_cert, settings.site_key, passphrase)
    except (SiteKeyError, SitePkiError) as exc:
        raise SiteKeyRefused(f"--site-key: {exc}") from None
    why = signer_test_material(signer)
    if why is not None:
        raise SiteKeyRefused(f"--site-key: cannot certify: {why}")


def with_site_key(toml: str, settings: ServeSettings) -> str:
    """The system's TOML with the service's site key in ``[site]`` (or none: a rehearsal)."""
    data = tomllib.loads(toml)
    site = {key: value for key, value in data.get("site", {}).items() if key not in SITE_KEY_FIELDS}
    if settings.site_key is not None and settings.site_cert is not None:
        site["key_file"] = str(settings.site_key.resolve())
        site["cert_file"] = str(settings.site_cert.resolve())
        if settings.site_passphrase_env:
            site["passphrase_env"] = settings.site_passphrase_env
    data.pop("site", None)
    if site:
        data["site"] = site
    written = dump(data)
    if tomllib.loads(written) != data:
        raise ValueError("the system's TOML did not survive rewriting")  # execute.py: run incomplete
    return written


def dump(data: dict[str, Any]) -> str:
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in data.items())


def _key(key: str) -> str:
    return _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
            if not math.isfinite(value)
            else repr(value)
        )
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"not a TOML value: {type(value).__name__}")
