"""Catalog entries: DNSSEC and DANE for SMTP (RFC 7672)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo, CheckStatus
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="dnssec.unsigned",
        title="Zone not signed with DNSSEC",
        severity=Severity.INFO,
        triggers="the domain (or MX host zone) is not DNSSEC-signed",
        why=(
            "Without DNSSEC, resolvers cannot detect forged answers, and DANE for SMTP is "
            "impossible: senders use TLSA records only from signed zones. MTA-STS protects "
            "delivery without DNSSEC."
        ),
        fix="Sign the zone if you want DANE",
        references=("RFC 4033", "RFC 7672 §2.2"),
    ),
    CheckInfo(
        id="dnssec.bogus",
        title="DNSSEC validation fails",
        severity=Severity.ERROR,
        triggers="DNSSEC validation fails (broken chain, expired signatures)",
        why=(
            "Validating resolvers, including the major public ones, return SERVFAIL for names in"
            " a zone whose chain of trust is broken, so your MX, SPF, DKIM and DMARC records "
            "cannot be seen. Mail to you is delayed and mail from you cannot be authenticated."
        ),
        fix=(
            "Fix the DS, DNSKEY or RRSIG records; until then validating resolvers cannot see "
            "your records"
        ),
        references=("RFC 4035 §5",),
    ),
    CheckInfo(
        id="dane.tlsa-unsigned",
        title="TLSA records in an unsigned zone",
        severity=Severity.WARNING,
        status=CheckStatus.PLANNED,
        triggers="TLSA records at _25._tcp.<mx> in an unsigned zone (ignored)",
        why=(
            "Senders use TLSA records only when DNSSEC validates them; in an unsigned zone they "
            "are ignored, so they protect nothing."
        ),
        fix="Sign the zone or remove the TLSA records",
        references=("RFC 7672 §2.2",),
    ),
    CheckInfo(
        id="dane.tlsa-mismatch",
        title="TLSA records do not match the MX certificate",
        severity=Severity.ERROR,
        status=CheckStatus.PLANNED,
        triggers=(
            "no TLSA record matches the MX certificate (needs a STARTTLS probe), or only PKIX "
            "usages 0/1 are published"
        ),
        why=(
            "DANE senders, Microsoft 365 and many Postfix servers among them, refuse to deliver "
            "when the certificate matches no usable TLSA record, so mail queues and then "
            "bounces. Usages 0 and 1 (PKIX) are unusable for SMTP, so publishing only those "
            "authenticates nothing."
        ),
        fix=(
            "Publish DANE-EE(3) or DANE-TA(2) records for the current key, and for a new key "
            "before rotating to it"
        ),
        references=("RFC 7672 §3.1, §3.1.3",),
    ),
)
