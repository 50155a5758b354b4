"""Catalog entries: MX and null MX."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="mx.missing",
        title="No MX record",
        severity=Severity.WARNING,
        triggers="no MX records (mail falls back to the A/AAAA of the domain, or is undeliverable)",
        why=(
            "Without MX, senders fall back to the domain's A/AAAA address, so replies and "
            "bounces go to the web server or fail. A domain that takes no mail should say so "
            "with a null MX (RFC 7505)."
        ),
        fix="Publish MX records, or a null MX if the domain takes no mail",
        references=("RFC 5321 §5.1",),
    ),
    CheckInfo(
        id="mx.target-invalid",
        title="MX points at an unusable name",
        severity=Severity.ERROR,
        triggers="an MX exchange has no A/AAAA, is a CNAME, or is written as an IP address",
        why=(
            "Senders must resolve each MX host to addresses. A host without A/AAAA cannot be "
            "delivered to, a CNAME is not allowed as an MX target and is handled inconsistently,"
            " and an IP address is looked up as a host name. If every MX is unusable, mail to "
            "the domain bounces."
        ),
        fix="Point each MX at a host name (not a CNAME or IP address) that has A/AAAA records",
        references=("RFC 5321 §5.1", "RFC 2181 §10.3", "RFC 7505 §3"),
    ),
    CheckInfo(
        id="mx.null-mx-mixed",
        title="Null MX mixed with other MX records",
        severity=Severity.ERROR,
        triggers="null MX (0 .) published together with other MX records",
        why=(
            "A null MX (0 .) says the domain accepts no mail, and RFC 7505 requires it to be the"
            " only MX record. Mixed with other MX records, senders may bounce mail that should "
            "arrive, or deliver mail you meant to refuse."
        ),
        fix="Remove either the null MX or the other records",
        references=("RFC 7505 §3",),
    ),
    CheckInfo(
        id="mx.null-mx-not-locked",
        title="Domain without mail not protected from spoofing",
        severity=Severity.WARNING,
        triggers=(
            "domain has a null MX (or no mail at all) but lacks v=spf1 -all and DMARC p=reject"
        ),
        why=(
            "A domain that takes no mail usually sends none either, yet anyone can put it in "
            "From unless SPF and DMARC say that all its mail is forged. M3AAWG recommends v=spf1"
            " -all and p=reject for parked domains."
        ),
        fix="Publish v=spf1 -all at the domain and v=DMARC1; p=reject at _dmarc.<domain>",
        references=("RFC 7505 §4", "M3AAWG parked-domains BCP"),
    ),
    CheckInfo(
        id="mx.sender-ptr",
        title="Sending IP without matching reverse DNS",
        severity=Severity.ERROR,
        triggers=(
            "a sending IP (given or seen in a message) has no PTR, or the PTR name does not "
            "resolve back to the IP (no FCrDNS)"
        ),
        why=(
            "Gmail and Yahoo require sending IPs to have a PTR record whose name resolves back "
            "to the same IP (forward-confirmed reverse DNS); mail from other IPs is rate-limited"
            " or rejected. Many other receivers treat missing reverse DNS as a spam signal."
        ),
        fix="Have the IP's owner set a PTR to a host name whose A/AAAA record is the same IP",
        references=("Google/Yahoo sender requirements", "RFC 8601 §2.7.3 (iprev)"),
    ),
)
