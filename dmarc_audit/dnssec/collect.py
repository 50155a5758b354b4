"""Collect the DNSSEC facts of one domain: its chain, the answers the audit used, MX zones.

Every question goes through the run's cached resolver (``query_dnssec``) and one
:class:`~dmarc_audit.dnssec.validate.Validator` per run, so a zone's keys and each
link of a chain are fetched and checked once per run however many domains share them.
Answers from ``--zone`` data, or with ``--offline``, are not checked (there is no
signed data to check): the facts say so and no question is asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.dnssec.facts import (
    ChainFacts,
    DnssecFacts,
    DnssecStatus,
    RRsetFacts,
    not_checked,
)

if TYPE_CHECKING:
    from dmarc_audit.dnssec.validate import Validator

DOMAIN_TXT_NAMES = ("{d}", "_mta-sts.{d}", "_smtp._tls.{d}")
"""TXT answers the audit reads at or under the domain (SPF, MTA-STS, TLS-RPT)."""


async def collect_dnssec(
    validator: Validator,
    domain: str,
    *,
    mx_hosts: Sequence[str] = (),
    dmarc_name: str | None = None,
) -> DnssecFacts:
    """Validate ``domain``'s chain, its MX/TXT/_dmarc answers and each MX host's zone.

    ``dmarc_name`` is where the DMARC record was read (``_dmarc.<domain>`` or the
    organisational domain's), default ``_dmarc.<domain>``.
    """
    first = await validator.resolver.query_dnssec(domain, "MX")
    if first.source == "offline":
        return not_checked(domain, f"not checked: {first.detail}")
    questions = [(domain, "MX")]
    questions += [(t.format(d=domain), "TXT") for t in DOMAIN_TXT_NAMES]
    questions.append((dmarc_name or f"_dmarc.{domain}", "TXT"))
    hosts = sorted({h.lower().rstrip(".") for h in mx_hosts if h and h != "."})
    chain, rrsets, mx_chains = await asyncio.gather(
        validator.chain(domain),
        asyncio.gather(*(validator.rrset(n, t) for n, t in questions)),
        asyncio.gather(*(_host(validator, h) for h in hosts)),
    )
    host_rrsets = [r for _c, r in mx_chains if r is not None]
    return DnssecFacts(
        domain,
        chain,
        tuple(c for c, _r in mx_chains),
        tuple(rrsets) + tuple(host_rrsets),
    )


async def _host(validator: Validator, host: str) -> tuple[ChainFacts, RRsetFacts | None]:
    """One MX host: the chain to its zone, and its A answer validated."""
    first = await validator.resolver.query_dnssec(host, "A")
    if first.source == "offline":
        return ChainFacts(host, DnssecStatus.NOT_CHECKED, "", first.detail), None
    chain, address = await asyncio.gather(validator.chain(host), validator.rrset(host, "A"))
    return chain, address
