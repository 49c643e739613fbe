"""The certificate of conformance: one page a certifying, conformant run earns (HTML, and PDF when
Chromium is at hand), naming the candidate, its build, the profiles, the date, the site and the
SHA-256 of the evidence bundle that backs it. A rehearsal never gets one."""

from __future__ import annotations

import contextlib
from pathlib import Path

from conformance.results.html import write_certificate
from conformance.results.pdf import PdfError, find_chromium, print_pdf

HTML, PDF = "certificate.html", "certificate.pdf"


def due(data: dict) -> bool:
    """Only a conformant run that can certify (results.certification) earns a certificate."""
    return data.get("verdict") == "conformant" and bool(data.get("certification", {}).get("can_certify"))


def write(folder: Path, data: dict, bundle_sha256: str) -> list[Path]:
    """certificate.html, and certificate.pdf when Chromium is installed; the files written."""
    if not due(data):
        return []
    page = folder / HTML
    write_certificate(data, bundle_sha256, page)
    written = [page]
    if find_chromium() is not None:
        with contextlib.suppress(PdfError):  # the HTML stands; `conformance report pdf` can print it later
            written.append(print_pdf(page, folder / PDF))
    return written
