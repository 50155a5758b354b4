"""Whether the audited domain exists at all: one ``dns.nxdomain`` finding instead of a
list of records that cannot exist. Pure: facts and findings in, findings out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.catalog import finding, rule
from dmarc_audit.findings import Finding, Status

if TYPE_CHECKING:
    from dmarc_audit.spf.facts import SpfAnalysis

IMPLIED_BY_NXDOMAIN = ("missing", "selector-missing", "no-key-found")
"""Check names (the part after the area) of findings that only restate that the name has
no records: every ``*.missing``, ``dkim.selector-missing``, ``dkim.no-key-found``."""


def apex_nxdomain(spf: SpfAnalysis) -> bool:
    """The domain's own TXT query (the first SPF lookup) answered NXDOMAIN."""
    return any(
        step.number is None
        and step.rdtype == "TXT"
        and step.name.rstrip(".").lower() == spf.domain.rstrip(".").lower()
        and step.outcome == "nxdomain"
        for step in spf.steps
    )


@rule("dns.nxdomain")
def judge_existence(domain: str, spf: SpfAnalysis, findings: Sequence[Finding]) -> list[Finding]:
    """dns.nxdomain: the domain does not exist. It comes first; the findings that only
    say a record is missing (spf.missing, mx.missing, dkim.no-key-found, ...) are
    dropped, since none of them can be fixed before the name exists. Findings that
    could not be checked and those about inherited policy stay."""
    if not apex_nxdomain(spf):
        return list(findings)
    nxdomain = finding(
        "dns.nxdomain",
        domain,
        f"{domain} does not exist (NXDOMAIN); a typo? Its missing records are not "
        "listed: none can exist under a name that does not exist",
        evidence=[f"TXT {domain}: NXDOMAIN"],
    )
    kept = [
        f
        for f in findings
        if f.status is Status.UNKNOWN or f.id.rpartition(".")[2] not in IMPLIED_BY_NXDOMAIN
    ]
    return [nxdomain, *kept]
