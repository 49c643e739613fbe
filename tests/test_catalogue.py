"""The requirement catalogue against the spec: same IDs, same order, same codes and HTTP statuses."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conformance.core import catalogue as core_catalogue
from conformance.profiles.efdx import catalogue
from conformance.profiles.efdx.catalogue import CHECK_ORDER, Requirement, by_layer, requirement, requirements
from conformance.profiles.efdx.codes import code_requirement, error_code

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC = REPO_ROOT.parent / "shared" / "EFDX-1.0.md"

_ROW = re.compile(r"^\| (?:T|M|A|BR|P|G)-\d\d \|")
NONE = "—"  # the spec's "no value" cell


@dataclasses.dataclass(frozen=True)
class SpecRow:
    id: str
    text: str
    http: str | None  # T and M tables only
    code: str | None


@pytest.fixture(scope="module")
def spec_section5() -> str:
    if not SPEC.is_file():
        pytest.skip(f"spec not found at {SPEC} (expected beside the checkout as ../shared/EFDX-1.0.md)")
    text = SPEC.read_text(encoding="utf-8")

    def section(heading: str) -> str:
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        return text[start : end if end != -1 else len(text)]

    # the requirement tables: section 5's, section 8's capacity rows (layer P, errata 2) and section
    # 9's gateway rows (layer G)
    return section("## 5. Requirements") + section("## 8. Capacity") + section("## 9. Gateway")


@pytest.fixture(scope="module")
def spec_rows(spec_section5: str) -> list[SpecRow]:
    rows = []
    for line in spec_section5.splitlines():
        if not _ROW.match(line):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rid = cells[0]

        def cell(value: str) -> str | None:
            return None if value == NONE else value.strip("`")

        if rid.startswith("M-"):  # | ID | requirement | HTTP | code |
            rows.append(SpecRow(rid, cells[1], cell(cells[2]), cell(cells[3])))
        elif rid.startswith("T-"):  # | ID | requirement | on violation |
            rows.append(SpecRow(rid, cells[1], None, cell(cells[2])))
        else:  # | ID | requirement or rule |
            rows.append(SpecRow(rid, cells[1], None, None))
    assert rows, "no requirement rows found in the spec's section 5"
    return rows


# --- against the spec ----------------------------------------------------------------------------------


def test_catalogue_holds_exactly_the_spec_ids_in_order(spec_rows: list[SpecRow]) -> None:
    assert [r.id for r in requirements()] == [row.id for row in spec_rows]


def test_texts_are_the_spec_cells(spec_rows: list[SpecRow]) -> None:
    for row in spec_rows:
        assert requirement(row.id).text == row.text, row.id


def test_t_and_m_error_codes_are_the_spec_codes(spec_rows: list[SpecRow]) -> None:
    for row in spec_rows:
        if row.id[0] in "TM":
            assert requirement(row.id).error_code == row.code, row.id


def test_m_http_statuses_are_the_spec_statuses(spec_rows: list[SpecRow]) -> None:
    for row in spec_rows:
        if row.id.startswith("M-"):
            expected = None if row.http is None else int(row.http)
            assert requirement(row.id).http_status == expected, row.id


def test_should_level_matches_the_spec(spec_rows: list[SpecRow]) -> None:
    for row in spec_rows:
        expected = "SHOULD" if "(SHOULD)" in row.text else "MUST"
        assert requirement(row.id).level == expected, row.id


def test_check_order_is_the_spec_sentence(spec_section5: str) -> None:
    sentence = re.search(r"Checks run in this order[^:]*:(.*?)\. \(", spec_section5, re.S)
    assert sentence, "the check-order sentence was not found in section 5"
    ids = re.findall(r"\b(?:T|M)-\d\d\b", sentence.group(1))
    assert list(CHECK_ORDER) == ids


# --- the catalogue on its own ------------------------------------------------------------------------------


def test_every_layer_is_present_with_the_spec_counts() -> None:
    assert [len(by_layer(layer)) for layer in ("T", "M", "A", "BR", "P", "G")] == [5, 23, 8, 16, 3, 3]
    assert sum(len(by_layer(layer)) for layer in catalogue.LAYERS) == len(requirements())


def test_ids_are_unique_and_belong_to_their_layer() -> None:
    ids = [r.id for r in requirements()]
    assert len(ids) == len(set(ids))
    for r in requirements():
        assert re.fullmatch(rf"{r.layer}-\d\d", r.id), r.id


def test_only_t02_is_should() -> None:
    assert [r.id for r in requirements() if r.level == "SHOULD"] == ["T-02"]
    assert not requirement("T-02").mandatory
    assert requirement("T-01").mandatory


def test_error_codes_follow_the_layer_letter_and_number() -> None:
    for r in requirements():
        if r.error_code is None:
            continue
        if r.layer == "BR":
            assert r.error_code == r.id
        else:
            assert re.fullmatch(r"EFDX-[TM]\d\d", r.error_code), r.id
            assert r.error_code == "EFDX-" + r.id.replace("-", "")
        assert r.error_code == error_code(r.id), r.id  # the same mapping as conformance.violations
        if r.layer != "BR":
            assert code_requirement(r.error_code) == r.id  # and back (an Error's code names its row)


def test_every_business_rule_has_its_id_as_code_and_no_http_status() -> None:
    for r in by_layer("BR"):
        assert r.error_code == r.id
        assert r.http_status is None


def test_application_rows_have_no_code_or_status() -> None:
    for r in by_layer("A"):
        assert r.error_code is None and r.http_status is None, r.id


def test_transport_statuses() -> None:
    assert {r.id: r.http_status for r in by_layer("T")} == {
        "T-01": None,
        "T-02": 405,
        "T-03": 415,
        "T-04": 413,
        "T-05": 403,
    }


def test_synchronous_errors_are_4xx_and_m16_m23_are_200() -> None:
    for r in by_layer("M"):
        if r.error_code is not None:
            assert r.http_status in (400, 403, 409), r.id
    assert requirement("M-16").http_status == 200
    assert requirement("M-23").http_status == 200


def test_roles_and_capabilities() -> None:
    assert requirement("A-03").capability == "cancel"
    assert requirement("A-04").capability == "replace"
    assert requirement("A-05").capability == "verification"
    assert requirement("A-07").capability == "utilisation"
    assert requirement("A-05").role == requirement("A-06").role == "exporting"
    assert requirement("A-07").role == "importing"
    for r in requirements():
        assert r.role in (None, *catalogue.ROLES), r.id
        assert r.capability in (None, *catalogue.CAPABILITIES), r.id


def test_titles_are_short_and_texts_present() -> None:
    for r in requirements():
        assert r.title and len(r.title) <= 60, r.id
        assert r.text, r.id


def test_check_order_names_only_catalogue_ids_once() -> None:
    ids = {r.id for r in requirements()}
    assert set(CHECK_ORDER) <= ids
    assert len(CHECK_ORDER) == len(set(CHECK_ORDER))
    # every synchronous M check with an error code, and M-16, is in the order; M-19..M-23 are not
    sync = {r.id for r in by_layer("M") if r.error_code} | {"M-16"}
    assert sync <= set(CHECK_ORDER)
    assert CHECK_ORDER[:2] == ("T-03", "T-04")
    assert CHECK_ORDER.index("M-12") < CHECK_ORDER.index("M-06")  # algorithms before cryptography


def test_unknown_id_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="BR-99"):
        requirement("BR-99")


def test_unknown_layer_raises() -> None:
    with pytest.raises(ValueError, match="X"):
        by_layer("X")


def test_requirements_are_immutable_and_loaded_once() -> None:
    r = requirement("M-06")
    assert isinstance(r, Requirement)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.level = "SHOULD"  # type: ignore[misc]
    assert requirements() == requirements()
    assert requirement("M-06") is r


def test_m06_row() -> None:
    assert requirement("M-06") == Requirement(
        id="M-06",
        layer="M",
        level="MUST",
        title=requirement("M-06").title,
        text="envelope signature invalid (digest or value)",
        http_status=403,
        error_code="EFDX-M06",
    )


def _one_entry(entry: dict) -> Requirement:
    (only,) = core_catalogue.load_requirements(
        tomli_w_entry(entry), "t.toml", catalogue.LAYERS, catalogue.CAPABILITIES
    )
    return only


def tomli_w_entry(entry: dict) -> bytes:
    lines = ["[[requirement]]"] + [f"{key} = {value!r}".replace("'", '"') for key, value in entry.items()]
    return "\n".join(lines).encode()


def test_malformed_entries_are_refused() -> None:
    good = {"id": "M-01", "layer": "M", "level": "MUST", "title": "t", "text": "x"}
    assert _one_entry(good).id == "M-01"
    for bad in (
        {**good, "colour": "red"},
        {k: v for k, v in good.items() if k != "text"},
        {**good, "layer": "BR"},
        {**good, "level": "MAY"},
        {**good, "http_status": 999},
        {**good, "role": "both"},
        {**good, "capability": "teleport"},
    ):
        with pytest.raises(ValueError):
            _one_entry(bad)
