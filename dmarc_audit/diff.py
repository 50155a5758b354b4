"""Posture diff: what a proposed DNS change does to each domain's findings.

Two audits of the same domains (before: the current zone or live DNS; after: the
proposed zone) are compared finding by finding, keyed by ``(id, subject)`` so that
a changed message or count is the same finding. The diff also shows the change in
SPF lookups, DMARC policy changes, and SPF senders removed, marking those the policy
file requires: their mail would start failing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.findings import FailOn, Finding, Severity

if TYPE_CHECKING:
    from dmarc_audit.checks.policy import SpfTerms
    from dmarc_audit.config import DomainPolicy, IpNetwork
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.report import DomainReport

DIFF_SCHEMA_VERSION = 1


class Verdict(str, Enum):
    """How a change moves one domain's posture (judged at ``--fail-on``)."""

    WORSE = "worse"
    """A finding at or above the threshold appeared, or was raised to it."""
    BETTER = "better"
    """Findings were fixed (or lowered) and none got worse at the threshold."""
    CHANGED = "changed"
    """Findings below the threshold appeared; nothing at the threshold did."""
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class SeverityChange:
    """A finding present before and after, at another severity."""

    finding: Finding
    before: Severity

    @property
    def raised(self) -> bool:
        return self.finding.severity.rank > self.before.rank


@dataclass(frozen=True, slots=True)
class SpfDelta:
    """SPF lookups and the senders (include targets, ip4/ip6 terms) before and after."""

    lookups_before: int | None
    lookups_after: int | None
    terms_added: tuple[str, ...] = ()
    terms_removed: tuple[str, ...] = ()

    @property
    def delta(self) -> int | None:
        if self.lookups_before is None or self.lookups_after is None:
            return None
        return self.lookups_after - self.lookups_before


@dataclass(frozen=True, slots=True)
class DmarcDelta:
    """The DMARC policy receivers apply (``p``) and the subdomain policy, before and after."""

    policy_before: str | None
    policy_after: str | None
    subdomain_before: str | None
    subdomain_after: str | None
    record_before: str | None
    record_after: str | None

    @property
    def changed(self) -> bool:
        return (self.policy_before, self.subdomain_before, self.record_before) != (
            self.policy_after,
            self.subdomain_after,
            self.record_after,
        )

    @property
    def weaker(self) -> bool:
        """The applied policy or the subdomain policy went down (none < quarantine < reject)."""
        return _policy_rank(self.policy_after) < _policy_rank(self.policy_before) or _policy_rank(
            self.subdomain_after
        ) < _policy_rank(self.subdomain_before)


_POLICY_RANK = {"none": 0, "quarantine": 1, "reject": 2}


def _policy_rank(policy: str | None) -> int:
    return _POLICY_RANK.get(policy or "", -1)


@dataclass(frozen=True, slots=True)
class DomainDiff:
    """One domain before and after the change."""

    domain: str
    added: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    severity_changed: tuple[SeverityChange, ...]
    spf: SpfDelta
    dmarc: DmarcDelta
    senders_failing: tuple[str, ...]
    """SPF terms the change removes that the policy file requires."""
    baselined: frozenset[Finding] = frozenset()
    """Added findings that the baseline accepts (they never make the posture worse)."""

    def worse_findings(self, fail_on: FailOn) -> tuple[Finding, ...]:
        """Findings that make the posture worse at ``fail_on``: new or raised into it."""
        added = [f for f in self.added if f not in self.baselined and fail_on.trips(f.severity)]
        raised = [
            c.finding
            for c in self.severity_changed
            if c.raised
            and fail_on.trips(c.finding.severity)
            and not fail_on.trips(c.before)
            and c.finding not in self.baselined
        ]
        return tuple(added + raised)

    def verdict(self, fail_on: FailOn) -> Verdict:
        if self.worse_findings(fail_on):
            return Verdict.WORSE
        if self.added or any(c.raised for c in self.severity_changed):
            return Verdict.CHANGED
        if self.fixed or self.severity_changed:
            return Verdict.BETTER
        changed = (
            self.spf.terms_added or self.spf.terms_removed or self.dmarc.changed or self.spf.delta
        )
        return Verdict.CHANGED if changed else Verdict.UNCHANGED

    def to_json(self, fail_on: FailOn) -> dict[str, object]:
        def shown(f: Finding) -> dict[str, object]:
            return {**f.to_json(), "baselined": f in self.baselined}

        return {
            "domain": self.domain,
            "verdict": self.verdict(fail_on).value,
            "added": [shown(f) for f in self.added],
            "fixed": [f.to_json() for f in self.fixed],
            "severity_changed": [
                {
                    "id": c.finding.id,
                    "subject": c.finding.subject,
                    "before": c.before.value,
                    "after": c.finding.severity.value,
                }
                for c in self.severity_changed
            ],
            "spf": {
                "lookups_before": self.spf.lookups_before,
                "lookups_after": self.spf.lookups_after,
                "lookups_delta": self.spf.delta,
                "terms_added": list(self.spf.terms_added),
                "terms_removed": list(self.spf.terms_removed),
            },
            "dmarc": {
                "policy_before": self.dmarc.policy_before,
                "policy_after": self.dmarc.policy_after,
                "subdomain_policy_before": self.dmarc.subdomain_before,
                "subdomain_policy_after": self.dmarc.subdomain_after,
                "record_before": self.dmarc.record_before,
                "record_after": self.dmarc.record_after,
                "changed": self.dmarc.changed,
                "weaker": self.dmarc.weaker,
            },
            "senders_failing": list(self.senders_failing),
        }


