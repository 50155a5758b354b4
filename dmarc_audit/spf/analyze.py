"""SPF posture without a connecting IP: the include/redirect tree and its lookup count.

The walk counts as a receiver evaluating an IPv4 client that matches no term
would (RFC 7208 §4.6.4):

* each ``include``, ``a``, ``mx``, ``ptr``, ``exists`` and ``redirect`` evaluated
  anywhere in the tree costs one lookup; the same include reached twice costs twice;
* terms after ``all`` are never reached, and ``redirect`` is ignored when the
  record has ``all`` (RFC 7208 §5.1, §6.1);
* the names an ``mx`` term expands to (at most 10) are looked up but not counted;
* a term whose domain depends on the sender or its IP (``%{i}``, ``%{s}``,
  ``%{l}``, ``%{p}`` …; ``%{d}`` is the current domain and is expanded) and every
  ``ptr`` term costs one lookup, is not resolved and is never void;
* void lookups are NXDOMAIN or NODATA answers to evaluated terms, including the
  address lookups of an ``mx`` term's hosts.

The walk goes on past the points where a receiver would stop (permerror), so one
run shows every problem. All queries go through a :class:`CachingResolver`: the
tree is prefetched concurrently, then walked in term order so that the numbering
of :class:`LookupStep` is deterministic. The walk (:class:`SpfWalk`) holds no
judgement: :mod:`dmarc_audit.checks.spf` turns it into findings.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.types import Answer, Outcome, Resolver
from dmarc_audit.domains import DomainName, normalize_name
from dmarc_audit.records.spf import (
    MX_NAME_LIMIT,
    Mechanism,
    MechanismKind,
    Modifier,
    SpfRecord,
    Term,
)
from dmarc_audit.records.spf_macro import Literal, MacroError, parse_macro_string
from dmarc_audit.spf.facts import (
    IncludeLoop,
    LookupStep,
    MxOverflow,
    SpfFetch,
    SpfNode,
    SpfWalk,
    _parse,
    spf_rrs,
)

WALK_LIMIT = 50
"""Terms resolved per analysis; later terms still count but are not resolved."""
PREFETCH_LIMIT = 100
"""Distinct include/redirect targets fetched ahead of the walk."""

_RDTYPE = {"include": "TXT", "redirect": "TXT", "a": "A", "exists": "A", "mx": "MX", "ptr": "PTR"}


async def analyze_spf(resolver: Resolver, domain: DomainName) -> SpfWalk:
    """Fetch ``domain``'s SPF record and walk its include/redirect tree (no judgement)."""
    if not isinstance(resolver, CachingResolver):
        resolver = CachingResolver(resolver)
    name = domain.ascii
    type99 = asyncio.ensure_future(resolver.query(name, "SPF"))  # overlaps the whole walk
    answer = await resolver.query(name, "TXT")
    walker = _Walker(resolver)
    walker.steps.append(_step(None, "", "", answer, note=answer.detail if answer.failed else ""))
    top = walker.remember(name, answer, None)
    record = top.record
    tree = None
    if record is not None:
        await _prefetch(resolver, name, record, {name})
        children = await walker.walk(name, record, (name,))
        tree = SpfNode(
            name,
            None,
            record.text,
            answer.outcome.value,
            sum(c.lookups for c in children),
            children,
        )
    return SpfWalk(
        domain=name,
        top=top,
        type99=await type99,
        fetches=tuple(walker.fetches.values()),
        steps=tuple(walker.steps),
        tree=tree,
        loops=tuple(walker.loops),
        mx_overflows=tuple(walker.mx_overflows),
        truncated=walker.truncated,
    )


def evaluated_terms(record: SpfRecord) -> tuple[Term, ...]:
    """The DNS-querying terms a receiver evaluates for a client that matches nothing.

    Mechanisms up to the first ``all``, then ``redirect`` when there is no ``all``.
    """
    terms: list[Term] = []
    for mech in record.mechanisms:
        if mech.kind is MechanismKind.ALL:
            return tuple(terms)
        if mech.kind.queries_dns:
            terms.append(mech)
    if record.redirect is not None:
        terms.append(record.redirect)
    return tuple(terms)


def dns_kind(term: Term) -> str | None:
    """``include``, ``a``, ``mx``, ``ptr``, ``exists``, ``redirect``, or None for other terms."""
    if isinstance(term, Mechanism):
        return term.kind.value if term.kind.queries_dns else None
    return "redirect" if term.name == "redirect" else None


@dataclass(frozen=True, slots=True)
class _Target:
    """The question a DNS term asks; ``name`` is None when it cannot be known."""

    name: str | None
    rdtype: str
    note: str = ""


