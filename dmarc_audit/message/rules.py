"""Message-mode findings: ``dkim.*``, ``align.*``, ``bulk.one-click-unsubscribe`` and friends.

Each rule reads the finished :class:`~dmarc_audit.message.report.MessageReport` and
says what is wrong and how to fix it, naming the domains and selectors involved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dmarc_audit.catalog import finding, rule
from dmarc_audit.dmarc.facts import DiscoveryStatus
from dmarc_audit.findings import Finding, Severity, Status, sort_findings
from dmarc_audit.message.dkim_verify import DkimReason, DkimVerification
from dmarc_audit.message.report import DmarcResult, MessageReport
from dmarc_audit.records.dmarc import Alignment

_SIGNATURE_INVALID = frozenset(
    {
        DkimReason.BODY_HASH_MISMATCH,
        DkimReason.SIGNATURE_MISMATCH,
        DkimReason.SYNTAX,
        DkimReason.EXPIRED,
        DkimReason.FUTURE_TIMESTAMP,
        DkimReason.FROM_NOT_SIGNED,
        DkimReason.KEY_TYPE_MISMATCH,
        DkimReason.KEY_STRICT_IDENTITY,
    }
)
_KEY_IDS = {
    DkimReason.KEY_NOT_FOUND: "dkim.selector-missing",
    DkimReason.KEY_REVOKED: "dkim.key-revoked",
    DkimReason.KEY_INVALID: "dkim.key-invalid",
    DkimReason.KEY_UNKNOWN_TYPE: "dkim.unknown-key-type",
    DkimReason.KEY_NOT_FOR_EMAIL: "dkim.service-not-email",
    DkimReason.KEY_TOO_SHORT: "dkim.rsa-too-short",
    DkimReason.SHA1: "dkim.sha1",
}
_KEY_POSTURE = ("dkim.rsa-1024", "dkim.testing-mode", "dkim.pkcs1-key-format", "dkim.sha1")


def message_findings(report: MessageReport) -> list[Finding]:
    """Every finding for the message, most severe first."""
    found: list[Finding] = []
    for rules in (
        _dkim_rules,
        _key_posture,
        _spf_rules,
        _policy_rules,
        _alignment_rules,
        _bulk_rules,
    ):
        found.extend(rules(report))
    return sort_findings(found)


def _dkim_subject(v: DkimVerification) -> str:
    return f"d={v.domain or '?'} s={v.signature.selector or '?'}"


@rule(
    "dkim.body-length-tag",
    "dkim.key-invalid",
    "dkim.key-revoked",
    "dkim.rsa-too-short",
    "dkim.selector-missing",
    "dkim.service-not-email",
    "dkim.sha1",
    "dkim.signature-invalid",
    "dkim.unknown-key-type",
    "dns.lookup-failed",
)
def _dkim_rules(report: MessageReport) -> Iterator[Finding]:
    """A failing signature: the reason's own id, with the precise detail."""
    for v in report.dkim:
        subject = _dkim_subject(v)
        record = v.key.text if v.key is not None else None
        if "dkim.body-length-tag" in v.warnings:
            yield finding(
                "dkim.body-length-tag",
                subject,
                f"DKIM {subject} signs only the first {v.signature.body_length} "
                "bytes of the body (l=): anything appended later still verifies",
            )
        if v.passed:
            continue
        message = f"DKIM {subject} {v.result.value}: {v.detail}"
        if v.reason is DkimReason.KEY_LOOKUP_FAILED:
            yield finding(
                "dns.lookup-failed", v.key_name or subject, message, status=Status.UNKNOWN
            )
        elif v.reason in _SIGNATURE_INVALID:
            yield finding(
                "dkim.signature-invalid", subject, message, remediation=_signature_fix(v, report)
            )
        elif v.reason is DkimReason.KEY_HASH_NOT_ALLOWED:
            only_sha1 = v.key is not None and v.key.hash_algorithms == ("sha1",)
            yield finding(
                "dkim.sha1" if only_sha1 else "dkim.key-invalid",
                subject,
                message,
                severity=Severity.ERROR,
                record=record,
                remediation="Remove h= from the key record (or set h=sha256)",
            )
        else:
            check_id = _KEY_IDS[v.reason]
            yield finding(
                check_id,
                subject,
                message,
                severity=Severity.ERROR,
                record=record,
                remediation=_key_fix(v),
            )


