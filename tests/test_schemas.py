"""The EFDX 1.0 XML schemas (conformance.schemas): they compile offline, accept the spec's messages and
refuse what the spec calls schema errors, under both lxml (libxml2) and xmlschema."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
NS = {"xs": XS}


def _schemas_dir() -> Path:
    """The schema directory as installed: package data conformance.schemas (= <repo>/schemas).

    If a module conformance/schemas.py shadows that package, importlib.resources cannot see it; fall
    back to the checkout so that the schemas are still tested (the shadowing is a packaging bug of
    its own, to be fixed where it is)."""
    try:
        return Path(str(files("conformance.schemas"))) / "efdx"
    except TypeError:
        return Path(__file__).resolve().parents[1] / "schemas" / "efdx"


SCHEMAS = _schemas_dir()
SCHEMA_FILES = ("xmldsig-core-schema.xsd", "codelists.xsd", "envelope.xsd", "eformd.xsd")
DEFAULT_PARTIES = ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN")

PARTY_CODE_RESTRICTION = "/xs:schema/xs:simpleType[@name='PartyCode']/xs:restriction"
SAFE_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


# --- helpers -----------------------------------------------------------------------------------------


def schema_doc(name: str, extra_parties: Iterable[str] = ()) -> etree._ElementTree:
    """Parse envelope.xsd or eformd.xsd with codelists.xsd inlined in place of its xs:include, after
    adding one <xs:enumeration> per extra party (e.g. "TL") to the PartyCode simpleType.

    codelists.xsd is a chameleon schema (no targetNamespace): inlining its top-level children into the
    including schema is exactly what the include means, and it lets the patch happen in memory. The
    result keeps the including file's URL, so xs:import schemaLocation="xmldsig-core-schema.xsd"
    still resolves locally."""
    doc = etree.parse(str(SCHEMAS / name), SAFE_PARSER)
    codelists = etree.parse(str(SCHEMAS / "codelists.xsd"), SAFE_PARSER)
    (restriction,) = codelists.xpath(PARTY_CODE_RESTRICTION, namespaces=NS)
    for party in extra_parties:
        etree.SubElement(restriction, f"{{{XS}}}enumeration", value=party)
    (include,) = doc.xpath("/xs:schema/xs:include[@schemaLocation='codelists.xsd']", namespaces=NS)
    root = doc.getroot()
    at = root.index(include)
    root.remove(include)
    for offset, child in enumerate(c for c in codelists.getroot() if isinstance(c.tag, str)):
        root.insert(at + offset, copy.deepcopy(child))
    return doc


class Engines:
    """One schema compiled by both engines."""

    def __init__(self, lxml_schema: etree.XMLSchema, xs_schema: xmlschema.XMLSchema) -> None:
        self.lxml = lxml_schema
        self.xs = xs_schema

    def results(self, xml: str) -> tuple[bool, bool]:
        doc = etree.fromstring(xml.encode(), SAFE_PARSER)
        return self.lxml.validate(doc), self.xs.is_valid(xml)

    def assert_valid(self, xml: str) -> None:
        doc = etree.fromstring(xml.encode(), SAFE_PARSER)
        assert self.lxml.validate(doc), str(self.lxml.error_log)
        errors = list(self.xs.iter_errors(xml))
        assert not errors, errors[0]

    def assert_invalid(self, xml: str) -> None:
        assert self.results(xml) == (False, False)


def compile_file(name: str) -> Engines:
    path = SCHEMAS / name
    return Engines(
        etree.XMLSchema(etree.parse(str(path), SAFE_PARSER)),
        xmlschema.XMLSchema(str(path), allow="local"),
    )


def compile_patched(name: str, extra_parties: Iterable[str]) -> Engines:
    parties = tuple(extra_parties)
    return Engines(
        etree.XMLSchema(schema_doc(name, parties)),
        xmlschema.XMLSchema(schema_doc(name, parties), base_url=str(SCHEMAS), allow="local"),
    )


@pytest.fixture(scope="module")
def envelope() -> Engines:
    return compile_file("envelope.xsd")


@pytest.fixture(scope="module")
def eformd() -> Engines:
    return compile_file("eformd.xsd")


# --- example instances -------------------------------------------------------------------------------

CO = """\
<CertificateOfOrigin xmlns="urn:efdx:eformd:1" Id="co-1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <IssueDate>2025-03-04</IssueDate>
  <Exporter>
    <Name>Lion City Electronics Pte Ltd</Name>
    <Address>1 Harbourfront Ave, Singapore 098632</Address>
    <Country>SG</Country>
  </Exporter>
  <Consignee>
    <Name>Siam Components Co., Ltd.</Name>
    <Address>99 Rama IV Rd, Bangkok 10500</Address>
    <Country>TH</Country>
  </Consignee>
  <Transport>
    <DepartureDate>2025-03-03</DepartureDate>
    <Mode>SEA</Mode>
    <VesselOrFlight>MV Straits Star V.012</VesselOrFlight>
    <PortOfLoading>SGSIN</PortOfLoading>
    <PortOfDischarge>THLCH</PortOfDischarge>
  </Transport>
  <Item>
    <ItemNumber>1</ItemNumber>
    <MarksAndNumbers>LCE/TH/1-20</MarksAndNumbers>
    <PackageCount>20</PackageCount>
    <PackageType>CT</PackageType>
    <Description>Printed circuit assemblies</Description>
    <HSCode>854231</HSCode>
    <OriginCriterion><Code>RVC</Code><Percent>45.5</Percent></OriginCriterion>
    <Quantity unitCode="KGM">120.25</Quantity>
    <FOBValue currencyId="USD">15000.00</FOBValue>
  </Item>
  <Item>
    <ItemNumber>2</ItemNumber>
    <MarksAndNumbers>N/M</MarksAndNumbers>
    <PackageCount>1</PackageCount>
    <PackageType>PK</PackageType>
    <Description>Fresh durians</Description>
    <HSCode>0810600000</HSCode>
    <OriginCriterion><Code>WO</Code></OriginCriterion>
    <Quantity unitCode="KGM">50</Quantity>
  </Item>
  <Invoice><Number>INV-889</Number><Date>2025-03-01</Date></Invoice>
  <ThirdCountryInvoice>
    <IssuerName>Global Trade Ltd</IssuerName><IssuerCountry>HK</IssuerCountry>
  </ThirdCountryInvoice>
  <Declaration>
    <ProducingCountry>SG</ProducingCountry>
    <ImportingCountry>TH</ImportingCountry>
    <Place>Singapore</Place>
    <Date>2025-03-02</Date>
    <SignatoryName>Tan Mei Ling</SignatoryName>
  </Declaration>
  <Certification>
    <AuthorityName>Singapore Customs</AuthorityName>
    <Place>Singapore</Place>
    <Date>2025-03-04</Date>
    <OfficerName>Lim Wei Jie</OfficerName>
  </Certification>
  <Flags>
    <ThirdCountryInvoicing>true</ThirdCountryInvoicing>
    <Exhibition>true</Exhibition>
    <Accumulation>false</Accumulation>
    <DeMinimis>false</DeMinimis>
    <BackToBack>true</BackToBack>
    <IssuedRetroactively>false</IssuedRetroactively>
    <PartialCumulation>false</PartialCumulation>
  </Flags>
  <OriginalCO><ReferenceNumber>MY-2025-77</ReferenceNumber><IssuingCountry>MY</IssuingCountry><IssueDate>2025-02-20</IssueDate></OriginalCO>
  <ExhibitionDetails><Name>ASEAN Expo</Name><Place>Nanning</Place></ExhibitionDetails>
  <Replaces>SG-2025-000100</Replaces>
