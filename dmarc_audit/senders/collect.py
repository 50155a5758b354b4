"""Collect :class:`~dmarc_audit.senders.facts.SenderDns` through the run's resolver.

Reverse DNS is forward-confirmed; the origin AS comes from Team Cymru's DNS
interface (``<reversed ip>.origin.asn.cymru.com`` TXT, ``AS<n>.asn.cymru.com`` for
the name). The SPF of each policy domain is evaluated for each source IP with our
own ``check_host()``. Every failed lookup is recorded as "could not check".
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Iterable, Sequence

from dmarc_audit.dns.types import Resolver
from dmarc_audit.senders.facts import (
    COULD_NOT_CHECK,
    OriginAs,
    ReverseName,
    SenderDns,
    SpfMatch,
    SpfPosture,
)

CYMRU_V4 = "origin.asn.cymru.com"
CYMRU_V6 = "origin6.asn.cymru.com"
CYMRU_NAMES = "asn.cymru.com"
_INCLUDE = re.compile(r"include:(\S+) at ")


async def collect(
    resolver: Resolver,
    ips: Sequence[str],
    domains: Sequence[str],
    *,
    resolve: bool,
    concurrency: int = 32,
) -> SenderDns:
    """SPF matches for ``domains``; with ``resolve`` also PTR and origin AS."""
    from dmarc_audit.dns.cache import CachingResolver

    if not isinstance(resolver, CachingResolver):
        resolver = CachingResolver(resolver)
    limit = asyncio.Semaphore(concurrency)

    async def bounded(coro):
        async with limit:
            return await coro

    spf = await asyncio.gather(
        *(bounded(spf_match(resolver, d, ip)) for d in domains for ip in ips)
    )
    reverse: dict[str, ReverseName] = {}
    origin: dict[str, OriginAs] = {}
    if resolve:
        reverse = {
            r.ip: r
            for r in await asyncio.gather(*(bounded(reverse_name(resolver, ip)) for ip in ips))
        }
        found = await asyncio.gather(*(bounded(origin_as(resolver, ip)) for ip in ips))
        names = {a.asn for a in found if a.asn is not None}
        as_names = dict(
            zip(
                names,
                await asyncio.gather(*(bounded(as_name(resolver, n)) for n in names)),
                strict=True,
            )
        )
        origin = {
            a.ip: OriginAs(a.ip, a.asn, as_names.get(a.asn) if a.asn else None, a.prefix, a.outcome)
            for a in found
        }
    return SenderDns(
        reverse=reverse,
        origin=origin,
        spf={(m.domain, m.ip): m for m in spf},
        resolved=resolve,
    )


async def reverse_name(resolver: Resolver, ip: str) -> ReverseName:
    """The PTR name of ``ip`` and whether it is forward-confirmed."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ReverseName(ip, None, False, "invalid address")
    answer = await resolver.query(address.reverse_pointer, "PTR")
    if answer.failed:
        return ReverseName(ip, None, False, f"{COULD_NOT_CHECK}: {answer.describe()}")
    if not answer.targets:
        return ReverseName(ip, None, False, answer.outcome.value)
    for name in answer.targets[:5]:
        forward = await resolver.query(name, "A" if address.version == 4 else "AAAA")
        if forward.failed:
            return ReverseName(ip, name, False, f"{COULD_NOT_CHECK}: {forward.describe()}")
        if any(_same(a, address) for a in forward.addresses):
            return ReverseName(ip, name, True, answer.outcome.value)
    return ReverseName(ip, answer.targets[0], False, answer.outcome.value)


def _same(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def cymru_name(ip: str) -> str | None:
    """``7.113.0.203.origin.asn.cymru.com`` (IPv6: nibbles under ``origin6``)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 4:
        return ".".join(reversed(str(address).split("."))) + "." + CYMRU_V4
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + "." + CYMRU_V6


def parse_origin(text: str) -> tuple[int, str] | None:
    """``"11377 | 203.0.113.0/24 | US | arin | 2010-01-01"`` → ``(11377, prefix)``."""
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < 2:
        return None
    first = fields[0].split()[0] if fields[0] else ""
    if not first.isdigit():
        return None
    return int(first), fields[1]


async def origin_as(resolver: Resolver, ip: str) -> OriginAs:
    name = cymru_name(ip)
    if name is None:
        return OriginAs(ip, None, None, None, "invalid address")
    answer = await resolver.query(name, "TXT")
    if answer.failed:
        return OriginAs(ip, None, None, None, f"{COULD_NOT_CHECK}: {answer.describe()}")
    for text in answer.texts:
        parsed = parse_origin(text)
        if parsed:
            return OriginAs(ip, parsed[0], None, parsed[1], answer.outcome.value)
    return OriginAs(ip, None, None, None, answer.outcome.value)


async def as_name(resolver: Resolver, asn: int) -> str | None:
    """``"SENDGRID - SendGrid, Inc., US"`` from ``AS11377.asn.cymru.com``, if it answers."""
    answer = await resolver.query(f"AS{asn}.{CYMRU_NAMES}", "TXT")
    for text in answer.texts if answer.ok else []:
        fields = [f.strip() for f in text.split("|")]
        if len(fields) >= 5 and fields[4]:
            return fields[4]
    return None


async def spf_match(resolver: Resolver, domain: str, ip: str) -> SpfMatch:
    """Evaluate ``domain``'s SPF for ``ip``: which term (and include chain) authorises it."""
    from dmarc_audit.spf.evaluate import SpfResultCode, check_host

    try:
        result = await check_host(resolver, ip, domain, f"postmaster@{domain}")
    except ValueError:
        return SpfMatch(domain, ip, "invalid address", None)
    if result.result is SpfResultCode.TEMPERROR:
        return SpfMatch(domain, ip, COULD_NOT_CHECK, None)
    if result.result is not SpfResultCode.PASS:
        return SpfMatch(domain, ip, result.result.value, result.matched_term)
    return SpfMatch(domain, ip, "pass", result.matched_term, tuple(_INCLUDE.findall(result.reason)))


async def collect_posture(
    resolver: Resolver, domains: Iterable[str], includes: Iterable[str]
) -> dict[str, SpfPosture]:
    """:func:`spf_posture` of each domain (after naming: ``includes`` are the fixes' includes)."""
    wanted = tuple(dict.fromkeys(includes))
    found = await asyncio.gather(*(spf_posture(resolver, d, wanted) for d in domains))
    return {p.domain: p for p in found}


async def spf_posture(resolver: Resolver, domain: str, includes: Iterable[str]) -> SpfPosture:
    """The lookup count of ``domain``'s SPF, and what each provider include would add."""
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.errors import InputError
    from dmarc_audit.spf.analyze import analyze_spf

    try:
        name = parse_domain(domain)
    except InputError:  # a report's policy domain that is not a domain name: nothing to walk
        return SpfPosture(domain, None, None)
    analysis = await analyze_spf(resolver, name)
    failed = any(step.failed for step in analysis.steps)
    costs = []
    if not failed:
        for include in includes:
            try:
                include_name = parse_domain(include)
            except InputError:
                continue
            inner = await analyze_spf(resolver, include_name)
            if inner.top.record is not None and not any(s.failed for s in inner.steps):
                costs.append((include, 1 + inner.lookups))
    spf = analysis.top.spf
    record = spf[0].text if len(spf) == 1 else None
    return SpfPosture(domain, record, None if failed else analysis.lookups, tuple(costs))
