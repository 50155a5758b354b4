"""Why a source's mail fails DMARC: the likely reason, the evidence, and the fix.

Each failing record is read from its ``auth_results`` (the receiver's raw SPF and
DKIM verdicts) next to its ``policy_evaluated`` alignment, in this order:

1. **forwarding**: the receiver noted a forwarder or mailing list, or the message
   carries a DKIM signature *for the author's domain* that failed (it passed when
   it was signed; something in transit changed the message) while SPF did not
   pass for that domain (the forwarder's IP is not in it).
2. **spf-error**: SPF for the author's domain ended in permerror/temperror.
3. **esp-own-domain**: DKIM passed, or SPF passed, but for a domain not aligned
   with the From domain: a service that signs or bounces with its own domain.
4. **not-in-spf**: nothing passed, from a *known* source (one that also sends
   aligned mail, has a provider's or our own reverse DNS): missing from SPF and
   not signing.
5. **spoofing**: nothing passed, from an unknown source.

A record without any auth results falls to 4 or 5. The source's diagnosis is the
reason behind most of its failing messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from dmarc_audit.reports.model import AggregateRecord


class Reason(str, Enum):
    """The likely reason a source's mail fails DMARC."""

    NOT_IN_SPF = "not-in-spf"
    ESP_OWN_DOMAIN = "esp-own-domain"
    FORWARDING = "forwarding"
    SPF_ERROR = "spf-error"
    SPOOFING = "spoofing"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def known_sender(self) -> bool:
        """True when the failures come from a sender the domain owner should fix."""
        return self in (Reason.NOT_IN_SPF, Reason.ESP_OWN_DOMAIN, Reason.SPF_ERROR)


_LABELS = {
    Reason.NOT_IN_SPF: "not in SPF, not DKIM-signed",
    Reason.ESP_OWN_DOMAIN: "authenticates with its own domain",
    Reason.FORWARDING: "forwarded (DKIM broken in transit)",
    Reason.SPF_ERROR: "SPF error",
    Reason.SPOOFING: "likely spoofing",
}

FORWARDING_OVERRIDES = frozenset({"forwarded", "mailing_list", "trusted_forwarder"})
"""``policy_override_reason`` types that say a receiver saw forwarding."""

PROVIDERS: tuple[tuple[str, str], ...] = (
    ("google.com", "Google"),
    ("googlemail.com", "Google"),
    ("1e100.net", "Google"),
    ("outlook.com", "Microsoft"),
    ("hotmail.com", "Microsoft"),
    ("microsoft.com", "Microsoft"),
    ("yahoo.com", "Yahoo"),
    ("yahoodns.net", "Yahoo"),
    ("amazonses.com", "Amazon SES"),
    ("sendgrid.net", "SendGrid"),
    ("mcsv.net", "Mailchimp"),
    ("rsgsv.net", "Mailchimp"),
    ("mandrillapp.com", "Mailchimp Transactional"),
    ("mailgun.net", "Mailgun"),
    ("mailgun.org", "Mailgun"),
    ("sparkpostmail.com", "SparkPost"),
    ("mtasv.net", "Postmark"),
    ("postmarkapp.com", "Postmark"),
    ("mailjet.com", "Mailjet"),
    ("sendinblue.com", "Brevo"),
    ("brevo.com", "Brevo"),
    ("zendesk.com", "Zendesk"),
    ("exacttarget.com", "Salesforce Marketing Cloud"),
    ("salesforce.com", "Salesforce"),
    ("hubspotemail.net", "HubSpot"),
    ("zoho.com", "Zoho"),
    ("zohomail.com", "Zoho"),
    ("protonmail.ch", "Proton"),
    ("icloud.com", "Apple iCloud"),
    ("mimecast.com", "Mimecast"),
    ("pphosted.com", "Proofpoint"),
    ("messagelabs.com", "Broadcom Email Security"),
    ("mailchannels.net", "MailChannels"),
    ("constantcontact.com", "Constant Contact"),
    ("fastmail.com", "Fastmail"),
    ("messagingengine.com", "Fastmail"),
)
"""PTR (or signing-domain) suffixes of well-known mail services."""


def provider_for(name: str | None) -> str | None:
    """The mail service a host or domain name belongs to, from :data:`PROVIDERS`."""
    if not name:
        return None
    name = name.lower().rstrip(".")
    for suffix, provider in PROVIDERS:
        if name == suffix or name.endswith("." + suffix):
            return provider
    return None


