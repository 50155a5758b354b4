"""DMARC rules: the collected DMARC facts in, ``dmarc.*`` findings out.

:func:`dmarc_audit.dmarc.collect.collect_dmarc` gathers everything these rules need
(policy discovery, the tree walk for the Organizational Domain comparison, the apex
TXT for misplaced records, the external report authorisation records); each rule
here is one small pure function per check id over those facts.

Record rules look at the record as both kinds of receivers read it (RFC 7489
and RFC 9989): a mailbox provider may follow either, so ``pct=50`` is worth a
warning even when the audit follows RFC 9989 (which ignores ``pct``). Every
finding about a record carries the corrected record to publish
(:func:`dmarc_audit.dmarc.suggest.suggest_dmarc_record`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from dmarc_audit.catalog import CATALOG, finding, rule
from dmarc_audit.dmarc.facts import DiscoveryStatus, DmarcFacts, FoundAt, PolicySource, RecordView
from dmarc_audit.dmarc.suggest import suggest_dmarc_record
from dmarc_audit.dns.types import Outcome
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.orgdomain import is_public_suffix, is_subdomain_or_same
from dmarc_audit.records.dmarc import (
    Alignment,
    DmarcMode,
    DmarcRecord,
    Policy,
    looks_like_dmarc,
    parse_dmarc,
)

Rule = Callable[[DmarcFacts], list[Finding]]


# --- helpers -----------------------------------------------------------------


def _record_finding(
    facts: DmarcFacts,
    check_id: str,
    message: str,
    *,
    severity: Severity | None = None,
    remediation: str | None = None,
    evidence: tuple[str, ...] = (),
) -> Finding:
    view = facts.record
    assert view is not None
    fix = remediation if remediation is not None else CATALOG[check_id].fix
    return finding(
        check_id,
        view.name,
        message,
        severity=severity,
        record=view.text,
        remediation=f"{fix}. Publish: {view.publish}",
        suggested_record=view.suggested,
        evidence=evidence,
    )


def _from_problems(facts: DmarcFacts, check_id: str, fix: str | None = None) -> list[Finding]:
    if facts.record is None:
        return []
    out = []
    for problem, only in facts.record.problems(check_id):
        prefix = f"{only.label} receivers: " if only is not None else ""
        where = f" (offset {problem.offset})" if problem.offset is not None else ""
        out.append(
            _record_finding(facts, check_id, prefix + problem.message + where, remediation=fix)
        )
    return out


def _domain(facts: DmarcFacts) -> str:
    """Where the record under review is published."""
    return facts.record.domain if facts.record is not None else facts.domain


def _valid(facts: DmarcFacts) -> list[DmarcRecord]:
    """The parses (audit mode first) under which receivers apply the record."""
    if facts.record is None:
        return []
    return [
        r for r in (facts.record.primary, facts.record.other) if r.valid and r.effective is not None
    ]


_ATTEMPT = re.compile(r"\s*(v\s*=|p\s*=\s*(none|quarantine|reject))", re.IGNORECASE)


def _looks_like_attempt(text: str) -> bool:
    """TXT text at ``_dmarc`` that someone meant as a DMARC record (not a verification token)."""
    return bool(_ATTEMPT.match(text)) or "dmarc" in text.lower()


# --- record rules (one per check id) -----------------------------------------


@rule("dmarc.version-invalid")
def check_version_invalid(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.version-invalid``: a record at ``_dmarc`` that does not start with ``v=DMARC1``.

    Receivers discard such records. Covers the record under review and every
    DMARC-looking TXT record discarded at a ``_dmarc`` name of the domain's organisation.
    """
    out = _from_problems(facts, "dmarc.version-invalid")
    discovery = facts.discovery
    if discovery is None:
        return out
    scope = facts.psl_org or facts.domain
    for step in discovery.steps:
        if not is_subdomain_or_same(step.name, scope):
            continue
        for record in step.discarded:
            if not _looks_like_attempt(record.text):
                continue
            fixed = suggest_dmarc_record(record, step.name, sends_mail=facts.sends_mail)
            message = record.problems[0].message if record.problems else "not v=DMARC1"
            out.append(
                finding(
                    "dmarc.version-invalid",
                    step.query,
                    f"{message}; receivers discard this record",
                    record=record.text,
                    remediation=f"Rewrite it starting with v=DMARC1; publish: {step.query} TXT "
                    f'"{fixed}"',
                    suggested_record=fixed,
                )
            )
    return out