</CertificateOfOrigin>
"""

# Structurally complete (not cryptographically valid) ds:Signature, to check where it is admitted.
SIGNATURE = """\
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <ds:SignedInfo>
    <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
    <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
    <ds:Reference URI="#co-1">
      <ds:Transforms>
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      </ds:Transforms>
      <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
      <ds:DigestValue>AAAA</ds:DigestValue>
    </ds:Reference>
  </ds:SignedInfo>
  <ds:SignatureValue>AAAA</ds:SignatureValue>
</ds:Signature>
"""

CANCELLATION = """\
<Cancellation xmlns="urn:efdx:eformd:1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <CancelDate>2025-03-05</CancelDate>
  <Reason>Issued in error</Reason>
</Cancellation>
"""

STATUS = """\
<StatusNotification xmlns="urn:efdx:eformd:1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <Status>REJECTED</Status>
  <StatusDate>2025-03-05</StatusDate>
  <Reason><Code>BR-03</Code><Text>RVC below 40 %</Text></Reason>
  <Reason><Code>BR-13</Code><Text>HS chapter 77</Text></Reason>
  <DeclarationReference>TH-IMP-42</DeclarationReference>
</StatusNotification>
"""

STATUS_MINIMAL = """\
<StatusNotification xmlns="urn:efdx:eformd:1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <Status>ACCEPTED</Status>
  <StatusDate>2025-03-05</StatusDate>