def _target(term: Term, domain: str, broken: bool) -> _Target:
    kind = dns_kind(term)
    assert kind is not None
    rdtype = _RDTYPE[kind]
    if broken:
        return _Target(None, rdtype, "syntax error; not resolved, counts 1")
    if kind == "ptr":
        return _Target(
            None,
            rdtype,
            "depends on the connecting IP (PTR lookup); not resolved, "
            "counts 1; the names it returns do not count",
        )
    spec = _spec(term)
    if spec is None:
        return _Target(domain, rdtype)
    try:
        name, unknown = expand_domain_spec(spec, domain)
    except MacroError as exc:
        return _Target(None, rdtype, f"malformed macro ({exc.message}); not resolved, counts 1")
    if name is None:
        return _Target(
            None, rdtype, f"depends on the sender ({', '.join(unknown)}); not resolved, counts 1"
        )
    return _Target(name, rdtype)


def _spec(term: Term) -> str | None:
    """The domain-spec as written (``redirect=`` value, ``include:`` domain …)."""
    return term.value if isinstance(term, Modifier) else term.domain_spec


def expand_domain_spec(spec: str, domain: str) -> tuple[str | None, tuple[str, ...]]:
    """Expand a domain-spec whose only macro is ``%{d}`` (RFC 7208 §7.3).

    Returns ``(name, ())``, or ``(None, macros)`` listing the macros that depend on
    the sender or its IP. Raises :class:`MacroError` on malformed macros.
    """
    parts = parse_macro_string(spec)
    unknown = tuple(
        dict.fromkeys(p.raw for p in parts if not isinstance(p, Literal) and p.letter != "d")
    )
    if unknown:
        return None, unknown
    text = ""
    for part in parts:
        if isinstance(part, Literal):
            text += part.text
            continue
        labels = re.split("[" + re.escape(part.delimiters or ".") + "]", domain)
        if part.reverse:
            labels.reverse()
        if part.digits:
            labels = labels[-part.digits :]
        value = ".".join(labels)
        text += quote(value, safe="-._~") if part.url_escape else value
    name = normalize_name(text)
    while len(name) > 253 and "." in name:  # §7.3: drop labels from the left
        name = name.split(".", 1)[1]
    return name, ()


def _broken_terms(record: SpfRecord) -> frozenset[int]:
    """Offsets of the terms that hold a syntax problem."""
    return frozenset(
        t.offset
        for t in record.terms
        for p in record.problems
        if t.offset <= p.offset < t.offset + len(t.text)
    )


def _mx_hosts(answer: Answer) -> list[str]:
    return [
        mx.exchange
        for mx in sorted(answer.mx, key=lambda m: (m.preference, m.exchange))
        if mx.exchange
    ]


def _step(
    number: int | None,
    term: str,
    in_record: str,
    answer: Answer,
    *,
    void: bool = False,
    note: str = "",
) -> LookupStep:
    return LookupStep(
        number, term, in_record, answer.name, answer.rdtype, answer.outcome.value, void, note
    )


async def _prefetch(resolver: Resolver, domain: str, record: SpfRecord, seen: set[str]) -> None:
    """Ask, concurrently, every question the walk of ``record`` will ask."""
    jobs: list[Coroutine[Any, Any, object]] = []
    broken = _broken_terms(record)
    for term in evaluated_terms(record):
        target = _target(term, domain, term.offset in broken)
        if target.name is None:
            continue
        if target.rdtype == "TXT":
            if target.name not in seen and len(seen) < PREFETCH_LIMIT:
                seen.add(target.name)
                jobs.append(_prefetch_target(resolver, target.name, seen))
        elif target.rdtype == "MX":
            jobs.append(_prefetch_mx(resolver, target.name))
        else:
            jobs.append(resolver.query(target.name, target.rdtype))
    await asyncio.gather(*jobs)


async def _prefetch_target(resolver: Resolver, name: str, seen: set[str]) -> None:
    spf = spf_rrs(await resolver.query(name, "TXT"))
    if len(spf) == 1:
        record = _parse(spf[0].text)
        await _prefetch(resolver, name, record, seen)


async def _prefetch_mx(resolver: Resolver, name: str) -> None:
    answer = await resolver.query(name, "MX")
    hosts = _mx_hosts(answer)[:MX_NAME_LIMIT]
    await asyncio.gather(*(resolver.query(host, "A") for host in hosts))