@cache
def _extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        fallback_to_snapshot=True,
        include_psl_private_domains=True,
    )


@lru_cache(maxsize=65536)
def org_domain(name: str) -> str:
    """The RFC 7489 Organizational Domain (public suffix plus one label, bundled PSL)."""
    name = name.lower().strip().rstrip(".")
    parts = [p for p in name.split(".") if p]
    if not parts:
        return ""
    suffix = _extractor()(name).suffix or parts[-1]
    keep = len(suffix.split(".")) + 1
    return ".".join(parts[-keep:]) if len(parts) >= keep else name


def aligned(domain: str | None, author: str, mode: str | None = "r") -> bool:
    """Identifier alignment (RFC 7489 §3.1): strict = same name, relaxed = same org domain."""
    if not domain or not author:
        return False
    a, b = domain.lower().rstrip("."), author.lower().rstrip(".")
    if a == b:
        return True
    return (mode or "r").lower() != "s" and org_domain(a) == org_domain(b)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why one failing record failed."""

    reason: Reason
    detail: str
    """The evidence, e.g. ``SPF fail for shop.example; DKIM pass d=esp.example``."""
    other_domain: str | None = None
    """The non-aligned domain the sender authenticated as (esp-own-domain)."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What is known about a source IP besides its failing records."""

    known: bool = False
    """It also sends aligned mail (now or before), or its PTR is ours or a provider's."""
    own: bool = False
    """Its reverse DNS lies under the organizational domain of the mail it sends."""


def classify_record(
    record: AggregateRecord,
    policy_domain: str,
    adkim: str | None = "r",
    aspf: str | None = "r",
    context: SourceContext = SourceContext(),
) -> Verdict:
    """The likely reason one DMARC-failing record failed (see the module doc)."""
    author = (record.header_from or policy_domain).lower().rstrip(".")
    spf = [a for a in record.auth_results if a.method.lower() == "spf"]
    dkim = [a for a in record.auth_results if a.method.lower() == "dkim"]
    spf_ours = [a for a in spf if aligned(a.domain, author, aspf)]
    dkim_ours = [a for a in dkim if aligned(a.domain, author, adkim)]
    spf_text = _spf_text(spf, author)
    overrides = {t.lower() for t, _ in record.reasons}

    broken_own_sig = [a for a in dkim_ours if a.result.lower() == "fail"]
    spf_ours_pass = any(a.result.lower() == "pass" for a in spf_ours)
    if overrides & FORWARDING_OVERRIDES or (
        broken_own_sig and not spf_ours_pass and not context.own
    ):
        sig = broken_own_sig[0] if broken_own_sig else None
        dkim_text = f"DKIM fail d={sig.domain}" if sig else "receiver noted forwarding"
        return Verdict(Reason.FORWARDING, f"{spf_text}; {dkim_text}")

    errors = [a for a in spf_ours if a.result.lower() in ("permerror", "temperror")]
    dkim_pass = [a for a in dkim if a.result.lower() == "pass"]
    if errors and not any(aligned(a.domain, author, adkim) for a in dkim_pass):
        return Verdict(Reason.SPF_ERROR, f"SPF {errors[0].result.lower()} for {errors[0].domain}")

    foreign_dkim = [a for a in dkim_pass if a.domain and not aligned(a.domain, author, adkim)]
    foreign_spf = [
        a
        for a in spf
        if a.domain and a.result.lower() == "pass" and not aligned(a.domain, author, aspf)
    ]
    if foreign_dkim or foreign_spf:
        other = (foreign_dkim or foreign_spf)[0].domain.lower()
        parts = [f"DKIM pass d={a.domain.lower()}" for a in foreign_dkim[:2]]
        parts += [f"SPF pass for {a.domain.lower()}" for a in foreign_spf[:1]]
        return Verdict(
            Reason.ESP_OWN_DOMAIN, f"{'; '.join(parts)} (not aligned with {author})", other
        )

    dkim_text = "; ".join(dkim_words(a) for a in dkim[:2]) or "no DKIM signature"
    reason = Reason.NOT_IN_SPF if context.known or context.own else Reason.SPOOFING
    return Verdict(reason, f"{spf_text}; {dkim_text}")


