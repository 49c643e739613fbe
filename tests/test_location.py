"""The judge of an Error's Location (errata 2): core/location.py and signals.check_location.

Every form errata 2 allows passes; a Location that selects nothing, selects an ancestor above the
element holding the offending node, or is outside the grammar (functions, axes, other prefixes, over
512 characters) fails M-03/M-04 with the Location shown. The reference NSW's own Locations pass for
every M-03/M-04 vector of both profiles.
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.core import location
from conformance.core.violations import Violation
from conformance.family import signals
from conformance.family.judge import Receiver
from conformance.family.vectors import build_vector, load_manifest
from conformance.profiles.efdx.dialect import EFDX
from conformance.profiles.rcpx.dialect import RCPX

DAY = date(2026, 12, 6)
HS = "/env:Envelope/env:Payload/co:CertificateOfOrigin/co:Item[1]/co:HSCode"


@pytest.fixture(scope="module")
def bad_hs() -> bytes:
    return build_vector("m04-co-bad-hs-code", DAY, EFDX.load_pki(), dialect=EFDX)


def _problem(body: bytes, text: str, offending=(HS,)) -> str | None:
    return location.problem(text, etree.fromstring(body), signals.location_prefixes(EFDX), offending)


@pytest.mark.parametrize(
    "text",
    [
        "/Envelope/Payload/CertificateOfOrigin/Item[1]/HSCode",  # unprefixed
        "/env:Envelope/env:Payload/co:CertificateOfOrigin/co:Item[1]/co:HSCode",  # prefixed
        "/env:Envelope/env:Payload/co:CertificateOfOrigin/co:Item[1]",  # the element holding it
        "Envelope/Payload/CertificateOfOrigin/Item[1]/HSCode",  # relative, from the document
        "/env:Envelope[1]/env:Payload[1]/co:CertificateOfOrigin[1]/co:Item[1]/co:HSCode[1]",
        "/*/*[2]/*[1]/co:Item[position()=1]/HSCode",
        "/*[local-name()='Envelope']/Payload/*[local-name()='CertificateOfOrigin']/Item[1]/HSCode",
        "/child::env:Envelope/child::env:Payload/child::*/child::co:Item[1]/child::co:HSCode",
        "//co:Item[1]/co:HSCode[1][1]",
        "//co:CertificateOfOrigin/co:Item[1]",
    ],
)
def test_every_form_errata_2_allows_passes(bad_hs, text):
    assert _problem(bad_hs, text) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/Envelope/Payload/CertificateOfOrigin/Item[1]/HSCode/NoSuchElement", "selects no node"),
        ("/Envelope/Payload/CertificateOfOrigin/Item[3]/HSCode", "selects no node"),
        ("/env:Payload", "selects no node"),  # not from the root
        ("/Envelope/Payload/CertificateOfOrigin", "not the offending node"),  # an ancestor above
        ("/Envelope", "not the offending node"),
        ("//HSCode", "not the offending node"),  # also Item 2's
        ("/Envelope/Header/@Id", "not the offending node"),
        ("//*", "not the offending node"),
        ("/Envelope/Payload/CertificateOfOrigin/Item[1]/HSCode/text()", "grammar"),
        ("count(//HSCode)", "grammar"),
        ("/Envelope/Payload/*[last()]", "grammar"),
        ("/Envelope/Payload/CertificateOfOrigin/Item[@Id='x']", "grammar"),
        ("/descendant::HSCode", "grammar"),
        ("/Envelope/Payload/..", "grammar"),
        ("/f:Envelope", "grammar"),  # not one of env, co, ds
        ("/Envelope | /Envelope/Header", "grammar"),
        ("/Envelope/@Id/x", "grammar"),
        ("/Envelope/Payload/CertificateOfOrigin/Item[0]/HSCode", "grammar"),
        ("", "grammar"),
        ("/Envelope" + "/*[1]" * 110, "512"),
        ("document('http://169.254.169.254/')", "grammar"),
    ],
)
def test_a_wrong_location_is_refused_with_what_it_is(bad_hs, text, says):
    found = _problem(bad_hs, text)
    assert found is not None and says in found, found


def test_attribute_steps_select_the_attribute_or_its_element(bad_hs):
    header_id = ("/env:Envelope/env:Header/@Id",)
    assert _problem(bad_hs, "/Envelope/Header/@Id", header_id) is None
    assert _problem(bad_hs, "/Envelope/Header/attribute::Id", header_id) is None
    assert _problem(bad_hs, "/Envelope/Header", header_id) is None
    assert "not the offending node" in _problem(bad_hs, "/Envelope", header_id)
    assert "selects no node" in _problem(bad_hs, "/Envelope/Header/@id", header_id)


def test_without_a_known_node_only_grammar_and_selection_are_judged(bad_hs):
    assert _problem(bad_hs, "/Envelope", ()) is None
    assert "selects no node" in _problem(bad_hs, "/Envelope/Nothing", ())


def test_no_xpath_engine_sees_candidate_text(bad_hs):
    """The Location is parsed and walked by core.location; nothing there calls an XPath engine."""
    source = inspect.getsource(location)
    assert ".xpath(" not in source and "XPath(" not in source and "XPathEvaluator" not in source
    assert "grammar" in _problem(bad_hs, "//x[count(//*)>1]")


def test_check_location_raises_the_requirement_with_the_observed_location(bad_hs):
    with pytest.raises(Violation) as raised:
        signals.check_location(
            "/Envelope/Payload", bad_hs, requirement="M-04", code="EFDX-M04", offending=(HS,), dialect=EFDX
        )
    assert raised.value.requirement == "M-04"
    assert "/Envelope/Payload" in raised.value.observed and HS in raised.value.expected


LOCATED = [
    pytest.param(dialect, vector, id=f"{dialect.key}:{vector.id}")
    for dialect in (EFDX, RCPX)
    for vector in load_manifest(dialect=dialect)
    if vector.offending
]


def test_every_m03_m04_vector_names_its_offending_node():
    for dialect in (EFDX, RCPX):
        for vector in load_manifest(dialect=dialect):
            if vector.expect_code.endswith(("-M03", "-M04")):
                assert vector.offending, f"{dialect.key}:{vector.id}"


@pytest.mark.parametrize(("dialect", "vector"), LOCATED)
def test_the_reference_locations_pass_and_the_faulty_ones_fail(dialect, vector):
    """The judge's own Location (what the reference NSW answers) meets errata 2 for every vector;
    the seeded faults' Locations (one step below, two steps up) do not."""
    from conformance.family.reference.nsw import _faulty_location

    pki = dialect.load_pki()
    parties = dialect.vector_parties
    body = build_vector(vector.id, DAY, pki, dialect=dialect, **parties)
    judged = Receiver(parties["receiver"], pki.trust_store(), dialect=dialect).judge(
        body, at=datetime.combine(DAY, datetime.min.time(), UTC).replace(hour=12)
    )
    code = judged.codes[0]
    assert code == vector.expect_code and judged.violation.location
    requirement = judged.violation.requirement
    signals.check_location(
        judged.violation.location,
        body,
        requirement=requirement,
        code=code,
        offending=vector.offending,
        dialect=dialect,
    )
    for fault in ("location-selects-nothing", "location-outside-grammar", "location-names-ancestor"):
        faulty = _faulty_location(fault, judged.violation.location)
        if faulty == judged.violation.location:
            continue  # the root's Location (a missing profileVersion): nothing above it to name
        with pytest.raises(Violation):
            signals.check_location(
                faulty,
                body,
                requirement=requirement,
                code=code,
                offending=vector.offending,
                dialect=dialect,
            )


