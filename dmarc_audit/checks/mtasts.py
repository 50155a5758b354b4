"""MTA-STS policy rules (RFC 8461): pure, facts in, findings out.

``mtasts.policy-invalid`` for a policy that senders cannot fetch or parse,
``mtasts.mode-testing`` for a policy that does not enforce (or caches for under a
day), ``mtasts.mx-mismatch`` for each MX host no ``mx:`` pattern covers. A fetch
that ended in a fault here (timeout, refused, DNS failure, HTTP 5xx) is "could not
check": a warning with status unknown, never a verdict on the policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from dmarc_audit.catalog import finding, rule
from dmarc_audit.fetch.facts import FetchOutcome
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mtasts.facts import MtaStsPosture, PolicyFacts
from dmarc_audit.mx.facts import NULL_EXCHANGE, MxPosture, MxStatus, is_ip_literal
from dmarc_audit.records.mtasts_policy import ONE_DAY, PolicyMode

_FETCH_FAILURES = {
    FetchOutcome.TLS_ERROR: "the certificate or TLS handshake failed",
    FetchOutcome.HTTP_ERROR: "the server answered with an error status",
    FetchOutcome.REDIRECT: "the server redirects, and senders do not follow redirects",
    FetchOutcome.TOO_LARGE: "the policy is larger than the 64 KiB senders accept",
    FetchOutcome.NO_ADDRESS: "the policy host has no address",
    FetchOutcome.BAD_RESPONSE: "the server's answer is not valid HTTP",
}
_UNKNOWN_HINT = {
    FetchOutcome.REFUSED: " (is HTTPS blocked from here?)",
    FetchOutcome.TIMEOUT: " (is HTTPS blocked from here?)",
}


def judge(facts: PolicyFacts, mx: MxPosture | None) -> MtaStsPosture:
    """The MTA-STS posture: the fetched policy judged against the domain's MX hosts."""
    return MtaStsPosture(facts, tuple(policy_findings(facts, mx_hosts(mx))))


def mx_hosts(mx: MxPosture | None) -> list[str] | None:
    """The MX host names a policy must cover; None when the MX lookup could not be completed."""
    if mx is None or mx.status == MxStatus.UNKNOWN:
        return None
    return [
        h.exchange
        for h in mx.hosts
        if h.exchange != NULL_EXCHANGE and not is_ip_literal(h.exchange)
    ]


@rule("mtasts.mx-mismatch", "mtasts.policy-invalid")
def policy_findings(facts: PolicyFacts, mx_hosts: Sequence[str] | None) -> list[Finding]:
    """Judge a fetched policy; ``mx_hosts`` None when the MX lookup could not be completed."""
    fetch = facts.fetch
    subject = facts.url
    evidence = [f"GET {subject}: {fetch.describe()}"]
    if fetch.outcome is FetchOutcome.NOT_FETCHED:
        return []
    if fetch.outcome.could_not_check:
        return [
            finding(
                "mtasts.policy-invalid",
                subject,
                f"Could not check the MTA-STS policy: {fetch.describe()}"
                + _UNKNOWN_HINT.get(fetch.outcome, ""),
                severity=Severity.WARNING,
                status=Status.UNKNOWN,
                evidence=evidence,
            )
        ]
    if not fetch.ok:
        reason = _FETCH_FAILURES.get(fetch.outcome, fetch.outcome.value)
        return [
            finding(
                "mtasts.policy-invalid",
                subject,
                f"The MTA-STS policy cannot be fetched: {reason} ({fetch.describe()}); senders "
                "that honour MTA-STS treat this as a policy fetch failure",
                evidence=evidence,
            )
        ]
    out: list[Finding] = []
    if fetch.media_type != "text/plain":
        out.append(
            finding(
                "mtasts.policy-invalid",
                subject,
                f"The MTA-STS policy is served as {fetch.media_type or 'no media type'!r}, "
                "not text/plain",
                remediation="Serve mta-sts.txt with Content-Type: text/plain",
                evidence=evidence,
            )
        )
    policy = facts.policy
    if policy is None:
        out.append(
            finding(
                "mtasts.policy-invalid",
                subject,
                f"The MTA-STS policy is {facts.text_problem or 'unreadable'}",
                evidence=evidence,
            )
        )
        return out
    if policy.problems:
        first = policy.problems[0]
        more = f" (and {len(policy.problems) - 1} more)" if len(policy.problems) > 1 else ""
        out.append(
            finding(
                "mtasts.policy-invalid",
                subject,
                f"The MTA-STS policy is malformed: {first}{more}",
                evidence=evidence + [str(p) for p in policy.problems],
            )
        )
    out.extend(_mode_findings(subject, policy.mode, policy.max_age, evidence))
    if mx_hosts is None or policy.mode not in (PolicyMode.ENFORCE, PolicyMode.TESTING):
        return out
    patterns = ", ".join(policy.mx) or "none"
    enforce = policy.mode is PolicyMode.ENFORCE
    for host in mx_hosts:
        if policy.matches(host):
            continue
        out.append(
            finding(
                "mtasts.mx-mismatch",
                host,
                f"MX host {host} matches no mx: line of the MTA-STS policy ({patterns})"
                + (
                    ": senders that honour MTA-STS will not deliver to it"
                    if enforce
                    else "; in testing mode this shows up in TLS reports"
                ),
                severity=Severity.ERROR if enforce else Severity.WARNING,
                remediation=f"Add 'mx: {host}' (or a matching *. pattern) to the policy",
                evidence=evidence + [f"mx: {p}" for p in policy.mx],
            )
        )
    return out


@rule("mtasts.mode-testing")
def _mode_findings(
    subject: str, mode: PolicyMode | None, max_age: int | None, evidence: list[str]
) -> list[Finding]:
    """``mtasts.mode-testing`` for mode testing or none, or an enforce policy cached < 1 day."""
    if mode is PolicyMode.TESTING:
        return [
            finding(
                "mtasts.mode-testing",
                subject,
                "MTA-STS is in mode: testing: senders report TLS failures but still deliver "
                "without TLS",
                remediation=(
                    "When TLS-RPT reports show no failures, change the policy to mode: enforce "
                    "and publish a new id= in the _mta-sts record"
                ),
                evidence=evidence,
            )
        ]
    if mode is PolicyMode.NONE:
        return [
            finding(
                "mtasts.mode-testing",
                subject,
                "MTA-STS is in mode: none: the policy is withdrawn and protects nothing",
                remediation=(
                    "To protect mail again, publish mode: testing, then mode: enforce once "
                    "TLS-RPT reports are clean, each time with a new id= in the _mta-sts record"
                ),
                evidence=evidence,
            )
        ]
    if mode is PolicyMode.ENFORCE and max_age is not None and max_age < ONE_DAY:
        return [
            finding(
                "mtasts.mode-testing",
                subject,
                f"max_age {max_age} is under a day: senders drop the cached policy "
                "quickly, leaving gaps a downgrade attack can use",
                severity=Severity.WARNING,
                remediation="Raise max_age to several weeks (e.g. 1209600 or more)",
                evidence=evidence,
            )
        ]
    return []
