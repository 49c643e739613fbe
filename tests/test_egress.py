"""The egress policy of a run (issue 21, item 7): the policy's decisions on every default range (both
sides of each boundary), the allow-list, the policy file, enforcement at connect time (DNS
rebinding, coarse errors, no redirects, no proxies) and a whole `conformance run` under a policy.

No packet goes anywhere but 127.0.0.1: other addresses only ever come from a patched resolver, and
the test asserts that nothing was connected to them (the check happens before connect).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from conformance.app import cli
from conformance.app.egress_setting import ENVIRONMENT_VARIABLE, policy_from_environment
from conformance.app.run import connect_problem
from conformance.core.client import CandidateClient
from conformance.core.egress import COULD_NOT_CONNECT, REFUSED, EgressPolicy, PolicyError
from conformance.core.egress_transport import EgressRefusedError, guarded_pool_manager
from conformance.harness.config import ConfigError
from tests import test_run_defects as defects
from tests.loopback import free_port
from tests.test_run_defects import error_lines, reference_toml, results

reference_process = defects.reference_process  # fixture

SERVICE = EgressPolicy.for_service()

# (address, allowed by the service defaults): both sides of every boundary
BOUNDARIES = [
    # loopback
    ("126.255.255.255", True),
    ("127.0.0.0", False),
    ("127.0.0.1", False),
    ("127.255.255.255", False),
    ("128.0.0.0", True),
    ("::1", False),
    # link-local
    ("169.253.255.255", True),
    ("169.254.0.0", False),
    ("169.254.255.255", False),
    ("169.255.0.0", True),
    ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", True),
    ("fe80::", False),
    ("fe80::1%eth0", False),
    ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", False),
    # cloud metadata
    ("169.254.169.254", False),
    ("169.254.170.2", False),
    ("100.100.100.200", False),
    ("168.63.129.16", False),
    ("168.63.129.15", True),
    ("fd00:ec2::254", False),
    # unspecified, multicast, broadcast, reserved, documentation
    ("0.0.0.0", False),
    ("0.255.255.255", False),
    ("1.0.0.0", True),
    ("::", False),
    ("223.255.255.255", True),
    ("224.0.0.0", False),
    ("239.255.255.255", False),
    ("240.0.0.0", False),
    ("255.255.255.255", False),
    ("ff02::1", False),
    ("192.0.2.1", False),
    ("198.18.0.0", False),
    ("198.17.255.255", True),
    ("198.20.0.0", True),
    ("2001:db8::1", False),
    # private ranges
    ("9.255.255.255", True),
    ("10.0.0.0", False),
    ("10.255.255.255", False),
    ("11.0.0.0", True),
    ("172.15.255.255", True),
    ("172.16.0.0", False),
    ("172.31.255.255", False),
    ("172.32.0.0", True),
    ("192.167.255.255", True),
    ("192.168.0.0", False),
    ("192.168.255.255", False),
    ("192.169.0.0", True),
    ("100.63.255.255", True),
    ("100.64.0.0", False),
    ("100.127.255.255", False),
    ("100.128.0.0", True),
    ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", True),
    ("fc00::", False),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", False),
    ("fe00::", True),
    # IPv6 forms of IPv4 addresses are judged as the IPv4 address they reach
    ("::ffff:127.0.0.1", False),
    ("::ffff:10.0.0.1", False),
    ("::ffff:169.254.169.254", False),
    ("::ffff:8.8.8.8", True),
    ("64:ff9b::7f00:1", False),
    ("64:ff9b::808:808", True),
    ("2002:7f00:1::", False),
    ("2002:a9fe:a9fe::", False),
    # public
    ("8.8.8.8", True),
    ("2606:4700:4700::1111", True),
]


@pytest.mark.parametrize(("address", "allowed"), BOUNDARIES)
def test_the_service_defaults_on_both_sides_of_each_boundary(address, allowed):
    assert SERVICE.check("candidate.example", address).allowed is allowed


def test_the_services_own_hosts_are_denied_by_name_and_by_address():
    policy = EgressPolicy.for_service(own_hosts=["TestBed.example.org.", "198.51.99.7", "2a00:1::/64"])
    assert not policy.check("testbed.example.org", "8.8.8.8").allowed
    assert not policy.check("other.example", "198.51.99.7").allowed
    assert not policy.check("other.example", "2a00:1::5").allowed
    assert policy.check("other.example", "198.51.99.8").allowed


def test_allow_list_entries_override_the_denials_but_not_metadata():
    policy = EgressPolicy.for_service(
        own_hosts=["testbed.example.org"],
        allow=["10.1.0.0/16", "127.0.0.1", "169.254.0.0/16", "nsw.test.example", "testbed.example.org"],
    )
    assert policy.check("x", "10.1.2.3").allowed
    assert not policy.check("x", "10.2.0.0").allowed
    assert policy.check("x", "127.0.0.1").allowed
    assert policy.check("x", "::ffff:127.0.0.1").allowed
    assert not policy.check("x", "127.0.0.2").allowed
    assert policy.check("x", "169.254.1.1").allowed
    assert not policy.check("x", "169.254.169.254").allowed  # metadata: never, allow-list or not
    assert policy.check("nsw.test.example", "192.168.7.7").allowed
    assert not policy.check("nsw.test.example", "169.254.169.254").allowed
    assert not policy.check("metadata.google.internal", "8.8.8.8").allowed
    assert policy.check("testbed.example.org", "8.8.8.8").allowed  # the admin allowed their own host


def test_a_name_with_one_denied_address_among_allowed_ones_is_refused():
    assert not SERVICE.check_all("mixed.example", ["8.8.8.8", "10.0.0.1"]).allowed
    assert not SERVICE.check_all("mixed.example", ["::ffff:127.0.0.1", "8.8.8.8"]).allowed
    assert SERVICE.check_all("public.example", ["8.8.8.8", "2606:4700:4700::1111"]).allowed
    assert not SERVICE.check_all("nowhere.example", []).allowed


def test_a_policy_document_reads_back_and_keeps_the_service_defaults_unless_told():
    policy = EgressPolicy.for_service(own_hosts=["testbed.example.org"], allow=["10.1.0.0/16", "nsw.example"])
    assert EgressPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy
    only_allowing = EgressPolicy.from_json({"allow": ["10.1.0.0/16"]})
    assert not only_allowing.check("x", "127.0.0.1").allowed  # the defaults are not forgotten
    assert only_allowing.check("x", "10.1.0.1").allowed
    bare = EgressPolicy.from_json({"defaults": "none"})
    assert bare.check("x", "127.0.0.1").allowed
    assert not bare.check("x", "169.254.169.254").allowed  # metadata is denied by every policy


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"allow": "10.0.0.0/8"},
        {"allow": [1]},
        {"allow": ["10.1.2.3/8"]},  # host bits set: a typo, not a wider network
        {"allow": ["300.1.1.1"]},
        {"allow": ["bad host name"]},
        {"deny": ["fe80::zz"]},
        {"defaults": "lenient"},
        {"alow": []},
    ],
)
def test_a_malformed_policy_document_is_refused(document):
    with pytest.raises(PolicyError):
        EgressPolicy.from_json(document)


def test_the_policy_file_is_read_from_the_environment_under_caps(tmp_path):
    assert policy_from_environment({}) is None  # the CLI's default: no policy
    good = tmp_path / "policy.json"
    good.write_text(json.dumps({"allow": ["127.0.0.1"]}))
    policy = policy_from_environment({ENVIRONMENT_VARIABLE: str(good)})
    assert policy is not None and policy.check("x", "127.0.0.1").allowed
    link = tmp_path / "link.json"
    link.symlink_to(good)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"allow": ["10.1.0.0/16"] * 200_000}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"allow": [')
    for value in ("", str(tmp_path / "missing.json"), str(link), str(huge), str(broken)):
        with pytest.raises(ConfigError) as refused:
            policy_from_environment({ENVIRONMENT_VARIABLE: value})
        assert ENVIRONMENT_VARIABLE in str(refused.value) and "\n" not in str(refused.value)


# --- enforcement at connect time ---------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.server.hosts.append(self.headers.get("Host"))  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        location = self.server.redirect_to  # type: ignore[attr-defined]
        self.send_response(302 if location else 200)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator:
    """An HTTP server on 127.0.0.1 (port 0) that records each request's Host header."""
    started = []

    def start(redirect_to: str | None = None) -> http.server.ThreadingHTTPServer:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        httpd.hosts, httpd.redirect_to = [], redirect_to  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return httpd

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def connects(monkeypatch) -> list:
    """Every address a socket of this process connects to while the test runs (the spy lets only
    127.0.0.1 through: anything else would fail the test rather than send a packet)."""
    seen: list = []
    real = socket.socket.connect

    def spy(sock, address):
        seen.append(address)
        assert address[0] == "127.0.0.1", f"a connect to {address} was attempted"
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