</StatusNotification>
"""

VERIFICATION_REQUEST = """\
<VerificationRequest xmlns="urn:efdx:eformd:1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <RequestDate>2025-03-06</RequestDate>
  <ReplyBy>2025-04-06</ReplyBy>
  <Reason>Random check of origin</Reason>
</VerificationRequest>
"""

VERIFICATION_RESPONSE = """\
<VerificationResponse xmlns="urn:efdx:eformd:1">
  <ReferenceNumber>SG-2025-000123</ReferenceNumber>
  <IssuingCountry>SG</IssuingCountry>
  <Outcome>CONFIRMED</Outcome>
  <Findings>Producer records checked; origin confirmed.</Findings>
</VerificationResponse>
"""

PING = '<Ping xmlns="urn:efdx:eformd:1"/>'

ENVELOPE = """\
<Envelope xmlns="urn:efdx:envelope:1" profileVersion="1.0">
  <Header Id="h-1">
    <MessageId>6f1c2b1e-7a0e-4c43-9e7d-1a2b3c4d5e6f@sg.efdx</MessageId>
    <ConversationId>SG:PING</ConversationId>
    <From>SG</From>
    <To>TH</To>
    <Action>Ping</Action>
    <Timestamp>2025-03-04T08:15:00Z</Timestamp>
  </Header>
  <Payload Id="p-1"><Ping xmlns="urn:efdx:eformd:1"/></Payload>
</Envelope>
"""

RECEIPT = """\
<Receipt xmlns="urn:efdx:envelope:1" Id="r-1" profileVersion="1.0">
  <RefToMessageId>6f1c2b1e-7a0e-4c43-9e7d-1a2b3c4d5e6f@sg.efdx</RefToMessageId>
  <From>TH</From>
  <To>SG</To>
  <Timestamp>2025-03-04T15:15:01+07:00</Timestamp>
  <Duplicate>false</Duplicate>
  <ReceivedDigest>n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=</ReceivedDigest>
  <ReceivedDigest>LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=</ReceivedDigest>
</Receipt>
"""

ERROR = """\
<Error xmlns="urn:efdx:envelope:1" Id="e-1" profileVersion="1.0">
  <RefToMessageId>6f1c2b1e-7a0e-4c43-9e7d-1a2b3c4d5e6f@sg.efdx</RefToMessageId>
  <From>TH</From>
  <To>SG</To>
  <Timestamp>2025-03-04T08:15:01Z</Timestamp>
  <Fault>
    <Code>EFDX-M03</Code>
    <Severity>error</Severity>
    <Description>Element 'Action': 'Pong' is not a valid value.</Description>
    <Location>/env:Envelope/env:Header/env:Action</Location>
  </Fault>
  <Fault>
    <Code>EFDX-M15</Code>
    <Severity>warning</Severity>
    <Description>Timestamp is 10 minutes ahead.</Description>
  </Fault>
</Error>
"""

ERROR_MINIMAL = """\
<Error xmlns="urn:efdx:envelope:1" Id="e-2" profileVersion="1.0">
  <From>TH</From>
  <Timestamp>2025-03-04T08:15:01Z</Timestamp>
  <Fault><Code>EFDX-M01</Code><Severity>error</Severity><Description>Not well-formed.</Description></Fault>
