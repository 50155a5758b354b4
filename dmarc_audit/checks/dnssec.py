"""DNSSEC rules (RFC 4035 §5): validation facts in, findings out.

:mod:`dmarc_audit.dnssec.collect` validates; :func:`judge` reports an unsigned
zone (``dnssec.unsigned``, info), a chain or answer that fails validation
(``dnssec.bogus``, error, with the reason), and a DS/DNSKEY/RRSIG lookup that
failed as ``dns.lookup-failed`` with status unknown: "could not check", never bogus.
"""

from __future__ import annotations

from dmarc_audit.catalog import finding, rule
from dmarc_audit.dnssec.facts import ChainFacts, DnssecFacts, DnssecStatus
from dmarc_audit.findings import Finding, Status


@rule("dnssec.bogus")
def judge(facts: DnssecFacts) -> list[Finding]:
    """The findings for one domain's DNSSEC facts (none when not checked)."""
    domain = facts.domain
    if facts.chain.status is DnssecStatus.NOT_CHECKED:
        return []
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(item: Finding) -> None:
        if (item.id, item.subject) not in seen:
            seen.add((item.id, item.subject))
            out.append(item)

    chain = facts.chain
    for item in _chain_findings(chain, f"{domain}"):
        add(item)
    unsigned_zones = {chain.zone} if chain.status is DnssecStatus.INSECURE else set()
    for host in facts.mx_chains:
        if host.status is DnssecStatus.INSECURE:
            if host.zone in unsigned_zones:
                continue
            unsigned_zones.add(host.zone)
        for item in _chain_findings(host, f"the zone of MX host {host.name}"):
            add(item)
    chain_reasons = {c.reason for c in (chain, *facts.mx_chains) if c.reason}
    for rrset in facts.rrsets:
        what = f"{rrset.rdtype} {rrset.name}"
        if rrset.reason in chain_reasons:
            continue  # the broken link is reported once, for its zone
        if rrset.status is DnssecStatus.BOGUS:
            add(
                finding(
                    "dnssec.bogus",
                    rrset.name,
                    f"The {what} answer fails DNSSEC validation: {rrset.reason}; validating "
                    "resolvers answer SERVFAIL for it",
                    evidence=[f"{what}: {rrset.reason}"],
                )
            )
        elif rrset.status is DnssecStatus.UNKNOWN:
            add(_could_not_check(rrset.name, what, rrset.reason, ()))
    return out


@rule("dnssec.bogus", "dnssec.unsigned")
def _chain_findings(chain: ChainFacts, what: str) -> list[Finding]:
    if chain.status is DnssecStatus.INSECURE:
        return [
            finding(
                "dnssec.unsigned",
                chain.name,
                f"{what[0].upper()}{what[1:]} is not signed with DNSSEC ({chain.reason})",
                evidence=chain.steps,
            )
        ]
    if chain.status is DnssecStatus.BOGUS:
        return [
            finding(
                "dnssec.bogus",
                chain.name,
                f"DNSSEC validation of {what} fails: {chain.reason}; validating resolvers "
                "answer SERVFAIL for every name in it",
                evidence=chain.steps,
            )
        ]
    if chain.status is DnssecStatus.UNKNOWN:
        return [_could_not_check(chain.name, what, chain.reason, chain.steps)]
    return []


@rule("dns.lookup-failed")
def _could_not_check(subject: str, what: str, reason: str, steps: tuple[str, ...]) -> Finding:
    return finding(
        "dns.lookup-failed",
        subject,
        f"DNSSEC of {what} could not be checked: {reason}",
        status=Status.UNKNOWN,
        evidence=steps or (reason,),
    )
