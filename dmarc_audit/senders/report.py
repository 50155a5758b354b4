"""Put the sender table on a summary: name every source, then fold them into senders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dmarc_audit.config import KnownSender
from dmarc_audit.reports.classify import org_domain
from dmarc_audit.reports.store import Store
from dmarc_audit.reports.summary import Readiness, Summary
from dmarc_audit.senders.evidence import auth_evidence, source_figures
from dmarc_audit.senders.facts import SenderDns
from dmarc_audit.senders.naming import AuthEvidence, SenderName, name_all
from dmarc_audit.senders.providers import catalog
from dmarc_audit.senders.table import NEW_SENDER_MESSAGES, SenderRow, SenderState, build_rows


def previous_period(summary: Summary) -> tuple[datetime, datetime] | None:
    """The period of equal length before ``summary``'s (only with both --since and an end)."""
    since = summary.filter.since
    if since is None:
        return None
    until = summary.filter.until or summary.last_end
    if until is None or until <= since:
        return None
    return since - (until - since), since


def name_sources(
    store: Store,
    summary: Summary,
    declared: tuple[KnownSender, ...] = (),
    dns: SenderDns | None = None,
) -> tuple[dict[str, SenderName], dict[str, AuthEvidence]]:
    """Names (where there is evidence) and auth evidence of the summary's sources."""
    f = summary.filter
    auth = auth_evidence(store, f.domain, f.since, f.until)
    names = name_all(
        {s.source_ip: (s.domains, auth.get(s.source_ip, AuthEvidence())) for s in summary.sources},
        catalog=catalog(),
        declared=declared,
        dns=dns,
        own_orgs=frozenset(org_domain(d) for d in summary.domains),
        org_domain=org_domain,
    )
    return names, auth


def with_senders(
    store: Store,
    summary: Summary,
    declared: tuple[KnownSender, ...] = (),
    dns: SenderDns | None = None,
    names: dict[str, SenderName] | None = None,
    auth: dict[str, AuthEvidence] | None = None,
) -> Summary:
    """``summary`` with its sender table (see :mod:`dmarc_audit.senders.table`)."""
    if names is None or auth is None:
        names, auth = name_sources(store, summary, declared, dns)
    previous = None
    if (span := previous_period(summary)) is not None:
        previous = source_figures(store, summary.filter.domain, *span)
    rows = build_rows(
        summary.sources,
        names,
        auth,
        previous=previous,
        posture=dns.posture if dns else None,
        since=summary.filter.since,
    )
    rows = with_inventory(store, summary, rows)
    return replace(summary, senders=rows, readiness=agree_readiness(summary, rows))


def with_inventory(
    store: Store, summary: Summary, rows: tuple[SenderRow, ...]
) -> tuple[SenderRow, ...]:
    """Each row's first sighting for its domains, from the stored inventory, and "new".

    A named sender is new when, for one of its policy domains, the inventory first
    saw it in the period (its earlier IPs count, even outside the period). Unnamed
    sources are new for a domain only with :data:`NEW_SENDER_MESSAGES` new messages,
    and spoofing is never a new sender.
    """
    from dmarc_audit.reports.store import from_ts, to_ts
    from dmarc_audit.senders.inventory import Sighting, record_senders, source_sightings

    by_ip = {s.source_ip: s for s in summary.sources}
    sightings = source_sightings(store, summary.domains, by_ip)
    seen: dict[tuple[str, str], tuple[str, Sighting]] = {}
    for row in rows:
        if not row.named:
            continue
        for ip in row.ips:
            for domain in by_ip[ip].domains:
                found = sightings.get((domain, ip))
                if found is None:
                    continue
                held = seen.get((domain, row.key))
                if held is not None:
                    found = Sighting(min(found.first, held[1].first), max(found.last, held[1].last))
                seen[(domain, row.key)] = (row.name, found)
    inventory = record_senders(store, seen)
    since = summary.filter.since
    start = to_ts(since) if since is not None else None
    out = []
    for row in rows:
        if row.named:
            firsts = [
                inventory[(d, row.key)].first
                for d in {d for ip in row.ips for d in by_ip[ip].domains}
                if (d, row.key) in inventory
            ]
            new = None if start is None or not firsts else any(f >= start for f in firsts)
        else:
            firsts = [
                found.first
                for ip in row.ips
                for d in by_ip[ip].domains
                if (found := sightings.get((d, ip))) is not None
            ]
            fresh = sum(
                by_ip[ip].figures.messages
                for ip in row.ips
                if start is not None
                and any(
                    (found := sightings.get((d, ip))) is not None and found.first >= start
                    for d in by_ip[ip].domains
                )
            )
            new = None if start is None else fresh >= NEW_SENDER_MESSAGES
        if new and row.state is SenderState.SPOOFING:
            new = False
        first = from_ts(min(firsts)) if firsts else row.first_seen
        out.append(replace(row, first_seen=first, new=new))
    return tuple(out)


def agree_readiness(summary: Summary, rows: tuple[SenderRow, ...]) -> tuple[Readiness, ...]:
    """The readiness verdicts with each source classified as its sender is.

    A source the table calls *forwarding* or *spoofing* is not a source to "fix
    first", and a named sender to fix is not counted as spoofed.
    """
    from dmarc_audit.reports.classify import Reason
    from dmarc_audit.reports.summary import rejudge

    diagnosed = {s.source_ip: s.diagnosis.reason for s in summary.sources if s.diagnosis}
    wanted: dict[str, Reason] = {}
    for row in rows:
        for ip in row.ips:
            held = diagnosed.get(ip)
            if held is None:
                continue
            if row.state is SenderState.FORWARDING:
                wanted[ip] = Reason.FORWARDING
            elif row.state is SenderState.SPOOFING:
                wanted[ip] = Reason.SPOOFING
            elif row.state.to_fix and row.key.startswith("declared:") and not held.known_sender:
                wanted[ip] = Reason.NOT_IN_SPF  # the policy file says it is ours
    return tuple(rejudge(r, wanted) for r in summary.readiness)