def dkim_words(result: Any) -> str:
    """``DKIM fail d=shop.example``; a result without a domain never prints a bare ``d=``."""
    domain = (result.domain or "").strip().lower()
    verdict = result.result.lower()
    return f"DKIM {verdict} d={domain}" if domain else f"DKIM {verdict} (no signing domain)"


def _spf_text(spf: list, author: str) -> str:
    if not spf:
        return "no SPF result"
    first = spf[0]
    return f"SPF {first.result.lower()} for {first.domain.lower() or author}"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A source's failing mail: the main reason, its evidence, and what to do."""

    reason: Reason
    messages: int
    """Failing messages behind the main reason."""
    failing: int
    """All failing messages of the source."""
    detail: str
    fix: str
    breakdown: tuple[tuple[Reason, int], ...]
    """Failing messages per reason, most first."""

    def to_json(self) -> dict[str, object]:
        return {
            "reason": self.reason.value,
            "label": self.reason.label,
            "messages": self.messages,
            "failing": self.failing,
            "detail": self.detail,
            "fix": self.fix,
            "breakdown": {reason.value: count for reason, count in self.breakdown},
        }


def diagnose(
    source_ip: str,
    verdicts: Iterable[tuple[Verdict, int, str]],
    provider: str | None = None,
) -> Diagnosis | None:
    """Sum ``(verdict, messages, author domain)`` of a source's failing records.

    ``provider`` names the mail service the source belongs to (its reverse DNS),
    so the fix never asks to authorise one IP of a shared service.
    """
    by_reason: Counter[Reason] = Counter()
    by_evidence: Counter[tuple[Reason, str, str | None, str]] = Counter()
    for verdict, messages, author in verdicts:
        by_reason[verdict.reason] += messages
        by_evidence[(verdict.reason, verdict.detail, verdict.other_domain, author)] += messages
    if not by_reason:
        return None
    # most messages first; ties go to the reason listed first in the enum
    order = list(Reason)
    breakdown = sorted(by_reason.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    reason, messages = breakdown[0]
    evidence = sorted(
        ((n, key) for key, n in by_evidence.items() if key[0] is reason), key=lambda item: -item[0]
    )
    _, (_, detail, other, author) = evidence[0]
    if len(evidence) > 1:
        detail += f" (+{len(evidence) - 1} other pattern{'s' if len(evidence) > 2 else ''})"
    return Diagnosis(
        reason,
        messages,
        sum(by_reason.values()),
        detail,
        fix_for(reason, source_ip, author, other, provider),
        tuple(breakdown),
    )


def fix_for(
    reason: Reason,
    source_ip: str,
    domain: str,
    other: str | None = None,
    provider: str | None = None,
) -> str:
    """One line saying what to do about a source failing for ``reason``."""
    if reason is Reason.NOT_IN_SPF and provider:
        return (
            f"{source_ip} is a {provider} server: if you send through {provider}, include "
            f"its SPF and have it sign with DKIM for {domain}; otherwise it is another "
            f"{provider} customer's mail claiming {domain}: nothing to publish"
        )
    if reason is Reason.NOT_IN_SPF:
        return (
            f"authorize {source_ip} in the SPF record of {domain} (or include its "
            f"provider's SPF), and have it sign with DKIM for {domain}"
        )
    if reason is Reason.ESP_OWN_DOMAIN:
        if other and org_domain(other) == org_domain(domain):
            return (
                f"{other} is not aligned with {domain} under strict alignment: sign "
                f"and bounce with {domain} itself, or publish adkim=r/aspf=r"
            )
        provider = provider_for(other)
        who = f"{provider} ({other})" if provider else (other or "the sender")
        return (
            f"{who} authenticates as itself, not as {domain}: set up DKIM signing for "
            f"{domain} there (usually CNAME selectors) or a custom return-path under "
            f"{domain}"
        )
    if reason is Reason.FORWARDING:
        return (
            "forwarded or list mail whose DKIM signature broke in transit: nothing to "
            "publish; sign all your mail with DKIM so unmodified forwards pass"
        )
    if reason is Reason.SPF_ERROR:
        return f"SPF for {domain} ends in an error: run 'dmarc-audit spf {domain}' and fix it"
    return (
        f"unknown source with nothing aligned: likely spoofing of {domain}, which an "
        "enforcing policy stops; if it is yours, authorize it in SPF and sign with DKIM"
    )
