"""``policy.*`` rules: the domain's posture against what the policy file requires.

The rules judge a finished :class:`~dmarc_audit.report.DomainReport` and make no DNS
queries. Expected DKIM selectors are not checked here: they are passed to the audit
as explicit selectors, so a missing one is ``dkim.selector-missing``. A fact that
could not be established (a failed lookup) gives a finding with status unknown
(severity warning; the failed lookup has its own finding), never a violation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dmarc_audit.catalog import finding, rule
from dmarc_audit.checks.parked import is_deny_all_spf, parked_records
from dmarc_audit.config import DomainPolicy, IpNetwork
from dmarc_audit.dmarc.facts import DiscoveryStatus
from dmarc_audit.findings import Finding, Severity, Status, sort_findings
from dmarc_audit.records.dmarc import Alignment, Policy
from dmarc_audit.records.spf import MechanismKind, parse_spf

if TYPE_CHECKING:
    from dmarc_audit.config import DmarcRequirement, SpfRequirement
    from dmarc_audit.dmarc.facts import DmarcDiscovery
    from dmarc_audit.report import DomainReport
    from dmarc_audit.spf.facts import SpfAnalysis, SpfNode


def apply_policy(report: DomainReport, policy: DomainPolicy) -> DomainReport:
    """``report`` with the ``policy.*`` findings added (most severe first)."""
    extra = policy_findings(report, policy)
    if not extra:
        return report
    return replace(report, findings=tuple(sort_findings([*report.findings, *extra])))


def policy_findings(report: DomainReport, policy: DomainPolicy) -> list[Finding]:
    """Every ``policy.*`` finding for one domain."""
    domain = report.domain.ascii
    out: list[Finding] = []
    if policy.dmarc is not None and report.dmarc is not None:
        out += dmarc_policy_findings(domain, report.dmarc, policy.dmarc)
    if policy.spf is not None and report.spf is not None:
        out += spf_policy_findings(domain, report.spf, policy.spf)
    if policy.sends_mail is not None:
        out += sending_findings(report, policy.sends_mail)
    if policy.mta_sts_mode is not None and policy.mta_sts_mode.needs_record:
        out += mta_sts_findings(report, policy.mta_sts_mode.value)
    return out


def _unknown(check_id: str, subject: str, message: str, evidence: Sequence[str] = ()) -> Finding:
    return finding(
        check_id,
        subject,
        message,
        severity=Severity.WARNING,
        status=Status.UNKNOWN,
        evidence=list(evidence),
    )


# --- DMARC -----------------------------------------------------------------------------------


@rule("policy.dmarc-alignment", "policy.dmarc-rua-required", "policy.dmarc-too-weak")
def dmarc_policy_findings(
    domain: str, dmarc: DmarcDiscovery, need: DmarcRequirement
) -> list[Finding]:
    """``policy.dmarc-too-weak``, ``policy.dmarc-rua-required``, ``policy.dmarc-alignment``."""
    subject = dmarc.record_name or f"_dmarc.{domain}"
    wants_policy = need.min_policy is not None or need.min_subdomain_policy is not None
    wants_alignment = need.dkim_alignment is not None or need.spf_alignment is not None
    if dmarc.status is DiscoveryStatus.UNKNOWN:
        note = "the DMARC lookup failed, so the policy file's DMARC rules could not be checked"
        ids = [
            i
            for i, wanted in (
                ("policy.dmarc-too-weak", wants_policy),
                ("policy.dmarc-rua-required", need.require_rua),
                ("policy.dmarc-alignment", wants_alignment),
            )
            if wanted
        ]
        return [_unknown(i, subject, note) for i in ids]
    record = dmarc.record
    effective = record.effective if record is not None else None
    if dmarc.status is not DiscoveryStatus.FOUND or record is None or effective is None:
        suggested = _new_dmarc(domain, need)
        out = []
        if wants_policy:
            out.append(
                finding(
                    "policy.dmarc-too-weak",
                    subject,
                    f"no DMARC record applies to {domain}; the policy file requires "
                    f"{_required(need)}",
                    suggested_record=suggested,
                )
            )
        if need.require_rua:
            out.append(
                finding(
                    "policy.dmarc-rua-required",
                    subject,
                    f"no DMARC record applies to {domain}, so no aggregate reports are sent; "
                    "the policy file requires rua",
                    suggested_record=suggested,
                )
            )
        return out
    out = []
    gaps = _policy_gaps(dmarc, need)
    if gaps:
        changes: dict[str, str] = {}
        if need.min_policy is not None and _rank(dmarc.applied_policy) < need.min_policy.rank:
            changes["p"] = need.min_policy.value
        if (
            need.min_subdomain_policy is not None
            and effective.sp.rank < need.min_subdomain_policy.rank
        ):
            changes["sp"] = need.min_subdomain_policy.value
        out.append(
            finding(
                "policy.dmarc-too-weak",
                subject,
                f"DMARC for {domain} is weaker than the policy file requires: " + "; ".join(gaps),
                record=record.text,
                suggested_record=_edited(dmarc, changes, drop=("pct", "t")),
                evidence=[dmarc.explanation] if dmarc.explanation else [],
            )
        )
    if need.require_rua and not effective.rua:
        out.append(
            finding(
                "policy.dmarc-rua-required",
                subject,
                f"the DMARC record for {domain} has no valid rua; the policy file requires "
                "aggregate reports",
                record=record.text,
                suggested_record=_edited(dmarc, {"rua": f"mailto:dmarc-reports@{domain}"}),
            )
        )
    wrong = [
        (tag, have, want)
        for tag, have, want in (
            ("adkim", effective.adkim, need.dkim_alignment),
            ("aspf", effective.aspf, need.spf_alignment),
        )
        if want is not None and have is not want
    ]
    if wrong:
        out.append(
            finding(
                "policy.dmarc-alignment",
                subject,
                f"DMARC alignment for {domain} differs from the policy file: "
                + "; ".join(
                    f"{tag}={have.value} ({_mode(have)}), required {_mode(want)}"
                    for tag, have, want in wrong
                ),
                record=record.text,
                suggested_record=_edited(dmarc, {tag: want.value for tag, _h, want in wrong}),
            )
        )
    return out


def _policy_gaps(dmarc: DmarcDiscovery, need: DmarcRequirement) -> list[str]:
    record = dmarc.record
    assert record is not None and record.effective is not None
    effective = record.effective
    gaps = []
    applied = dmarc.applied_policy
    if need.min_policy is not None:
        if _rank(applied) < need.min_policy.rank:
            shown = applied.value if applied is not None else "none"
            via = " (t=y lowers it)" if effective.testing else ""
            gaps.append(
                f"receivers apply p={shown}{via}, at least {need.min_policy.value} is required"
            )
        elif (
            need.min_policy is not Policy.NONE and effective.pct is not None and effective.pct < 100
        ):
            gaps.append(
                f"pct={effective.pct}: only {effective.pct}% of failing mail gets "
                f"p={applied.value if applied else 'none'}"
            )
    if need.min_subdomain_policy is not None and effective.sp.rank < need.min_subdomain_policy.rank:
        gaps.append(
            f"sp={effective.sp.value} for subdomains, at least "
            f"{need.min_subdomain_policy.value} is required"
        )
    return gaps


def _rank(policy: Policy | None) -> int:
    return policy.rank if policy is not None else -1


def _required(need: DmarcRequirement) -> str:
    parts = []
    if need.min_policy is not None:
        parts.append(f"p={need.min_policy.value} or stricter")
    if need.min_subdomain_policy is not None:
        parts.append(f"sp={need.min_subdomain_policy.value} or stricter")
    return " and ".join(parts)


def _mode(alignment: Alignment) -> str:
    return "strict" if alignment is Alignment.STRICT else "relaxed"


def _new_dmarc(domain: str, need: DmarcRequirement) -> str:
    p = need.min_policy or Policy.NONE
    tags = [f"v=DMARC1; p={p.value}"]
    if need.min_subdomain_policy is not None and need.min_subdomain_policy is not p:
        tags.append(f"sp={need.min_subdomain_policy.value}")
    tags.append(f"rua=mailto:dmarc-reports@{domain}")
    for tag, want in (("adkim", need.dkim_alignment), ("aspf", need.spf_alignment)):
        if want is Alignment.STRICT:
            tags.append(f"{tag}=s")
    return f'_dmarc.{domain}. TXT "{"; ".join(tags)}"'


def _edited(
    dmarc: DmarcDiscovery, changes: dict[str, str], drop: tuple[str, ...] = ()
) -> str | None:
    """The applicable record with ``changes`` made, as a zone-file line at its name."""
    record = dmarc.record
    if record is None or dmarc.record_name is None:
        return None
    tags: list[tuple[str, str]] = []
    for part in record.text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            tags.append((name.strip().lower(), value.strip()))
    if not changes and not any(name in drop for name, _v in tags):
        return None
    done = set()
    out = []
    for name, value in tags:
        if name in drop and name not in changes:
            continue
        if name in changes:
            value = changes[name]
            done.add(name)
        out.append(f"{name}={value}")
    out += [f"{name}={value}" for name, value in changes.items() if name not in done]
    return f'{dmarc.record_name}. TXT "{"; ".join(out)}"'


# --- SPF -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpfTerms:
    """The senders a domain's SPF record names: include targets and ip4/ip6 networks.

    Terms of the record a ``redirect=`` names count as the domain's own.
    """

    includes: tuple[str, ...]
    networks: tuple[tuple[str, IpNetwork], ...]
    """``(term as written, network)``."""

    @property
    def terms(self) -> tuple[str, ...]:
        """``include:x`` and ``ip4:…`` strings, for display and diffs."""
        return (*(f"include:{d}" for d in self.includes), *(text for text, _ in self.networks))


def spf_terms(spf: SpfAnalysis) -> SpfTerms | None:
    """The senders of ``spf``'s record (None when there is no record to read)."""
    if spf.record is None:
        return None
    records = [spf.record]
    if spf.tree is not None:
        records += _redirect_records(spf.tree)
    includes: dict[str, None] = {}
    networks: dict[str, IpNetwork] = {}
    for text in records:
        for mech in parse_spf(text).mechanisms:
            if mech.kind is MechanismKind.INCLUDE and mech.domain_spec:
                includes.setdefault(mech.domain_spec.lower().rstrip("."), None)
            elif mech.kind in (MechanismKind.IP4, MechanismKind.IP6) and mech.network:
                network = _network(
                    mech.network, mech.cidr4 if mech.kind is MechanismKind.IP4 else mech.cidr6
                )
                if network is not None:
                    networks.setdefault(mech.text.lstrip("+-~?"), network)
    return SpfTerms(tuple(includes), tuple(networks.items()))


