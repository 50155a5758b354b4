"""Audit a list of domains: run every posture check concurrently over one resolver.

This is the one place that knows which audits exist; the CLI only collects
options, and renderers only format the :class:`DomainReport` objects it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from dmarc_audit.dmarc.facts import DiscoveryStatus
from dmarc_audit.domains import DomainName
from dmarc_audit.findings import Finding, sort_findings
from dmarc_audit.report import AuditOptions, DomainReport, Profile

if TYPE_CHECKING:
    from dmarc_audit.config import DomainPolicy
    from dmarc_audit.dkim.facts import DkimPosture
    from dmarc_audit.dmarc.facts import DmarcDiscovery
    from dmarc_audit.dns.types import Resolver
    from dmarc_audit.dnssec.facts import DnssecFacts
    from dmarc_audit.dnssec.validate import Validator
    from dmarc_audit.fetch.https import HttpsFetcher
    from dmarc_audit.mailrecords.facts import MailRecordsPosture
    from dmarc_audit.mtasts.facts import MtaStsPosture, PolicyFacts
    from dmarc_audit.mx.facts import MxPosture
    from dmarc_audit.records.dmarc import DmarcMode
    from dmarc_audit.spf.facts import SpfAnalysis

PREFETCH = ("_mta-sts.{d}", "_smtp._tls.{d}", "default._bimi.{d}")


async def audit_spf(resolver: Resolver, domain: DomainName) -> SpfAnalysis:
    """The SPF area alone: walk the record tree, then judge it (``dmarc-audit spf``)."""
    from dmarc_audit.checks import spf as spf_rules
    from dmarc_audit.spf.analyze import analyze_spf

    return spf_rules.judge(await analyze_spf(resolver, domain))


async def audit_dkim(
    resolver: Resolver,
    domain: DomainName,
    selectors: Sequence[str] | None = None,
    *,
    bulk_sender: bool = False,
) -> DkimPosture:
    """The DKIM area alone: look up the selectors' keys, then judge them."""
    from dmarc_audit.checks import dkim as dkim_rules
    from dmarc_audit.dkim.probe import probe_dkim

    facts = await probe_dkim(resolver, domain, selectors)
    return dkim_rules.judge(facts, bulk_sender=bulk_sender)


async def audit_mx(resolver: Resolver, domain: DomainName) -> MxPosture:
    """The MX area alone: look up the exchanges and their addresses, then judge them."""
    from dmarc_audit.checks import mx as mx_rules
    from dmarc_audit.mx.collect import collect_mx

    return mx_rules.judge(await collect_mx(resolver, domain))


def https_fetcher(resolver: Resolver, options: AuditOptions) -> HttpsFetcher:
    """The run's one HTTPS fetcher (cached per URL), as the options say."""
    from dmarc_audit.fetch.https import FetchOptions, HttpsFetcher

    return HttpsFetcher(
        resolver,
        FetchOptions(enabled=options.fetch, ca_file=options.ca_file, port=options.https_port),
    )


async def audit_dmarc(
    resolver: Resolver,
    domain: DomainName,
    mode: DmarcMode | None = None,
    *,
    sends_mail: bool = True,
) -> tuple[DmarcDiscovery, list[Finding]]:
    """The DMARC area alone: discover the policy and look around it, then judge."""
    from dmarc_audit.checks import dmarc as dmarc_rules
    from dmarc_audit.dmarc.collect import collect_dmarc
    from dmarc_audit.records.dmarc import DmarcMode

    facts = await collect_dmarc(resolver, domain, mode or DmarcMode.RFC9989, sends_mail=sends_mail)
    assert facts.discovery is not None
    return facts.discovery, dmarc_rules.judge(facts)


async def audit_mail_records(
    resolver: Resolver, domain: DomainName, *, dmarc_enforced: bool | None
) -> MailRecordsPosture:
    """The ``_mta-sts``, ``_smtp._tls`` and ``default._bimi`` records: look up, then judge.

    ``dmarc_enforced`` is whether DMARC is at enforcement for BIMI's purpose
    (quarantine at 100 % or reject, sp not none); None when that is not known.
    """
    from dmarc_audit.checks import mailrecords as mail_rules
    from dmarc_audit.mailrecords.collect import collect_mail_records

    facts = await collect_mail_records(resolver, domain)
    return mail_rules.judge(facts, dmarc_enforced=dmarc_enforced)


async def audit_helo(resolver: Resolver, helo: str) -> list[Finding]:
    """``spf.helo-missing`` for a sending host's HELO name: look up, then judge."""
    from dmarc_audit.checks.helo import judge_helo
    from dmarc_audit.sending.collect import collect_helo

    return judge_helo(await collect_helo(resolver, helo))


async def audit_sender_ptr(resolver: Resolver, ip: str) -> list[Finding]:
    """``mx.sender-ptr`` (forward-confirmed reverse DNS) for a sending IP."""
    from dmarc_audit.checks.sender_ptr import judge_sender_ptr
    from dmarc_audit.sending.collect import collect_sender_ptr

    return judge_sender_ptr(await collect_sender_ptr(resolver, ip))