def _resolver(monkeypatch, answers: list[list[str]]) -> list[str]:
    """socket.getaddrinfo answering each call with the next of ``answers`` (the last one repeats);
    the names asked are returned."""
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        asked.append(host)
        addresses = answers[min(len(asked) - 1, len(answers) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


LOOPBACK_ALLOWED = EgressPolicy.for_service(allow=["127.0.0.1/32"])


def test_dns_rebinding_never_reaches_the_denied_address(server, connects, monkeypatch):
    """The name resolves to an allowed address, then (asked again) to a denied one: the connection
    goes to the address that was checked, and the Host header still names the host."""
    httpd = server()
    port = httpd.server_address[1]
    asked = _resolver(monkeypatch, [["127.0.0.1"], ["10.0.0.1"]])
    client = CandidateClient(timeout_s=5, connect_timeout_s=1, egress=LOOPBACK_ALLOWED)
    first = client.post(f"http://candidate.example:{port}/inbox", b"<x/>")
    assert first.status == 200, first.error
    assert httpd.hosts == [f"candidate.example:{port}"]
    client.session.close()  # a new connection: the name is resolved again, now to 10.0.0.1
    second = client.post(f"http://candidate.example:{port}/inbox", b"<x/>")
    assert second.error == f"connection failed: {REFUSED}"
    assert asked == ["candidate.example", "candidate.example"]
    assert [address[0] for address in connects] == ["127.0.0.1"]


def test_a_name_resolving_to_allowed_and_denied_addresses_is_never_connected(server, connects, monkeypatch):
    httpd = server()
    _resolver(monkeypatch, [["127.0.0.1", "10.0.0.1"]])
    client = CandidateClient(timeout_s=5, connect_timeout_s=1, egress=LOOPBACK_ALLOWED)
    exchange = client.post(f"http://candidate.example:{httpd.server_address[1]}/", b"")
    assert exchange.error == f"connection failed: {REFUSED}"
    assert connects == [] and httpd.hosts == []


def test_a_denied_address_says_the_same_whether_anything_listens_there(server, connects):
    """Open or closed, a denied port gets one reason and no connect: no port scanning through runs."""
    open_port, closed_port = server().server_address[1], free_port()
    client = CandidateClient(timeout_s=5, connect_timeout_s=1, egress=SERVICE)
    answers = [client.post(f"http://127.0.0.1:{port}/", b"") for port in (open_port, closed_port)]
    assert [answer.error for answer in answers] == [f"connection failed: {REFUSED}"] * 2
    assert [answer.status for answer in answers] == [None, None]
    assert connects == []


def test_a_closed_allowed_port_is_coarse_and_takes_the_connect_timeout(connects):
    client = CandidateClient(timeout_s=5, connect_timeout_s=0.6, egress=LOOPBACK_ALLOWED)
    exchange = client.post(f"http://127.0.0.1:{free_port()}/", b"")
    assert exchange.error == f"connection failed: {COULD_NOT_CONNECT}"  # no errno, no "refused"
    assert 0.55 <= exchange.duration_s < 3, exchange.duration_s  # as long as a filtered port's
    assert len(connects) == 1
    assert connect_problem(f"http://127.0.0.1:{free_port()}/", 0.3, LOOPBACK_ALLOWED).endswith(
        f": {COULD_NOT_CONNECT}"
    )
    assert connect_problem("http://127.0.0.1:9/", 0.3, SERVICE).endswith(f": {REFUSED}")


def test_no_redirect_is_followed_with_a_policy_or_without(server, connects):
    target = server()
    redirecting = server(redirect_to=f"http://127.0.0.1:{target.server_address[1]}/elsewhere")
    for egress in (None, LOOPBACK_ALLOWED):
        exchange = CandidateClient(timeout_s=5, egress=egress).post(
            f"http://127.0.0.1:{redirecting.server_address[1]}/", b""
        )
        assert exchange.status == 302 and exchange.response_headers["Location"].endswith("/elsewhere")
    assert target.hosts == []
    assert {address[1] for address in connects} == {redirecting.server_address[1]}


def test_under_a_policy_no_proxy_from_the_environment_is_used(server, connects, monkeypatch):
    """A proxy would connect onwards to an address nobody checked."""
    httpd = server()
    proxy_port = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    exchange = CandidateClient(timeout_s=5, egress=LOOPBACK_ALLOWED).post(
        f"http://127.0.0.1:{httpd.server_address[1]}/", b""
    )
    assert exchange.status == 200, exchange.error
    assert {address[1] for address in connects} == {httpd.server_address[1]}


def test_a_guarded_urllib3_pool_manager_refuses_before_connecting(server, connects):
    httpd = server()
    manager = guarded_pool_manager(SERVICE, retries=False, timeout=urllib3.Timeout(connect=1, read=1))
    with pytest.raises(urllib3.exceptions.NewConnectionError) as refused:
        manager.request("POST", f"http://127.0.0.1:{httpd.server_address[1]}/", body=b"")
    assert isinstance(refused.value, EgressRefusedError) and str(refused.value).endswith(REFUSED)
    assert connects == []
    allowed = guarded_pool_manager(LOOPBACK_ALLOWED, retries=False)
    assert allowed.request("POST", f"http://127.0.0.1:{httpd.server_address[1]}/", body=b"").status == 200


# --- a whole run under a policy ----------------------------------------------------------------


def _policy_file(tmp_path: Path, document: dict) -> str:
    path = tmp_path / f"policy-{len(list(tmp_path.glob('policy-*')))}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_a_run_whose_candidate_is_denied_stops_before_the_first_test(
    reference_process, tmp_path, capsys, monkeypatch
):
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, _policy_file(tmp_path, {"own_hosts": ["testbed.example"]}))
    reports = tmp_path / "reports"
    started = time.monotonic()
    code = cli.main(
        ["run", "--sut", reference.url, "--config", str(config), "--report-dir", str(reports)]
        + ["--requirement", "M-06"]
    )
    out, err = capsys.readouterr()
    assert code == 4
    assert error_lines(err) == [
        f"conformance: error: candidate.inbox_url: {reference.url}: {REFUSED} "
        "(its host or network is not allow-listed for runs)"
    ]
    assert time.monotonic() - started < 10
    assert not any(path.is_dir() for path in reports.iterdir()) if reports.exists() else True


