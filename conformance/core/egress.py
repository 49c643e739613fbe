"""Which addresses a run may connect to: the egress policy of a shared test bed (issue 21, item 7).

A run of the service connects to addresses its users typed (the candidate's inbox and trigger
URLs). Unchecked, that lets any user reach what only the service should reach: its own admin
ports on loopback, the cloud's metadata endpoint (credentials), the operator's private network.
The policy is plain data (allowed networks, denied networks, allowed and denied host names) and is
applied at connect time to every address a name resolves to (egress_transport.py): a check on the
URL alone would be undone by a name that resolves elsewhere at connect time (DNS rebinding).

Decisions:

- No policy (``None``) is the CLI's default: a vendor's run on a laptop connects where it is told,
  as before. The service hands a run a policy (``for_service``); the run never builds one itself.
- ``for_service`` denies loopback, link-local, unspecified, multicast, broadcast and reserved or
  documentation ranges, the service's own hosts, and the private ranges (10/8, 172.16/12,
  192.168/16, 100.64/10, fc00::/7): member states' test NSWs often live in those, so an admin
  allow-lists the ones that do (a CIDR or a host name).
- An allow-list entry overrides every denial but one: cloud metadata addresses (METADATA_NETWORKS)
  are denied by every policy, whatever is allow-listed. No NSW lives there, and an allow-list entry
  wide enough to open a test network (169.254/16 for a link-local lab, 100.64/10 for a carrier-NAT
  one) must not also open the endpoint that hands out the host's cloud credentials.
- An address that embeds an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
  6to4 ``2002::/16``) is judged as itself and as the IPv4 address it reaches: ``::ffff:127.0.0.1``
  is loopback.
- A name that resolves to several addresses is refused when any one of them is denied (a name
  mixing a public and a private address is a rebinding attempt or a misconfiguration; trying the
  allowed one first would hide it). A host name on the allow-list allows whatever it resolves to
  (but a metadata address); a denied host name is refused whatever it resolves to, unless an
  allowed network holds the address (the allow-list overrides).
- Host names are compared in lower case without a trailing dot; no wildcards (an admin lists each).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The coarse reason a refused connection gets, the same whatever the port and whether anything
# listens there (no port scanning through runs).
REFUSED = "refused by the test bed's egress policy"
COULD_NOT_CONNECT = "could not connect"


def _nets(*texts: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text) for text in texts)


# Cloud metadata endpoints: denied by every policy, allow-list or not (see the docstring).
METADATA_NETWORKS = _nets(
    "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle Cloud
    "169.254.170.2/32",  # AWS ECS task metadata and credentials
    "169.254.170.23/32",  # AWS EKS pod identity agent
    "169.254.0.23/32",  # Tencent Cloud
    "169.254.42.42/32",  # Scaleway
    "100.100.100.200/32",  # Alibaba Cloud
    "168.63.129.16/32",  # Azure wire server (a public address)
    "192.0.0.192/32",  # Oracle Cloud Infrastructure Classic
    "fd00:ec2::254/128",  # AWS IMDS over IPv6
    "fd00:ec2::23/128",  # AWS EKS pod identity agent over IPv6
)
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)

LOOPBACK = _nets("127.0.0.0/8", "::1/128")
LINK_LOCAL = _nets("169.254.0.0/16", "fe80::/10")
UNSPECIFIED = _nets("0.0.0.0/8", "::/128")
MULTICAST = _nets("224.0.0.0/4", "ff00::/8")
BROADCAST = _nets("255.255.255.255/32")
RESERVED = _nets(
    "240.0.0.0/4",  # reserved for future use (holds the broadcast address too)
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "198.18.0.0/15",  # benchmarking
    "100::/64",  # discard-only
    "2001::/32",  # Teredo (a tunnel to an address it hides)
    "2001:db8::/32",  # documentation
    "fec0::/10",  # site-local (deprecated)
    "::/96",  # IPv4-compatible (deprecated)
)
PRIVATE = _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
SERVICE_DENIED = (*LOOPBACK, *LINK_LOCAL, *UNSPECIFIED, *MULTICAST, *BROADCAST, *RESERVED, *PRIVATE)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
MAX_ENTRIES = 10_000  # a policy file lists an admin's entries, not the internet


class PolicyError(ValueError):
    """A policy entry or document that is not one: the message names it, on one line."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str  # for the operator's log and the tests; never shown to a run's user (see REFUSED)