def _redirect_records(node: SpfNode) -> list[str]:
    out = []
    for child in node.children:
        if (child.term or "").lower().startswith("redirect=") and child.record:
            out.append(child.record)
            out += _redirect_records(child)
    return out


def _network(address: str, length: int | None) -> IpNetwork | None:
    try:
        if length is None:
            return ipaddress.ip_network(address, strict=False)
        return ipaddress.ip_network(f"{address}/{length}", strict=False)
    except ValueError:
        return None


@rule(
    "policy.spf-include-required-missing",
    "policy.spf-ip-required-missing",
    "policy.spf-over-budget",
)
def spf_policy_findings(domain: str, spf: SpfAnalysis, need: SpfRequirement) -> list[Finding]:
    """``policy.spf-over-budget`` and the allowed/required include and network rules."""
    out: list[Finding] = []
    temperror = spf.status.value == "temperror"
    if need.max_lookups is not None:
        costs = [
            f"{c.term or c.domain}: {c.lookups}"
            for c in (spf.tree.children if spf.tree is not None else ())
            if c.lookups
        ]
        if spf.lookups > need.max_lookups:
            out.append(
                finding(
                    "policy.spf-over-budget",
                    domain,
                    f"SPF for {domain} needs {spf.lookups} DNS lookups; the policy file's budget "
                    f"is {need.max_lookups}",
                    record=spf.record,
                    evidence=costs,
                )
            )
        elif temperror:
            out.append(
                _unknown(
                    "policy.spf-over-budget",
                    domain,
                    f"SPF lookups for {domain} could not all be counted (temperror); "
                    f"{spf.lookups} so far, budget {need.max_lookups}",
                    costs,
                )
            )
    wants_terms = bool(
        need.required_includes
        or need.required_ips
        or need.allowed_includes is not None
        or need.allowed_ips is not None
    )
    if not wants_terms:
        return out
    terms = spf_terms(spf)
    if terms is None:
        if temperror:
            ids = [
                i
                for i, wanted in (
                    ("policy.spf-include-required-missing", need.required_includes),
                    ("policy.spf-ip-required-missing", need.required_ips),
                )
                if wanted
            ]
            out += [
                _unknown(i, domain, f"the SPF record of {domain} could not be read (lookup failed)")
                for i in ids
            ]
            return out
        missing = [f"include:{d}" for d in need.required_includes]
        if missing:
            out.append(
                finding(
                    "policy.spf-include-required-missing",
                    domain,
                    f"{domain} has no SPF record; the policy file requires {', '.join(missing)}",
                )
            )
        if need.required_ips:
            out.append(
                finding(
                    "policy.spf-ip-required-missing",
                    domain,
                    f"{domain} has no SPF record; the policy file requires "
                    + ", ".join(str(n) for n in need.required_ips),
                )
            )
        return out
    out += _include_findings(domain, spf.record, terms, need)
    out += _network_findings(domain, spf.record, terms, need)
    return out