def _signature_fix(v: DkimVerification, report: MessageReport) -> str:
    reason = v.reason
    if reason is DkimReason.BODY_HASH_MISMATCH:
        hop = report.arc.first_hop
        via = f" (the ARC chain shows {hop.seal_domain} handled it)" if hop else ""
        return (
            "The body changed after signing" + via + ": a gateway, disclaimer, list "
            "footer or re-encoding alters it. Sign after such changes, or have the "
            "intermediary add ARC and the receiver trust it"
        )
    if reason is DkimReason.SIGNATURE_MISMATCH:
        return (
            "A signed header field changed or was added after signing, or the published "
            "key is not the signing key: compare the selector's key with the signer's"
        )
    if reason is DkimReason.FROM_NOT_SIGNED:
        return "Configure the signer to include From in h="
    if reason is DkimReason.EXPIRED:
        return "Re-send, or use a longer x= expiry (or none) at the signer"
    if reason is DkimReason.KEY_TYPE_MISMATCH:
        return "Publish the key of the type the signer uses (k=rsa or k=ed25519) at the selector"
    if reason is DkimReason.KEY_STRICT_IDENTITY:
        return "Remove t=s from the key record, or sign with i= in exactly the d= domain"
    return "Fix the DKIM-Signature the signer produces (see the detail)"


def _key_fix(v: DkimVerification) -> str | None:
    name = v.key_name or "the selector"
    if v.reason is DkimReason.KEY_NOT_FOUND:
        return (
            f"Publish the public key of selector {v.signature.selector} at {name}, or "
            "have the signer use a selector that is published"
        )
    if v.reason is DkimReason.KEY_REVOKED:
        return (
            f"The sender still signs with the revoked selector {v.signature.selector}: "
            "switch the signer to the current selector (or publish the key again)"
        )
    if v.reason is DkimReason.SHA1:
        return "Sign with rsa-sha256 (or ed25519-sha256 alongside it)"
    return None


@rule("dkim.pkcs1-key-format", "dkim.rsa-1024", "dkim.sha1", "dkim.testing-mode")
def _key_posture(report: MessageReport) -> Iterator[Finding]:
    """Warnings about the keys that verified signatures (1024-bit RSA, t=y, PKCS#1)."""
    seen: set[str] = set()
    for v in report.dkim:
        key = v.key
        if not v.passed or key is None or v.key_name in seen:
            continue
        seen.add(v.key_name or "")
        for problem in key.problems:
            if problem.check_id in _KEY_POSTURE:
                yield finding(
                    problem.check_id,
                    v.key_name or _dkim_subject(v),
                    f"{v.key_name}: {problem.message}",
                    record=key.text,
                )


@rule("spf.temperror")
def _spf_rules(report: MessageReport) -> Iterator[Finding]:
    spf = report.spf
    if spf.code == "temperror" and spf.result is not None:
        yield finding(
            "spf.temperror",
            spf.domain or "?",
            f"SPF for {spf.domain}: temperror ({spf.result.reason})",
            status=Status.UNKNOWN,
            evidence=spf.result.steps,
        )


@rule("align.none", "dmarc.missing", "dns.lookup-failed")
def _policy_rules(report: MessageReport) -> Iterator[Finding]:
    """No usable From, no DMARC record, or a policy lookup that failed."""
    dmarc = report.dmarc
    if dmarc.result is DmarcResult.PERMERROR:
        yield finding(
            "align.none",
            "From",
            dmarc.reason + ": DMARC cannot pass",
            remediation="Send with exactly one From header field holding addresses "
            "in one domain, the domain you authenticate",
        )
        return
    discovery = dmarc.discovery
    if discovery is None:
        return
    if discovery.status is DiscoveryStatus.UNKNOWN:
        failed = discovery.failures[0] if discovery.failures else None
        yield finding(
            "dns.lookup-failed",
            failed.name if failed else dmarc.from_domain or "",
            discovery.explanation,
            status=Status.UNKNOWN,
        )
    elif discovery.status is DiscoveryStatus.NONE:
        domain = dmarc.from_domain or ""
        yield finding(
            "dmarc.missing",
            domain,
            f"{domain} has no DMARC record: receivers "
            "apply no policy and Gmail, Yahoo and Microsoft treat bulk mail from it "
            "as non-compliant",
            suggested_record=f"_dmarc.{domain} TXT "
            f'"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"',
        )


