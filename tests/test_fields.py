"""The field-line tables (efdx/fields.py, rcpx/fields.py) and the pack data they stand behind.

Each case of a table is one side of one bound of a field line of the spec: its purpose must be in
the pack's purposes.toml, its vector in the manifest with the answer the case says (the manifest,
not the table, is what the suite reads), its faults among the pack's seeded faults. Offline, the
vector gets that answer from the judge (with an Error Location errata 2 admits), and the opposite
from a judge given the schemas its fault changes: the fast half of the kill matrix.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lxml import etree

from conformance.core import location as locations
from conformance.family import signals
from conformance.family.judge import Receiver
from conformance.family.reference import schema_faults
from conformance.family.vectors import build_vector, load_manifest
from conformance.profiles.efdx import fields as efdx_fields
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.rcpx import fields as rcpx_fields
from conformance.profiles.rcpx.dialect import RCPX

TABLES = {"efdx": (EFDX, efdx_fields.CASES), "rcpx": (RCPX, rcpx_fields.CASES)}
CASES = [
    pytest.param(key, case, id=f"{key}:{case.vector}") for key, (_, cases) in TABLES.items() for case in cases
]
DAY = date(2026, 12, 6)


@pytest.mark.parametrize("key", TABLES)
def test_every_case_is_in_the_pack_data(key):
    dialect, cases = TABLES[key]
    catalogue = dialect.catalogue.catalogue()
    manifest = {vector.id: vector for vector in load_manifest(dialect=dialect)}
    faults = {fault.name: fault for fault in dialect.faults()}
    for case in cases:
        assert catalogue.purpose(case.purpose).clause == case.clause, case.purpose
        vector = manifest[case.vector]
        assert set(case.purposes) <= set(vector.purposes), case.vector
        assert vector.action == case.action, case.vector
        expected = dialect.error_code(case.requirement) if case.refused else "valid"
        assert vector.expect_code == expected, case.vector
        assert vector.offending == case.offending, case.vector
        for name, *_ in case.faults:
            assert faults[name].purpose == case.purpose and faults[name].schema_edit is not None, name
    plain = set(dialect.vector_parties.values())  # every test has them: no fault of their own
    for party in set(dialect.codes.PARTIES) - plain:
        assert faults[f"refuse-party-{party.lower()}"].purpose == "M-03/party-list"


@pytest.mark.parametrize(("key", "case"), CASES)
def test_the_vector_gets_its_answer_and_the_opposite_under_its_faults(key, case, tmp_path):
    dialect, _ = TABLES[key]
    parties = dialect.vector_parties
    pki = dialect.load_pki()
    body = build_vector(case.vector, DAY, pki, dialect=dialect, **parties)
    at = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC).replace(hour=12)
    judged = Receiver(parties["receiver"], pki.trust_store(), dialect=dialect).judge(body, at=at)
    if case.refused:
        assert judged.violation is not None and judged.violation.requirement == case.requirement
        document = etree.fromstring(body)
        prefixes = signals.location_prefixes(dialect)
        assert not locations.problem(judged.violation.location or "", document, prefixes, case.offending)
    else:
        assert judged.violation is None, judged.violation
    for number, (name, _, kind, args) in enumerate(case.faults):
        edit = getattr(schema_faults, kind)(*args)
        copy = tmp_path / str(number)
        faulty_schemas = schema_faults.edited_schemas(dialect.key, dialect.payload_schema, edit, copy)
        faulty = Receiver(parties["receiver"], pki.trust_store(), dialect=dialect, schemas=faulty_schemas)
        try:
            violation = faulty.judge(body, at=at).violation
        except (AttributeError, KeyError, TypeError):  # the fault lets through what the reference cannot read
            continue
        if case.refused:
            assert violation is None or violation.requirement != case.requirement, name
        else:
            assert violation is not None and violation.requirement == case.requirement, name