@rule("policy.spf-include-not-allowed", "policy.spf-include-required-missing")
def _include_findings(
    domain: str, record: str | None, terms: SpfTerms, need: SpfRequirement
) -> list[Finding]:
    out = []
    for target in terms.includes:
        if not need.include_allowed(target):
            out.append(
                finding(
                    "policy.spf-include-not-allowed",
                    domain,
                    f"SPF for {domain} includes {target}, which is not in the policy file's "
                    "allowed_includes",
                    record=record,
                    evidence=[f"allowed: {', '.join(need.allowed_includes or ())}"],
                )
            )
    missing = [t for t in need.required_includes if t not in terms.includes]
    if missing:
        out.append(
            finding(
                "policy.spf-include-required-missing",
                domain,
                f"SPF for {domain} lacks required "
                + ", ".join(f"include:{t}" for t in missing)
                + ": mail from that sender starts failing SPF",
                record=record,
                evidence=[f"required: include:{t}" for t in missing],
            )
        )
    return out


@rule("policy.spf-ip-not-allowed", "policy.spf-ip-required-missing")
def _network_findings(
    domain: str, record: str | None, terms: SpfTerms, need: SpfRequirement
) -> list[Finding]:
    out = []
    for text, network in terms.networks:
        if not need.ip_allowed(network):
            out.append(
                finding(
                    "policy.spf-ip-not-allowed",
                    domain,
                    f"SPF for {domain} authorises {text}, which is outside the policy file's "
                    "allowed_ips",
                    record=record,
                    evidence=[f"allowed: {', '.join(str(n) for n in need.allowed_ips or ())}"],
                )
            )
    missing = [
        n
        for n in need.required_ips
        if not any(
            n.version == have.version and n.subnet_of(have)  # type: ignore[arg-type]
            for _t, have in terms.networks
        )
    ]
    if missing:
        out.append(
            finding(
                "policy.spf-ip-required-missing",
                domain,
                f"SPF for {domain} does not cover required network"
                f"{'s' if len(missing) > 1 else ''} " + ", ".join(str(n) for n in missing),
                record=record,
            )
        )
    return out


