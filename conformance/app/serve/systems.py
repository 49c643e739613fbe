"""A system's configuration: its ICS TOML checked by the CLI's own loader (harness.config.load), so
a test bed user reads exactly the messages `conformance run --config` prints.

The TOML and its TLS files are written to a private folder (0700, files 0600) and loaded from there;
the folder's path is taken out of the messages, which then name ``system.toml`` and the TLS files as
uploaded. A trigger token is not read from the environment here (``secrets=False``): the test bed
keeps it encrypted and gives it to the run's process (execute.py).

TLS files are named by their upload's file name, which must be a plain name (no folder, no leading
dot): the TOML refers to them by that name (``tls.client_cert = "client.pem"``), and by no other
kind of name: an absolute path or ``../`` would name a file of the service's machine (its site key
as the harness's TLS key; or, by the loader's "no such file", whether a file exists there). This is
checked on the TOML's text, before the loader looks at any file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.harness.config import TLS_FILES, Config, ConfigError, load

CONFIG_NAME = "system.toml"
TLS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_TLS_FILES = 8


class SystemRefused(ValueError):
    """The system cannot be registered: the message says why, on one line."""


def check_tls_names(files: dict[str, bytes]) -> None:
    if len(files) > MAX_TLS_FILES:
        raise SystemRefused(f"at most {MAX_TLS_FILES} TLS files")
    for name in files:
        if not TLS_NAME.match(name) or name == CONFIG_NAME:
            raise SystemRefused(f"TLS file {name!r}: a plain file name (letters, digits, . _ -) is needed")


@contextmanager
def private_folder(toml: str, tls_files: dict[str, bytes]) -> Iterator[Path]:
    """A folder only this user can read, holding system.toml and the TLS files; removed afterwards."""
    check_tls_names(tls_files)
    folder = Path(tempfile.mkdtemp(prefix="conformance-system-"))
    try:
        for name, content in {CONFIG_NAME: toml.encode("utf-8"), **tls_files}.items():
            descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(content)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_config(toml: str, tls_files: dict[str, bytes]) -> Config:
    """The parsed configuration, or SystemRefused with the CLI's ConfigError message."""
    _names_only_uploads(toml)
    with private_folder(toml, tls_files) as folder:
        try:
            return load(folder / CONFIG_NAME, secrets=False)
        except ConfigError as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise SystemRefused(
                str(message).replace(f"{folder.resolve()}/", "").replace(f"{folder}/", "")
            ) from None


def _names_only_uploads(toml: str) -> None:
    """SystemRefused when a file the TOML names (``[tls]``, ``[site]``) is not a plain file name."""
    try:
        data = tomllib.loads(toml)
    except tomllib.TOMLDecodeError:
        return  # the loader says what is wrong with it
    tables = {"tls": TLS_FILES, "site": ("cert_file", "key_file")}
    for table, keys in tables.items():
        given = data.get(table)
        if not isinstance(given, dict):
            continue
        for key in keys:
            value = given.get(key)
            if isinstance(value, str) and not TLS_NAME.match(value):
                raise SystemRefused(
                    f"{table}.{key}: name one of the TLS files uploaded with the TOML, by its plain "
                    "file name (letters, digits, . _ -; no folder)"
                )


def seal_tls(box, files: dict[str, bytes]) -> bytes | None:
    if not files:
        return None
    return box.seal(json.dumps({name: content.decode("latin-1") for name, content in files.items()}).encode())


def open_tls(box, sealed: bytes | None) -> dict[str, bytes]:
    if not sealed:
        return {}
    return {name: text.encode("latin-1") for name, text in json.loads(box.open(sealed)).items()}