async def audit_dnssec(
    validator: Validator | None, domain: str, mx: MxPosture, dmarc: DmarcDiscovery
) -> DnssecFacts | None:
    """The DNSSEC area: validate the domain's chain, answers and MX zones, once per run."""
    if validator is None:
        return None
    from dmarc_audit.dnssec.collect import collect_dnssec

    hosts = [h.exchange for h in mx.hosts]
    return await collect_dnssec(validator, domain, mx_hosts=hosts, dmarc_name=dmarc.record_name)


def make_validator(resolver: Resolver, options: AuditOptions) -> Validator | None:
    """The run's DNSSEC validator (None when DNSSEC is off or DNS gives no DO answers).

    Raises :class:`~dmarc_audit.errors.InputError` for a bad ``--trust-anchor`` file.
    """
    if not options.dnssec or not hasattr(resolver, "query_dnssec"):
        return None
    from dmarc_audit.dnssec.anchor import load_anchor
    from dmarc_audit.dnssec.validate import Validator

    return Validator(resolver, load_anchor(options.trust_anchor))  # type: ignore[arg-type]


async def audit_domain(
    resolver: Resolver,
    domain: DomainName,
    options: AuditOptions,
    fetcher: HttpsFetcher | None = None,
    *,
    validator: Validator | None = None,
) -> DomainReport:
    """Run every posture audit for one domain, with all independent lookups in parallel.

    ``fetcher`` is the run's HTTPS fetcher (one made from ``options`` when None);
    ``validator`` is the run's DNSSEC validator (:func:`make_validator`); without one,
    DNSSEC is not checked.
    """
    from dmarc_audit.checks import dmarc as dmarc_rules
    from dmarc_audit.checks import dnssec as dnssec_rules
    from dmarc_audit.dmarc.collect import collect_dmarc
    from dmarc_audit.records.dmarc import DmarcMode

    name = domain.ascii
    bulk = options.profile is Profile.BULK_SENDER

    async def prefetch() -> None:
        # warm the shared cache so the records that wait for DMARC are already here
        await asyncio.gather(*(resolver.query(t.format(d=name), "TXT") for t in PREFETCH))

    from dmarc_audit.mtasts.collect import collect_mtasts

    fetcher = fetcher or https_fetcher(resolver, options)
    spf, dmarc_facts, dkim, mx, sts_policy, _ = await asyncio.gather(
        audit_spf(resolver, domain),
        collect_dmarc(resolver, domain, DmarcMode(options.dmarc_mode)),
        audit_dkim(resolver, domain, options.selectors, bulk_sender=bulk),
        audit_mx(resolver, domain),
        collect_mtasts(resolver, fetcher, name),
        prefetch(),
    )
    parked = _parked(spf, mx)
    if parked:  # a domain that sends no mail gets other DMARC advice (p=reject is safe)
        dmarc_facts = dmarc_facts.not_sending()
    assert dmarc_facts.discovery is not None
    dmarc, dmarc_found = dmarc_facts.discovery, dmarc_rules.judge(dmarc_facts)
    mail, dnssec = await asyncio.gather(
        audit_mail_records(resolver, domain, dmarc_enforced=dmarc_enforced(dmarc)),
        audit_dnssec(validator, name, mx, dmarc),
    )
    mta_sts = _judge_mtasts(sts_policy, mx)
    by_area = {
        "SPF": spf.findings,
        "DMARC": dmarc_found,
        "DKIM": dkim.findings,
        "MX": mx.findings,
        "MTA-STS/TLS-RPT/BIMI": mail.findings + (mta_sts.findings if mta_sts else ()),
        "parked/bulk": _cross_findings(name, spf, dmarc, dkim, mx, bulk),
        "DNSSEC": dnssec_rules.judge(dnssec) if dnssec is not None else [],
    }
    findings = _apply_profile(_merge(by_area), options.profile)
    if parked:  # sends no mail: nothing to sign
        findings = [f for f in findings if f.id != "dkim.no-key-found"]
    if mx.null_mx:  # takes no mail: nothing to protect in transit
        findings = [f for f in findings if f.id not in ("mtasts.missing", "tlsrpt.missing")]
    from dmarc_audit.checks.existence import judge_existence

    findings = judge_existence(name, spf, sort_findings(findings))
    return DomainReport(
        domain=domain,
        findings=tuple(findings),
        spf=spf,
        dmarc=dmarc,
        dkim=dkim,
        mx=mx,
        mail_records=mail,
        mta_sts=mta_sts,
        dnssec=dnssec,
    )


def _judge_mtasts(facts: PolicyFacts | None, mx: MxPosture) -> MtaStsPosture | None:
    from dmarc_audit.checks import mtasts as mtasts_rules

    return mtasts_rules.judge(facts, mx) if facts is not None else None


