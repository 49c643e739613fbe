"""The README's "Reading the report" shows two screenshots of report.html's first screen: each image
it links is a file of the repository, a PNG of 1280 x 1000 (the first screen the text describes),
and one that tools/screenshots.py regenerates. Chromium is not run here: the pictures are checked,
tests/test_report_browser.py checks the page itself."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Reading the report")
    return text[start : text.index("\n### ", start + 10)]


def images() -> list[str]:
    return re.findall(r"!\[[^\]]+\]\(([^)\s]+)\)", section())


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR, the chunk every PNG starts with."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def test_the_section_shows_a_conformant_run_and_one_with_wrong_error_code():
    assert images() == ["docs/report-conformant.png", "docs/report-wrong-error-code.png"]


@pytest.mark.parametrize("link", images())
def test_each_screenshot_is_a_1280_by_1000_png_of_the_repository(link):
    path = ROOT / link
    assert path.is_file() and not path.is_symlink(), link
    assert png_size(path.read_bytes()) == (1280, 1000)


def test_the_script_the_section_names_regenerates_each_screenshot():
    assert "`tools/screenshots.py`" in section()
    script = (ROOT / "tools" / "screenshots.py").read_text(encoding="utf-8")
    for link in images():
        assert f'"{Path(link).name}"' in script
