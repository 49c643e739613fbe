"""evidence.zip: the run's files and every exchanged message, with a SHA-256 manifest.

The manifest lets a partner state check that nothing was changed after the run. Signing the
bundle and `conformance evidence verify` come with the evidence issue.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path


def write_evidence(folder: Path, data: dict, path: Path) -> None:
    entries: dict[str, bytes] = {}
    for name in ("results.json", "junit.xml", "report.html"):
        entries[name] = (folder / name).read_bytes()
    for index, test in enumerate(data["tests"], start=1):
        for number, exchange in enumerate(test["exchanges"], start=1):
            base = f"exchanges/{index:03d}/{number:02d}"
            entries[f"{base}-request.xml"] = exchange["request_body"].encode("utf-8")
            entries[f"{base}-answer.xml"] = exchange["response_body"].encode("utf-8")
    manifest = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(entries.items())
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, body in sorted(entries.items()):
            bundle.writestr(name, body)
        bundle.writestr("MANIFEST.sha256", manifest)
