"""Look up what the HELO and reverse-DNS rules need about a sending host."""

from __future__ import annotations

import asyncio

from dmarc_audit.dns.types import Resolver
from dmarc_audit.domains import parse_domain
from dmarc_audit.errors import InputError
from dmarc_audit.sending.facts import MAX_PTR_TARGETS, HeloFacts, PtrFacts, public_address


async def collect_helo(resolver: Resolver, helo: str) -> HeloFacts | None:
    """The TXT answer at ``helo``; None when it is not a domain name (an address literal,
    a bare word), which has nothing to check."""
    try:
        name = parse_domain(helo).ascii
    except InputError:
        return None
    if "." not in name:
        return None
    return HeloFacts(name, await resolver.query(name, "TXT"))


async def collect_sender_ptr(resolver: Resolver, ip: str) -> PtrFacts | None:
    """The PTR of ``ip`` and the forward answers of its names; None when ``ip`` is not
    an IP address or is internal (private, loopback, link-local, CGNAT)."""
    address = public_address(ip)
    if address is None:
        return None
    ptr = await resolver.query(address.reverse_pointer, "PTR")
    facts = PtrFacts(address, ptr)
    if ptr.failed:
        return facts
    names = tuple(dict.fromkeys(n for n in (t.lower().rstrip(".") for t in ptr.targets) if n))
    checked = names[:MAX_PTR_TARGETS]
    answers = await asyncio.gather(*(resolver.query(name, facts.rdtype) for name in checked))
    return PtrFacts(address, ptr, names, tuple(zip(checked, answers, strict=True)))
