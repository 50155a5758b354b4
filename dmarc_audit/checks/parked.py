"""Cross-record rules: parked-domain lock-down and bulk-sender completeness.

Both take facts the SPF, DKIM, DMARC and MX audits already established, so they
make no DNS queries. A fact that could not be established (a failed lookup) is
never counted as a gap: the failing lookup is reported by its own audit.
"""

from __future__ import annotations

from enum import StrEnum

from dmarc_audit.catalog import finding, rule
from dmarc_audit.domains import normalize_name
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mx.facts import MxPosture, MxStatus

PARKED_SPF = "v=spf1 -all"
PARKED_DMARC = "v=DMARC1; p=reject;"


class SpfStatus(StrEnum):
    """What the SPF audit found at the domain."""

    VALID = "valid"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


class DmarcStatus(StrEnum):
    """Whether a DMARC record applies to the domain (own or inherited)."""

    FOUND = "found"
    NONE = "none"
    UNKNOWN = "unknown"


class DmarcPolicy(StrEnum):
    """The effective ``p=`` (or inherited ``sp=``) for the domain."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"


def is_deny_all_spf(record: str) -> bool:
    """True for ``v=spf1 -all`` (any case and spacing): no host may send for the domain."""
    return record.lower().split() == ["v=spf1", "-all"]


def parked_records(domain: str, *, with_null_mx: bool = True) -> str:
    """The parked-domain records as zone-file lines, newline-separated."""
    lines = [f"{domain}. MX 0 ."] if with_null_mx else []
    lines += [f'{domain}. TXT "{PARKED_SPF}"', f'_dmarc.{domain}. TXT "{PARKED_DMARC}"']
    return "\n".join(lines)


@rule("mx.null-mx-not-locked")
def parked_findings(
    domain: str,
    *,
    mx: MxPosture,
    spf_record: str | None,
    spf_status: str,
    dmarc_policy: str | None,
    dmarc_pct: int | None,
    dmarc_status: str,
) -> list[Finding]:
    """``mx.null-mx-not-locked``: a domain that takes or sends no mail must deny all.

    A domain is treated as parked when it has a lone null MX (RFC 7505), or when
    its SPF record is exactly ``v=spf1 -all`` (it sends no mail). It is locked when
    SPF is ``v=spf1 -all`` and the effective DMARC policy is ``p=reject`` at 100 %.
    Fires only for gaps that are known; ``suggested_record`` holds the parked
    records (without the null MX when the domain has working MX hosts).
    """
    domain = normalize_name(domain)
    spf = SpfStatus(spf_status)
    dmarc = DmarcStatus(dmarc_status)
    policy = DmarcPolicy(dmarc_policy.lower()) if dmarc_policy is not None else None
    sends_none = spf is SpfStatus.VALID and spf_record is not None and is_deny_all_spf(spf_record)
    reasons = []
    if mx.status == MxStatus.NULL:
        reasons.append("has a null MX (takes no mail)")
    if sends_none:
        reasons.append(f"says with {PARKED_SPF!r} that it sends no mail")
    if not reasons:
        return []
    gaps, unknown = _spf_gaps(spf, spf_record, sends_none)
    more_gaps, more_unknown = _dmarc_gaps(dmarc, policy, dmarc_pct)
    gaps += more_gaps
    unknown += more_unknown
    if not gaps:
        return []
    with_null_mx = mx.status in (MxStatus.NULL, MxStatus.NONE)
    return [
        finding(
            "mx.null-mx-not-locked",
            domain,
            f"{domain} {' and '.join(reasons)}, but is not locked against spoofing: "
            + "; ".join(gaps),
            remediation="Publish the parked-domain records below so that receivers reject "
            "all mail claiming to come from this domain",
            suggested_record=parked_records(domain, with_null_mx=with_null_mx),
            evidence=[*gaps, *unknown],
        )
    ]


def _spf_gaps(spf: SpfStatus, record: str | None, deny_all: bool) -> tuple[list[str], list[str]]:
    if spf is SpfStatus.TEMPERROR:
        return [], ["SPF could not be checked (temperror)"]
    if spf is SpfStatus.NONE:
        return [f"no SPF record ({PARKED_SPF!r} needed)"], []
    if spf is SpfStatus.PERMERROR:
        return [f"the SPF record is broken (permerror; {PARKED_SPF!r} needed)"], []
    if record is None:
        return [], ["SPF record text not available"]
    if not deny_all:
        return [f"SPF is {record!r}, not {PARKED_SPF!r}"], []
    return [], []


def _dmarc_gaps(
    dmarc: DmarcStatus, policy: DmarcPolicy | None, pct: int | None
) -> tuple[list[str], list[str]]:
    if dmarc is DmarcStatus.UNKNOWN:
        return [], ["DMARC could not be checked (lookup failed)"]
    if dmarc is DmarcStatus.NONE:
        return ["no DMARC record (p=reject needed)"], []
    if policy is None:
        return ["the DMARC record has no valid p= policy (p=reject needed)"], []
    if policy is not DmarcPolicy.REJECT:
        return [f"DMARC policy is p={policy}, not p=reject"], []
    if pct is not None and pct < 100:
        return [f"DMARC p=reject applies to only {pct}% of mail (pct={pct})"], []
    return [], []


@rule("bulk.auth-incomplete")
def bulk_findings(
    domain: str,
    *,
    spf_status: str,
    dkim_found: bool | None,
    dmarc_status: str,
    dmarc_policy: str | None,
) -> list[Finding]:
    """``bulk.auth-incomplete`` for a bulk sender (Google, Yahoo, Microsoft requirements).

    Error when SPF is missing or broken, no DKIM key was found, or no DMARC record
    applies (``p=none`` is enough). When nothing is known to be missing but a part
    could not be checked (``temperror``, ``dkim_found=None``, DMARC ``unknown``), the
    finding has status unknown. Alignment needs a message and is not checked here.
    """
    domain = normalize_name(domain)
    spf = SpfStatus(spf_status)
    dmarc = DmarcStatus(dmarc_status)
    policy = DmarcPolicy(dmarc_policy.lower()) if dmarc_policy is not None else None
    missing: list[str] = []
    unknown: list[str] = []
    if spf is SpfStatus.NONE:
        missing.append("no SPF record")
    elif spf is SpfStatus.PERMERROR:
        missing.append("SPF record is broken (permerror)")
    elif spf is SpfStatus.TEMPERROR:
        unknown.append("SPF (temperror)")
    if dkim_found is False:
        missing.append("no DKIM key found")
    elif dkim_found is None:
        unknown.append("DKIM (key lookup failed)")
    if dmarc is DmarcStatus.NONE:
        missing.append("no DMARC record")
    elif dmarc is DmarcStatus.UNKNOWN:
        unknown.append("DMARC (lookup failed)")
    elif policy is None:
        missing.append("DMARC record has no valid p= policy")
    not_checked = [f"not checked: {item}" for item in unknown]
    if missing:
        return [
            finding(
                "bulk.auth-incomplete",
                domain,
                "bulk-sender authentication incomplete: " + ", ".join(missing),
                evidence=[*missing, *not_checked],
            )
        ]
    if unknown:
        return [
            finding(
                "bulk.auth-incomplete",
                domain,
                "bulk-sender authentication could not be fully checked: " + ", ".join(unknown),
                severity=Severity.WARNING,
                status=Status.UNKNOWN,
                evidence=not_checked,
            )
        ]
    return []
