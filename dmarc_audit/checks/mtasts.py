"""MTA-STS policy rules (RFC 8461): pure, facts in, findings out.

``mtasts.policy-invalid`` for a policy that senders cannot fetch or parse,
``mtasts.mode-testing`` for a policy that does not enforce (or caches for under a
day), ``mtasts.mx-mismatch`` for an MX host no ``mx:`` pattern covers. A fetch
that ended in a fault (timeout, DNS failure, HTTP 5xx) is "could not check".
"""

from __future__ import annotations

from collections.abc import Sequence

from dmarc_audit.catalog import finding
from dmarc_audit.fetch.facts import FetchOutcome
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mtasts.facts import PolicyFacts
from dmarc_audit.records.mtasts_policy import ONE_DAY, PolicyMode

_FETCH_FAILURES = {
    FetchOutcome.TLS_ERROR: "the certificate or TLS handshake failed",
    FetchOutcome.HTTP_ERROR: "the server answered with an error status",
    FetchOutcome.REDIRECT: "the server redirects, and senders do not follow redirects",
    FetchOutcome.TOO_LARGE: "the policy is larger than the 64 KiB senders accept",
    FetchOutcome.NO_ADDRESS: "the policy host has no address",
    FetchOutcome.REFUSED: "the policy host refuses HTTPS connections",
    FetchOutcome.BAD_RESPONSE: "the server's answer is not valid HTTP",
}


def policy_findings(facts: PolicyFacts, mx_hosts: Sequence[str] | None) -> list[Finding]:
    """Judge a fetched policy; ``mx_hosts`` None when the MX lookup could not be completed."""
    fetch = facts.fetch
    subject = facts.url
    if fetch.outcome is FetchOutcome.NOT_FETCHED:
        return []
    if fetch.outcome.could_not_check:
        return [
            finding(
                "mtasts.policy-invalid",
                subject,
                f"Could not check the MTA-STS policy: {fetch.describe()}",
                severity=Severity.WARNING,
                status=Status.UNKNOWN,
                evidence=[f"GET {subject}: {fetch.describe()}"],
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
                evidence=[f"GET {subject}: {fetch.describe()}"],
            )
        ]
    evidence = [f"GET {subject}: {fetch.describe()}"]
    out: list[Finding] = []
    if fetch.media_type != "text/plain":
        out.append(
            finding(
                "mtasts.policy-invalid",
                subject,
                f"The MTA-STS policy is served as {fetch.media_type or 'no media type'!r}, "
                "not text/plain",
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
    if policy.mode is PolicyMode.TESTING:
        out.append(
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
        )
    elif policy.mode is PolicyMode.NONE:
        out.append(
            finding(
                "mtasts.mode-testing",
                subject,
                "MTA-STS is in mode: none: the policy is withdrawn and protects nothing",
                evidence=evidence,
            )
        )
    elif (
        policy.mode is PolicyMode.ENFORCE
        and policy.max_age is not None
        and policy.max_age < ONE_DAY
    ):
        out.append(
            finding(
                "mtasts.mode-testing",
                subject,
                f"max_age {policy.max_age} is under a day: senders drop the cached policy "
                "quickly, leaving gaps a downgrade attack can use",
                severity=Severity.WARNING,
                remediation="Raise max_age to several weeks (e.g. 1209600 or more)",
                evidence=evidence,
            )
        )
    if mx_hosts is None or policy.mode not in (PolicyMode.ENFORCE, PolicyMode.TESTING):
        return out
    patterns = ", ".join(policy.mx) or "none"
    for host in mx_hosts:
        if policy.matches(host):
            continue
        out.append(
            finding(
                "mtasts.mx-mismatch",
                host,
                f"MX host {host} matches no mx: line of the MTA-STS policy ({patterns})"
                + (
                    ""
                    if policy.mode is PolicyMode.ENFORCE
                    else "; in testing mode this shows up in TLS reports"
                ),
                severity=Severity.ERROR if policy.mode is PolicyMode.ENFORCE else Severity.WARNING,
                remediation=f"Add 'mx: {host}' (or a matching *. pattern) to the policy",
                evidence=evidence,
            )
        )
    return out
