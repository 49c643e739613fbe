"""PDF copies of the report and the certificate, printed by headless Chromium (``--print-to-pdf``).

The page prints with its print style (everything unfolded). Chromium runs with a fresh profile, no
network (every host name resolves to nothing, any proxied request goes to a closed port) and a
deadline; a missing Chromium is a clear error, not a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_TIMEOUT_S = 120.0


class PdfError(Exception):
    """Chromium is missing or could not print; the message says what to do."""


def find_chromium() -> str | None:
    """Chromium's path: $CONFORMANCE_CHROMIUM if set, else the first of CHROMIUM_NAMES on PATH."""
    configured = os.environ.get("CONFORMANCE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else shutil.which(configured)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def print_pdf(page: Path, pdf: Path, chromium: str | None = None) -> Path:
    """Print ``page`` (an HTML file) to ``pdf``; PdfError when Chromium is missing or fails."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise PdfError(
            "Chromium is needed to print a PDF and was not found (install the Debian package chromium, "
            "or set CONFORMANCE_CHROMIUM to its path)"
        )
    if not page.is_file():
        raise PdfError(f"{page}: no such file")
    with tempfile.TemporaryDirectory(prefix="conformance-pdf-") as home:
        environment = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home}
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(home) / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            page.resolve().as_uri(),
        ]
        pdf.unlink(missing_ok=True)
        try:
            finished = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=environment,
                timeout=PRINT_TIMEOUT_S,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print {page} within {PRINT_TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise PdfError(f"cannot start Chromium ({chromium}): {exc.strerror or exc}") from None
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        tail = finished.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise PdfError(f"Chromium did not print {page} (exit {finished.returncode}): {tail[0]}")
    return pdf