# --- sending or parked -----------------------------------------------------------------------


@rule("mx.null-mx-not-locked", "policy.parked-sends-mail", "policy.sending-domain-parked")
def sending_findings(report: DomainReport, sends_mail: bool) -> list[Finding]:
    """``policy.parked-sends-mail`` (declared parked) / ``policy.sending-domain-parked``."""
    domain = report.domain.ascii
    spf, dmarc, mx = report.spf, report.dmarc, report.mx
    spf_record = spf.record if spf is not None else None
    deny_all = spf_record is not None and is_deny_all_spf(spf_record)
    mx_status = str(getattr(mx.status, "value", mx.status)) if mx is not None else None
    if sends_mail:
        reasons = []
        if deny_all:
            reasons.append("its SPF record is 'v=spf1 -all' (no host may send)")
        if mx_status == "null":
            reasons.append("it has a null MX (takes no mail, so receivers may refuse its mail)")
        if not reasons:
            return []
        return [
            finding(
                "policy.sending-domain-parked",
                domain,
                f"the policy file says {domain} sends mail, but " + " and ".join(reasons),
                record=spf_record,
            )
        ]
    if any(f.id == "mx.null-mx-not-locked" for f in report.findings):
        return []  # the same gaps are already reported for this domain
    gaps: list[str] = []
    unknown: list[str] = []
    if spf is not None:
        if spf.status.value == "temperror":
            unknown.append("SPF could not be checked (temperror)")
        elif not deny_all:
            gaps.append(
                f"SPF is {spf_record!r}, not 'v=spf1 -all'"
                if spf_record
                else "no SPF record ('v=spf1 -all' needed)"
            )
    if dmarc is not None:
        gaps_dmarc, unknown_dmarc = _parked_dmarc_gaps(dmarc)
        gaps += gaps_dmarc
        unknown += unknown_dmarc
    if gaps:
        return [
            finding(
                "policy.parked-sends-mail",
                domain,
                f"the policy file says {domain} sends no mail, but it is not locked against "
                "spoofing: " + "; ".join(gaps),
                record=spf_record,
                suggested_record=parked_records(domain, with_null_mx=mx_status in ("null", "none")),
                evidence=[*gaps, *(f"not checked: {u}" for u in unknown)],
            )
        ]
    if unknown:
        return [
            _unknown(
                "policy.parked-sends-mail",
                domain,
                f"the parked-domain lock-down of {domain} could not be fully checked: "
                + "; ".join(unknown),
            )
        ]
    return []