def test_a_run_whose_candidate_is_allow_listed_runs(reference_process, tmp_path, capsys, monkeypatch):
    reference = reference_process()
    config = reference_toml(tmp_path / "kh.toml", reference)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, _policy_file(tmp_path, {"allow": ["127.0.0.1/32"]}))
    reports = tmp_path / "reports"
    code = cli.main(
        ["run", "--sut", reference.url, "--config", str(config), "--report-dir", str(reports)]
        + ["--requirement", "M-06", "--non-interactive"]
    )
    capsys.readouterr()
    data = results(reports)
    assert code == 0, data
    assert data["tests"] and all(test["verdict"] == "pass" for test in data["tests"])


def test_a_malformed_policy_file_stops_the_run_with_one_line(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "policy.json"
    broken.write_text('{"allow": ["10.1.2.3/8"]}')
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(broken))
    code = cli.main(["run", "--requirement", "M-06", "--report-dir", str(tmp_path / "reports")])
    out, err = capsys.readouterr()
    assert code == 4
    (line,) = error_lines(err)
    assert line.startswith(f"conformance: error: {ENVIRONMENT_VARIABLE}: {broken}: allow: ")
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
    assert os.environ[ENVIRONMENT_VARIABLE] == str(broken)


def test_the_pilots_gateway_relays_only_where_the_policy_allows(server):
    """The gateway relays to configured parties' inboxes: checked at connect time as the client's."""
    from conformance.family.gateway import Gateway, Route
    from conformance.profiles.efdx.codes import INBOX_PATH

    receiver = server()
    open_inbox = f"http://127.0.0.1:{receiver.server_address[1]}{INBOX_PATH}"
    closed_inbox = f"http://127.0.0.1:{free_port()}{INBOX_PATH}"
    cases = [(SERVICE, open_inbox, REFUSED), (LOOPBACK_ALLOWED, closed_inbox, COULD_NOT_CONNECT)]
    for egress, inbox, reason in cases:
        with Gateway([Route(INBOX_PATH, {"KH": inbox})], timeout_s=1.0, egress=egress) as gateway:
            answer = CandidateClient(timeout_s=5).post(gateway.url(INBOX_PATH, "KH"), b"<x/>")
            assert answer.status == 502, answer.error
            (relay,) = gateway.relays
            assert relay.gateway == f"{inbox} not reached: {reason}"
    assert receiver.hosts == []
    with Gateway([Route(INBOX_PATH, {"KH": open_inbox})], egress=LOOPBACK_ALLOWED) as gateway:
        assert CandidateClient(timeout_s=5).post(gateway.url(INBOX_PATH, "KH"), b"<x/>").status == 200
    assert len(receiver.hosts) == 1


