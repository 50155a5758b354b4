"""Fetch a domain's MTA-STS policy over HTTPS (RFC 8461 §3.3) and parse it."""

from __future__ import annotations

from dmarc_audit.dns.types import Resolver
from dmarc_audit.fetch.https import HttpsFetcher
from dmarc_audit.mtasts.facts import PolicyFacts, policy_url
from dmarc_audit.records.mtasts import is_sts_record, parse_sts
from dmarc_audit.records.mtasts_policy import parse_policy


async def collect_mtasts(
    resolver: Resolver, fetcher: HttpsFetcher, domain: str
) -> PolicyFacts | None:
    """The policy of ``domain`` when ``_mta-sts`` holds exactly one valid record, else None.

    Senders fetch the policy only in that case (RFC 8461 §3.1); the TXT answer is the
    one the record checks read (cached), so this asks DNS nothing new for it.
    """
    answer = await resolver.query(f"_mta-sts.{domain}", "TXT")
    records = [text for text in answer.texts if is_sts_record(text)]
    if answer.failed or len(records) != 1 or not parse_sts(records[0]).valid:
        return None
    return await collect_policy(fetcher, domain)


async def collect_policy(fetcher: HttpsFetcher, domain: str) -> PolicyFacts:
    """GET the policy file of ``domain`` (no redirects, 64 KiB cap) and parse its body."""
    fetch = await fetcher.get(policy_url(domain))
    if not fetch.ok:
        return PolicyFacts(domain, fetch, None)
    try:
        text = fetch.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return PolicyFacts(domain, fetch, None, text_problem=f"not UTF-8 text ({exc.reason})")
    return PolicyFacts(domain, fetch, parse_policy(text))
