"""Hostile XML gets a clear refusal with the spec's code, and nothing outside the body is ever read."""

from __future__ import annotations

import pytest

from conformance.core.safexml import parse_untrusted
from conformance.core.violations import Violation
from conformance.profiles.efdx.codes import error_code


def refusal(body: bytes, **options) -> Violation:
    with pytest.raises(Violation) as raised:
        parse_untrusted(body, **options)
    return raised.value


def test_plain_document_parses():
    assert parse_untrusted(b"<?xml version='1.0' encoding='UTF-8'?>\n<a>x</a>").tag == "a"


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        b'<?xml version="1.0"?>\n<!-- hi --><?pi x?>\n<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>',
        b'<!DOCTYPE a [<!ENTITY a0 "x"><!ENTITY a1 "&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;">]><a>&a1;</a>',
        b"\xef\xbb\xbf<!DOCTYPE a><a/>",
    ],
    ids=["xxe-file", "external-dtd-after-prolog", "entity-bomb", "bom-then-doctype"],
)
def test_any_doctype_is_refused_as_m02(body):
    assert refusal(body).requirement == "M-02"


def test_entity_contents_never_appear(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    violation = refusal(f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><a>&x;</a>'.encode())
    assert "TOP-SECRET" not in str(violation)


@pytest.mark.parametrize(
    ("body", "observed"),
    [
        (b"", "an empty body"),
        (b"<a>", "not well-formed"),
        ("<a>é</a>".encode("utf-16"), "UTF-16"),
        ("<?xml version='1.0' encoding='ISO-8859-1'?><a>é</a>".encode(), "ISO-8859-1"),
        (b"<a>\xff\xfe</a>", "not UTF-8"),
    ],
    ids=["empty", "unclosed", "utf16", "declared-latin1", "invalid-utf8"],
)
def test_malformed_or_non_utf8_is_m01(body, observed):
    violation = refusal(body)
    assert violation.requirement == "M-01"
    assert observed in violation.observed


def test_size_cap_is_t04_before_parsing():
    violation = refusal(b"<a>" + b"x" * 100 + b"</a>", max_bytes=50)
    assert violation.requirement == "T-04" and error_code(violation.requirement) == "EFDX-T04"
