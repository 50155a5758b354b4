"""Collect what the DMARC rules need: discovery and the lookups around it.

Besides policy discovery (:mod:`dmarc_audit.dmarc.discovery`) this asks for the
apex TXT (``dmarc.wrong-location``), the RFC 9989 tree walk when auditing under
RFC 7489 (``dmarc.tree-walk-vs-psl``), and the authorisation record of every
external report destination. It returns :class:`~dmarc_audit.dmarc.facts.DmarcFacts`
and judges nothing.
"""

from __future__ import annotations

import asyncio

from dmarc_audit.dmarc.discovery import discover_dmarc, tree_walk
from dmarc_audit.dmarc.facts import (
    DmarcFacts,
    FoundAt,
    RecordView,
    ReportDestination,
    TreeWalk,
    report_host,
)
from dmarc_audit.dns.types import Answer, Resolver
from dmarc_audit.domains import DomainName
from dmarc_audit.orgdomain import is_public_suffix, organizational_domain_psl
from dmarc_audit.records.dmarc import DmarcMode, ReportUri, looks_like_dmarc


async def collect_dmarc(
    resolver: Resolver,
    domain: DomainName,
    mode: DmarcMode = DmarcMode.RFC9989,
    *,
    sends_mail: bool = True,
) -> DmarcFacts:
    """Discover the DMARC policy of ``domain`` and make the lookups the rules need.

    ``sends_mail=False`` (null MX, parked) gives the facts of a domain that sends no
    mail; :meth:`DmarcFacts.not_sending` gives the same without asking DNS again.
    """
    name = domain.ascii
    if mode is DmarcMode.RFC9989:
        discovery, apex = await asyncio.gather(
            discover_dmarc(resolver, name, mode), resolver.query(name, "TXT")
        )
        assert discovery.walk is not None
        walk = discovery.walk
    else:
        discovery, apex, walk = await asyncio.gather(
            discover_dmarc(resolver, name, mode),
            resolver.query(name, "TXT"),
            tree_walk(resolver, name),
        )
    extra = [apex] if apex.failed else []
    if walk is not discovery.walk and walk.failed is not None:
        extra.append(walk.failed)
    view = None
    if discovery.record is not None and discovery.record_name is not None:
        record_domain = discovery.record_name.removeprefix("_dmarc.")
        if discovery.found_at is not FoundAt.PSD or not is_public_suffix(record_domain):
            view = RecordView.of(discovery.record.text, record_domain, mode, sends_mail=sends_mail)
    walks = _WalkMemo(resolver, {name: walk})
    destinations: list[ReportDestination] = []
    if view is not None and view.primary.effective is not None:
        effective = view.primary.effective
        wanted = [("rua", u) for u in effective.rua] + [("ruf", u) for u in effective.ruf]
        for dest in await asyncio.gather(
            *(_destination(walks, tag, uri, view.domain, mode) for tag, uri in wanted)
        ):
            if dest is not None:
                destinations.append(dest)
                if dest.failure is not None:
                    extra.append(dest.failure)
    extra.extend(walks.failures)
    return DmarcFacts(
        name,
        mode,
        sends_mail,
        discovery,
        view,
        apex,
        walk,
        organizational_domain_psl(name) or name,
        tuple(destinations),
        tuple(extra),
    )


class _WalkMemo:
    """Tree walks by domain, so each Organizational Domain is looked up once per run."""

    def __init__(self, resolver: Resolver, known: dict[str, TreeWalk]) -> None:
        self.resolver = resolver
        self.walks = dict(known)
        self.failures: list[Answer] = []

    async def org(self, name: str) -> str | None:
        if name not in self.walks:
            walk = await tree_walk(self.resolver, name)
            self.walks[name] = walk
            if walk.failed is not None:
                self.failures.append(walk.failed)
        return self.walks[name].org_domain


async def _destination(
    walks: _WalkMemo, tag: str, uri: ReportUri, record_domain: str, mode: DmarcMode
) -> ReportDestination | None:
    host = report_host(uri)
    if host is None:
        return None
    same_psl = organizational_domain_psl(host) == organizational_domain_psl(record_domain)
    if mode is DmarcMode.RFC9989:
        host_org, own_org = await walks.org(host), await walks.org(record_domain)
        if host_org is None or own_org is None:
            same, view, other = same_psl, "Public Suffix List; the tree walk failed", None
        else:
            same = host_org == own_org
            view = f"RFC 9989 tree walk: {host_org} vs {own_org}"
            other = same_psl
    else:
        same, other = same_psl, None
        view = (
            f"Public Suffix List: {organizational_domain_psl(host)} vs "
            f"{organizational_domain_psl(record_domain)}"
        )
    dest = ReportDestination(tag, uri, host, record_domain, same, view, other)
    if same:
        return dest
    checked: list[str] = []
    for name in (dest.auth_name, f"*._report._dmarc.{host}"):
        answer = await walks.resolver.query(name, "TXT")
        checked.append(f"{name} TXT: {answer.describe()}")
        if answer.failed:
            return ReportDestination(
                tag, uri, host, record_domain, same, view, other, None, tuple(checked), answer
            )
        if any(looks_like_dmarc(text) for text in answer.texts):
            return ReportDestination(
                tag, uri, host, record_domain, same, view, other, True, tuple(checked)
            )
    return ReportDestination(
        tag, uri, host, record_domain, same, view, other, False, tuple(checked)
    )
