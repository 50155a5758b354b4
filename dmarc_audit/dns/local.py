"""Offline DNS: zone sources (master files, YAML zone data) behind one router.

A zone source answers authoritatively for the names it covers. The router follows
CNAMEs across sources and decides what happens to names no source covers: with
YAML zone data loaded the world is closed (NXDOMAIN); otherwise the question goes to
the live resolver, or, with ``--offline``, comes back as :attr:`Outcome.OFFLINE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dmarc_audit.dns.types import (
    CNAME_LOOP,
    MAX_CNAME_CHAIN,
    Answer,
    Outcome,
    Record,
    Resolver,
    chain_too_long,
)

if TYPE_CHECKING:
    from dmarc_audit.dns.dnssec_query import RawAnswer

MAX_CNAME_HOPS = MAX_CNAME_CHAIN


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """A zone source's answer: records, an alias to follow, or a definite no."""

    outcome: Outcome
    records: tuple[Record, ...] = ()
    cname: str | None = None
    detail: str = ""


class ZoneSource(Protocol):
    """An authoritative, in-memory source of DNS data."""

    label: str

    def covers(self, name: str) -> bool:
        """True when this source is authoritative for ``name``."""
        ...

    def lookup(self, name: str, rdtype: str) -> LocalAnswer:
        """Answer for a name this source covers."""
        ...


class LocalRouter:
    """A :class:`Resolver` over zone sources, with a fallback for other names."""

    def __init__(
        self,
        sources: list[ZoneSource],
        *,
        closed_world: bool = False,
        fallback: Resolver | None = None,
    ) -> None:
        self.sources = sources
        self.closed_world = closed_world
        self.fallback = fallback

    def _source_for(self, name: str) -> ZoneSource | None:
        best: ZoneSource | None = None
        best_len = -1
        for source in self.sources:
            if source.covers(name):
                depth = getattr(source, "origin_depth", 0)
                if depth > best_len:
                    best, best_len = source, depth
        return best

    async def query(self, name: str, rdtype: str) -> Answer:
        cnames: list[tuple[str, str]] = []
        current = name.lower().rstrip(".")
        seen = {current}
        for _hop in range(MAX_CNAME_HOPS + 1):
            source = self._source_for(current)
            if source is None:
                return await self._outside(name, rdtype, current, cnames)
            local = source.lookup(current, rdtype)
            if local.cname is None:
                return Answer(
                    name,
                    rdtype,
                    local.outcome,
                    local.records,
                    tuple(cnames),
                    detail=local.detail,
                    source=source.label,
                )
            cnames.append((current, local.cname))
            if local.cname in seen:
                return Answer(
                    name,
                    rdtype,
                    Outcome.SERVFAIL,
                    cnames=tuple(cnames),
                    detail=CNAME_LOOP,
                    source=source.label,
                )
            seen.add(local.cname)
            current = local.cname
        return Answer(
            name,
            rdtype,
            Outcome.SERVFAIL,
            cnames=tuple(cnames),
            detail=chain_too_long(MAX_CNAME_HOPS),
            source="zone",
        )

    async def query_dnssec(self, name: str, rdtype: str) -> RawAnswer:
        """Signed answers come only from live DNS: zone data is not checked offline."""
        from dmarc_audit.dns.dnssec_query import not_checked

        current = name.lower().rstrip(".")
        source = self._source_for(current)
        if source is not None:
            return not_checked(name, rdtype, f"answered from {source.label}, not checked offline")
        ask = getattr(self.fallback, "query_dnssec", None)
        if self.closed_world or ask is None:
            return not_checked(name, rdtype, "no live DNS (--offline or YAML zone data)")
        answer: RawAnswer = await ask(current or ".", rdtype)
        return answer

    async def _outside(
        self, name: str, rdtype: str, current: str, cnames: list[tuple[str, str]]
    ) -> Answer:
        if self.closed_world:
            return Answer(
                name, rdtype, Outcome.NXDOMAIN, cnames=tuple(cnames), source="yaml (closed world)"
            )
        if self.fallback is None:
            return Answer(
                name,
                rdtype,
                Outcome.OFFLINE,
                cnames=tuple(cnames),
                detail=f"{current} is outside the loaded zones (--offline)",
                source="offline",
            )
        answer = await self.fallback.query(current, rdtype)
        if not cnames:
            return answer
        return Answer(
            name,
            rdtype,
            answer.outcome,
            answer.records,
            tuple(cnames) + answer.cnames,
            answer.detail,
            answer.source,
        )
