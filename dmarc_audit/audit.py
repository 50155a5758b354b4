"""Audit a list of domains: run every posture check concurrently over one resolver.

This is the one place that knows which audits exist; the CLI only collects
options, and renderers only format the :class:`DomainReport` objects it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.domains import DomainName
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.findings import FailOn, Finding, Severity, Status, sort_findings

if TYPE_CHECKING:
    from dmarc_audit.dns.types import Resolver
    from dmarc_audit.spf.analyze import SpfAnalysis

SCHEMA_VERSION = 1


class Profile(str, Enum):
    """Which rulebook severities follow."""

    DEFAULT = "default"
    BULK_SENDER = "bulk-sender"


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """What to check and how strictly."""

    profile: Profile = Profile.DEFAULT


@dataclass(frozen=True, slots=True)
class DomainReport:
    """Everything found about one domain."""

    domain: DomainName
    findings: tuple[Finding, ...]
    spf: SpfAnalysis | None = None
    queries: int = 0

    @property
    def incomplete(self) -> bool:
        """Something could not be checked (a finding with status unknown)."""
        return any(f.status is Status.UNKNOWN for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"domain": self.domain.ascii}
        if self.domain.unicode != self.domain.ascii:
            data["domain_unicode"] = self.domain.unicode
        data["findings"] = [f.to_json() for f in self.findings]
        data["spf"] = self.spf.to_json() if self.spf is not None else None
        return data


@dataclass(slots=True)
class BatchResult:
    """Reports in input order plus the inputs that could not be audited."""

    reports: list[DomainReport] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)


async def audit_domain(
    resolver: Resolver, domain: DomainName, options: AuditOptions
) -> DomainReport:
    """Run every posture audit for one domain, concurrently."""
    from dmarc_audit.spf.analyze import analyze_spf

    spf = await analyze_spf(resolver, domain.ascii)
    findings = list(spf.findings)
    return DomainReport(
        domain=domain,
        findings=tuple(sort_findings(_apply_profile(findings, options.profile))),
        spf=spf,
    )


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
    concurrency: int = 32,
    on_done: Callable[[DomainReport], None] | None = None,
) -> list[DomainReport]:
    """Audit many domains with at most ``concurrency`` in flight; results in input order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(domain: DomainName) -> DomainReport:
        async with gate:
            report = await audit_domain(resolver, domain, options)
        if on_done is not None:
            on_done(report)
        return report

    return list(await asyncio.gather(*(one(d) for d in domains)))


def exit_status_for(
    reports: Sequence[DomainReport], fail_on: FailOn, strict: bool, input_errors: bool
) -> ExitStatus:
    """2 for bad input, else 1 for findings at/above ``fail_on``, else 3 if incomplete."""
    if input_errors:
        return ExitStatus.USAGE
    if any(fail_on.trips(f.severity) for r in reports for f in r.findings):
        return ExitStatus.FINDINGS
    if strict and any(r.incomplete for r in reports):
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