</Error>
"""


def sub(xml: str, old: str, new: str, count: int = 1) -> str:
    """Replace `old` (which must occur) by `new` in an example instance."""
    assert old in xml, old
    return xml.replace(old, new, count)


def with_signature(xml: str, before: str) -> str:
    """Insert SIGNATURE before the closing or opening tag `before`."""
    return sub(xml, before, SIGNATURE + before)


# --- the schema files themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_local_and_has_no_dtd(name: str) -> None:
    path = SCHEMAS / name
    text = path.read_text(encoding="utf-8")
    assert "<!DOCTYPE" not in text and "<!ENTITY" not in text
    doc = etree.parse(str(path), SAFE_PARSER)
    assert doc.docinfo.doctype == ""
    for ref in doc.xpath("//xs:import | //xs:include | //xs:redefine", namespaces=NS):
        location = ref.get("schemaLocation")
        assert location is not None, etree.tostring(ref)
        assert not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", location), location  # no URL scheme
        assert "/" not in location and (SCHEMAS / location).is_file(), location


@pytest.mark.parametrize("name", ["envelope.xsd", "eformd.xsd", "codelists.xsd", "xmldsig-core-schema.xsd"])
def test_schema_compiles_offline_with_both_engines(name: str) -> None:
    compile_file(name)  # SAFE_PARSER has no_network; xmlschema's allow="local" forbids remote URLs


def test_global_elements() -> None:
    env = xmlschema.XMLSchema(str(SCHEMAS / "envelope.xsd"))
    fd = xmlschema.XMLSchema(str(SCHEMAS / "eformd.xsd"))
    assert set(env.elements) == {"Envelope", "Receipt", "Error"}
    assert set(fd.elements) == {
        "CertificateOfOrigin",
        "Cancellation",
        "StatusNotification",
        "VerificationRequest",
        "VerificationResponse",
        "Ping",
    }


def test_party_code_is_a_plain_enumeration_of_the_default_parties() -> None:
    doc = etree.parse(str(SCHEMAS / "codelists.xsd"), SAFE_PARSER)
    (restriction,) = doc.xpath(PARTY_CODE_RESTRICTION, namespaces=NS)
    assert restriction.get("base") == "xs:string"
    assert all(child.tag == f"{{{XS}}}enumeration" for child in restriction)
    assert tuple(child.get("value") for child in restriction) == DEFAULT_PARTIES


# --- valid instances ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        CO,
        with_signature(CO, "</CertificateOfOrigin>"),
        CANCELLATION,
        STATUS,
        STATUS_MINIMAL,
        VERIFICATION_REQUEST,
        VERIFICATION_RESPONSE,
        PING,
    ],
    ids=["co", "co-signed", "cancel", "status", "status-min", "vreq", "vresp", "ping"],
)
def test_valid_payloads(eformd: Engines, xml: str) -> None:
    eformd.assert_valid(xml)


def test_minimal_co(eformd: Engines) -> None:
    optional = "VesselOrFlight|PortOfLoading|ThirdCountryInvoice|OriginalCO|ExhibitionDetails|Replaces"
    xml = re.sub(rf"\s*<({optional})>.*?</\1>", "", CO, flags=re.S)
    assert "<Replaces>" not in xml and "<OriginalCO>" not in xml
    eformd.assert_valid(xml)


@pytest.mark.parametrize(
    "xml",
    [
        ENVELOPE,
        sub(ENVELOPE, 'profileVersion="1.0"', 'profileVersion="2.0"'),  # M-18 is judged after the schema
        sub(ENVELOPE, "</Payload>", "</Payload>" + SIGNATURE),
        sub(ENVELOPE, "<From>", "<RefToMessageId>x@th.efdx</RefToMessageId><From>"),
        sub(ENVELOPE, '<Ping xmlns="urn:efdx:eformd:1"/>', CO),  # payload content is skipped here
        sub(ENVELOPE, "08:15:00Z", "08:15:00.123+00:00"),
        RECEIPT,
        sub(RECEIPT, "</Receipt>", SIGNATURE + "</Receipt>"),
        ERROR,
        ERROR_MINIMAL,
    ],
    ids=[
        "ping",
        "version-2.0",
        "signed",
        "ref-to",
        "co-payload",
        "utc-offset",
        "receipt",
        "receipt-signed",
        "error",
        "error-min",
    ],
)
def test_valid_envelopes_and_signals(envelope: Engines, xml: str) -> None:
    envelope.assert_valid(xml)


# --- invalid instances -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml"),
    [
        sub(CO, "<Country>TH</Country>", "<Country>XX</Country>"),
        sub(CO, "<IssuingCountry>SG</IssuingCountry>", "<IssuingCountry>TL</IssuingCountry>"),
        sub(CO, "<HSCode>854231</HSCode>", "<HSCode>12345</HSCode>"),
        sub(CO, "<Percent>45.5</Percent>", "<Percent>100.5</Percent>"),
        sub(CO, ">120.25</Quantity>", ">120.255</Quantity>"),
        sub(CO, ">50</Quantity>", ">0</Quantity>"),
        sub(CO, ">15000.00</FOBValue>", ">15000.001</FOBValue>"),
        sub(CO, ' currencyId="USD"', ""),
        sub(CO, ' unitCode="KGM">50', ">50"),
        sub(CO, "<ItemNumber>2</ItemNumber>", "<ItemNumber>0</ItemNumber>"),
        sub(CO, "<PortOfDischarge>THLCH</PortOfDischarge>", "<PortOfDischarge>TH-LCH</PortOfDischarge>"),
        sub(CO, "<Mode>SEA</Mode>", "<Mode>SHIP</Mode>"),
        sub(CO, "<Code>WO</Code>", "<Code>XX</Code>"),
        sub(CO, "<DeMinimis>false</DeMinimis>", "<DeMinimis>no</DeMinimis>"),
        sub(CO, "<IssueDate>2025-03-04</IssueDate>", "<IssueDate>04/03/2025</IssueDate>"),
        sub(CO, "<ReferenceNumber>SG-2025-000123<", "<ReferenceNumber>" + "X" * 36 + "<"),
        sub(CO, "<Name>Lion City Electronics Pte Ltd</Name>", "<Name></Name>"),
        sub(CO, ' Id="co-1"', ""),
        # wrong child order: Consignee before Exporter; PortOfLoading after PortOfDischarge
        re.sub(r"(<Exporter>.*?</Exporter>)(\s*)(<Consignee>.*?</Consignee>)", r"\3\2\1", CO, flags=re.S),
        re.sub(
            r"(<PortOfLoading>.*?</PortOfLoading>)(\s*)(<PortOfDischarge>.*?</PortOfDischarge>)",
            r"\3\2\1",
            CO,
            flags=re.S,
        ),
        # the signature comes last
        with_signature(CO, "<Replaces>"),
        # no Item; no Invoice
        re.sub(r"\s*<Item>.*?</Item>", "", CO, flags=re.S),
        re.sub(r"\s*<Invoice>.*?</Invoice>", "", CO, flags=re.S),
        # element from another namespace
        sub(CO, "</Replaces>", "</Replaces><x:Extra xmlns:x='urn:other'/>"),
    ],
    ids=[
        "unknown-party",
        "tl-by-default",
        "hs-5-digits",
        "percent-100.5",
        "quantity-3-fraction-digits",
        "quantity-zero",
        "fob-3-fraction-digits",
        "fob-no-currency",
        "quantity-no-unit",
        "item-number-0",
        "bad-locode",
        "bad-mode",
        "bad-criterion",
        "bad-boolean",
        "bad-date",
        "reference-36-chars",
        "empty-name",
        "co-without-id",
        "order-exporter-consignee",
        "order-ports",
        "signature-not-last",
        "no-item",
        "no-invoice",
        "foreign-element",
    ],
)
def test_invalid_co(eformd: Engines, xml: str) -> None:
    eformd.assert_invalid(xml)


@pytest.mark.parametrize(
    "xml",
    [
        sub(STATUS, "<Status>REJECTED</Status>", "<Status>PENDING</Status>"),
        sub(STATUS, "<Code>BR-03</Code>", "<Code>BR-3</Code>"),
        sub(
            STATUS,
            "<Status>REJECTED</Status>\n  <StatusDate>2025-03-05</StatusDate>",
            "<StatusDate>2025-03-05</StatusDate>\n  <Status>REJECTED</Status>",
        ),
        sub(VERIFICATION_RESPONSE, "<Outcome>CONFIRMED</Outcome>", "<Outcome>MAYBE</Outcome>"),
        sub(VERIFICATION_REQUEST, "<ReplyBy>2025-04-06</ReplyBy>", ""),
        sub(CANCELLATION, "<Reason>Issued in error</Reason>", "<Reason></Reason>"),
        '<Ping xmlns="urn:efdx:eformd:1">hello</Ping>',
        '<Ping xmlns="urn:efdx:eformd:1"><Extra/></Ping>',
    ],
    ids=[
        "bad-status",
        "bad-br-code",
        "status-order",
        "bad-outcome",
        "no-reply-by",
        "empty-reason",
        "ping-text",
        "ping-child",
    ],
)
def test_invalid_other_payloads(eformd: Engines, xml: str) -> None:
    eformd.assert_invalid(xml)


@pytest.mark.parametrize(
    "xml",
    [
        sub(ENVELOPE, ' profileVersion="1.0"', ""),
        sub(ENVELOPE, "<Action>Ping</Action>", "<Action>Pong</Action>"),
        sub(ENVELOPE, "<To>TH</To>", "<To>XX</To>"),
        sub(ENVELOPE, "08:15:00Z", "15:15:00+07:00"),  # Header Timestamp must be UTC
        sub(ENVELOPE, "08:15:00Z", "08:15:00"),
        sub(ENVELOPE, ' Id="h-1"', ""),
        sub(ENVELOPE, ' Id="p-1"', ' Id="h-1"'),  # duplicate xs:ID
        sub(ENVELOPE, '<Payload Id="p-1"><Ping xmlns="urn:efdx:eformd:1"/>', '<Payload Id="p-1">'),
        sub(ENVELOPE, '<Ping xmlns="urn:efdx:eformd:1"/>', PING + PING),
        sub(ENVELOPE, '<Ping xmlns="urn:efdx:eformd:1"/>', '<Ping xmlns="urn:other"/>'),
        sub(ENVELOPE, '<Header Id="h-1">', '<Header Id="h-1"><Extra/>'),
        sub(ENVELOPE, "</Payload>", "</Payload>" + SIGNATURE + SIGNATURE),
        sub(
            ENVELOPE,
            "<MessageId>6f1c2b1e-7a0e-4c43-9e7d-1a2b3c4d5e6f@sg.efdx</MessageId>",
            "<MessageId>" + "m" * 256 + "</MessageId>",
        ),
    ],
    ids=[
        "no-profile-version",
        "unknown-action",
        "unknown-party",
        "timestamp-not-utc",
        "timestamp-no-zone",
        "header-without-id",
        "duplicate-id",
        "empty-payload",
        "two-payload-children",
        "foreign-payload",
        "extra-header-child",
        "two-signatures",
        "message-id-too-long",
    ],
)
def test_invalid_envelopes(envelope: Engines, xml: str) -> None:
    envelope.assert_invalid(xml)


@pytest.mark.parametrize(
    "xml",
    [
        re.sub(r"\s*<ReceivedDigest>.*?</ReceivedDigest>", "", RECEIPT),
        sub(RECEIPT, "<Duplicate>false</Duplicate>", "<Duplicate>maybe</Duplicate>"),
        sub(RECEIPT, ' profileVersion="1.0"', ""),
        sub(RECEIPT, ' Id="r-1"', ""),
        sub(RECEIPT, "<RefToMessageId>6f1c2b1e-7a0e-4c43-9e7d-1a2b3c4d5e6f@sg.efdx</RefToMessageId>", ""),
        sub(RECEIPT, "15:15:01+07:00", "15:15:01"),
        sub(ERROR, "<Code>EFDX-M03</Code>", "<Code>M03</Code>"),
        sub(ERROR, "<Severity>error</Severity>", "<Severity>fatal</Severity>"),
        re.sub(r"\s*<Fault>.*?</Fault>", "", ERROR, flags=re.S),
        sub(ERROR, ' profileVersion="1.0"', ""),
    ],
    ids=[
        "receipt-no-digest",
        "receipt-bad-duplicate",
        "receipt-no-version",
        "receipt-no-id",
        "receipt-no-ref",
        "receipt-timestamp-no-zone",
        "error-bad-code",
        "error-bad-severity",
        "error-no-fault",
        "error-no-version",
    ],
)
def test_invalid_signals(envelope: Engines, xml: str) -> None:
    envelope.assert_invalid(xml)


# --- Timor-Leste by configuration ---------------------------------------------------------------------

CO_TL = (
    CO.replace("<IssuingCountry>SG</IssuingCountry>", "<IssuingCountry>TL</IssuingCountry>", 1)
    .replace("<Country>SG</Country>", "<Country>TL</Country>")
    .replace("<ProducingCountry>SG</ProducingCountry>", "<ProducingCountry>TL</ProducingCountry>")
)


def test_extra_party_tl_by_in_memory_patch(eformd: Engines, envelope: Engines) -> None:
    eformd.assert_invalid(CO_TL)
    envelope_tl = sub(ENVELOPE, "<From>SG</From>", "<From>TL</From>")
    envelope.assert_invalid(envelope_tl)

    patched_fd = compile_patched("eformd.xsd", ["TL"])
    patched_fd.assert_valid(CO_TL)
    patched_fd.assert_valid(CO)
    patched_fd.assert_invalid(sub(CO, "<Country>TH</Country>", "<Country>XX</Country>"))

    patched_env = compile_patched("envelope.xsd", ["TL"])
    patched_env.assert_valid(envelope_tl)
    patched_env.assert_valid(ENVELOPE)


def test_inlining_without_extra_parties_changes_nothing(eformd: Engines) -> None:
    unpatched = compile_patched("eformd.xsd", [])
    for xml in (CO, CO_TL, sub(CO, "<HSCode>854231</HSCode>", "<HSCode>12345</HSCode>")):
        assert unpatched.results(xml) == eformd.results(xml)
