"""The RCPX 1.0 catalogue against its spec: the T, M and A requirements and purposes are EFDX's with
RCPX names (RCPX section 1), the RBR rows are RCPX section 3, codes and names are RCPX's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.profiles.efdx import catalogue as efdx
from conformance.profiles.rcpx import catalogue as rcpx
from conformance.profiles.rcpx import codes, spec
from conformance.profiles.rcpx.codes import error_code

SHARED_SPEC = Path(__file__).resolve().parents[3] / "shared" / "RCPX-1.0.md"


def rcpx_names(text: str) -> str:
    """EFDX wording -> RCPX wording (RCPX section 1): codes, rules (BR-14 and BR-15 are RBR-14), and
    "section N" of EFDX named as such."""
    text = text.replace("EFDX-", "RCPX-").replace("BR-15", "RBR-14")
    text = re.sub(r"(?<![A-Z])BR-(\d\d)", r"RBR-\1", text)
    text = re.sub(r"(?<![A-Z])BR code", "RBR code", text)
    return re.sub(r"\((section|of section) (\d)", r"(EFDX section \2", text).replace(
        "of section 5", "of EFDX section 5"
    )


@pytest.fixture(scope="module")
def section3() -> dict[str, str]:
    text = spec.spec_text()
    start = text.index("## 3. Business rules")
    rows = re.findall(r"^\| (RBR-\d\d) \| (.+) \|$", text[start : text.index("\n## ", start + 1)], re.M)
    assert len(rows) == 14
    return dict(rows)


def test_the_shipped_spec_is_the_shared_one() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip(f"no {SHARED_SPEC} beside the checkout")
    assert spec.spec_path().read_text(encoding="utf-8") == SHARED_SPEC.read_text(encoding="utf-8")


def test_rbr_rows_are_section_3(section3: dict[str, str]) -> None:
    rules = rcpx.by_layer("RBR")
    assert [r.id for r in rules] == list(section3)
    for rule in rules:
        assert rule.text == section3[rule.id].replace("(EFDX section 4)", "(section 4)").replace(
            "(section 4)", "(EFDX section 4)"
        ), rule.id
        assert rule.error_code == rule.id and rule.http_status is None and rule.level == "MUST"


def test_t_m_a_rows_are_efdx_rows_with_rcpx_names() -> None:
    ours = [r for r in rcpx.requirements() if r.layer != "RBR"]
    theirs = [r for r in efdx.requirements() if r.layer != "BR"]
    assert [r.id for r in ours] == [r.id for r in theirs]
    for mine, source in zip(ours, theirs, strict=True):
        assert mine.text == rcpx_names(source.text), mine.id
        assert (mine.layer, mine.level, mine.title, mine.http_status, mine.role, mine.capability) == (
            source.layer,
            source.level,
            source.title,
            source.http_status,
            source.role,
            source.capability,
        ), mine.id
        assert mine.error_code == (None if source.error_code is None else error_code(mine.id)), mine.id


def test_layers_counts_and_check_order() -> None:
    assert rcpx.LAYERS == ("T", "M", "A", "RBR", "P", "G")
    assert [len(rcpx.by_layer(layer)) for layer in rcpx.LAYERS] == [5, 23, 8, 14, 3, 3]
    assert rcpx.CHECK_ORDER == efdx.CHECK_ORDER
    assert rcpx.CAPABILITIES == efdx.CAPABILITIES


def test_error_codes() -> None:
    assert error_code("M-06") == "RCPX-M06"
    assert error_code("T-03") == "RCPX-T03"
    assert error_code("RBR-12") == "RBR-12"
    assert rcpx.requirement("M-06").error_code == "RCPX-M06"
    coded = [r for r in rcpx.requirements() if r.error_code and r.layer != "RBR"]
    assert coded and all(codes.code_requirement(r.error_code) == r.id for r in coded)


def test_codes_are_rcpx_names() -> None:
    assert (codes.ENVELOPE_NS, codes.CO_NS, codes.PROFILE_VERSION) == (
        "urn:rcpx:envelope:1",
        "urn:rcpx:co:1",
        "1.0",
    )
    assert (codes.INBOX_PATH, codes.TRIGGER_PATH) == ("/rcpx/1/messages", "/rcpx/1/test/trigger")
    assert codes.TRIGGER_HEADER == "X-RCPX-Test-Token"
    assert (
        codes.PAYLOAD_FOR_ACTION["IssueCO"]
        == codes.PAYLOAD_FOR_ACTION["ReplaceCO"]
        == "RCEPCertificateOfOrigin"
    )
    assert codes.ORIGIN_CRITERIA == ("WO", "PE", "CTC", "RVC", "CR")
    assert codes.CTC_LEVELS == ("CC", "CTH", "CTSH")
    assert len(codes.PARTIES) == 15 and {"AU", "CN", "JP", "KR", "NZ"} <= set(codes.PARTIES)


def test_every_requirement_has_purposes_and_t_m_a_purposes_are_efdx_ones() -> None:
    assert [r.id for r in rcpx.requirements() if not rcpx.of_requirement(r.id)] == []
    # the field lines of each profile's CO (fields.py) and its party list are its own
    from conformance.profiles.efdx import fields as efdx_fields
    from conformance.profiles.rcpx import fields as rcpx_fields

    own = {case.purpose for case in rcpx_fields.co_cases()} | {"M-03/party-list"}
    their_own = {case.purpose for case in efdx_fields.co_cases()} | {"M-03/party-list"}
    ours = [p for p in rcpx.purposes() if not p.requirement.startswith("RBR-") and p.id not in own]
    theirs = [
        p
        for p in efdx.catalogue().purposes()
        if not p.requirement.startswith("BR-") and p.id not in their_own
    ]
    assert [p.id for p in ours] == [p.id for p in theirs]
    for mine, source in zip(ours, theirs, strict=True):
        assert mine.clause == rcpx_names(source.clause), mine.id


def test_rbr_purposes_name_their_rule_and_no_efdx_name_is_left() -> None:
    for item in rcpx.purposes():
        assert "EFDX-" not in item.clause and not re.search(r"(?<![A-Z])BR-\d", item.clause), item.id
        if item.requirement.startswith("RBR-") and "REJECTED" in item.clause:
            assert f"REJECTED with {item.requirement}" in item.clause, item.id
    for req in rcpx.requirements():
        own = re.sub(r"\(EFDX [^)]*\)", "", req.text)  # "(EFDX BR-14 and BR-15 in one)" names EFDX's
        assert "EFDX-" not in own and not re.search(r"(?<![A-Z])BR-\d", own), req.id


def test_lookups_name_the_profile() -> None:
    with pytest.raises(KeyError, match="RCPX 1.0"):
        rcpx.requirement("BR-12")
    with pytest.raises(KeyError, match="RCPX 1.0"):
        rcpx.purpose("RBR-03/nonsense")
    with pytest.raises(ValueError, match="RBR"):
        rcpx.by_layer("BR")


def test_describe_says_where_the_wording_lives() -> None:
    text = spec.describe("M-06")
    assert "RCPX-M06" in text and "EFDX 1.0 section 5, with RCPX names" in text
    assert "RCPX 1.0 section 3" in spec.describe("RBR-03")
    assert "RBR-03/rvc-below-40" in spec.describe("RBR-03")
    assert spec.describe("RBR-03/rvc-below-40").startswith("RBR-03/rvc-below-40  (RBR-03 MUST")
