"""PDF copies of the report and the certificate, printed by headless Chromium (``--print-to-pdf``).

The page prints with its print style (everything unfolded). Chromium runs with a fresh profile, no
network (every host name resolves to nothing, any proxied request goes to a closed port) and a
deadline; a missing Chromium is a clear error, not a traceback.

A report folder may come from anywhere (DESIGN.md: untrusted), so ``print_folder`` never opens its
report.html, which could hold script or ``<iframe src="file:///...">``: it renders the pages again
from the folder's results.json (read under caps) into a folder of its own, with no script and a
Content-Security-Policy that runs none and loads nothing (``default-src 'none'``), prints them there, and
puts each PDF beside the folder's files by renaming a new file over the name (never through a link).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from conformance.results.view import ProfileText

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


def offline_flags(user_data_dir: Path) -> list[str]:
    """Headless Chromium that reaches nothing: a fresh profile, no background traffic, no host name
    resolves and anything proxied goes to a closed port (for the PDF, the screenshots, the tests)."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data_dir}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
    ]


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
            *offline_flags(Path(home) / "profile"),
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.absolute()}",
            page.resolve().as_uri(),
        ]
        if pdf.is_symlink():
            pdf.unlink()  # Chromium writes the PDF where a link there points: remove the link
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


def _sha256(path: Path) -> str:
    """The SHA-256 of the regular file ``path`` (not through a link), streamed."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    digest = hashlib.sha256()
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise PdfError(f"{path}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise PdfError(f"{path}: not a regular file")
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _certificate_due(data: dict) -> bool:
    certification = data.get("certification")
    return (
        data.get("verdict") == "conformant"
        and isinstance(certification, dict)
        and certification.get("can_certify") is True
    )


def _pages(
    folder: Path, data: dict, text: ProfileText | None, into: Path, full: bool = False
) -> list[tuple[Path, str]]:
    """The pages of the folder rendered again from ``data`` into ``into``: (page, PDF name); the
    report as its summary unless ``full``."""
    from conformance.results import html, load_report

    pages = []
    if isinstance(data.get("tests"), list):
        counts: dict[str, int] = {}
        for test in data["tests"]:
            counts[test["verdict"]] = counts.get(test["verdict"], 0) + 1
        html.write_html(data, counts, into / "report.html", text, scripted=False, summary=not full)
        pages.append((into / "report.html", "report.pdf"))
        certificate = folder / "certificate.html"
        if certificate.is_file() and not certificate.is_symlink() and _certificate_due(data):
            html.write_certificate(data, _sha256(folder / "evidence.zip"), into / "certificate.html")
            pages.append((into / "certificate.html", "certificate.pdf"))
    elif isinstance(data.get("load"), dict):  # a `conformance load` run's folder
        (into / "report.html").write_text(load_report.page(data), encoding="utf-8")
        pages.append((into / "report.html", "report.pdf"))
    return pages


def print_folder(
    folder: Path, text: ProfileText | None = None, chromium: str | None = None, *, full: bool = False
) -> list[Path]:
    """Print a report folder's report (and certificate, if it has one) to A4 PDF beside them, rendered
    again from its results.json; the PDFs written. The report prints as a summary (verdict,
    certification, failed requirements and tests, the matrix, the failed requirements' purposes and
    text; no exchange) unless ``full``. PdfError (one line) for a folder that is a link,
    a results.json that cannot be read or rendered, or Chromium failing."""
    from conformance.results import diff, safe_read, safe_write

    if folder.is_symlink() or not folder.is_dir():
        raise PdfError(f"{folder}: not a report folder (a folder of its own, not a link)")
    try:
        data = safe_read.load_json(folder / "results.json")
    except safe_read.UnsafeInput as exc:
        raise PdfError(f"cannot read the run's results: {exc}") from None
    if isinstance(data, dict) and "tests" in data:
        problem = diff.shape_problem(data)
        if problem:
            raise PdfError(f"{folder / 'results.json'}: not a run's results.json ({problem})")
    elif not isinstance(data, dict) or not isinstance(data.get("load"), dict):
        raise PdfError(f"{folder / 'results.json'}: not a run's results.json (no tests, no load)")
    written = []
    with tempfile.TemporaryDirectory(prefix="conformance-pages-") as work:
        try:
            pages = _pages(folder, data, text, Path(work), full)
        except PdfError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a results.json from elsewhere holds
            raise PdfError(
                f"{folder / 'results.json'}: cannot be rendered ({type(exc).__name__}: {exc})"
            ) from None
        for page, name in pages:
            printed = print_pdf(page, page.with_suffix(".pdf"), chromium)
            written.append(safe_write.write_bytes(folder / name, printed.read_bytes()))
    return written