def test_a_load_run_against_a_configured_candidate_never_runs_under_a_policy(tmp_path, capsys, monkeypatch):
    """Its load generator's connections are not guarded: under a policy it refuses, one line, exit 4."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, _policy_file(tmp_path, {}))
    code = cli.main(["load", "--config", str(tmp_path / "kh.toml"), "--report-dir", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 4
    (line,) = error_lines(err)
    assert line.startswith(f"conformance: error: {ENVIRONMENT_VARIABLE} is set, and `conformance load`")


def test_a_configured_pilot_under_a_policy_checks_its_parties_before_traffic(tmp_path):
    """Denied: one ConfigError naming the party and key, before the gateway relays a byte; allowed:
    the pilot runs its script through the guarded gateway and triggers."""
    from conformance.app.pilot.session import PilotOptions
    from conformance.app.pilot.session import run as run_pilot
    from tests.test_pilot import _configured, pilot

    config, kh, sg = _configured(tmp_path, through_gateway=True)
    with kh, sg:
        with pytest.raises(ConfigError) as refused:
            run_pilot(PilotOptions(config=config, script=True, report_dir=tmp_path / "r", egress=SERVICE))
        assert str(refused.value) == (
            f"party KH: candidate.inbox_url: {kh.url}: {REFUSED} (its host or network is not "
            "allow-listed for runs)"
        )
        result = pilot(tmp_path, config=config, script=True, egress=LOOPBACK_ALLOWED)
    assert result.code == 0, result.matrix.reasons


def _test_only_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed TLS server certificate for ``name`` and its key: TEST ONLY material."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST ONLY {name}")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "test-only-server.pem", folder / "test-only-server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_over_tls_the_pinned_address_keeps_the_host_name_for_sni_and_the_certificate(
    server, connects, monkeypatch, tmp_path
):
    import ssl

    cert_path, key_path = _test_only_certificate(tmp_path, "candidate.example")
    httpd = server()
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    _resolver(monkeypatch, [["127.0.0.1"]])
    client = CandidateClient(timeout_s=5, verify=str(cert_path), egress=LOOPBACK_ALLOWED)
    exchange = client.post(f"https://candidate.example:{port}/", b"<x/>")
    assert exchange.status == 200, exchange.error
    assert names == ["candidate.example"] and httpd.hosts == [f"candidate.example:{port}"]
    wrong = client.post(f"https://other.example:{port}/", b"<x/>")  # checked against the name, not the IP
    assert wrong.status is None and (wrong.error or "").startswith("TLS failure")
    assert {address[0] for address in connects} == {"127.0.0.1"}


@pytest.mark.parametrize(
    "host", ["2852039166", "0xa9.0xfe.0xa9.0xfe", "127.1", "0177.0.0.1", "[::ffff:7f00:1]"]
)
def test_other_spellings_of_a_denied_address_are_judged_as_resolved(host, connects):
    """The check is on what the host resolves to (numeric forms resolve locally: no query is sent)."""
    from conformance.core.egress_transport import EgressRefused, resolve_checked

    with pytest.raises(EgressRefused):
        resolve_checked(host.strip("[]"), 80, SERVICE)
    exchange = CandidateClient(timeout_s=5, connect_timeout_s=0.5, egress=SERVICE).post(
        f"http://{host}/", b""
    )
    assert exchange.error == f"connection failed: {REFUSED}"
    assert connects == []
