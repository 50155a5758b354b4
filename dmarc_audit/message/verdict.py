"""The DMARC verdict for one message: DKIM, SPF, alignment, policy, disposition, ARC.

:func:`analyze_message` runs the mechanisms concurrently over one resolver (so
the DNS trace shows every question), then decides as a receiver following RFC
9989 (or RFC 7489 with ``dmarc_mode``) would: DMARC passes when DKIM or SPF
passes for a domain aligned with the From domain (§4.4); otherwise the policy
that applies to the From domain decides what happens to the message (§4.10).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from dmarc_audit.dmarc.discovery import discover_dmarc
from dmarc_audit.dmarc.facts import DiscoveryStatus, DmarcDiscovery
from dmarc_audit.dns.types import Resolver
from dmarc_audit.findings import Finding, sort_findings
from dmarc_audit.message.alignment import (
    AlignmentCheck,
    Identifier,
    OrgDomains,
    check_alignment,
)
from dmarc_audit.message.arc import ArcEvaluation, ArcStatus, verify_arc
from dmarc_audit.message.authres import AuthResult
from dmarc_audit.message.compare import compare_results
from dmarc_audit.message.connection import Connection, connection_facts
from dmarc_audit.message.dkim_verify import (
    DkimResult,
    DkimVerification,
    VerifyOptions,
    verify_all,
)
from dmarc_audit.message.parse import FromInfo, Message, address_domain, from_info
from dmarc_audit.message.report import (
    ArcOverride,
    DmarcEvaluation,
    DmarcResult,
    MessageReport,
    SpfCheck,
)
from dmarc_audit.message.unsubscribe import check_bulk
from dmarc_audit.records.dmarc import Alignment, DmarcMode, Policy


@dataclass(frozen=True, slots=True)
class MessageOptions:
    """What the user told us: SMTP facts that override the headers, and how to judge."""

    ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    dmarc_mode: DmarcMode = DmarcMode.RFC9989
    compare: bool = False
    authserv_id: str = "dmarc-audit"
    verify: VerifyOptions = field(default_factory=VerifyOptions)


async def analyze_message(
    resolver: Resolver, message: Message, options: MessageOptions | None = None, source: str = "-"
) -> MessageReport:
    """Analyse ``message`` and return the full report (findings included)."""
    from dmarc_audit.message.rules import message_findings

    options = options or MessageOptions()
    author = from_info(message)
    connection = connection_facts(
        message, ip=options.ip, helo=options.helo, mail_from=options.mail_from
    )
    dkim, arc, spf, discovery, sender_ptr = await asyncio.gather(
        verify_all(resolver, message, options.verify),
        verify_arc(resolver, message),
        _spf(resolver, connection, options.dmarc_mode),
        _discover(resolver, author, options.dmarc_mode),
        _sender_ptr(resolver, connection),
    )
    orgs = OrgDomains(resolver, options.dmarc_mode)
    dmarc = await _evaluate(author, discovery, dkim, spf, arc, orgs, options.dmarc_mode)
    bulk = check_bulk(message, dkim)
    results = our_results(connection, dkim, spf, dmarc, arc)
    comparisons = None
    if options.compare:
        comparisons = compare_results(message, results, connection.receiver_fields)
    report = MessageReport(
        source=source,
        mode=options.dmarc_mode,
        authserv_id=options.authserv_id,
        message=message,
        from_info=author,
        connection=connection,
        dkim=dkim,
        spf=spf,
        dmarc=dmarc,
        arc=arc,
        bulk=bulk,
        results=results,
        findings=(),
        comparisons=comparisons,
    )
    findings = sort_findings([*message_findings(report), *sender_ptr])
    return replace(report, findings=tuple(findings))


async def _sender_ptr(resolver: Resolver, conn: Connection) -> list[Finding]:
    """``mx.sender-ptr`` for the connecting IP, when one is known (never the exit code)."""
    from dmarc_audit.audit import audit_sender_ptr

    if conn.ip is None:
        return []
    return await audit_sender_ptr(resolver, conn.ip.value)


async def _discover(resolver: Resolver, author: FromInfo, mode: DmarcMode) -> DmarcDiscovery | None:
    if author.domain is None:
        return None
    return await discover_dmarc(resolver, author.domain, mode)


async def _spf(resolver: Resolver, conn: Connection, mode: DmarcMode) -> SpfCheck:
    """check_host() for MAIL FROM, or for HELO when MAIL FROM is null (RFC 7208 §2.3)."""
    from dmarc_audit.spf.evaluate import evaluate_identity

    mail_from = conn.mail_from.value if conn.mail_from is not None else None
    helo = conn.helo.value if conn.helo is not None else None
    if mail_from is None:
        return SpfCheck(
            None,
            "",
            None,
            None,
            skipped="MAIL FROM is unknown (no Return-Path, Received-SPF "
            "envelope-from or Authentication-Results smtp.mailfrom); "
            "give --mail-from",
        )
    identity = "mailfrom" if mail_from else "helo"
    domain = _identity_domain(mail_from, helo)
    dmarc_domain = domain if identity == "mailfrom" else None
    relevant = bool(mail_from) or mode is DmarcMode.RFC7489
    note = ""
    if identity == "helo":
        if mode is DmarcMode.RFC7489:
            dmarc_domain = domain
            note = "MAIL FROM is null: RFC 7489 aligns the HELO identity instead"
        else:
            note = "MAIL FROM is null: RFC 9989 does not use the HELO identity for DMARC"
    if conn.ip is None:
        return SpfCheck(
            None,
            "",
            domain,
            dmarc_domain,
            note=note,
            dmarc_relevant=relevant,
            skipped="no connecting IP found in Received-SPF, Authentication-"
            "Results or Received; give --ip",
        )
    if domain is None:
        return SpfCheck(
            None,
            "",
            None,
            None,
            note=note,
            dmarc_relevant=relevant,
            skipped="MAIL FROM is null and no HELO name is known; give --helo",
        )
    try:
        result = await evaluate_identity(
            resolver, conn.ip.value, mail_from=mail_from or None, helo=helo
        )
    except ValueError as exc:
        return SpfCheck(
            None, "", domain, dmarc_domain, skipped=str(exc), note=note, dmarc_relevant=relevant
        )
    return SpfCheck(
        result,
        identity,
        result.domain,
        dmarc_domain and result.domain,
        note=note,
        dmarc_relevant=relevant,
    )


def _identity_domain(mail_from: str | None, helo: str | None) -> str | None:
    if mail_from:
        domain = mail_from.rpartition("@")[2] if "@" in mail_from else mail_from
        return domain.strip().lower().rstrip(".") or None
    return helo.strip().lower().rstrip(".") if helo else None


# --- the verdict -----------------------------------------------------------------------


async def _evaluate(
    author: FromInfo,
    discovery: DmarcDiscovery | None,
    dkim: tuple[DkimVerification, ...],
    spf: SpfCheck,
    arc: ArcEvaluation,
    orgs: OrgDomains,
    mode: DmarcMode,
) -> DmarcEvaluation:
    adkim, aspf = _modes(discovery)
    if author.domain is None:
        return DmarcEvaluation(
            DmarcResult.PERMERROR,
            f"no usable From: {author.reason}",
            None,
            None,
            adkim,
            aspf,
            (),
            None,
            "none",
            "no DMARC policy can be applied without a single "
            "Author Domain; many receivers reject such messages outright",
        )
    from_domain = author.domain
    domains = dict.fromkeys(
        v.domain for v in dkim if v.domain and v.result in (DkimResult.PASS, DkimResult.TEMPERROR)
    )
    dkim_checks = tuple(
        [await check_alignment(Identifier.DKIM, d, from_domain, adkim, orgs) for d in domains if d]
    )
    spf_check = None
    if spf.dmarc_domain and spf.code in ("pass", "temperror", None):
        spf_check = await check_alignment(Identifier.SPF, spf.dmarc_domain, from_domain, aspf, orgs)
    result, reason = _decide(discovery, dkim, dkim_checks, spf, spf_check, from_domain)
    disposition, why = _disposition(result, discovery, mode)
    override = None
    if result is DmarcResult.FAIL and arc.status is not ArcStatus.NONE:
        override = await arc_override(arc, from_domain, orgs)
    return DmarcEvaluation(
        result,
        reason,
        from_domain,
        discovery,
        adkim,
        aspf,
        dkim_checks,
        spf_check,
        disposition,
        why,
        override,
    )


def _modes(discovery: DmarcDiscovery | None) -> tuple[Alignment, Alignment]:
    record = discovery.record if discovery is not None else None
    effective = record.effective if record is not None else None
    if effective is None:
        return Alignment.RELAXED, Alignment.RELAXED
    return effective.adkim, effective.aspf


def _passing(
    dkim: tuple[DkimVerification, ...],
    checks: tuple[AlignmentCheck, ...],
    spf: SpfCheck,
    spf_check: AlignmentCheck | None,
) -> tuple[list[str], list[str]]:
    """Phrases for the aligned passes, and for the identifiers that could not be decided."""
    aligned, undecided = [], []
    by_domain = {c.domain: c for c in checks}
    for v in dkim:
        check = by_domain.get((v.domain or "").lower())
        if check is None:
            continue
        if v.passed and check.aligned:
            aligned.append(f"DKIM d={v.domain} passes aligned")
        elif v.result is DkimResult.TEMPERROR and check.relaxed_aligned is not False:
            undecided.append(f"the key lookup for d={v.domain} failed")
        elif v.passed and check.aligned is None:
            undecided.append(f"the Organizational Domain of d={v.domain} is unknown")
    if spf_check is not None:
        if spf.passed and spf_check.aligned:
            aligned.append(f"SPF passes for {spf_check.domain}, aligned")
        elif spf.code == "temperror" and spf_check.relaxed_aligned is not False:
            undecided.append(f"SPF for {spf_check.domain} hit a temporary DNS error")
        elif spf.passed and spf_check.aligned is None:
            undecided.append(f"the Organizational Domain of {spf_check.domain} is unknown")
    if (
        spf.result is None
        and spf.dmarc_relevant
        and (spf_check is None or spf_check.aligned is not False)
    ):
        undecided.append(f"SPF was not evaluated ({spf.skipped})")
    return aligned, undecided


def _decide(
    discovery: DmarcDiscovery | None,
    dkim: tuple[DkimVerification, ...],
    checks: tuple[AlignmentCheck, ...],
    spf: SpfCheck,
    spf_check: AlignmentCheck | None,
    from_domain: str,
) -> tuple[DmarcResult, str]:
    aligned, undecided = _passing(dkim, checks, spf, spf_check)
    if discovery is None or discovery.status is DiscoveryStatus.UNKNOWN:
        detail = discovery.explanation if discovery is not None else "no policy lookup"
        return DmarcResult.TEMPERROR, detail
    if discovery.status is DiscoveryStatus.NONE or discovery.applied_policy is None:
        would = "; it would pass" if aligned else "; it would fail" if not undecided else ""
        return (
            DmarcResult.NONE,
            f"no DMARC policy applies to {from_domain}{would} ({discovery.explanation})",
        )
    if aligned:
        return DmarcResult.PASS, "; ".join(aligned)
    if undecided:
        unknown = all("not evaluated" in u for u in undecided)
        result = DmarcResult.UNKNOWN if unknown else DmarcResult.TEMPERROR
        return result, "no aligned pass yet, and " + "; ".join(undecided)
    return DmarcResult.FAIL, _why_fail(dkim, checks, spf, spf_check, from_domain)


def _why_fail(
    dkim: tuple[DkimVerification, ...],
    checks: tuple[AlignmentCheck, ...],
    spf: SpfCheck,
    spf_check: AlignmentCheck | None,
    from_domain: str,
) -> str:
    parts = []
    by_domain = {c.domain: c for c in checks}
    if not dkim:
        parts.append("the message has no DKIM signature")
    for v in dkim:
        check = by_domain.get((v.domain or "").lower())
        label = f"d={v.domain or '?'}"
        if v.passed and check is not None:
            parts.append(
                f"DKIM {label} passes but is not aligned with {from_domain}"
                + (f" ({check.identifier.tag}=s)" if check.strict_blocks else "")
            )
        else:
            parts.append(f"DKIM {label} {v.result.value} ({v.reason.value.replace('-', ' ')})")
    if spf.result is None:
        parts.append(f"SPF not evaluated ({spf.skipped})" if spf.skipped else "no SPF")
    elif spf_check is not None and spf.passed:
        parts.append(
            f"SPF passes for {spf_check.domain} but is not aligned"
            + (" (aspf=s)" if spf_check.strict_blocks else "")
        )
    elif spf.dmarc_domain is None and spf.passed:
        parts.append(f"SPF passes only for the HELO name {spf.domain}, which DMARC does not use")
    else:
        parts.append(f"SPF {spf.code} for {spf.domain}")
    return "no aligned pass: " + "; ".join(parts)


def _disposition(
    result: DmarcResult, discovery: DmarcDiscovery | None, mode: DmarcMode
) -> tuple[str, str]:
    if result is DmarcResult.PASS:
        return "none", "DMARC passes, so the policy does not apply (other filters still do)"
    if result is DmarcResult.TEMPERROR:
        return "none", "temporary failure: receivers typically defer (4xx) and retry later"
    if result is DmarcResult.UNKNOWN:
        return "none", "cannot say until SPF is evaluated"
    if result is not DmarcResult.FAIL or discovery is None or discovery.applied_policy is None:
        return "none", "no DMARC policy applies; the receiver's own filtering decides"
    policy = discovery.applied_policy
    why = discovery.explanation
    record = discovery.record
    pct = record.effective.pct if record is not None and record.effective is not None else None
    if mode is DmarcMode.RFC7489 and pct is not None and pct < 100 and policy is not Policy.NONE:
        why += (
            f" With pct={pct}, the other {100 - pct}% of failing mail gets "
            f"{policy.step_down().value} (RFC 7489 §6.6.4)."
        )
    if policy is Policy.NONE:
        why += (
            " p=none only asks for reports: the message is delivered, but many "
            "receivers, Gmail and Yahoo among them, send unauthenticated mail to spam."
        )
    return policy.value, why


async def arc_override(arc: ArcEvaluation, from_domain: str, orgs: OrgDomains) -> ArcOverride:
    """Does the chain show that the message passed DMARC before the first intermediary?"""
    first = arc.first_hop
    sealer = first.seal_domain if first else None
    if arc.status is not ArcStatus.PASS or first is None or first.results is None:
        return ArcOverride(
            False, f"the ARC chain does not validate ({arc.reason}); a receiver cannot rely on it"
        )
    aar = first.results
    evidence = [
        f"ARC i={hop.instance} sealed by {hop.seal_domain} (cv={hop.cv}): "
        + "; ".join(f"{r.method}={r.result}" for r in (hop.results.results if hop.results else ()))
        for hop in arc.hops
    ]
    unnamed_pass = False
    for result in aar.of("dmarc"):
        named = result.prop("header.from")
        if result.result == "pass" and not named:
            unnamed_pass = True  # the AAR does not say for which From domain it passed
            continue
        header_from = (named or "").lower().rstrip(".")
        if result.result == "pass" and header_from == from_domain:
            return ArcOverride(
                True,
                f"{sealer} recorded dmarc=pass for {from_domain} before "
                "it changed the message, and the ARC chain validates: a "
                f"receiver that trusts {sealer} may deliver it despite the "
                "DMARC failure (local policy override, RFC 8617 §7.2)",
                tuple(evidence),
            )
    for result in aar.of("dkim"):
        domain = (
            result.prop("header.d") or address_domain(result.prop("header.i") or "") or ""
        ).lower()
        if result.result != "pass" or not domain:
            continue
        check = await check_alignment(Identifier.DKIM, domain, from_domain, Alignment.RELAXED, orgs)
        if check.aligned:
            return ArcOverride(
                True,
                f"{sealer} recorded an aligned dkim=pass (d={domain}) "
                "before it changed the message, and the ARC chain validates: a "
                f"receiver that trusts {sealer} may deliver it despite the "
                "DMARC failure (local policy override, RFC 8617 §7.2)",
                tuple(evidence),
            )
    unnamed = (
        f" (its dmarc=pass names no header.from, so it does not show the pass was for "
        f"{from_domain})"
        if unnamed_pass
        else ""
    )
    return ArcOverride(
        False,
        f"the ARC chain validates, but {sealer}'s results show no "
        f"dmarc=pass or aligned dkim=pass for {from_domain}{unnamed}",
        tuple(evidence),
    )


# --- our Authentication-Results --------------------------------------------------------


def our_results(
    conn: Connection,
    dkim: tuple[DkimVerification, ...],
    spf: SpfCheck,
    dmarc: DmarcEvaluation,
    arc: ArcEvaluation,
) -> tuple[AuthResult, ...]:
    """Our verdict as RFC 8601 results: dkim (one per signature), spf, dmarc, arc."""
    results: list[AuthResult] = []
    for v in dkim:
        sig = v.signature
        props = [
            (name, value)
            for name, value in (
                ("header.d", sig.domain),
                ("header.i", sig.identity),
                ("header.s", sig.selector),
                ("header.a", sig.algorithm),
                ("header.b", sig.b_prefix),
            )
            if value
        ]
        comment = _dkim_comment(v)
        results.append(AuthResult("dkim", v.result.value, tuple(props), comment=comment))
    if not dkim:
        results.append(AuthResult("dkim", "none", comment="message not signed"))
    if spf.result is not None:
        props = []
        if spf.identity == "mailfrom" and conn.mail_from is not None:
            props.append(("smtp.mailfrom", conn.mail_from.value))
        if conn.helo is not None:
            props.append(("smtp.helo", conn.helo.value))
        ip = conn.ip.value if conn.ip else "?"
        results.append(
            AuthResult(
                "spf", spf.code or "none", tuple(props), comment=f"{spf.domain}: client-ip {ip}"
            )
        )
    if dmarc.result is not DmarcResult.UNKNOWN:
        props = [("header.from", dmarc.from_domain)] if dmarc.from_domain else []
        results.append(
            AuthResult("dmarc", dmarc.result.value, tuple(props), comment=_dmarc_comment(dmarc))
        )
    if arc.status is not ArcStatus.NONE or arc.hops:
        props = [("smtp.remote-ip", conn.ip.value)] if conn.ip is not None else []
        last = arc.last_hop
        arc_comment = f"i={last.instance} d={last.seal_domain}" if last is not None else None
        results.append(AuthResult("arc", arc.status.value, tuple(props), comment=arc_comment))
    else:
        results.append(AuthResult("arc", "none"))
    return tuple(results)


def _dkim_comment(v: DkimVerification) -> str:
    key = v.key
    if v.passed and key is not None and key.key_bits:
        return f"{key.key_bits}-bit {key.key_type} key"
    return v.reason.value.replace("-", " ")


def _dmarc_comment(dmarc: DmarcEvaluation) -> str | None:
    discovery = dmarc.discovery
    if discovery is None or discovery.record is None or discovery.record.effective is None:
        return None
    effective = discovery.record.effective
    parts = [f"p={effective.p.value}", f"sp={effective.sp.value}"]
    if dmarc.result is DmarcResult.FAIL:
        parts.append(f"dis={dmarc.disposition}")
    return " ".join(parts)
