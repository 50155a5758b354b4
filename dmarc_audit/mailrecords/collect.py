"""Ask for a domain's ``_mta-sts``, ``_smtp._tls`` and ``default._bimi`` TXT records."""

from __future__ import annotations

import asyncio

from dmarc_audit.dns.types import Resolver
from dmarc_audit.domains import DomainName
from dmarc_audit.mailrecords.facts import (
    BIMI_PREFIX,
    MTA_STS_PREFIX,
    TLS_RPT_PREFIX,
    MailRecordFacts,
)


async def collect_mail_records(resolver: Resolver, domain: DomainName) -> MailRecordFacts:
    """The three TXT RRsets of ``domain``, asked concurrently."""
    name = domain.ascii
    sts, rpt, bimi = await asyncio.gather(
        resolver.query(f"{MTA_STS_PREFIX}.{name}", "TXT"),
        resolver.query(f"{TLS_RPT_PREFIX}.{name}", "TXT"),
        resolver.query(f"{BIMI_PREFIX}.{name}", "TXT"),
    )
    return MailRecordFacts(name, sts, rpt, bimi)
