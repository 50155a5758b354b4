"""Catalog entries: DMARC (RFC 7489, RFC 9989)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="dmarc.missing",
        title="No DMARC record",
        severity=Severity.ERROR,
        qualifier="warning for non-sending domains",
        triggers="no DMARC record at the domain, its Organizational Domain or PSD",
        why=(
            "Without DMARC, receivers have no policy for mail that fails authentication, and you"
            " get no reports on who sends as your domain; forged From addresses are judged on "
            "content alone. Gmail, Yahoo and Microsoft require bulk senders to publish DMARC "
            "(p=none at least)."
        ),
        fix=(
            "Publish _dmarc TXT v=DMARC1; p=none; rua=mailto:... and move to enforcement once "
            "the reports are clean"
        ),
        references=("RFC 7489 §6.6.3", "RFC 9989 §4.10.1", "Google/Yahoo/Microsoft bulk rules"),
        bulk_severity=Severity.ERROR,
    ),
    CheckInfo(
        id="dmarc.multiple-records",
        title="More than one DMARC record",
        severity=Severity.ERROR,
        triggers="more than one v=DMARC1 TXT at one _dmarc name (all are discarded)",
        why=(
            "When a _dmarc name holds more than one DMARC record, receivers discard them all and"
            " act as if none were published: no policy, no reports."
        ),
        fix="Keep exactly one v=DMARC1 record at the name",
        references=("RFC 7489 §6.6.3", "RFC 9989 §4.10"),
    ),
    CheckInfo(
        id="dmarc.version-invalid",
        title="DMARC record does not start with v=DMARC1",
        severity=Severity.ERROR,
        triggers="record does not start with exactly v=DMARC1 (case, position, separator)",
        why=(
            "The v tag must come first and be exactly DMARC1; otherwise receivers ignore the "
            "entire record and the domain has no DMARC policy."
        ),
        fix="Start the record with v=DMARC1;",
        references=("RFC 7489 §6.3", "RFC 9989 §4.7"),
    ),
    CheckInfo(
        id="dmarc.wrong-location",
        title="DMARC record at the wrong name",
        severity=Severity.ERROR,
        triggers="a v=DMARC1 TXT record found at the domain apex instead of _dmarc.<domain>",
        why=(
            "Receivers only look for DMARC at _dmarc.<domain>; a record at the domain itself is "
            "never read, so the domain has no DMARC policy."
        ),
        fix="Move the record to _dmarc.<domain>",
        references=("RFC 7489 §6.1", "RFC 9989 §4.5"),
    ),
    CheckInfo(
        id="dmarc.p-missing",
        title="DMARC record has no p= tag",
        severity=Severity.WARNING,
        triggers=(
            "no p= tag (treated as p=none, or ignored entirely under RFC 7489 when no valid rua)"
        ),
        why=(
            "Without p, RFC 9989 receivers treat the record as p=none, and RFC 7489 receivers do"
            " the same only if it has a valid rua, otherwise they ignore it. Either way nothing "
            "is enforced."
        ),
        fix="Add an explicit p= (none, quarantine or reject) right after v=DMARC1",
        references=("RFC 7489 §6.6.3", "RFC 9989 §4.7"),
    ),
    CheckInfo(
        id="dmarc.p-invalid",
        title="Invalid DMARC policy value",
        severity=Severity.ERROR,
        triggers=(
            "p= value is not none/quarantine/reject (record falls back to p=none or is ignored)"
        ),
        why=(
            "An unknown p value makes receivers fall back to p=none when the record has a valid "
            "rua, and ignore DMARC entirely otherwise. The policy you meant is not applied."
        ),
        fix="Set p to none, quarantine or reject",
        references=("RFC 7489 §6.3, §6.6.3", "RFC 9989 §4.10.1"),
    ),
    CheckInfo(
        id="dmarc.subdomain-policy-invalid",
        title="Invalid sp= or np= value",
        severity=Severity.ERROR,
        triggers=(
            "sp= (or, under RFC 9989, np=) has an invalid value: same fallback as an invalid p "
            "(p=none with a valid rua, otherwise no DMARC)"
        ),
        why=(
            "An invalid sp (or np) is handled like an invalid p: receivers use p=none if the "
            "record has a valid rua, and apply no DMARC at all otherwise. One bad subdomain tag "
            "switches off the policy for the domain itself as well."
        ),
        fix="Set the tag to none, quarantine or reject, or remove it",
        references=("RFC 7489 §6.6.3", "RFC 9989 §4.7, §4.10.1"),
    ),
    CheckInfo(
        id="dmarc.tag-invalid",
        title="Invalid DMARC tag value",
        severity=Severity.WARNING,
        triggers=(
            "adkim, aspf, t, psd, pct, ri or rf has an invalid value (e.g. pct=150; the default "
            "is used, some receivers drop the record)"
        ),
        why=(
            "Receivers ignore an invalid value and use the tag's default, which may not be what "
            "you meant (an invalid adkim, for example, becomes relaxed alignment); some "
            "receivers discard the whole record."
        ),
        fix="Use a valid value or remove the tag",
        references=("RFC 7489 §6.3", "RFC 9989 §4.8"),
    ),
    CheckInfo(
        id="dmarc.policy-none",
        title="DMARC policy only monitors",
        severity=Severity.WARNING,
        triggers="effective policy for the domain is none (monitoring only)",
        why=(
            "p=none asks receivers to take no action on mail that fails DMARC, so spoofed mail "
            "using your domain is still delivered. It is meant for collecting reports before "
            "enforcing; Gmail and Yahoo accept it as the bulk-sender minimum, but it protects "
            "nothing."
        ),
        fix=(
            "Review the aggregate reports, fix any legitimate senders that fail, then move to "
            "p=quarantine and later p=reject"
        ),
        references=("RFC 9989 §5.1.7",),
    ),
    CheckInfo(
        id="dmarc.sp-weaker",
        title="Subdomain policy weaker than the main policy",
        severity=Severity.WARNING,
        triggers="sp=none (or weaker than p) while p enforces",
        why=(
            "An attacker who cannot forge the protected domain can forge a subdomain of it "
            "instead, such as billing.<domain>; with sp=none those messages are delivered while "
            "p enforces."
        ),
        fix="Set sp equal to p, unless some subdomains are not ready yet",
        references=("RFC 9989 §4.7",),
    ),
    CheckInfo(
        id="dmarc.pct-partial",
        title="DMARC policy applied to part of the mail",
        severity=Severity.WARNING,
        triggers="pct below 100",
        why=(
            "With pct below 100, RFC 7489 receivers apply the policy to only that share of "
            "failing mail and the next weaker policy to the rest, so some spoofed mail is still "
            "delivered. RFC 9989 receivers ignore pct, so the same record is applied differently"
            " by different receivers."
        ),
        fix="Use pct=100 or remove pct, and use t=y while testing",
        references=("RFC 7489 §6.3", "RFC 9989 App. A.6"),
    ),
    CheckInfo(
        id="dmarc.removed-tag",
        title="DMARC tag removed in RFC 9989",
        severity=Severity.INFO,
        triggers=(
            "pct, rf, ri or a !size suffix on a report URI (removed/obsolete in RFC 9989; still "
            "read by RFC 7489 receivers)"
        ),
        why=(
            "RFC 9989 dropped pct, rf, ri and the !size suffix on report URIs. Receivers that "
            "follow it ignore them while RFC 7489 receivers still read them, so they do no harm "
            "but no longer have a dependable effect."
        ),
        fix="Nothing is broken; drop the tags when RFC 7489 receivers no longer need them",
        references=("RFC 9989 §4.8, App. C.5.2",),
    ),
    CheckInfo(
        id="dmarc.testing-mode",
        title="DMARC in testing mode (t=y)",
        severity=Severity.WARNING,
        triggers="t=y (policy applied one level down)",
        why=(
            "t=y asks receivers to apply the policy one level down: quarantine is handled as "
            "none and reject as quarantine. That is useful during rollout, but left in place it "
            "weakens the published policy."
        ),
        fix="Remove t=y once the reports are clean",
        references=("RFC 9989 §4.7",),
    ),
    CheckInfo(
        id="dmarc.psd-misuse",
        title="psd=y on a domain that is not a public suffix",
        severity=Severity.ERROR,
        triggers="psd=y on a domain that is not a public suffix",
        why=(
            "psd=y declares the domain a public suffix, like a top-level domain. In the RFC 9989"
            " tree walk each of its subdomains then becomes its own Organizational Domain, so "
            "relaxed alignment between them fails and the policy you meant for them no longer "
            "applies."
        ),
        fix="Remove psd=y (psd=n marks an Organizational Domain)",
        references=("RFC 9989 §4.7, §4.10.2",),
    ),
    CheckInfo(
        id="dmarc.no-rua",
        title="No DMARC aggregate reports",
        severity=Severity.WARNING,
        triggers="no rua tag: no aggregate reports",
        why=(
            "Without rua, receivers send no aggregate reports, so you cannot see which servers "
            "send as your domain, whether their mail passes, or when it is safe to enforce. "
            "Google's sender guidelines recommend receiving them."
        ),
        fix="Add rua=mailto:<address> pointing at a mailbox or report service that you read",
        references=("RFC 9989 §5.1.3", "Google sender guidelines"),
    ),
    CheckInfo(
        id="dmarc.rua-invalid-uri",
        title="Malformed DMARC report address",
        severity=Severity.ERROR,
        triggers="a rua/ruf entry is not a URI (e.g. missing mailto:) or has a bad size suffix",
        why=(
            "Receivers can only send reports to a valid URI such as mailto:dmarc@example.com. An"
            " entry without the mailto: scheme or with a bad size suffix is skipped, and if it "
            "is the only one you get no reports."
        ),
        fix="Write each report address as mailto:address@domain, separated by commas",
        references=("RFC 7489 §6.2, §6.4", "RFC 9989 §4.8"),
    ),
    CheckInfo(
        id="dmarc.rua-non-mailto",
        title="DMARC report URI is not mailto",
        severity=Severity.WARNING,
        triggers="report URI scheme other than mailto",
        why=(
            "Receivers are only required to support mailto: for reports, and may ignore any "
            "other scheme, such as https:. A record without a mailto: URI may get no reports at "
            "all."
        ),
        fix="Add a mailto: URI; receivers need not support other schemes",
        references=("RFC 7489 §6.3", "RFC 9989 §4.7"),
    ),
    CheckInfo(
        id="dmarc.rua-external-unauthorized",
        title="External report address not authorised",
        severity=Severity.ERROR,
        triggers=(
            "report URI in another Organizational Domain lacks <domain>._report._dmarc.<dest> "
            "TXT starting v=DMARC1"
        ),
        why=(
            "Before sending reports to another organization's domain, receivers check that it "
            "agrees to take them, via a record at <your-domain>._report._dmarc.<destination>. "
            "Without it no reports are sent there; the check stops anyone from flooding a third "
            "party with reports."
        ),
        fix="Ask the report receiver to publish the authorisation record for your domain",
        references=("RFC 7489 §7.1", "RFC 9990 §3"),
    ),
    CheckInfo(
        id="dmarc.fo-invalid",
        title="Invalid or unused fo= value",
        severity=Severity.WARNING,
        triggers=(
            "fo value invalid (RFC 9989: 0 and 1 together are invalid) or fo without ruf (ignored)"
        ),
        why=(
            "fo chooses when failure reports are generated. An invalid value is ignored, and fo "
            "has no effect at all without a ruf address, so the failure reporting you configured"
            " does not happen."
        ),
        fix="Use a valid value such as fo=1 or fo=d:s, together with a ruf address",
        references=("RFC 7489 §6.3", "RFC 9989 §4.7, §4.8"),
    ),
    CheckInfo(
        id="dmarc.unknown-tag",
        title="Unknown DMARC tag",
        severity=Severity.INFO,
        triggers="tag not in the DMARC tag registry (ignored)",
        why=(
            "Receivers ignore tags they do not know, so a misspelt tag (rau= for rua=, for "
            "example) has no effect and the default applies."
        ),
        fix="Check the tag for typos; remove it if it is not a DMARC tag",
        references=("RFC 7489 §6.3", "RFC 9989 §4.7"),
    ),
    CheckInfo(
        id="dmarc.duplicate-tag",
        title="Duplicate DMARC tag",
        severity=Severity.ERROR,
        triggers="a tag appears twice (record invalid by DKIM tag-list rules; receivers disagree)",
        why=(
            "DMARC uses the DKIM tag-list syntax, in which a repeated tag makes the whole record"
            " invalid. In practice receivers disagree (first value, last value, or no record), "
            "so the policy depends on who reads it."
        ),
        fix="Keep one occurrence of the tag",
        references=("RFC 7489 §6.3 → RFC 6376 §3.2",),
    ),
    CheckInfo(
        id="dmarc.syntax-lenient",
        title="Non-canonical DMARC syntax",
        severity=Severity.WARNING,
        triggers=(
            "accepted by common receivers but outside the ABNF (uppercase names/values, empty "
            ";;, trailing WSP, p not second in 7489)"
        ),
        why=(
            "Large receivers accept small deviations such as uppercase tags or an empty ;;, but "
            "stricter parsers may reject the record and then apply no policy. The canonical form"
            " is read the same way everywhere."
        ),
        fix=(
            "Rewrite the record in canonical form: v=DMARC1; p=...; then the other tags, in "
            "lowercase"
        ),
        references=("RFC 7489 §6.4", "RFC 9989 §4.8"),
    ),
    CheckInfo(
        id="dmarc.inherited",
        title="Policy inherited from the Organizational Domain",
        severity=Severity.INFO,
        triggers="no record at the domain; policy comes from the Organizational Domain (sp/np)",
        why=(
            "With no record at the subdomain, receivers use the Organizational Domain's record, "
            "with sp (or np, for subdomains that do not exist) as the policy. That is usually "
            "intended; this finding shows which record governs the subdomain."
        ),
        fix="Publish a record at the subdomain if it needs a different policy",
        references=("RFC 9989 §4.10.1",),
    ),
    CheckInfo(
        id="dmarc.tree-walk-vs-psl",
        title="Organizational Domain depends on the receiver",
        severity=Severity.WARNING,
        triggers=(
            "Organizational Domain from the RFC 9989 tree walk differs from the Public Suffix "
            "List answer"
        ),
        why=(
            "RFC 7489 receivers find the Organizational Domain with the Public Suffix List, RFC "
            "9989 receivers with a DNS tree walk. When the two disagree, receivers can apply "
            "different policies and alignment results to the same message."
        ),
        fix="Publish psd=n at the intended Organizational Domain",
        references=("RFC 9989 §4.10", "RFC 7489 §3.2"),
    ),
)