def dmarc_enforced(dmarc: DmarcDiscovery) -> bool | None:
    """DMARC at enforcement as BIMI requires it; None when it could not be checked."""
    if dmarc.status is DiscoveryStatus.UNKNOWN:
        return None
    record = dmarc.record
    if dmarc.status is not DiscoveryStatus.FOUND or record is None or record.effective is None:
        return False
    effective = record.effective
    enforcing = ("quarantine", "reject")
    if effective.p.value not in enforcing or effective.sp.value not in enforcing:
        return False
    if effective.pct is not None and effective.pct < 100:
        return False
    return not effective.testing


def _cross_findings(
    domain: str,
    spf: SpfAnalysis,
    dmarc: DmarcDiscovery,
    dkim: DkimPosture,
    mx: MxPosture,
    bulk: bool,
) -> list[Finding]:
    """Rules that need several audits at once: parked domains and bulk senders."""
    from dmarc_audit.checks.parked import bulk_findings, parked_findings

    policy = dmarc.applied_policy.value if dmarc.applied_policy is not None else None
    effective = dmarc.record.effective if dmarc.record is not None else None
    out = parked_findings(
        domain,
        mx=mx,
        spf_record=spf.record,
        spf_status=spf.status.value,
        dmarc_policy=policy,
        dmarc_pct=effective.pct if effective is not None else None,
        dmarc_status=dmarc.status,
    )
    if bulk:
        found: bool | None = bool(dkim.found) or (None if dkim.incomplete else False)
        out.extend(
            bulk_findings(
                domain,
                spf_status=spf.status.value,
                dkim_found=found,
                dmarc_status=dmarc.status,
                dmarc_policy=policy,
            )
        )
    return out


def _parked(spf: SpfAnalysis, mx: MxPosture) -> bool:
    record = (spf.record or "").strip().lower()
    return bool(mx.null_mx) or " ".join(record.split()) == "v=spf1 -all"


def _merge(by_area: dict[str, Sequence[Finding]]) -> list[Finding]:
    """All areas' findings, each failed DNS query reported once.

    Several audits may need the same name (the apex TXT serves SPF and DMARC); their
    ``dns.lookup-failed`` findings about one subject become one finding that names
    every area left unknown.
    """
    out: list[Finding] = []
    failed: dict[str, tuple[int, list[str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for area, findings in by_area.items():
        for f in findings:
            if f.id == "dns.lookup-failed" and f.subject in failed:
                index, areas = failed[f.subject]
                if area not in areas:
                    areas.append(area)
                    merged = out[index]
                    evidence = merged.evidence + tuple(
                        e for e in f.evidence if e not in merged.evidence
                    )
                    out[index] = replace(
                        merged,
                        evidence=evidence,
                        message=(
                            f"{merged.message} (also needed by the {area} checks, "
                            "which are unknown too)"
                        ),
                    )
                continue
            key = (f.id, f.subject, f.message)
            if key in seen:
                continue
            seen.add(key)
            if f.id == "dns.lookup-failed":
                failed[f.subject] = (len(out), [area])
            out.append(f)
    return out


def _apply_profile(findings: list[Finding], profile: Profile) -> list[Finding]:
    if profile is Profile.DEFAULT:
        return findings
    from dmarc_audit.catalog import CATALOG

    raised = []
    for f in findings:
        info = CATALOG.get(f.id)
        if info and info.bulk_severity and info.bulk_severity.rank > f.severity.rank:
            f = f.with_severity(info.bulk_severity)
        raised.append(f)
    return raised


async def audit_domains(
    resolver: Resolver,
    domains: Sequence[DomainName],
    options: AuditOptions,
    *,
    policies: Mapping[str, DomainPolicy] | None = None,
    concurrency: int = 32,
    on_done: Callable[[DomainReport], None] | None = None,
) -> list[DomainReport]:
    """Audit many domains with at most ``concurrency`` in flight; results in input order.

    A domain with an entry in ``policies`` (keyed by its ASCII name) also gets its
    ``policy.*`` findings; the policy's ``dkim_selectors`` become the audit's explicit
    selectors for that domain unless ``options.selectors`` (the command line) already
    names some. ``on_done`` is called with each finished report (a progress bar).
    """
    from dmarc_audit.checks.policy import apply_policy

    gate = asyncio.Semaphore(max(1, concurrency))
    policies = policies or {}
    fetcher = https_fetcher(resolver, options)
    validator = make_validator(resolver, options)

    async def one(domain: DomainName) -> DomainReport:
        policy = policies.get(domain.ascii)
        domain_options = options
        if policy is not None and policy.dkim_selectors and not options.selectors:
            domain_options = replace(options, selectors=policy.dkim_selectors)
        async with gate:
            report = await audit_domain(
                resolver, domain, domain_options, fetcher, validator=validator
            )
        if policy is not None:
            report = apply_policy(report, policy)
        if on_done is not None:
            on_done(report)
        return report

    return list(await asyncio.gather(*(one(d) for d in domains)))