@dataclass(frozen=True, slots=True)
class PostureDiff:
    """The diff of every domain, in input order."""

    before: str
    """What was compared against: zone files, or ``live``."""
    after: str
    domains: tuple[DomainDiff, ...]

    def worse(self, fail_on: FailOn) -> bool:
        return any(d.worse_findings(fail_on) for d in self.domains)

    def to_json(self, fail_on: FailOn) -> dict[str, object]:
        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "before": self.before,
            "after": self.after,
            "fail_on": fail_on.value,
            "worse": self.worse(fail_on),
            "domains": [d.to_json(fail_on) for d in self.domains],
        }


def diff_reports(
    before: Sequence[GatedReport],
    after: Sequence[GatedReport],
    policies: Mapping[str, DomainPolicy] | None = None,
    *,
    before_label: str = "before",
    after_label: str = "after",
) -> PostureDiff:
    """Compare two gated audits of the same domains (matched by name, ``after``'s order)."""
    old = {g.domain: g for g in before}
    out = []
    for new in after:
        previous = old.get(new.domain)
        policy = (policies or {}).get(new.domain)
        out.append(diff_domain(previous, new, policy))
    return PostureDiff(before_label, after_label, tuple(out))


def diff_domain(
    before: GatedReport | None, after: GatedReport, policy: DomainPolicy | None
) -> DomainDiff:
    """One domain's :class:`DomainDiff` (``before`` None: everything is added)."""
    old_report = before.report if before is not None else None
    added, fixed, changed = _match(old_report.findings if old_report else (), after.report.findings)
    old_terms, new_terms = _terms(old_report), _terms(after.report)
    return DomainDiff(
        domain=after.domain,
        added=added,
        fixed=fixed,
        severity_changed=changed,
        spf=SpfDelta(
            _lookups(old_report),
            _lookups(after.report),
            terms_added=tuple(t for t in _texts(new_terms) if t not in _texts(old_terms)),
            terms_removed=tuple(t for t in _texts(old_terms) if t not in _texts(new_terms)),
        ),
        dmarc=_dmarc_delta(old_report, after.report),
        senders_failing=_failing(old_terms, new_terms, policy),
        baselined=frozenset(f for f in added if after.is_baselined(f)),
    )


def _match(
    old: Sequence[Finding], new: Sequence[Finding]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...], tuple[SeverityChange, ...]]:
    """Pair findings by ``(id, subject)``, in order; unpaired ones were added or fixed."""
    by_key: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in old:
        by_key[(f.id, f.subject)].append(f)
    added: list[Finding] = []
    changed: list[SeverityChange] = []
    for f in new:
        bucket = by_key.get((f.id, f.subject))
        if not bucket:
            added.append(f)
            continue
        previous = bucket.pop(0)
        if previous.severity is not f.severity:
            changed.append(SeverityChange(f, previous.severity))
    left = {id(f) for bucket in by_key.values() for f in bucket}
    fixed = [f for f in old if id(f) in left]
    return tuple(added), tuple(fixed), tuple(changed)


def _lookups(report: DomainReport | None) -> int | None:
    if report is None or report.spf is None or report.spf.record is None:
        return None
    return report.spf.lookups


def _terms(report: DomainReport | None) -> SpfTerms | None:
    from dmarc_audit.checks.policy import spf_terms

    if report is None or report.spf is None:
        return None
    return spf_terms(report.spf)


def _texts(terms: SpfTerms | None) -> tuple[str, ...]:
    return terms.terms if terms is not None else ()


def _failing(
    old: SpfTerms | None, new: SpfTerms | None, policy: DomainPolicy | None
) -> tuple[str, ...]:
    """Required senders that the old record covered and the new one does not."""
    if policy is None or policy.spf is None or old is None:
        return ()
    out = []
    for target in policy.spf.required_includes:
        if target in old.includes and (new is None or target not in new.includes):
            out.append(f"include:{target}")
    for network in policy.spf.required_ips:
        if _covers(old, network) and not _covers(new, network):
            out.append(str(network))
    return tuple(out)


def _covers(terms: SpfTerms | None, network: IpNetwork) -> bool:
    return terms is not None and any(
        network.version == have.version and network.subnet_of(have)  # type: ignore[arg-type]
        for _t, have in terms.networks
    )


def _dmarc_delta(before: DomainReport | None, after: DomainReport) -> DmarcDelta:
    def facts(report: DomainReport | None) -> tuple[str | None, str | None, str | None]:
        dmarc = report.dmarc if report is not None else None
        if dmarc is None or dmarc.record is None:
            return None, None, None
        effective = dmarc.record.effective
        policy = dmarc.applied_policy.value if dmarc.applied_policy is not None else None
        sp = effective.sp.value if effective is not None else None
        return policy, sp, dmarc.record.text

    p0, sp0, r0 = facts(before)
    p1, sp1, r1 = facts(after)
    return DmarcDelta(p0, p1, sp0, sp1, r0, r1)
