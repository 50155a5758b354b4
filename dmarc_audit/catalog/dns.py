"""Catalog entries: DNS health (applies to every lookup above)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="dns.nxdomain",
        title="Domain does not exist (NXDOMAIN)",
        severity=Severity.ERROR,
        triggers=(
            "the audited domain itself answers NXDOMAIN: no record of any type exists at that"
            " name, so the missing-record findings it implies are not listed one by one"
        ),
        why=(
            "A name that does not exist has no SPF, MX, DMARC, DKIM, MTA-STS or TLS-RPT "
            "records and cannot get any until it exists. Usually the name was mistyped; "
            "otherwise it is not registered, not delegated, or not yet in its zone."
        ),
        fix=(
            "Check the spelling; if the domain is yours, register or delegate it (or add the "
            "name to its zone) before publishing mail records"
        ),
        references=("RFC 1035 §4.1.1", "RFC 8020"),
    ),
    CheckInfo(
        id="dns.lookup-failed",
        title="DNS lookup failed",
        severity=Severity.WARNING,
        qualifier="status unknown",
        triggers=(
            "a query the audit needed timed out, got SERVFAIL/REFUSED, or failed at every "
            "nameserver; the dependent checks are reported unknown"
        ),
        why=(
            "A query that times out or gets SERVFAIL or REFUSED is likely to fail at receivers "
            "too, which then defer mail or return temporary errors. The checks that need the "
            "answer are reported as unknown, not as missing records."
        ),
        fix="Check the zone's nameservers, and rerun with another resolver (--nameserver)",
        references=("RFC 1035 §4.1.1", "RFC 8767"),
    ),
    CheckInfo(
        id="spf.temperror",
        title="SPF lookup fails temporarily (temperror)",
        severity=Severity.ERROR,
        triggers=(
            "a lookup needed to evaluate SPF fails (SERVFAIL, timeout): receivers return "
            "temperror and may defer or reject mail"
        ),
        why=(
            "When a lookup SPF needs fails, receivers get temperror and may defer the message or"
            " treat SPF as not passing, so DMARC has to rely on DKIM. A lasting failure at an "
            "include usually means the provider's DNS is broken or the include name is stale."
        ),
        fix="Fix or replace the failing include or provider, and check its nameservers",
        references=("RFC 7208 §2.6.6, §5",),
    ),
    CheckInfo(
        id="dns.dangling-cname",
        title="CNAME points at a name that does not exist",
        severity=Severity.ERROR,
        triggers=(
            "a _dmarc, DKIM selector, _mta-sts, _smtp._tls, BIMI or include name is a CNAME "
            "whose target does not exist (the record silently disappears; an unregistered target"
            " can be taken over)"
        ),
        why=(
            "A record delegated by CNAME silently disappears when the target goes away. If the "
            "target's domain can be registered by someone else, they can publish records there "
            "that receivers accept as yours, such as a DKIM key that signs mail as your domain."
        ),
        fix="Remove the CNAME or point it at the provider's current name",
        references=("RFC 1034 §3.6.2", "RFC 6376 §3.6.2.2"),
    ),
    CheckInfo(
        id="dkim.selector-missing",
        title="DKIM selector has no key record",
        severity=Severity.ERROR,
        triggers=(
            "a selector that was given (flag, config, or seen in a message) has no key record at"
            " <selector>._domainkey.<domain>"
        ),
        why=(
            "Verifiers look up the key at <selector>._domainkey.<domain>; when there is none, "
            "they return permfail for every signature with this selector, and DKIM cannot help "
            "DMARC pass."
        ),
        fix="Publish the key the sender signs with, or fix the selector name",
        references=("RFC 6376 §3.6.2.1, §6.1.2",),
    ),
)
