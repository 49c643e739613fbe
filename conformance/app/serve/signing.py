"""HMAC-SHA256 signatures of the service's own records (notes, share links), with keys derived from
the service's secret keys (secret_box.derived_keys, one purpose each): the first key signs, every
key verifies, so rotating the secret keys (a new one put first) keeps old signatures good until the
old key is dropped.

Why HMAC and not the site key: these signatures are checked only by the service that made them (a
note in the database changed by hand, a share link altered by its holder); a public-key signature
would claim something third parties can rely on, which notes and links are not (they are no part of
the evidence bundle or its attestation), and the site key keeps one job: attesting certificates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def canonical(value: Any) -> bytes:
    """The one byte form of a JSON value that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(keys: list[bytes], message: bytes) -> str:
    tag = hmac.new(keys[0], message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag).decode("ascii").rstrip("=")


def verify(keys: list[bytes], message: bytes, signature: str) -> bool:
    return any(hmac.compare_digest(sign([key], message), signature) for key in keys)
