"""Secrets at rest (a system's trigger token and TLS material): Fernet, with keys the operator holds.

Keys come from the environment variable CONFORMANCE_SECRET_KEYS (comma-separated Fernet keys: the
first encrypts, all decrypt, so rotating is putting a new key first and re-saving), else from
DATA/secret.key, made on first start with mode 0600. The key never reaches a run's child process
(execute.py leaves the variable out of its environment) nor a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from conformance.app.serve.settings import SECRET_KEYS_ENV


class SecretKeyError(Exception):
    """The keys cannot be read or are not Fernet keys: one line for the operator."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        self._keys = list(keys)
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{SECRET_KEYS_ENV} or secret.key: not Fernet keys (32 url-safe base64 bytes each)"
            ) from None

    def seal(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret does not decrypt with any key given (rotated away?)"
            ) from None

    def derived_keys(self, purpose: str) -> list[bytes]:
        """One HMAC key per secret key for ``purpose`` (HKDF-SHA256, so that a signature of one kind
        can never stand for another, nor reveal the encryption key); the first signs, all verify."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        info = f"conformance serve: {purpose}".encode()
        return [HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(key) for key in self._keys]

    def rotate(self, sealed: bytes) -> bytes:
        """``sealed`` re-encrypted with the first key (after a new key was put first)."""
        return self._fernet.rotate(sealed)


def load_box(data: Path) -> SecretBox:
    given = os.environ.get(SECRET_KEYS_ENV)
    if given:
        return SecretBox([key.strip().encode() for key in given.split(",") if key.strip()])
    path = data / "secret.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(Fernet.generate_key() + b"\n")
    try:
        lines = path.read_bytes().split()
    except OSError as exc:
        raise SecretKeyError(f"{path}: {exc.strerror or exc}") from None
    return SecretBox([line for line in lines if line])