@dataclass(frozen=True)
class EgressPolicy:
    """Where a run may connect: plain data, picklable (a run's profiles may run in child processes)."""

    allowed_networks: tuple[Network, ...] = ()
    denied_networks: tuple[Network, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    denied_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_service(
        cls, own_hosts: Iterable[str] = (), allow: Iterable[str] = (), deny: Iterable[str] = ()
    ) -> EgressPolicy:
        """The service's defaults (see the module docstring), with the service's own hosts (names,
        addresses or CIDRs: give its addresses too, a name is matched as a name) and extra ``deny``
        entries denied, and the admin's ``allow`` entries (CIDRs or host names) allowed."""
        allowed_nets, allowed_hosts = _split_entries(allow, "allow")
        denied_nets, denied_hosts = _split_entries((*own_hosts, *deny), "own_hosts/deny")
        return cls(
            allowed_networks=allowed_nets,
            denied_networks=(*SERVICE_DENIED, *denied_nets),
            allowed_hosts=allowed_hosts,
            denied_hosts=denied_hosts,
        )

    @classmethod
    def from_json(cls, data: Any) -> EgressPolicy:
        """A policy document: ``{"allow": [...], "deny": [...], "own_hosts": [...], "defaults":
        "service" | "none"}``; every key optional, ``defaults`` "service" unless "none" is written
        (a file that only allow-lists still denies what the service denies)."""
        if not isinstance(data, dict):
            raise PolicyError("an egress policy is a JSON object")
        unknown = sorted(set(data) - {"allow", "deny", "own_hosts", "defaults"})
        if unknown:
            raise PolicyError(f"unknown key {unknown[0]!r} (allow, deny, own_hosts, defaults)")
        lists = {key: _string_list(data.get(key, []), key) for key in ("allow", "deny", "own_hosts")}
        defaults = data.get("defaults", "service")
        if defaults == "service":
            return cls.for_service(own_hosts=lists["own_hosts"], allow=lists["allow"], deny=lists["deny"])
        if defaults != "none":
            raise PolicyError(f'defaults: "service" or "none", not {defaults!r}')
        allowed_nets, allowed_hosts = _split_entries(lists["allow"], "allow")
        denied_nets, denied_hosts = _split_entries((*lists["own_hosts"], *lists["deny"]), "own_hosts/deny")
        return cls(allowed_nets, denied_nets, allowed_hosts, denied_hosts)

    def to_json(self) -> dict:
        """The document ``from_json`` reads back as this policy (every denial spelled out)."""
        return {
            "defaults": "none",
            "allow": [str(n) for n in self.allowed_networks] + sorted(self.allowed_hosts),
            "deny": [str(n) for n in self.denied_networks] + sorted(self.denied_hosts),
        }

    def check_host(self, host: str) -> Decision:
        """The verdict on a name before it is resolved: a metadata name is refused without asking DNS
        (a denied name is judged with its addresses: an allowed network may override it)."""
        name = normal_host(host)
        if name in METADATA_HOSTS:
            return Decision(False, f"metadata host {name}")
        return Decision(True, "not denied by name")

    def check(self, host: str, address: str) -> Decision:
        """The verdict on connecting to ``address`` (an IP, as resolved) for the URL host ``host``:
        metadata first (never allowed), then the allow-list (overrides), then the denials."""
        name = normal_host(host)
        by_name = self.check_host(name)
        if not by_name.allowed:
            return by_name
        try:
            forms = judged_as(ipaddress.ip_address(address.split("%", 1)[0]))  # no IPv6 zone index
        except ValueError:
            return Decision(False, f"not an IP address: {address!r}")
        for form in forms:
            if _within(form, METADATA_NETWORKS):
                return Decision(False, f"metadata address {form}")
        if name in self.allowed_hosts:
            return Decision(True, f"allowed host {name}")
        for form in forms:
            network = _within(form, self.allowed_networks)
            if network is not None:
                return Decision(True, f"{form} in allowed {network}")
        if name in self.denied_hosts:
            return Decision(False, f"denied host {name}")
        for form in forms:
            network = _within(form, self.denied_networks)
            if network is not None:
                return Decision(False, f"{form} in denied {network}")
        return Decision(True, "not denied")

    def check_all(self, host: str, addresses: Iterable[str]) -> Decision:
        """Every address a name resolved to must be allowed (see the module docstring)."""
        last = Decision(False, f"{normal_host(host)} resolved to no address")
        for address in addresses:
            last = self.check(host, address)
            if not last.allowed:
                return last
        return last


def judged_as(address: Address) -> tuple[Address, ...]:
    """The address, and the IPv4 address it reaches when it embeds one (mapped, NAT64, 6to4)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return (address,)
    embedded: list[Address] = []
    if address.ipv4_mapped is not None:
        embedded.append(address.ipv4_mapped)
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    return (address, *embedded)


def _within(address: Address, networks: Iterable[Network]) -> Network | None:
    return next((n for n in networks if n.version == address.version and address in n), None)


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address literal (not a name to resolve): where a server may bind
    without being reachable from the network (`conformance serve`, a pilot's gateway)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normal_host(host: str) -> str:
    """A URL host as compared: lower case, no trailing dot, no IPv6 brackets."""
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def _string_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PolicyError(f"{key}: a list of strings")
    if len(value) > MAX_ENTRIES:
        raise PolicyError(f"{key}: more than {MAX_ENTRIES} entries")
    return value


def _split_entries(entries: Iterable[str], key: str) -> tuple[tuple[Network, ...], frozenset[str]]:
    """CIDRs (or single addresses) and host names out of ``entries``; PolicyError for anything else
    (a CIDR with host bits set is a typo, not a wider network: 10.1.2.3/8)."""
    networks: list[Network] = []
    hosts: set[str] = set()
    for entry in entries:
        text = entry.strip()
        try:
            networks.append(ipaddress.ip_network(text.removeprefix("[").removesuffix("]")))
            continue
        except ValueError as exc:
            if "/" in text or ":" in text or text.replace(".", "").isdigit():
                raise PolicyError(f"{key}: {entry!r} is not a network ({exc})") from None
        name = normal_host(text)
        if not (0 < len(name) <= 253 and _HOST_NAME.fullmatch(name)):
            raise PolicyError(f"{key}: {entry!r} is neither a CIDR nor a host name")
        hosts.add(name)
    return tuple(networks), frozenset(hosts)