@rule("dmarc.duplicate-tag")
def check_duplicate_tag(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.duplicate-tag``: a tag given twice makes the whole tag-list invalid."""
    return _from_problems(
        facts, "dmarc.duplicate-tag", "Keep one occurrence of the tag (the value you mean)"
    )


@rule("dmarc.p-missing")
def check_p_missing(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.p-missing``: no ``p=`` tag (p=none, or no DMARC under RFC 7489 without rua)."""
    return _from_problems(facts, "dmarc.p-missing", "Add an explicit p= right after v=DMARC1")


@rule("dmarc.p-invalid")
def check_p_invalid(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.p-invalid``: ``p=`` is not none/quarantine/reject (p=none fallback or no DMARC)."""
    return [_with_fallback(facts, f) for f in _from_problems(facts, "dmarc.p-invalid")]


@rule("dmarc.subdomain-policy-invalid")
def check_subdomain_policy_invalid(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.subdomain-policy-invalid``: bad ``sp=`` (or ``np=`` under RFC 9989).

    Receivers handle it like a bad ``p``: the whole record becomes p=none when
    rua has a valid URI, and is ignored otherwise.
    """
    return [
        _with_fallback(facts, f) for f in _from_problems(facts, "dmarc.subdomain-policy-invalid")
    ]


def _with_fallback(facts: DmarcFacts, item: Finding) -> Finding:
    assert facts.record is not None
    notes = {r.fallback for r in (facts.record.primary, facts.record.other) if r.fallback}
    if not notes:
        return item
    return replace(item, message=f"{item.message}: {'; '.join(sorted(notes))}")


@rule("dmarc.tag-invalid")
def check_tag_invalid(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.tag-invalid``: adkim, aspf, t, psd, pct, ri or rf with a value not allowed."""
    return _from_problems(facts, "dmarc.tag-invalid")


@rule("dmarc.fo-invalid")
def check_fo_invalid(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.fo-invalid``: an invalid ``fo`` value, or ``fo`` without ``ruf`` (no effect)."""
    return _from_problems(facts, "dmarc.fo-invalid")


@rule("dmarc.unknown-tag")
def check_unknown_tag(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.unknown-tag``: a tag in neither RFC's registry (ignored; often a typo)."""
    return _from_problems(facts, "dmarc.unknown-tag")


@rule("dmarc.syntax-lenient")
def check_syntax_lenient(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.syntax-lenient``: accepted by common receivers but outside the grammar."""
    return _from_problems(facts, "dmarc.syntax-lenient")


@rule("dmarc.rua-invalid-uri")
def check_rua_invalid_uri(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.rua-invalid-uri``: a rua/ruf entry that is not a URI or has a bad size suffix."""
    return _from_problems(
        facts,
        "dmarc.rua-invalid-uri",
        "Write each destination as mailto:address@domain, separated by ','",
    )


@rule("dmarc.removed-tag")
def check_removed_tag(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.removed-tag``: pct, rf, ri or a ``!size`` suffix (gone in RFC 9989)."""
    return _from_problems(facts, "dmarc.removed-tag")


@rule("dmarc.policy-none")
def check_policy_none(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.policy-none``: ``p=none``, or the policy applied to the domain is none.

    A missing or invalid ``p`` that falls back to none is reported by
    ``dmarc.p-missing`` / ``dmarc.p-invalid`` instead; ``t=y`` by ``dmarc.testing-mode``.
    """
    valid = _valid(facts)
    discovery = facts.discovery
    explicit = bool(valid) and valid[0].tag("p") is Policy.NONE
    inherited = (
        discovery is not None
        and discovery.applied_policy is Policy.NONE
        and discovery.stated_policy is Policy.NONE
        and discovery.policy_source in (PolicySource.SP, PolicySource.NP)
        and bool(valid)
        and not valid[0].fallback
    )
    if not (explicit or inherited):
        return []
    assert facts.record is not None
    if inherited and discovery is not None:
        message = (
            f"mail From {facts.domain} gets policy none ({discovery.policy_source} of "
            f"{facts.record.name}): receivers only monitor, spoofed mail is delivered"
        )
    else:
        message = (
            f"p=none at {facts.record.name}: receivers only monitor; spoofed mail From "
            f"{facts.record.domain} is still delivered"
        )
    return [
        _record_finding(
            facts,
            "dmarc.policy-none",
            message,
            remediation="Review the aggregate reports until all your senders pass, then move "
            "one step to quarantine (and later reject)",
        )
    ]


@rule("dmarc.sp-weaker")
def check_sp_weaker(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.sp-weaker``: ``sp=none`` while ``p`` enforces (subdomains stay spoofable).

    ``sp=quarantine`` under ``p=reject`` still enforces and is not reported.
    """
    valid = _valid(facts)
    if not valid:
        return []
    p, sp = valid[0].tag("p"), valid[0].tag("sp")
    if sp is not Policy.NONE or not isinstance(p, Policy) or p is Policy.NONE:
        return []
    return [
        _record_finding(
            facts,
            "dmarc.sp-weaker",
            f"sp=none while p={p.value}: mail From any subdomain of {_domain(facts)} "
            "can be spoofed with no consequence",
            remediation=f"Set sp={p.value} (or remove sp) unless some subdomains are not ready",
        )
    ]


@rule("dmarc.pct-partial")
def check_pct_partial(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.pct-partial``: ``pct`` below 100 (RFC 7489 receivers sample the policy)."""
    if facts.record is None:
        return []
    record = facts.record.parsed(DmarcMode.RFC7489)
    pct = record.tag("pct")
    if not record.valid or not isinstance(pct, int) or pct >= 100:
        return []
    return [
        _record_finding(
            facts,
            "dmarc.pct-partial",
            f"pct={pct}: RFC 7489 receivers apply the policy to {pct}% of failing mail only "
            "(RFC 9989 removed pct and applies it to all)",
            remediation="Remove pct (= 100%); use t=y while testing",
        )
    ]


@rule("dmarc.testing-mode")
def check_testing_mode(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.testing-mode``: ``t=y``, RFC 9989 receivers apply the policy one step weaker."""
    if facts.record is None:
        return []
    record = facts.record.parsed(DmarcMode.RFC9989)
    if not record.valid or record.effective is None or not record.effective.testing:
        return []
    p = record.effective.p
    return [
        _record_finding(
            facts,
            "dmarc.testing-mode",
            f"t=y: RFC 9989 receivers treat p={p.value} as {p.step_down().value} "
            "(RFC 7489 receivers ignore t)",
            remediation="Remove t=y once the aggregate reports are clean",
        )
    ]


@rule("dmarc.psd-misuse")
def check_psd_misuse(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.psd-misuse``: ``psd=y`` on a domain that is not a public suffix."""
    if facts.record is None:
        return []
    record = facts.record.parsed(DmarcMode.RFC9989)
    if record.tag("psd") != "y" or is_public_suffix(facts.record.domain):
        return []
    return [
        _record_finding(
            facts,
            "dmarc.psd-misuse",
            f"psd=y declares {facts.record.domain} a public suffix: RFC 9989 receivers treat each "
            "of its subdomains as a separate organisation (alignment with the parent breaks, and "
            "subdomains get only the sp/np policy)",
            remediation="Remove psd=y (psd=n marks an Organizational Domain)",
        )
    ]


@rule("dmarc.no-rua")
def check_no_rua(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.no-rua``: no valid ``rua`` URI, so nobody receives aggregate reports."""
    view = facts.record
    if view is None or not view.primary.version_ok or view.primary.rua:
        return []
    effective = view.primary.effective
    if not facts.sends_mail and effective is not None and effective.p is Policy.REJECT:
        return []  # a locked-down parked domain: reports are optional (M3AAWG parked BCP)
    ignored = [t for t, _ in view.primary.ignored if t.startswith("rua")]
    why = " (the rua value is not usable)" if ignored else ""
    if "rua=" in view.text.lower() and not ignored and "rua" not in view.primary.tags:
        why = " (the text 'rua=' is not a separate tag: check the ';' before it)"
    return [
        _record_finding(
            facts,
            "dmarc.no-rua",
            f"no aggregate-report destination{why}: you cannot see who sends mail as "
            f"{view.domain} or whether it passes",
            remediation="Add rua=mailto:<address> (your own mailbox or a report service)",
        )
    ]


@rule("dmarc.rua-non-mailto")
def check_rua_non_mailto(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.rua-non-mailto``: a report URI that is not ``mailto:`` (receivers need not send)."""
    if facts.record is None:
        return []
    out = []
    for tag in ("rua", "ruf"):
        value = facts.record.primary.tag(tag, ())
        for uri in value if isinstance(value, tuple) else ():
            if uri.scheme != "mailto":
                out.append(
                    _record_finding(
                        facts,
                        "dmarc.rua-non-mailto",
                        f"{tag} destination {uri.uri} uses '{uri.scheme}:'; receivers only have to "
                        "support mailto:, most send nothing to other schemes",
                        remediation=f"Add a mailto: destination to {tag}",
                    )
                )
    return out


@rule("align.strict-mode")
def check_strict_mode(facts: DmarcFacts) -> list[Finding]:
    """``align.strict-mode``: ``adkim=s`` or ``aspf=s`` (exact domain match required)."""
    valid = _valid(facts)
    if not valid:
        return []
    strict = [t for t in ("adkim", "aspf") if valid[0].tag(t) is Alignment.STRICT]
    if not strict:
        return []
    names = " and ".join(f"{t}=s" for t in strict)
    return [
        _record_finding(
            facts,
            "align.strict-mode",
            f"{names}: only mail whose {'DKIM d=' if 'adkim' in strict else 'MAIL FROM'} domain "
            f"is exactly the From domain aligns; subdomains of {_domain(facts)} do not",
            remediation="Make sure every sender uses the exact From domain, or use relaxed (r)",
        )
    ]


# --- DNS-level rules ---------------------------------------------------------


@rule("dmarc.missing")
def check_missing(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.missing``: no DMARC record at the domain, its Organizational Domain or PSD.

    Not raised when a lookup failed (that is ``unknown``), nor when several or
    malformed records at a ``_dmarc`` name explain the absence (their own checks).
    Warning instead of error for domains that send no mail.
    """
    discovery = facts.discovery
    if discovery is None or discovery.status is not DiscoveryStatus.NONE:
        return []
    scope = facts.psl_org or facts.domain
    for step in discovery.steps:
        if step.multiple:
            return []
        if is_subdomain_or_same(step.name, scope) and any(
            _looks_like_attempt(r.text) for r in step.discarded
        ):
            return []
    target = facts.psl_org if facts.psl_org and facts.psl_org != facts.domain else facts.domain
    apex_records = _apex_dmarc_texts(facts) if target == facts.domain else []
    # a record misplaced at the apex is the one to publish (dmarc.wrong-location agrees)
    suggested = suggest_dmarc_record(
        parse_dmarc(apex_records[0]) if apex_records else None, target, sends_mail=facts.sends_mail
    )
    where = (
        f"_dmarc.{target} (covers {facts.domain} and the other subdomains)"
        if target != facts.domain
        else f"_dmarc.{target}"
    )
    dangling = _dangling_queries(facts)
    if f"_dmarc.{target}" in dangling:
        where = f"_dmarc.{target} (after deleting the dangling CNAME there)"
    severity = None if facts.sends_mail else Severity.WARNING
    why = (
        ""
        if facts.sends_mail
        else " Nobody sends mail from this domain, so p=reject is safe and stops spoofing."
    )
    return [
        finding(
            "dmarc.missing",
            facts.domain,
            discovery.explanation,
            severity=severity,
            remediation=f'Publish {where} TXT "{suggested}", then move to enforcement.{why}',
            suggested_record=suggested,
            evidence=discovery.queries,
        )
    ]


@rule("dmarc.multiple-records")
def check_multiple_records(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.multiple-records``: several ``v=DMARC1`` records at one ``_dmarc`` name.

    Receivers discard all of them: RFC 7489 stops there, RFC 9989 continues the walk.
    """
    discovery = facts.discovery
    if discovery is None:
        return []
    out = []
    for step in discovery.steps:
        if not step.multiple:
            continue
        keep = next((r for r in step.candidates if r.valid), step.candidates[0])
        fixed = suggest_dmarc_record(keep, step.name, sends_mail=facts.sends_mail)
        out.append(
            finding(
                "dmarc.multiple-records",
                step.query,
                f"{len(step.candidates)} v=DMARC1 records at {step.query}: receivers discard all "
                "of them (RFC 7489: no DMARC; RFC 9989: the walk moves on to the parent)",
                record=" | ".join(r.text for r in step.candidates),
                remediation=f'Keep exactly one record: {step.query} TXT "{fixed}"',
                suggested_record=fixed,
                evidence=tuple(r.text for r in step.candidates),
            )
        )
    return out


def _apex_dmarc_texts(facts: DmarcFacts) -> list[str]:
    """TXT records at the apex that look like a DMARC record."""
    if facts.apex is None or not facts.apex.ok:
        return []
    return [
        text
        for text in facts.apex.texts
        if looks_like_dmarc(text) or text.strip().lower().startswith("v=dmarc")
    ]


def _dangling_queries(facts: DmarcFacts) -> set[str]:
    """``_dmarc`` names of the walk that are CNAMEs to names that do not exist."""
    if facts.discovery is None:
        return set()
    return {
        step.query
        for step in facts.discovery.steps
        if step.answer.cnames and step.answer.outcome is Outcome.NXDOMAIN
    }


@rule("dmarc.wrong-location")
def check_wrong_location(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.wrong-location``: a ``v=DMARC1`` record at the apex instead of ``_dmarc``.

    Error when the domain has no record of its own at ``_dmarc``; a leftover
    copy next to a real record is a warning.
    """
    out = []
    own = facts.discovery is not None and facts.discovery.found_at is FoundAt.DOMAIN
    for text in _apex_dmarc_texts(facts):
        fixed = suggest_dmarc_record(parse_dmarc(text), facts.domain, sends_mail=facts.sends_mail)
        if own:
            message = (
                f"a v=DMARC1 record at the apex {facts.domain}: receivers ignore it "
                f"(they read _dmarc.{facts.domain}, which has its own record)"
            )
            fix = f"Delete the TXT record at {facts.domain}"
        else:
            message = (
                f"the DMARC record is published at {facts.domain} instead of "
                f"_dmarc.{facts.domain}: receivers never look there"
            )
            fix = (
                f'Move it: publish _dmarc.{facts.domain} TXT "{fixed}" and delete the TXT '
                f"record at {facts.domain}"
            )
        out.append(
            finding(
                "dmarc.wrong-location",
                facts.domain,
                message,
                record=text,
                severity=Severity.WARNING if own else None,
                remediation=fix,
                suggested_record=fixed,
            )
        )
    return out


@rule("dmarc.inherited")
def check_inherited(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.inherited`` (info): no own record; the policy comes from the
    Organizational Domain (``sp``/``np``) or a public suffix's PSD record.
    """
    discovery = facts.discovery
    if discovery is None or discovery.found_at not in ("organizational", "psd"):
        return []
    return [
        finding(
            "dmarc.inherited",
            facts.domain,
            discovery.explanation,
            record=discovery.record.text if discovery.record else None,
            remediation=f"Nothing to do if this policy suits {facts.domain}; publish "
            f"_dmarc.{facts.domain} if it needs a different one",
            evidence=discovery.queries,
        )
    ]


@rule("dmarc.tree-walk-vs-psl")
def check_tree_walk_vs_psl(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.tree-walk-vs-psl``: the RFC 9989 tree walk and the PSL name different
    Organizational Domains (alignment and inherited policy differ between receivers).

    Not raised when the walk found no record at all (``dmarc.missing`` covers that).
    """
    walk, psl = facts.walk, facts.psl_org
    if walk is None or psl is None or walk.org_domain is None or not walk.found_any:
        return []
    tree = walk.org_domain
    if tree == psl:
        return []
    if is_subdomain_or_same(tree, psl) and tree != psl:
        step = walk.step(tree)
        if step is not None and step.psd == "n":
            fix = (
                f"If {tree} is meant to be its own organisation, keep psd=n (RFC 7489 "
                f"receivers still use {psl}); otherwise remove psd=n from _dmarc.{tree}"
            )
        else:
            fix = (
                f"Publish a DMARC record at _dmarc.{psl} so both kinds of receivers take "
                f"{psl} as the Organizational Domain, or psd=n at _dmarc.{tree} if {tree} "
                "is a separate organisation"
            )
    else:
        fix = (
            f"Publish psd=n at _dmarc.{psl} if {psl} is the organisation; a public suffix "
            f"operator at {tree} should publish psd=y"
        )
    return [
        finding(
            "dmarc.tree-walk-vs-psl",
            facts.domain,
            f"Organizational Domain of {facts.domain}: {tree} by the RFC 9989 tree walk, {psl} by "
            "the Public Suffix List (RFC 7489): relaxed alignment and inherited policy differ "
            "between receivers",
            remediation=fix,
            evidence=tuple(f"_dmarc.{s.name}: {s.answer.describe()}" for s in walk.steps),
        )
    ]


@rule("dmarc.rua-external-unauthorized")
def check_rua_external_unauthorized(facts: DmarcFacts) -> list[Finding]:
    """``dmarc.rua-external-unauthorized``: a report destination in another organisation
    that has not published ``<domain>._report._dmarc.<host>`` (exact or ``*``) TXT ``v=DMARC1``.

    Destinations in the same Organizational Domain need no authorisation;
    authorised ones are never flagged. When only the other spec's view counts
    the destination as the same organisation, the finding is a warning.
    """
    out = []
    for dest in facts.destinations:
        if dest.same_org or dest.authorized is not False:
            continue
        severity = Severity.WARNING if dest.other_view_same else None
        other = (
            " (the other spec's view counts it as the same organisation, so only some "
            "receivers drop the reports)"
            if dest.other_view_same
            else ""
        )
        out.append(
            finding(
                "dmarc.rua-external-unauthorized",
                f"_dmarc.{dest.record_domain}",
                f"{dest.tag} destination {dest.uri.uri} is outside the Organizational Domain of "
                f"{dest.record_domain} ({dest.view}) and {dest.host} has not authorised it: "
                f"receivers will not send these reports{other}",
                severity=severity,
                record=facts.discovery.record.text
                if facts.discovery and facts.discovery.record
                else None,
                remediation=(
                    f'Ask {dest.host} to publish {dest.auth_name} TXT "v=DMARC1;" '
                    f"(or *._report._dmarc.{dest.host}), or report to an address in "
                    f"{dest.record_domain}"
                ),
                suggested_record="v=DMARC1;",
                evidence=dest.checked,
            )
        )
    return out


@rule("dns.dangling-cname")
def check_dangling_cname(facts: DmarcFacts) -> list[Finding]:
    """``dns.dangling-cname``: a ``_dmarc`` name is a CNAME to a name that does not exist."""
    discovery = facts.discovery
    if discovery is None:
        return []
    out = []
    for step in discovery.steps:
        answer = step.answer
        if answer.cnames and answer.outcome is Outcome.NXDOMAIN:
            target = answer.cnames[-1][1]
            out.append(
                finding(
                    "dns.dangling-cname",
                    step.query,
                    f"{step.query} is a CNAME to {target}, which does not exist: the DMARC record "
                    "has disappeared, and whoever registers the target controls your policy",
                    remediation=f"Remove the CNAME at {step.query} or point it at the provider's "
                    "current name",
                    evidence=tuple(f"{a} CNAME {b}" for a, b in answer.cnames),
                )
            )
    return out


@rule("dns.lookup-failed")
def check_lookup_failed(facts: DmarcFacts) -> list[Finding]:
    """``dns.lookup-failed`` (status unknown): a query the DMARC checks needed failed."""
    failures = list(facts.discovery.failures if facts.discovery else ()) + list(
        facts.extra_failures
    )
    out, seen = [], set()
    for answer in failures:
        key = (answer.name, answer.rdtype)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            finding(
                "dns.lookup-failed",
                answer.name,
                f"{answer.name} {answer.rdtype}: {answer.describe()}; the DMARC checks that need "
                "it are unknown (not reported as missing)",
                status=Status.UNKNOWN,
                evidence=(f"source: {answer.source}",) if answer.source else (),
            )
        )
    return out


RECORD_RULES: tuple[Rule, ...] = (
    check_version_invalid,
    check_duplicate_tag,
    check_p_missing,
    check_p_invalid,
    check_subdomain_policy_invalid,
    check_tag_invalid,
    check_fo_invalid,
    check_unknown_tag,
    check_syntax_lenient,
    check_rua_invalid_uri,
    check_removed_tag,
    check_policy_none,
    check_sp_weaker,
    check_pct_partial,
    check_testing_mode,
    check_psd_misuse,
    check_no_rua,
    check_rua_non_mailto,
    check_strict_mode,
)
"""Rules that read only the record under review."""

DNS_RULES: tuple[Rule, ...] = (
    check_lookup_failed,
    check_missing,
    check_multiple_records,
    check_wrong_location,
    check_dangling_cname,
    check_inherited,
    check_tree_walk_vs_psl,
    check_rua_external_unauthorized,
)
"""Rules that read what discovery and the extra lookups found."""


def judge(facts: DmarcFacts) -> list[Finding]:
    """Every rule over ``facts``, DNS-level first."""
    out: list[Finding] = []
    for check in DNS_RULES + RECORD_RULES:
        out.extend(check(facts))
    return out


def record_findings(text: str, domain: str, mode: DmarcMode = DmarcMode.RFC9989) -> list[Finding]:
    """The record rules alone, for ``text`` published at ``_dmarc.<domain>`` (no DNS)."""
    facts = DmarcFacts(domain, mode, record=RecordView.of(text, domain, mode))
    return [f for rule in RECORD_RULES for f in rule(facts)]