@dataclass(slots=True)
class _Walker:
    """Walks the tree in term order, numbering lookups as a receiver would count them."""

    resolver: Resolver
    steps: list[LookupStep] = field(default_factory=list)
    fetches: dict[str, SpfFetch] = field(default_factory=dict)
    loops: list[IncludeLoop] = field(default_factory=list)
    mx_overflows: list[MxOverflow] = field(default_factory=list)
    count: int = 0
    truncated: bool = False

    def remember(self, domain: str, answer: Answer, via: LookupStep | None) -> SpfFetch:
        return self.fetches.setdefault(domain, SpfFetch(domain, via, answer))

    async def walk(
        self, domain: str, record: SpfRecord, chain: tuple[str, ...]
    ) -> tuple[SpfNode, ...]:
        broken = _broken_terms(record)
        return tuple(
            [
                await self.term(term, domain, term.offset in broken, chain)
                for term in evaluated_terms(record)
            ]
        )

    async def term(self, term: Term, domain: str, broken: bool, chain: tuple[str, ...]) -> SpfNode:
        self.count += 1
        number = self.count
        target = _target(term, domain, broken)
        if target.name is not None and number > WALK_LIMIT:
            self.truncated = True
            target = _Target(
                None, target.rdtype, f"not resolved: the audit resolves at most {WALK_LIMIT} terms"
            )
        if target.name is None:
            self.steps.append(
                LookupStep(number, term.text, domain, "", target.rdtype, "", False, target.note)
            )
            return SpfNode(_spec(term) or domain, term.text, None, "not-resolved", 1)
        kind = dns_kind(term)
        if kind == "mx":
            return await self._mx(number, term, domain, target.name)
        answer = await self.resolver.query(target.name, target.rdtype)
        if kind in ("include", "redirect"):
            return await self._target_record(number, term, domain, answer, chain)
        note = await self._note(answer, ipv6_possible=kind == "a")
        self.steps.append(
            _step(number, term.text, domain, answer, void=answer.outcome.is_void, note=note)
        )
        return SpfNode(answer.name, term.text, None, answer.outcome.value, 1)

    async def _note(self, answer: Answer, *, ipv6_possible: bool) -> str:
        """The resolver's error, or why an A lookup with no answer may still be fine."""
        if answer.failed:
            return answer.detail
        if ipv6_possible and answer.outcome is Outcome.NODATA:
            aaaa = await self.resolver.query(answer.name, "AAAA")
            if aaaa.ok:
                return "no A record, only AAAA: void for IPv4 clients only"
        return ""

    async def _mx(self, number: int, term: Term, domain: str, name: str) -> SpfNode:
        answer = await self.resolver.query(name, "MX")
        hosts = _mx_hosts(answer)
        note = answer.detail if answer.failed else ""
        if len(hosts) > MX_NAME_LIMIT:
            note = (
                f"{len(hosts)} MX names, receivers allow {MX_NAME_LIMIT}; "
                f"only the first {MX_NAME_LIMIT} looked up"
            )
        step = _step(number, term.text, domain, answer, void=answer.outcome.is_void, note=note)
        self.steps.append(step)
        if len(hosts) > MX_NAME_LIMIT:
            self.mx_overflows.append(MxOverflow(step, len(hosts)))
        hosts = hosts[:MX_NAME_LIMIT]
        addresses = await asyncio.gather(*(self.resolver.query(h, "A") for h in hosts))
        for address in addresses:
            extra = await self._note(address, ipv6_possible=True)
            self.steps.append(
                _step(
                    None,
                    term.text,
                    domain,
                    address,
                    void=address.outcome.is_void,
                    note="address of an MX host; does not count" + (f"; {extra}" if extra else ""),
                )
            )
        return SpfNode(name, term.text, None, answer.outcome.value, 1)

    async def _target_record(
        self, number: int, term: Term, domain: str, answer: Answer, chain: tuple[str, ...]
    ) -> SpfNode:
        name = answer.name
        spf = spf_rrs(answer)
        looped = name in chain
        if looped:
            note = "loop: " + " → ".join((*chain, name))
        elif answer.failed:
            note = answer.detail
        elif not spf:
            note = "no SPF record"
        elif len(spf) > 1:
            note = f"{len(spf)} SPF records"
        else:
            note = ""
        step = _step(number, term.text, domain, answer, void=answer.outcome.is_void, note=note)
        self.steps.append(step)
        if looped:
            self.loops.append(IncludeLoop(step, (*chain, name)))
            return SpfNode(name, term.text, None, "loop", 1)
        record = self.remember(name, answer, step).record
        if record is None:
            outcome = (
                "no-spf-record"
                if answer.ok and not spf
                else "multiple-records"
                if spf
                else answer.outcome.value
            )
            return SpfNode(name, term.text, None, outcome, 1)
        children = await self.walk(name, record, (*chain, name))
        return SpfNode(
            name,
            term.text,
            record.text,
            answer.outcome.value,
            1 + sum(c.lookups for c in children),
            children,
        )