def _parked_dmarc_gaps(dmarc: DmarcDiscovery) -> tuple[list[str], list[str]]:
    if dmarc.status is DiscoveryStatus.UNKNOWN:
        return [], ["DMARC could not be checked (lookup failed)"]
    record = dmarc.record
    if dmarc.status is not DiscoveryStatus.FOUND or record is None or record.effective is None:
        return ["no DMARC record (p=reject needed)"], []
    if dmarc.applied_policy is not Policy.REJECT:
        shown = dmarc.applied_policy.value if dmarc.applied_policy else "none"
        return [f"DMARC policy is p={shown}, not p=reject"], []
    pct = record.effective.pct
    if pct is not None and pct < 100:
        return [f"DMARC p=reject applies to only {pct}% of mail (pct={pct})"], []
    return [], []


# --- MTA-STS ---------------------------------------------------------------------------------


_STRICTNESS = {"none": 0, "testing": 1, "enforce": 2}


@rule("policy.mta-sts-mode")
def _mode_findings(report: DomainReport, mode: str) -> list[Finding]:
    sts = report.mta_sts
    if sts is None or sts.status not in _STRICTNESS or _STRICTNESS[sts.status] >= _STRICTNESS[mode]:
        return []
    return [
        finding(
            "policy.mta-sts-mode",
            sts.facts.url,
            f"the policy file expects MTA-STS mode {mode} for {report.domain.ascii}, but the "
            f"policy served says mode: {sts.status}",
            remediation=f"Change the policy to mode: {mode} and publish a new id= in the "
            "_mta-sts record",
            evidence=[f"GET {sts.facts.url}: {sts.facts.fetch.describe()}"],
        )
    ]


@rule("mtasts.record-invalid", "policy.mta-sts-mode")
def mta_sts_findings(report: DomainReport, mode: str) -> list[Finding]:
    """``policy.mta-sts-mode``: the record must be there, and the fetched policy's mode at
    least as strict as ``mode`` (not compared when the policy was not fetched or is invalid,
    which ``mtasts.policy-invalid`` reports)."""
    from dmarc_audit.records.mtasts import parse_sts

    domain = report.domain.ascii
    name = f"_mta-sts.{domain}"
    mail = report.mail_records
    if mail is None:
        return []
    if mail.mta_sts is not None and parse_sts(mail.mta_sts).valid:
        return _mode_findings(report, mode)
    about = [f for f in report.findings if f.subject == name]
    if any(f.status is Status.UNKNOWN for f in about):
        return [
            _unknown(
                "policy.mta-sts-mode",
                name,
                f"the MTA-STS record of {domain} could not be looked up; the policy "
                f"file expects mode {mode}",
            )
        ]
    problem = (
        "it is invalid"
        if mail.mta_sts is not None or any(f.id == "mtasts.record-invalid" for f in about)
        else "there is none"
    )
    return [
        finding(
            "policy.mta-sts-mode",
            name,
            f"the policy file expects MTA-STS mode {mode} for {domain}, but no valid record is at "
            f"{name} ({problem})",
            record=mail.mta_sts,
            evidence=[f.message for f in about],
        )
    ]
