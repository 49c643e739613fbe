"""Every RCPX negative vector breaks exactly the clause it names (EFDX section 7, last bullet): xmlsec1
verifies every signature of every vector, the envelope's and the RCEP CO's, unless its purpose is a
broken signature. The check is tests/test_vector_isolation.py's, given RCPX's names."""

from __future__ import annotations

from datetime import date

import pytest

from conformance.family.vectors import build_vector, load_manifest
from conformance.profiles.rcpx.codes import CO_ELEMENT, CO_NS, ENVELOPE_NS
from conformance.profiles.rcpx.dialect import RCPX
from tests.test_vector_isolation import NOT_CHECKED, Isolation, check_signatures, co_signature
from tests.test_xmlsec1 import ENVELOPE_SIGNATURE

pytestmark = pytest.mark.date_sensitive  # rerun at other dates by tests/test_any_day.py

DAY = date(2026, 11, 26)
CO_SIGNATURE = co_signature(CO_NS, CO_ELEMENT)
RCPX_ISOLATION = Isolation(
    sender=RCPX.vector_parties["sender"],
    co_signature=CO_SIGNATURE,
    co_element=f"<{CO_ELEMENT}".encode(),
    unsigned_co="RBR-12/unsigned",
    broken={
        "M-06/digest": ENVELOPE_SIGNATURE,
        "M-06/value": ENVELOPE_SIGNATURE,
        "RBR-12/tampered": CO_SIGNATURE,
        "RBR-12/signature-value": CO_SIGNATURE,
    },
    not_checked=NOT_CHECKED,  # the same T- and M- purposes, the same vectors
    id_attrs=(
        *("--id-attr:Id", f"{ENVELOPE_NS}:Header"),
        *("--id-attr:Id", f"{ENVELOPE_NS}:Payload"),
        *("--id-attr:Id", f"{CO_NS}:{CO_ELEMENT}"),
    ),
)
VECTORS = load_manifest(dialect=RCPX)


@pytest.fixture(scope="module")
def pki():
    return RCPX.load_pki()


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_every_signature_of_the_vector_verifies_unless_broken_on_purpose(vector, pki, tmp_path) -> None:
    body = build_vector(vector.id, DAY, pki, dialect=RCPX, **RCPX.vector_parties)
    check_signatures(vector, body, pki, RCPX_ISOLATION, tmp_path)


def test_every_purpose_left_out_names_a_vector() -> None:
    covered = {p for v in VECTORS for p in v.purposes}
    assert set(RCPX_ISOLATION.not_checked) <= covered and set(RCPX_ISOLATION.broken) <= covered
