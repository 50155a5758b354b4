"""Catalog entries: MTA-STS (RFC 8461) and TLS-RPT (RFC 8460)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="mtasts.missing",
        title="No MTA-STS policy",
        severity=Severity.INFO,
        triggers="no _mta-sts TXT record",
        why=(
            "Without MTA-STS (or DANE), a sender that cannot negotiate TLS with your MX falls "
            "back to plain text, so an attacker on the path can strip STARTTLS and read or "
            "change incoming mail. MTA-STS tells senders to refuse delivery without valid TLS."
        ),
        fix="Publish MTA-STS, starting with mode: testing and a TLS-RPT record",
        references=("RFC 8461 §3.1",),
    ),
    CheckInfo(
        id="mtasts.record-invalid",
        title="Invalid MTA-STS TXT record",
        severity=Severity.ERROR,
        triggers="_mta-sts TXT not v=STSv1; id=<1-32 alphanumerics>, or several STSv1 records",
        why=(
            "Senders fetch the policy only if there is exactly one valid _mta-sts record; "
            "otherwise they must assume the domain has no MTA-STS. They use its id to notice "
            "policy changes."
        ),
        fix="Publish exactly one valid record, and change id on every policy update",
        references=("RFC 8461 §3.1",),
    ),
    CheckInfo(
        id="mtasts.policy-invalid",
        title="MTA-STS policy cannot be fetched or parsed",
        severity=Severity.ERROR,
        triggers=(
            "https://mta-sts.<domain>/.well-known/mta-sts.txt not fetchable (bad certificate, "
            "redirect, wrong media type) or lacks version: STSv1, a valid mode, max_age (≤ "
            "31557600) or mx lines"
        ),
        why=(
            "Senders fetch the policy over HTTPS with a valid certificate and do not follow "
            "redirects. If the fetch fails or the policy is malformed, senders without a cached "
            "copy act as if there were no policy, so TLS is not enforced."
        ),
        fix="Serve a valid policy over HTTPS as text/plain, without redirects",
        references=("RFC 8461 §3.2, §3.3",),
    ),
    CheckInfo(
        id="mtasts.mx-mismatch",
        title="MX not covered by the MTA-STS policy",
        severity=Severity.ERROR,
        triggers=(
            "an MX host is not matched by any mx: pattern, or an MX certificate does not match "
            "its name"
        ),
        why=(
            "In enforce mode, senders deliver only to MX hosts that match an mx: line and "
            "present a valid certificate for their name; if none qualifies, mail to the domain "
            "is delayed and then bounces. In testing mode the failures show up in TLS reports."
        ),
        fix="Add the MX host to the policy's mx: lines, or fix its certificate",
        references=("RFC 8461 §4.1",),
    ),
    CheckInfo(
        id="mtasts.mode-testing",
        title="MTA-STS not enforced",
        severity=Severity.INFO,
        triggers="mode: testing or none, or max_age under one day",
        why=(
            "In testing mode senders report TLS failures but deliver anyway, and mode none "
            "withdraws the policy, so neither stops a downgrade attack. Senders rely on a cached"
            " policy, so a max_age under a day leaves frequent gaps an attacker can use; RFC "
            "8461 expects weeks."
        ),
        fix="Once TLS reports are clean, move to mode: enforce with a max_age of several weeks",
        references=("RFC 8461 §3.2, §5",),
    ),
    CheckInfo(
        id="tlsrpt.missing",
        title="No TLS-RPT record",
        severity=Severity.WARNING,
        qualifier="info otherwise",
        triggers="no _smtp._tls TXT record while MTA-STS or DANE is used",
        why=(
            "Without TLS-RPT, senders have nowhere to report TLS failures, so you do not learn "
            "that an expired certificate or an MTA-STS or DANE mismatch is delaying or blocking "
            "incoming mail."
        ),
        fix="Publish _smtp._tls TXT v=TLSRPTv1; rua=mailto:...",
        references=("RFC 8460 §3",),
    ),
    CheckInfo(
        id="tlsrpt.invalid",
        title="Invalid TLS-RPT record",
        severity=Severity.ERROR,
        triggers="_smtp._tls record not v=TLSRPTv1; rua=<mailto or https URIs>, or several records",
        why=(
            "Senders send TLS reports only when _smtp._tls holds exactly one v=TLSRPTv1 record "
            "with a rua of mailto: or https: URIs; otherwise they assume the domain does not "
            "want reports."
        ),
        fix="Publish exactly one valid v=TLSRPTv1 record",
        references=("RFC 8460 §3",),
    ),
)