def test_a_wrong_root_is_located_by_a_path_that_selects_it(bad_hs):
    """The judge's Location for a root that is no Envelope of the profile selects that root."""
    body = bad_hs.replace(b"urn:efdx:envelope:1", b"urn:example:envelope:9")
    judged = Receiver("KH", EFDX.load_pki().trust_store(), dialect=EFDX).judge(
        body, at=datetime(2026, 12, 6, 12, tzinfo=UTC)
    )
    assert judged.codes == ["EFDX-M03"]
    signals.check_location(
        judged.violation.location, body, requirement="M-03", code="EFDX-M03", offending=("/*",), dialect=EFDX
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=600)
    | st.lists(
        st.sampled_from(
            [
                "/",
                "//",
                "@",
                "*",
                "env:",
                "co:",
                "ds:",
                "x:",
                "Envelope",
                "Header",
                "[1]",
                "[0]",
                "[position()=2]",
                "*[local-name()='To']",
                "child::",
                "attribute::",
                "..",
                ".",
                "(",
                ")",
                "'",
                "|",
                " ",
                "Item",
                "HSCode",
                "@Id",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_no_candidate_text_makes_the_judge_raise(bad_hs, text):
    """Whatever a candidate writes, the judge answers (a problem, or None), and never raises."""
    found = _problem(bad_hs, text)
    assert found is None or isinstance(found, str)


def test_a_missing_node_admits_only_the_element_that_should_hold_it():
    """An offending path that selects nothing names a missing element or attribute (a Quantity
    without unitCode): its would-be holder is the Location, and the holder's holder is an ancestor
    above it."""
    body = build_vector("m04-quantity-without-unit-code", DAY, EFDX.load_pki(), dialect=EFDX)
    missing = "/env:Envelope/env:Payload/co:CertificateOfOrigin/co:Item[1]/co:Quantity/@unitCode"
    item = "/Envelope/Payload/CertificateOfOrigin/Item[1]"
    assert not location.select(missing, etree.fromstring(body), signals.location_prefixes(EFDX))
    assert _problem(body, f"{item}/Quantity", offending=(missing,)) is None
    assert "not the offending node" in _problem(body, item, offending=(missing,))
