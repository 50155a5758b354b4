"""What the HELO and reverse-DNS rules read about one sending host. No I/O here.

:mod:`dmarc_audit.sending.collect` fills these in; the rules are
:mod:`dmarc_audit.checks.helo` and :mod:`dmarc_audit.checks.sender_ptr`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dmarc_audit.dns.types import Answer

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_PTR_TARGETS = 10
"""PTR names checked for a forward match; the rest are ignored (RFC 8601 §2.7.3 allows a limit)."""

INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
)
"""Unspecified, private, loopback, link-local and CGNAT ranges (RFC 1918, 6598, 4193):
internal hops, which receivers on the Internet never see (no FCrDNS to check)."""


@dataclass(frozen=True, slots=True)
class HeloFacts:
    """The TXT answer at a HELO/EHLO name that is a domain name."""

    name: str
    answer: Answer


@dataclass(frozen=True, slots=True)
class PtrFacts:
    """The reverse lookup of a public sending IP and the forward lookups of its PTR names."""

    address: IpAddress
    ptr: Answer
    names: tuple[str, ...] = ()
    """Every distinct PTR target (lower case, no trailing dot)."""
    forward: tuple[tuple[str, Answer], ...] = ()
    """The A/AAAA answer of each checked name (the first :data:`MAX_PTR_TARGETS`)."""

    @property
    def text(self) -> str:
        return str(self.address)

    @property
    def reverse(self) -> str:
        return self.address.reverse_pointer

    @property
    def rdtype(self) -> str:
        return "A" if self.address.version == 4 else "AAAA"


def public_address(ip: str) -> IpAddress | None:
    """``ip`` as an address worth checking: None when it is not an IP or is internal."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(
        address in network for network in INTERNAL_NETWORKS if network.version == address.version
    ):
        return None  # an internal hop: receivers on the Internet never see this address
    return address