@rule("align.spf-unaligned")
def _alignment_rules(report: MessageReport) -> Iterator[Finding]:
    """Unaligned passes with the fix that aligns them; strict mode; DMARC failure."""
    dmarc = report.dmarc
    from_domain = dmarc.from_domain
    if from_domain is None:
        return
    aligned = dmarc.aligned_pass
    strict_blocked = [c for c in (*dmarc.dkim, dmarc.spf) if c is not None and c.strict_blocks]
    if "dkim" not in aligned:
        for check in dmarc.dkim:
            if (
                check.aligned is False
                and not check.strict_blocks
                and _dkim_passed(report, check.domain)
                and not _intermediary(report, check.domain)
            ):
                yield _dkim_unaligned(
                    report, check.domain, from_domain, check.org_domain, check.from_org_domain
                )
    spf = dmarc.spf
    if (
        spf is not None
        and report.spf.passed
        and spf.aligned is False
        and not spf.strict_blocks
        and "spf" not in aligned
        and not _intermediary(report, spf.domain)
    ):
        yield finding(
            "align.spf-unaligned",
            from_domain,
            f"SPF passes for the MAIL FROM domain {spf.domain} (Organizational Domain "
            f"{spf.org_domain}), which is not aligned with the From domain {from_domain} "
            f"({spf.from_org_domain})",
            remediation=f"Set up a custom Return-Path (bounce) domain under {from_domain} at "
            f"the sender that uses {spf.domain}, e.g. bounce.{from_domain}, so "
            "SPF passes for your own domain",
        )
    yield from _strict_rules(report, strict_blocked)
    if dmarc.result is DmarcResult.FAIL:
        yield _align_none(report)


def _intermediary(report: MessageReport, domain: str) -> bool:
    """True when ``domain`` belongs to an ARC sealer: a forwarder, not the sender's ESP."""
    sealers = {h.seal_domain for h in report.arc.hops if h.seal_domain}
    return any(domain == s or domain.endswith("." + s) for s in sealers)


def _dkim_passed(report: MessageReport, domain: str) -> bool:
    return any(v.passed and (v.domain or "").lower() == domain for v in report.dkim)


@rule("align.dkim-unaligned")
def _dkim_unaligned(
    report: MessageReport, domain: str, from_domain: str, org: str | None, from_org: str | None
) -> Finding:
    selectors = sorted(
        {
            v.signature.selector or "?"
            for v in report.dkim
            if v.passed and (v.domain or "").lower() == domain
        }
    )
    selector = selectors[0] if selectors else "s1"
    fix = (
        f"The message is signed by {domain}, not by {from_domain}: your ESP signs as "
        f"{domain}. Turn on custom DKIM (domain authentication) there and publish the "
        f"selector it gives you, usually a CNAME such as {selector}._domainkey."
        f"{from_domain} pointing into {domain}, so it signs as d={from_domain}"
    )
    return finding(
        "align.dkim-unaligned",
        from_domain,
        f"DKIM passes only for d={domain} (Organizational Domain {org}), not aligned with "
        f"the From domain {from_domain} ({from_org})",
        remediation=fix,
        evidence=[f"selector{'s' if len(selectors) > 1 else ''}: {', '.join(selectors)}"],
    )


