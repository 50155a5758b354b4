"""DMARC policy discovery: which record applies to mail From a domain, and why.

RFC 9989 (default): a DNS tree walk from the Author Domain (§4.10), the
Organizational Domain chosen from the records found (§4.10.2), and the policy
taken from the Author Domain's record (``p``), else the Organizational Domain's,
else the Public Suffix Domain's (``sp``, or ``np`` when the Author Domain does
not exist) (§4.10.1). RFC 7489: the Author Domain, then the Organizational
Domain from the Public Suffix List (§6.6.3).

A failed lookup makes the result ``unknown``; it is never reported as "no record".
"""

from __future__ import annotations

from typing import Any

from dmarc_audit.dmarc.facts import (
    DiscoveryStatus,
    DmarcDiscovery,
    FoundAt,
    PolicySource,
    TreeWalk,
    WalkStep,
)
from dmarc_audit.dns.types import Answer, Outcome, Resolver
from dmarc_audit.orgdomain import (
    WalkHit,
    organizational_domain_psl,
    select_organizational_domain,
    tree_walk_targets,
)
from dmarc_audit.records.dmarc import DmarcMode, DmarcRecord, Policy, parse_dmarc

__all__ = [
    "DiscoveryStatus",
    "DmarcDiscovery",
    "FoundAt",
    "PolicySource",
    "TreeWalk",
    "WalkStep",
    "discover_dmarc",
    "tree_walk",
]


async def _ask(resolver: Resolver, name: str, mode: DmarcMode) -> WalkStep:
    answer = await resolver.query(f"_dmarc.{name}", "TXT")
    parsed = [parse_dmarc(text, mode) for text in answer.texts] if answer.ok else []
    return WalkStep(
        name,
        answer,
        tuple(r for r in parsed if r.version_ok),
        tuple(r for r in parsed if not r.version_ok),
    )


async def tree_walk(resolver: Resolver, domain: str) -> TreeWalk:
    """Walk ``_dmarc`` names from ``domain`` towards the root (RFC 9989 §4.10).

    Stops after a single record with ``psd=y`` or ``psd=n``, at the top-level
    domain, or at the first failed lookup.
    """
    steps: list[WalkStep] = []
    failed: Answer | None = None
    for name in tree_walk_targets(domain):
        step = await _ask(resolver, name, DmarcMode.RFC9989)
        steps.append(step)
        if step.answer.failed:
            failed = step.answer
            break
        if step.psd in ("y", "n"):
            break
    start = steps[0].name
    hits = [WalkHit(s.name, s.psd) for s in steps if s.record is not None]
    psd_domain = next((h.name for h in hits if h.psd == "y" and h.name != start), None)
    org = None if failed is not None else select_organizational_domain(start, hits)
    return TreeWalk(start, tuple(steps), org, psd_domain, failed)


async def discover_dmarc(
    resolver: Resolver, domain: str, mode: DmarcMode = DmarcMode.RFC9989
) -> DmarcDiscovery:
    """Find the DMARC record that applies to mail From ``domain`` and the policy it gives."""
    domain = domain.lower().rstrip(".")
    if mode is DmarcMode.RFC9989:
        return await _discover_9989(resolver, domain)
    return await _discover_7489(resolver, domain)


async def _discover_9989(resolver: Resolver, domain: str) -> DmarcDiscovery:
    mode = DmarcMode.RFC9989
    walk = await tree_walk(resolver, domain)
    queries = tuple(s.query for s in walk.steps)
    base = {
        "domain": domain,
        "mode": mode,
        "queries": queries,
        "steps": walk.steps,
        "org_domain": walk.org_domain,
        "walk": walk,
    }
    author = walk.steps[0]
    if author.record is not None:
        return await _found(resolver, base, author, FoundAt.DOMAIN, failures=_failures(walk))
    if walk.failed is not None:
        return _unknown(base, walk.failed)
    org = walk.org_domain
    org_step = walk.step(org) if org and org != domain else None
    if org_step is not None and org_step.record is not None:
        return await _found(resolver, base, org_step, FoundAt.ORGANIZATIONAL)
    psd_step = walk.step(walk.psd_domain) if walk.psd_domain else None
    if psd_step is not None and psd_step.record is not None:
        return await _found(resolver, base, psd_step, FoundAt.PSD)  # §4.10.1: the PSD's policy
    return _none(base, walk.steps)


async def _discover_7489(resolver: Resolver, domain: str) -> DmarcDiscovery:
    mode = DmarcMode.RFC7489
    org = organizational_domain_psl(domain) or domain
    steps = [await _ask(resolver, domain, mode)]
    base: dict[str, Any] = {"domain": domain, "mode": mode, "org_domain": org}
    if not steps[0].answer.failed and not steps[0].candidates and org != domain:
        steps.append(await _ask(resolver, org, mode))
    base["queries"] = tuple(s.query for s in steps)
    base["steps"] = tuple(steps)
    last = steps[-1]
    if last.answer.failed:
        return _unknown(base, last.answer)
    if last.record is not None:
        return await _found(
            resolver, base, last, FoundAt.DOMAIN if last.name == domain else FoundAt.ORGANIZATIONAL
        )
    return _none(base, tuple(steps))


def _failures(walk: TreeWalk) -> tuple[Answer, ...]:
    return (walk.failed,) if walk.failed is not None else ()


