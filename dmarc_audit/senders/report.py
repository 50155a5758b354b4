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
from dmarc_audit.senders.table import SenderRow, build_rows


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
    return replace(summary, senders=rows, readiness=agree_readiness(summary, rows))


def agree_readiness(summary: Summary, rows: tuple[SenderRow, ...]) -> tuple[Readiness, ...]:
    """The readiness verdicts with each source classified as its sender is.

    A source the table calls *forwarding* or *spoofing* is not a source to "fix
    first", and a named sender to fix is not counted as spoofed.
    """
    from dmarc_audit.reports.classify import Reason
    from dmarc_audit.reports.summary import rejudge
    from dmarc_audit.senders.table import SenderState

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
