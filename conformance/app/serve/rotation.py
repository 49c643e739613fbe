"""Rotating the service's secret keys: ``conformance serve rotate-keys``.

The operator puts a new Fernet key first in CONFORMANCE_SECRET_KEYS (the old ones after it) and runs
this once: every system's sealed secrets (trigger token, TLS material) are encrypted again with the
new key, and every note whose signature verifies under the keys given is signed again with the new
one (a note that does not verify is left as it is, shown as altered: re-signing it would launder
it). After that the old keys can be dropped. Share links are URLs already handed out: they keep
the signature they were made with, so drop an old key only once the links made under it have
expired (90 days at most) or are no longer wanted. Audit-logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from conformance.app.serve import notes, signing
from conformance.app.serve.db import Store
from conformance.app.serve.models import AuditEvent, Note, System
from conformance.app.serve.secret_box import SecretBox


@dataclass(frozen=True)
class Rotated:
    secrets: int  # sealed values encrypted again with the first key
    notes: int  # notes signed again with the first key
    altered: int  # notes whose signature verified under no key given: left as they were


def rotate_keys(store: Store, box: SecretBox) -> Rotated:
    """Re-encrypt and re-sign with ``box``'s first key, in one transaction."""
    secrets = signed = altered = 0
    keys = box.derived_keys(notes.PURPOSE)
    with store.session() as db:
        for system in db.scalars(select(System)):
            for column in ("trigger_token_enc", "tls_material_enc"):
                sealed = getattr(system, column)
                if sealed:
                    setattr(system, column, box.rotate(sealed))
                    secrets += 1
        for note in db.scalars(select(Note)):
            if not signing.verify(keys, note.body.encode("utf-8"), note.signature):
                altered += 1
                continue
            note.signature = signing.sign(keys, note.body.encode("utf-8"))
            signed += 1
        db.add(
            AuditEvent(
                action="keys-rotated",
                detail=f"{secrets} secrets encrypted again, {signed} notes signed again, {altered} "
                "notes left (their signature verified under no key given)",
            )
        )
    return Rotated(secrets, signed, altered)