@rule("align.strict-mode")
def _strict_rules(report: MessageReport, blocked) -> Iterator[Finding]:
    dmarc = report.dmarc
    strict = [
        tag
        for tag, mode in (("adkim", dmarc.adkim), ("aspf", dmarc.aspf))
        if mode is Alignment.STRICT
    ]
    if not strict:
        return
    discovery = dmarc.discovery
    record = discovery.record if discovery is not None else None
    subject = discovery.record_name if discovery and discovery.record_name else "DMARC"
    if blocked and not dmarc.aligned_pass:
        lines = [c.reason for c in blocked]
        suggested = None
        if record is not None and discovery is not None:
            relaxed = re.sub(r"\s*;\s*a(?:dkim|spf)\s*=\s*s\s*(?=;|$)", "", record.text)
            suggested = f'{discovery.record_name} TXT "{relaxed.strip()}"'
        yield finding(
            "align.strict-mode",
            subject,
            f"{' and '.join(t + '=s' for t in strict)}: "
            + "; ".join(
                f"{c.identifier.value.upper()} passes for {c.domain}, a subdomain "
                f"of the same Organizational Domain, which strict mode rejects"
                for c in blocked
            ),
            severity=Severity.WARNING,
            record=record.text if record else None,
            evidence=lines,
            suggested_record=suggested,
            remediation=f"Sign and bounce with exactly {dmarc.from_domain}, or switch to "
            "relaxed alignment",
        )
        return
    yield finding(
        "align.strict-mode",
        subject,
        f"{' and '.join(t + '=s' for t in strict)}: only identifiers exactly "
        f"{dmarc.from_domain} align; subdomains of it do not",
        record=record.text if record else None,
    )


@rule("align.none")
def _align_none(report: MessageReport) -> Finding:
    dmarc = report.dmarc
    evidence = [
        f"DKIM d={v.domain or '?'} s={v.signature.selector or '?'}: "
        f"{v.result.value} ({v.reason.value})"
        for v in report.dkim
    ]
    evidence += [f"alignment: {c.reason}" for c in (*dmarc.dkim, dmarc.spf) if c is not None]
    spf = report.spf
    evidence.append(
        f"SPF: {spf.code} for {spf.domain}"
        if spf.result is not None
        else f"SPF: not evaluated ({spf.skipped})"
    )
    override = dmarc.override
    if override is not None:
        evidence.append(("ARC: " if override.possible else "ARC (no help): ") + override.reason)
        evidence.extend(override.evidence)
    policy = f"; the policy says {dmarc.disposition}" if dmarc.disposition else ""
    return finding(
        "align.none",
        dmarc.from_domain or "",
        f"DMARC fails for {dmarc.from_domain}: {dmarc.reason}{policy}",
        evidence=evidence,
        remediation=_align_fix(report),
    )


def _align_fix(report: MessageReport) -> str:
    dmarc = report.dmarc
    from_domain = dmarc.from_domain
    if dmarc.override is not None and dmarc.override.possible:
        hop = report.arc.first_hop
        sealer = hop.seal_domain if hop else "the forwarder"
        return (
            f"The message broke in transit at {sealer}, which sealed it with ARC. "
            f"Receivers that trust {sealer} may override; to be safe, ask {sealer} to "
            f"rewrite From (mailing lists: DMARC mitigation) or not to alter the body"
        )
    if any(v.passed for v in report.dkim):
        return (
            f"Sign with d={from_domain} (or a subdomain, under relaxed alignment); DKIM "
            "survives forwarding where SPF does not"
        )
    return (
        f"Sign the message with a DKIM key published under {from_domain}, and send from "
        f"servers listed in the SPF record of a MAIL FROM domain under {from_domain}"
    )


@rule("bulk.one-click-unsubscribe")
def _bulk_rules(report: MessageReport) -> Iterator[Finding]:
    bulk = report.bulk
    if not bulk.is_bulk or bulk.ok:
        return
    list_id = report.message.first("list-id")
    subject = list_id.text if list_id is not None else report.dmarc.from_domain or "message"
    if not bulk.problems:  # only a failed key lookup stands in the way: could not check
        yield finding(
            "bulk.one-click-unsubscribe",
            subject,
            f"list/marketing mail ({', '.join(bulk.markers)}): one-click unsubscribe could "
            f"not be checked: {'; '.join(bulk.undecided)}",
            status=Status.UNKNOWN,
            record=bulk.list_unsubscribe,
            evidence=list(bulk.undecided),
        )
        return
    yield finding(
        "bulk.one-click-unsubscribe",
        subject,
        f"list/marketing mail ({', '.join(bulk.markers)}) without working one-click "
        f"unsubscribe: {'; '.join(bulk.problems)}",
        record=bulk.list_unsubscribe,
        evidence=[*bulk.problems, *bulk.undecided],
    )
