"""``mx.sender-ptr``: the sending IP has no PTR, or its PTR does not resolve back (no FCrDNS).

Runs where the sending IP is known: ``spf --ip IP`` and message mode (the connecting
IP given with ``--ip`` or taken from the headers). This is the receiver's ``iprev``
check (RFC 8601 §2.7.3) that Google and Yahoo require of bulk senders: the IP's
reverse name must have a PTR whose target resolves (A or AAAA) back to the same IP.
"""

from __future__ import annotations

import asyncio
import ipaddress

from dmarc_audit.catalog import finding
from dmarc_audit.dns.types import Answer, Resolver
from dmarc_audit.findings import Finding, Status

MAX_PTR_TARGETS = 10
"""PTR names checked for a forward match; the rest are ignored (RFC 8601 §2.7.3 allows a limit)."""


INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
"""Private, loopback, link-local and CGNAT ranges (RFC 1918, 6598, 4193): no FCrDNS to check."""


async def sender_ptr_findings(resolver: Resolver, ip: str) -> list[Finding]:
    """Check forward-confirmed reverse DNS for ``ip``.

    No finding when a PTR target resolves back to ``ip``. A lookup that fails (timeout,
    SERVFAIL, …) and leaves the answer open is reported as could-not-check, never as
    a missing PTR. A value that is not an IP address has nothing to check.
    """
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return []
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(
        address in network for network in INTERNAL_NETWORKS if network.version == address.version
    ):
        return []  # an internal hop: receivers on the Internet never see this address
    text = str(address)
    reverse = address.reverse_pointer
    ptr = await resolver.query(reverse, "PTR")
    if ptr.failed:
        return [
            finding(
                "dns.lookup-failed",
                text,
                f"PTR lookup for {reverse} failed ({ptr.describe()}); whether the "
                f"sending IP {text} has reverse DNS is unknown",
                status=Status.UNKNOWN,
                evidence=(f"PTR {reverse}: {ptr.describe()}",),
            )
        ]
    remediation = (
        f"Ask the owner of the IP (your ESP or hosting provider) to set a PTR for "
        f"{text} that resolves back to it, e.g. mail.example.com "
        f"{_rdtype(address)} {text}"
    )
    names = _unique(t.lower().rstrip(".") for t in ptr.targets)
    if not names:
        return [
            finding(
                "mx.sender-ptr",
                text,
                f"the sending IP {text} has no PTR record ({reverse}: {ptr.describe()}): "
                "Gmail, Yahoo and many other receivers reject or junk mail from IPs without "
                "reverse DNS",
                remediation=remediation,
                evidence=(f"PTR {reverse}: {ptr.describe()}",),
            )
        ]
    checked = names[:MAX_PTR_TARGETS]
    rdtype = _rdtype(address)
    answers = await asyncio.gather(*(resolver.query(name, rdtype) for name in checked))
    evidence = [f"PTR {reverse}: {', '.join(names)}"]
    if len(names) > len(checked):
        evidence.append(f"only the first {MAX_PTR_TARGETS} of {len(names)} PTR names checked")
    for name, answer in zip(checked, answers, strict=True):
        if any(_same(a, address) for a in answer.addresses):
            return []
        evidence.append(f"{rdtype} {name}: {_seen(answer)}")
    failed = [name for name, answer in zip(checked, answers, strict=True) if answer.failed]
    if failed:
        return [
            finding(
                "dns.lookup-failed",
                text,
                f"{rdtype} lookup for the PTR name {', '.join(failed)} of {text} "
                "failed; whether the sending IP has forward-confirmed reverse DNS "
                "is unknown",
                status=Status.UNKNOWN,
                evidence=evidence,
            )
        ]
    return [
        finding(
            "mx.sender-ptr",
            text,
            f"the PTR name of the sending IP {text} ({', '.join(checked)}) does not resolve back "
            f"to {text} (no forward-confirmed reverse DNS): receivers' iprev check fails",
            remediation=remediation,
            evidence=evidence,
        )
    ]


def _rdtype(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return "A" if address.version == 4 else "AAAA"


def _same(value: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(value) == address
    except ValueError:
        return False


def _seen(answer: Answer) -> str:
    return ", ".join(answer.addresses) if answer.addresses else answer.describe()


def _unique(values) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
