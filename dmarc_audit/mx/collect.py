"""Ask DNS about a domain's mail exchangers: the MX RRset, then A and AAAA of each.

Returns :class:`~dmarc_audit.mx.facts.MxFacts` and judges nothing; the rules are
in :mod:`dmarc_audit.checks.mx`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from dmarc_audit.dns.types import MxRecord, Outcome
from dmarc_audit.mx.facts import ExchangeAnswers, MxFacts, is_ip_literal

if TYPE_CHECKING:
    from dmarc_audit.dns.types import Resolver
    from dmarc_audit.domains import DomainName


async def collect_mx(resolver: Resolver, domain: DomainName) -> MxFacts:
    """Look up the MX records of ``domain`` and the addresses of every exchange.

    Asks for MX, then A and AAAA of every exchange concurrently; when there is no
    MX it asks for the domain's own A/AAAA to say where mail goes instead.
    """
    name = domain.ascii
    answer = await resolver.query(name, "MX")
    if answer.failed:
        return MxFacts(name, answer)
    records = sorted(set(answer.mx), key=lambda r: (r.preference, r.exchange))
    if not records:
        fallback = None
        if answer.outcome is not Outcome.NXDOMAIN:
            a, aaaa = await asyncio.gather(resolver.query(name, "A"), resolver.query(name, "AAAA"))
            fallback = (a, aaaa)
        return MxFacts(name, answer, fallback=fallback)
    lookups = await asyncio.gather(*(_host_answers(resolver, r) for r in records))
    return MxFacts(name, answer, tuple(lookups))


async def _host_answers(resolver: Resolver, record: MxRecord) -> ExchangeAnswers:
    if record.exchange == "" or is_ip_literal(record.exchange):
        return ExchangeAnswers(record)
    a, aaaa = await asyncio.gather(
        resolver.query(record.exchange, "A"), resolver.query(record.exchange, "AAAA")
    )
    return ExchangeAnswers(record, a, aaaa)
