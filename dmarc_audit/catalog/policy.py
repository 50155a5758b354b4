"""Catalog entries: Policy file (dmarc-audit.yaml; project additions beyond the spec)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="policy.dmarc-too-weak",
        title="DMARC policy weaker than the policy file requires",
        severity=Severity.ERROR,
        triggers=(
            "the policy receivers apply to the domain (p, after t=y) is below dmarc.min_policy, "
            "the subdomain policy (sp) is below dmarc.min_subdomain_policy, pct is below 100 "
            "under a required minimum, or no DMARC record applies at all"
        ),
        why=(
            "The policy file states how strictly spoofed mail from the domain must be treated. "
            "A weaker record, often a rollback to p=none or a lost sp tag, lets forged mail "
            "reach inboxes again, and nothing else in the pipeline would notice."
        ),
        fix=(
            "Publish a DMARC record whose p (and sp) are at least the required policy, or lower "
            "the requirement in dmarc-audit.yaml on purpose"
        ),
        references=("RFC 9989 §4.7", "RFC 7489 §6.3", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.dmarc-rua-required",
        title="DMARC record without the required rua",
        severity=Severity.ERROR,
        triggers="dmarc.require_rua is true and the applicable DMARC record has no valid rua URI",
        why=(
            "Aggregate reports are how a domain owner sees who sends mail in its name and "
            "whether it passes. The policy file requires them; without rua no receiver sends "
            "any, and a move to quarantine or reject is made blind."
        ),
        fix="Add rua=mailto:<address> to the DMARC record (authorise an external address)",
        references=("RFC 9989 §4.7", "RFC 7489 §6.3", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.dmarc-alignment",
        title="DMARC alignment mode differs from the policy file",
        severity=Severity.ERROR,
        triggers=(
            "dmarc.alignment (or dmarc.dkim_alignment / dmarc.spf_alignment) is set and the "
            "record's adkim or aspf (default relaxed) differs"
        ),
        why=(
            "Strict alignment makes mail from subdomains and from providers that sign with a "
            "subdomain fail DMARC; relaxed alignment accepts any subdomain. The policy file "
            "records which one the domain's senders were set up for, and a change breaks them."
        ),
        fix="Set adkim= and aspf= in the DMARC record to the required mode (r or s)",
        references=("RFC 9989 §4.7", "RFC 7489 §3.1", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-over-budget",
        title="SPF lookups over the policy file's budget",
        severity=Severity.ERROR,
        triggers=(
            "the SPF include/redirect tree needs more DNS lookups than spf.max_lookups "
            "(counted as for spf.too-many-lookups)"
        ),
        why=(
            "A budget below the RFC limit of 10 leaves room for providers that add a lookup to "
            "their include without notice. Going over the budget is the early warning before "
            "SPF turns into permerror for all mail."
        ),
        fix=(
            "Remove unused includes, replace a and mx terms with ip4/ip6, or move a sender to a"
            " subdomain"
        ),
        references=("RFC 7208 §4.6.4", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-include-not-allowed",
        title="SPF include not on the allowed list",
        severity=Severity.ERROR,
        triggers=(
            "the domain's SPF record (or the record its redirect= names) has an include whose "
            "target is not in spf.allowed_includes"
        ),
        why=(
            "Every include authorises another organisation's servers to send as the domain. "
            "The allowed list keeps that set reviewed: an include added in passing lets a "
            "whole provider's customer base pass SPF for the domain."
        ),
        fix=(
            "Remove the include, or add it to spf.allowed_includes in dmarc-audit.yaml after review"
        ),
        references=("RFC 7208 §5.2", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-include-required-missing",
        title="Required SPF include missing",
        severity=Severity.ERROR,
        triggers=(
            "an include listed in spf.required_includes is not in the domain's SPF record (or "
            "the record its redirect= names), or the domain has no SPF record"
        ),
        why=(
            "The required includes are the providers that send the domain's mail. Without the "
            "include their mail fails SPF, and unless it is DKIM-signed with an aligned domain "
            "it fails DMARC too: the sender starts failing the moment the record changes."
        ),
        fix="Put the include back in the SPF record, or drop it from spf.required_includes",
        references=("RFC 7208 §5.2", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-ip-not-allowed",
        title="SPF network not on the allowed list",
        severity=Severity.ERROR,
        triggers=(
            "an ip4 or ip6 term of the domain's SPF record is not inside a network listed in "
            "spf.allowed_ips"
        ),
        why=(
            "An ip4 or ip6 term authorises every host in the network to send as the domain. "
            "The allowed list keeps that set to networks the organisation controls."
        ),
        fix=("Remove the term or narrow it, or add the network to spf.allowed_ips after review"),
        references=("RFC 7208 §5.6", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-ip-required-missing",
        title="Required SPF network missing",
        severity=Severity.ERROR,
        triggers=(
            "a network listed in spf.required_ips is not covered by an ip4 or ip6 term of the "
            "domain's SPF record"
        ),
        why=(
            "The required networks hold the domain's own mail servers. Without them in SPF "
            "their mail fails SPF, and DMARC too unless it carries an aligned DKIM signature."
        ),
        fix="Add the ip4/ip6 term back, or drop the network from spf.required_ips",
        references=("RFC 7208 §5.6", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.parked-sends-mail",
        title="Domain declared parked is not locked down",
        severity=Severity.ERROR,
        triggers=(
            "sends_mail is false for the domain, but its SPF record is not v=spf1 -all or its "
            "DMARC policy is not p=reject at 100% (not repeated when mx.null-mx-not-locked "
            "already reports the same domain)"
        ),
        why=(
            "A domain that sends no mail can still be put in the From header by anyone. Only "
            "v=spf1 -all and p=reject tell receivers that all its mail is forged; the policy "
            "file says this domain sends none, so anything weaker is an opening for phishing."
        ),
        fix=(
            "Publish v=spf1 -all at the domain and v=DMARC1; p=reject at _dmarc.<domain> (and a"
            " null MX when it takes no mail)"
        ),
        references=(
            "RFC 7208 §5.1",
            "RFC 7505 §4",
            "M3AAWG parked-domains BCP",
            "dmarc-audit policy file",
        ),
    ),
    CheckInfo(
        id="policy.sending-domain-parked",
        title="Sending domain publishes parked-domain records",
        severity=Severity.ERROR,
        triggers=(
            "sends_mail is true for the domain, but its SPF record is v=spf1 -all or it has a "
            "null MX"
        ),
        why=(
            "v=spf1 -all makes every message from the domain fail SPF, and receivers may "
            "reject mail from a domain with a null MX because it cannot take bounces (RFC 7505)."
            " The policy file says the domain sends mail, so its mail would start failing."
        ),
        fix=(
            "Restore the SPF record that lists the domain's senders and its MX records, or set "
            "sends_mail: false if the domain really is retired"
        ),
        references=("RFC 7208 §5.1", "RFC 7505 §4.2", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.mta-sts-mode",
        title="MTA-STS expected but no valid record, or a weaker mode",
        severity=Severity.ERROR,
        triggers=(
            "mta_sts_mode is enforce or testing and there is no single valid v=STSv1 record at "
            "_mta-sts.<domain>, or the policy fetched over HTTPS has a weaker mode (testing or "
            "none where enforce is expected)"
        ),
        why=(
            "Without the _mta-sts record, sending servers never fetch the policy, so mail to "
            "the domain can be downgraded to plain text or redirected by an attacker on the "
            "path, whatever the policy file on the web server says."
        ),
        fix='Publish _mta-sts.<domain> TXT "v=STSv1; id=<new id>" and serve the policy file',
        references=("RFC 8461 §3.1", "dmarc-audit policy file"),
    ),
)