async def _found(
    resolver: Resolver,
    base: dict,
    step: WalkStep,
    found_at: FoundAt,
    failures: tuple[Answer, ...] = (),
) -> DmarcDiscovery:
    record = step.record
    assert record is not None
    domain, mode = base["domain"], base["mode"]
    where = _where(found_at, step, base)
    common = dict(
        base,
        record=record,
        record_name=step.query,
        found_at=found_at,
        status=DiscoveryStatus.FOUND,
        failures=failures,
    )
    if not record.valid or record.effective is None:
        why = record.fallback or "the record is invalid"
        return DmarcDiscovery(
            **common,
            applied_policy=None,
            policy_source=PolicySource.NONE,
            explanation=f"{where}, but receivers apply no DMARC: {why}.",
        )
    effective = record.effective
    exists: bool | None = None
    if found_at is FoundAt.DOMAIN:
        source, stated = PolicySource.P, effective.p
        reason = f"its p={stated.value} applies to {domain}"
    elif mode is DmarcMode.RFC9989 and effective.np != effective.sp:
        exists, exist_note = await _author_exists(resolver, domain)
        common["failures"] = failures + exist_note
        source = PolicySource.SP if exists is not False else PolicySource.NP
        stated = effective.sp if source is PolicySource.SP else (effective.np or effective.sp)
        reason = _inherit_reason(record, source, domain, exists)
    else:
        source, stated = PolicySource.SP, effective.sp
        reason = _inherit_reason(record, source, domain, None)
    applied = stated
    if effective.testing and stated is not Policy.NONE:
        applied = stated.step_down()
        reason += f"; t=y asks receivers to apply {applied.value} instead"
    if effective.pct is not None and effective.pct < 100:
        reason += f" (to {effective.pct}% of failing mail; pct={effective.pct})"
    if record.fallback:
        reason += f" ({record.fallback})"
    return DmarcDiscovery(
        **common,
        applied_policy=applied,
        policy_source=source,
        explanation=f"{where}; {reason}.",
        stated_policy=stated,
        author_exists=exists,
    )


def _where(found_at: FoundAt, step: WalkStep, base: dict) -> str:
    domain, mode = base["domain"], base["mode"]
    how = "RFC 9989 tree walk" if mode is DmarcMode.RFC9989 else "RFC 7489, Public Suffix List"
    if found_at is FoundAt.DOMAIN:
        return f"{domain} publishes its own DMARC record at {step.query}"
    if found_at is FoundAt.ORGANIZATIONAL:
        return (
            f"no record at _dmarc.{domain}; its Organizational Domain {step.name} "
            f"({how}) publishes one at {step.query}"
        )
    return (
        f"no record at _dmarc.{domain} or its Organizational Domain "
        f"{base.get('org_domain')}; {step.name} declares itself a public suffix domain "
        f"(psd=y) and its record at {step.query} applies"
    )


def _policy_phrase(record: DmarcRecord, source: str) -> str:
    """``sp=quarantine``, or ``np (not set, so sp (not set, so p=reject))``."""
    effective = record.effective
    assert effective is not None
    value = getattr(effective, source).value
    if source == "p" or source in record.tags:
        return f"{source}={value}"
    parent = "p" if source == "sp" else "sp"
    return f"{source} (not set, so {_policy_phrase(record, parent)})"


def _inherit_reason(record: DmarcRecord, source: str, domain: str, exists: bool | None) -> str:
    phrase = _policy_phrase(record, source)
    if source == "np":
        return (
            f"{domain} does not exist (no A, AAAA or MX), so the non-existent-subdomain "
            f"policy {phrase} applies to it"
        )
    if (
        exists is None
        and record.effective is not None
        and record.effective.np is not None
        and record.effective.np != record.effective.sp
    ):
        return (
            f"whether {domain} exists could not be checked; assuming it does, the "
            f"subdomain policy {phrase} applies to it"
        )
    return f"the subdomain policy {phrase} applies to {domain}"


async def _author_exists(resolver: Resolver, domain: str) -> tuple[bool | None, tuple[Answer, ...]]:
    """RFC 9989 §3.2.12: a domain exists unless A, AAAA and MX are all NXDOMAIN/NODATA."""
    failed: list[Answer] = []
    for rdtype in ("A", "AAAA", "MX"):
        answer = await resolver.query(domain, rdtype)
        if answer.ok:
            return True, ()
        if answer.failed:
            failed.append(answer)
        elif answer.outcome is Outcome.NXDOMAIN:
            return (False, ()) if not failed else (None, tuple(failed))
    return (None, tuple(failed)) if failed else (False, ())


def _unknown(base: dict, failed: Answer) -> DmarcDiscovery:
    return DmarcDiscovery(
        **base,
        record=None,
        record_name=None,
        found_at=FoundAt.UNKNOWN,
        applied_policy=None,
        policy_source=PolicySource.NONE,
        status=DiscoveryStatus.UNKNOWN,
        failures=(failed,),
        explanation=(
            f"the lookup of {failed.name} TXT failed ({failed.describe()}): "
            f"the DMARC policy of {base['domain']} cannot be determined"
        ),
    )


def _none(base: dict, steps: tuple[WalkStep, ...]) -> DmarcDiscovery:
    asked = ", ".join(s.query for s in steps)
    how = (
        "RFC 9989 tree walk"
        if base["mode"] is DmarcMode.RFC9989
        else "RFC 7489, Organizational Domain from the Public Suffix List"
    )
    multiple = [s.query for s in steps if s.multiple]
    note = (
        f"; {', '.join(multiple)} has several v=DMARC1 records, which receivers discard"
        if multiple
        else ""
    )
    return DmarcDiscovery(
        **base,
        record=None,
        record_name=None,
        found_at=FoundAt.NONE,
        applied_policy=None,
        policy_source=PolicySource.NONE,
        status=DiscoveryStatus.NONE,
        explanation=(
            f"no usable DMARC record for {base['domain']} ({how}; asked {asked}){note}: "
            "receivers apply no DMARC policy"
        ),
    )
