"""Rotating the service's secret keys (issue 21 item 7: secrets at rest encrypted with a key the
operator provides and can rotate): `conformance serve rotate-keys` with the new key first encrypts
every stored secret and signs every intact note again with it, so the old key can go; a note whose
signature did not verify stays unverifiable; without a new key first it stops with one line."""

from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet

from conformance.app.serve import notes, signing
from conformance.app.serve.models import Note, System
from conformance.app.serve.secret_box import SecretBox
from tests.serve_helpers import login, serving

SMALL = {"system": 1, "profile": "efdx", "requirements": ["M-06"], "wait": 120}


def rotate(data, keys: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "CONFORMANCE_SECRET_KEYS"}
    if keys:
        env["CONFORMANCE_SECRET_KEYS"] = keys
    command = [sys.executable, "-m", "conformance.app.cli", "serve", "rotate-keys", "--data", str(data)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_rotate_keys_moves_secrets_and_intact_notes_to_the_new_key(tmp_path, monkeypatch):
    data = tmp_path / "testbed"
    with serving(data) as bed:
        admin = login(bed.url, "admin", bed.testbed.first_password)
        run_id = admin.post("/api/runs", json=SMALL).json()["id"]
        box, store = bed.testbed.box, bed.testbed.store
        with store.session() as db:
            system = System(organisation_id=1, name="with secrets", trigger_token_enc=box.seal(b"tok-1"))
            db.add(system)
            intact = Note(run_id=run_id, kind="comment", body='{"text":"fine"}', signature="")
            intact.signature = signing.sign(box.derived_keys(notes.PURPOSE), intact.body.encode())
            altered = Note(run_id=run_id, kind="comment", body='{"text":"edited"}', signature="forged")
            db.add_all([intact, altered])
            db.flush()
            system_id, intact_id, altered_id = system.id, intact.id, altered.id
    old = (data / "secret.key").read_text().strip()
    new = Fernet.generate_key().decode()

    refused = rotate(data, new)  # the old key not given after it: nothing could be read
    assert refused.returncode == 4 and refused.stderr.count("\n") == 1, refused.stderr
    assert "put the new key first" in refused.stderr

    done = rotate(data, f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "1 stored secrets encrypted with the new key, 1 notes signed with it; 1 notes left" in done.stdout
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr

    only_new = SecretBox([new.encode()])
    monkeypatch.setenv("CONFORMANCE_SECRET_KEYS", new)  # the old key dropped
    with serving(data) as bed, bed.testbed.store.session() as db:
        assert only_new.open(db.get(System, system_id).trigger_token_enc) == b"tok-1"
        keys = only_new.derived_keys(notes.PURPOSE)
        kept = db.get(Note, intact_id)
        assert signing.verify(keys, kept.body.encode(), kept.signature)
        still = db.get(Note, altered_id)
        assert still.signature == "forged" and not signing.verify(keys, still.body.encode(), "forged")
