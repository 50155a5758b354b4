"""The catalog: one source of truth for every check id.

Ids are ``<area>.<kebab-name>`` (see ``docs/checks.md``) and never change meaning.
Each entry says what triggers it, why it matters, how to fix it and where the
rule comes from; ``dmarc-audit explain ID`` prints it and findings take their
default severity, remediation and references from it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from dmarc_audit.findings import Finding, Severity, Status


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """Documentation and defaults for one check id."""

    id: str
    title: str
    severity: Severity
    severity_note: str
    triggers: str
    why: str
    fix: str
    references: tuple[str, ...]
    bulk_severity: Severity | None = None
    """Severity under ``--profile bulk-sender`` when it differs."""

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


CHECKS: tuple[CheckInfo, ...] = (
    # --- SPF (RFC 7208) ---
    CheckInfo(
        id="spf.missing",
        title="No SPF record",
        severity=Severity.WARNING,
        severity_note="warning (error with --bulk-sender)",
        triggers=(
            "no TXT record starting v=spf1 (case-insensitive, followed by space or end) at the "
            "domain"
        ),
        why=(
            "Without SPF, receivers cannot tell which servers may send mail for the domain and "
            "the SPF result is none. Gmail, Yahoo and Microsoft require SPF or DKIM from every "
            "sender, and both from bulk senders; unauthenticated mail is more likely to be "
            "rejected or filtered as spam."
        ),
        fix=(
            "Publish one TXT record v=spf1 ... -all that lists the servers and providers that "
            "send your mail"
        ),
        references=("RFC 7208 §4.5", "Google/Yahoo/Microsoft bulk rules"),
        bulk_severity=Severity.ERROR,
    ),
    CheckInfo(
        id="spf.multiple-records",
        title="More than one SPF record",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="more than one v=spf1 TXT record at the same name (receivers return permerror)",
        why=(
            "RFC 7208 allows exactly one SPF record per name. With two or more, every receiver "
            "returns permerror, SPF never passes for the domain, and DMARC has to rely on DKIM "
            "alone."
        ),
        fix="Merge the records into a single v=spf1 record",
        references=("RFC 7208 §3.2, §4.5",),
    ),
    CheckInfo(
        id="spf.syntax-error",
        title="SPF syntax error",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "record does not match the ABNF: unknown mechanism, bad qualifier, bad CIDR length, "
            "malformed macro, bad modifier name, redirect/exp given twice, control characters or"
            " non-ASCII (all permerror)"
        ),
        why=(
            "One invalid term makes the whole record fail with permerror at every receiver, not "
            "just that term. SPF then never passes for the domain, and DMARC has to rely on DKIM"
            " alone."
        ),
        fix="Fix the term named in the finding, and validate the record before publishing it",
        references=("RFC 7208 §3.1, §4.6, §6, §12",),
    ),
    CheckInfo(
        id="spf.too-many-lookups",
        title="Too many SPF DNS lookups",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) counted "
            "across the whole include/redirect tree, or an mx term that returns more than 10 MX "
            "names (both permerror)"
        ),
        why=(
            "RFC 7208 limits an SPF evaluation to 10 DNS-querying terms; receivers stop there "
            "and return permerror, so SPF fails for all mail from the domain. Nested includes "
            "from email providers count too, so the total is often much higher than the record "
            "itself suggests."
        ),
        fix=(
            "Remove unused includes, replace a and mx terms with ip4/ip6, or move some senders "
            "to subdomains with their own SPF records"
        ),
        references=("RFC 7208 §4.6.4",),
    ),
    CheckInfo(
        id="spf.lookups-near-limit",
        title="SPF lookups close to the limit of 10",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="8–10 DNS-querying terms",
        why=(
            "Providers change their include records without notice. One extra lookup in a nested"
            " include can push the record past 10 and turn every SPF check into permerror."
        ),
        fix="Trim the record now, before a provider adds a lookup to its include",
        references=("RFC 7208 §4.6.4",),
    ),
    CheckInfo(
        id="spf.void-lookups",
        title="SPF terms that find nothing",
        severity=Severity.ERROR,
        severity_note="error (>2) / warning (1–2)",
        triggers=(
            "terms point at names with no answer (NXDOMAIN or NODATA): 1–2 such lookups = "
            "warning; more than 2 in one evaluation = permerror at receivers"
        ),
        why=(
            "RFC 7208 lets receivers allow at most two lookups with no answer (void lookups) per"
            " evaluation and return permerror beyond that, to limit abuse of SPF for DNS "
            "attacks. Dead terms usually point at a provider you no longer use."
        ),
        fix="Remove the terms that point at names with no records, or correct their names",
        references=("RFC 7208 §4.6.4",),
    ),
    CheckInfo(
        id="spf.target-no-record",
        title="Included domain has no SPF record",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="an include or redirect target has no SPF record (permerror)",
        why=(
            "An include or redirect to a domain without an SPF record makes the whole evaluation"
            " return permerror, so SPF fails for every message, not only for those sent through "
            "that provider."
        ),
        fix="Correct the include or redirect target, or remove the term",
        references=("RFC 7208 §5.2, §6.1",),
    ),
    CheckInfo(
        id="spf.include-loop",
        title="SPF include loop",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="include/redirect chain revisits a domain",
        why=(
            "A chain of include or redirect terms that returns to a domain it already visited "
            "never finishes; receivers stop at the lookup limit and return permerror, so SPF "
            "fails for all mail from the domain."
        ),
        fix="Break the loop: no record may include or redirect to a domain already in its chain",
        references=("RFC 7208 §4.6.4, §5.2",),
    ),
    CheckInfo(
        id="spf.ignored-terms",
        title="SPF terms that never take effect",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers=(
            "terms that can never take effect: anything after all, or redirect= in a record that"
            " has all"
        ),
        why=(
            "Receivers stop at the all mechanism, and ignore redirect= in a record that contains"
            " all. Whatever those terms were meant to authorise is not authorised, so that mail "
            "fails SPF."
        ),
        fix="Put the all mechanism last, or drop the redirect= that all makes unused",
        references=("RFC 7208 §5.1, §6.1",),
    ),
    CheckInfo(
        id="spf.pass-all",
        title="SPF allows every host (+all)",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="+all or bare all: every host on the Internet passes",
        why=(
            "+all gives pass to every IP address on the Internet, so anyone can send mail that "
            "passes SPF for the domain; with the domain in both MAIL FROM and From, forged mail "
            "passes DMARC too. This is worse than publishing no SPF record."
        ),
        fix="End the record with -all (or ~all) after listing your real senders",
        references=("RFC 7208 §5.1, §11",),
    ),
    CheckInfo(
        id="spf.weak-all",
        title="SPF ends in neutral",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="record ends with ?all, or has neither all nor redirect (default result neutral)",
        why=(
            "?all, or a record with neither all nor redirect, gives neutral for unlisted hosts, "
            "and receivers must treat neutral exactly like having no SPF policy. Mail forged "
            "from other servers does not fail SPF."
        ),
        fix="End the record with -all (or ~all) once all your senders are listed",
        references=("RFC 7208 §4.7, §5.1, §8.2",),
    ),
    CheckInfo(
        id="spf.ptr-used",
        title="SPF uses ptr",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="ptr mechanism or %{p} macro present",
        why=(
            "The ptr mechanism is slow, fails when reverse DNS is slow or broken, and loads the "
            ".arpa name servers; RFC 7208 says it SHOULD NOT be published. It also counts "
            "towards the limit of 10 lookups."
        ),
        fix="Replace ptr (and the %{p} macro) with ip4, ip6 or a terms",
        references=("RFC 7208 §5.5 (\"SHOULD NOT be published\")",),
    ),
    CheckInfo(
        id="spf.type99",
        title="SPF published as DNS type 99",
        severity=Severity.INFO,
        severity_note="info / error",
        triggers=(
            "an SPF (RR type 99) record is published (info); error if there is no TXT SPF record"
        ),
        why=(
            "RFC 7208 deprecated the SPF resource record type (99): receivers only query TXT. If"
            " the policy exists only as type 99, receivers see no SPF at all."
        ),
        fix="Publish SPF as a TXT record only, and remove the type 99 record",
        references=("RFC 7208 §3.1, §14.1",),
    ),
    CheckInfo(
        id="spf.string-too-long",
        title="TXT string longer than 255 octets",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "a single TXT character-string longer than 255 octets (zone/provider will truncate "
            "or reject)"
        ),
        why=(
            "A single DNS character-string holds at most 255 octets, so DNS providers truncate "
            "or reject a longer one, which leaves a broken or missing record. A long record must"
            " be written as several strings in one TXT record; receivers join them without "
            "spaces."
        ),
        fix="Split the record into several quoted strings of at most 255 octets in one TXT record",
        references=("RFC 7208 §3.3", "RFC 1035 §3.3"),
    ),
    CheckInfo(
        id="spf.response-too-large",
        title="TXT answer larger than 512 octets",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers=(
            "the TXT RRset at the name exceeds 512 octets of DNS payload (all TXT records count)"
        ),
        why=(
            "An answer over 512 octets may not fit in a plain UDP response, so resolvers have to"
            " retry over TCP or use EDNS0; where a firewall blocks that, verifiers can silently "
            "ignore the record (RFC 7208 §3.4). Every TXT record at the name counts, "
            "site-verification tokens included."
        ),
        fix=(
            "Shorten the SPF record, and move site-verification TXT records to subdomains where "
            "the provider allows it"
        ),
        references=("RFC 7208 §3.4",),
    ),
    CheckInfo(
        id="spf.overly-broad",
        title="SPF authorises very large or private networks",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "ip4 prefix shorter than /16 or ip6 shorter than /32 (including /0), or "
            "private/loopback ranges listed"
        ),
        why=(
            "A prefix shorter than /16 (IPv4) or /32 (IPv6) authorises tens of thousands of "
            "addresses or more, often a whole hosting or cloud range, and every customer in it "
            "can then pass SPF as your domain. Private and loopback ranges never send from the "
            "Internet, so listing them is a mistake."
        ),
        fix="Authorise only the networks you actually send from",
        references=("RFC 7208 §5.6, §11", "RFC 6890"),
    ),
    CheckInfo(
        id="spf.helo-missing",
        title="HELO name has no SPF record",
        severity=Severity.INFO,
        severity_note="info",
        triggers="the HELO/EHLO host name of a sending or MX host has no SPF record",
        why=(
            "Receivers may check SPF for the HELO/EHLO name, and for bounces (empty MAIL FROM) "
            "it is the only SPF identity there is. A record on host names also stops others from"
            " using them in HELO."
        ),
        fix=(
            "Publish v=spf1 a -all on host names that send mail, and v=spf1 -all on those that "
            "do not"
        ),
        references=("RFC 7208 §2.3",),
    ),
    # --- DKIM (RFC 6376, RFC 8301, RFC 8463) ---
    CheckInfo(
        id="dkim.no-key-found",
        title="No DKIM key found",
        severity=Severity.INFO,
        severity_note="info (warning with --bulk-sender)",
        triggers="none of the known/probed selectors has a key record",
        why=(
            "Without DKIM, DMARC can pass only through SPF, which breaks when mail is forwarded;"
            " Gmail, Yahoo and Microsoft require DKIM from bulk senders. Selectors cannot be "
            "listed from DNS, so this may only mean that your selector is not a common name."
        ),
        fix=(
            "Give the selector explicitly (it is the s= of a DKIM-Signature header), or publish "
            "a key"
        ),
        references=("RFC 6376 §3.6.2.1",),
        bulk_severity=Severity.WARNING,
    ),
    CheckInfo(
        id="dkim.key-invalid",
        title="Unusable DKIM key record",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "key TXT record unusable: tag-list error (duplicate tag, tag without =, bad tag "
            "name), v= not first or not DKIM1, missing p=, or p= not a valid base64 key of type "
            "k="
        ),
        why=(
            "Verifiers must ignore a key record that does not parse and return permfail, so "
            "every signature made with this selector counts as invalid and DKIM cannot help "
            "DMARC pass."
        ),
        fix=(
            "Republish the key exactly as generated: SubjectPublicKeyInfo in base64, without PEM"
            " markers"
        ),
        references=("RFC 6376 §3.2, §3.6.1, §6.1.2",),
    ),
    CheckInfo(
        id="dkim.key-revoked",
        title="DKIM key revoked",
        severity=Severity.INFO,
        severity_note="info",
        triggers="p= is empty (key revoked)",
        why=(
            "An empty p= means the key has been revoked, and signatures made with this selector "
            "fail verification. That is expected after a key rotation, not while a sender still "
            "signs with the selector."
        ),
        fix="Stop signing with this selector, or publish the new key",
        references=("RFC 6376 §3.6.1",),
    ),
    CheckInfo(
        id="dkim.rsa-too-short",
        title="DKIM RSA key shorter than 1024 bits",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="RSA key shorter than 1024 bits (receivers treat signatures as invalid)",
        why=(
            "RFC 8301 forbids verifiers to accept signatures made with RSA keys under 1024 bits,"
            " so this selector's signatures count as invalid. Such keys can be factored with "
            "modest effort, and whoever recovers the key can sign mail as your domain."
        ),
        fix="Generate a 2048-bit RSA key, publish it under a new selector and sign with it",
        references=("RFC 8301 §3.2",),
    ),
    CheckInfo(
        id="dkim.rsa-1024",
        title="DKIM RSA key shorter than 2048 bits",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="RSA key of 1024 to 2047 bits",
        why=(
            "1024-bit keys still verify everywhere, but RFC 8301 says signers SHOULD use at "
            "least 2048 bits and Google recommends 2048. Shorter keys leave little margin "
            "against factoring."
        ),
        fix="Rotate to a 2048-bit key (the TXT record must then be split into several strings)",
        references=("RFC 8301 §3.2 (SHOULD ≥ 2048)", "Google sender guidelines recommend 2048"),
    ),
    CheckInfo(
        id="dkim.unknown-key-type",
        title="Unknown DKIM key type",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="k= is not rsa or ed25519 (key ignored)",
        why=(
            "Verifiers implement only rsa and ed25519 keys; a key with another k= value is "
            "unusable, so every signature made with this selector fails."
        ),
        fix="Use k=rsa or k=ed25519",
        references=("RFC 6376 §3.6.1", "RFC 8463 §4"),
    ),
    CheckInfo(
        id="dkim.sha1",
        title="DKIM uses SHA-1",
        severity=Severity.ERROR,
        severity_note="error / warning",
        triggers=(
            "key h= lists only sha1 (error) or includes sha1 (warning); message mode: signature "
            "uses a=rsa-sha1 (error)"
        ),
        why=(
            "RFC 8301 says rsa-sha1 MUST NOT be used for signing or verifying, because SHA-1 is "
            "no longer collision-resistant. Signatures made with it are not valid, and a key "
            "restricted to h=sha1 can never produce a valid signature."
        ),
        fix="Sign with rsa-sha256 or ed25519-sha256, and set h=sha256 on the key or drop h=",
        references=("RFC 8301 §3.1",),
    ),
    CheckInfo(
        id="dkim.service-not-email",
        title="DKIM key not for email",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="s= present and does not include email or *",
        why=(
            "The s= tag restricts what a key is for, and verifiers must ignore a key whose "
            "service types do not include email or *, so mail signatures with this selector "
            "fail. s=tlsrpt keys are meant for signing TLS reports."
        ),
        fix="Remove s= from the key record, or add email to it",
        references=("RFC 6376 §3.6.1", "RFC 8460 (DKIM s=tlsrpt)"),
    ),
    CheckInfo(
        id="dkim.testing-mode",
        title="DKIM key in testing mode",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="key flag t=y",
        why=(
            "t=y tells verifiers the domain is only testing DKIM: RFC 6376 says they must not "
            "treat its mail differently from unsigned mail, even when a signature fails to "
            "verify. The flag is meant for rollout; a production key should not carry it."
        ),
        fix="Remove t=y from the key record once testing is over",
        references=("RFC 6376 §3.6.1",),
    ),
    CheckInfo(
        id="dkim.pkcs1-key-format",
        title="DKIM key in PKCS#1 form",
        severity=Severity.INFO,
        severity_note="info",
        triggers="RSA p= holds a bare PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo",
        why=(
            "The text of RFC 6376 names the bare PKCS#1 RSAPublicKey, but signers and verifiers "
            "use SubjectPublicKeyInfo, as Errata 3017 records. Not every verifier accepts the "
            "PKCS#1 form, so signatures can fail at some receivers."
        ),
        fix="Publish the key in SubjectPublicKeyInfo (SPKI) form for the widest compatibility",
        references=("RFC 6376 §3.6.1 and Errata 3017",),
    ),
    CheckInfo(
        id="dkim.ed25519-only",
        title="Only Ed25519 DKIM keys",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="selectors found are all ed25519",
        why=(
            "Many receivers do not yet verify ed25519-sha256 signatures (RFC 8463); to them the "
            "mail looks unsigned and DKIM cannot help DMARC pass. Signing with both an ed25519 "
            "and an RSA key lets each receiver use the one it supports."
        ),
        fix="Add an RSA signature alongside the ed25519 one",
        references=("RFC 8463 (interoperability)", "RFC 8301"),
    ),
    CheckInfo(
        id="dkim.signature-invalid",
        title="DKIM signature does not verify",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="message mode: signature or body hash does not verify, or h= does not cover From",
        why=(
            "A signature that fails verification counts as no signature for DMARC. Common causes"
            " are a gateway or mailing list that changed the message, a published key that does "
            "not match the signing key, and an h= list without From, which RFC 6376 requires to "
            "be signed."
        ),
        fix=(
            "Check for changes made in transit and for a mismatch with the published key, and "
            "make sure the signature covers From"
        ),
        references=("RFC 6376 §5.4, §6.1.3",),
    ),
    CheckInfo(
        id="dkim.body-length-tag",
        title="DKIM body length limit (l=)",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="message mode: l= present (content can be appended)",
        why=(
            "With l=, only the first part of the body is signed, so anyone who gets hold of a "
            "signed message can append content, such as a phishing link, and the signature still"
            " verifies."
        ),
        fix="Sign the whole body: do not use l=",
        references=("RFC 6376 §8.2",),
    ),
    # --- DMARC (RFC 7489, RFC 9989) ---
    CheckInfo(
        id="dmarc.missing",
        title="No DMARC record",
        severity=Severity.ERROR,
        severity_note="error (warning for non-sending domains)",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="warning",
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
        severity_note="warning",
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
        severity_note="warning",
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
        severity_note="info",
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
        severity_note="warning",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="error",
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
        severity_note="warning",
        triggers=(
            "fo value invalid (RFC 9989: 0 and 1 together are invalid) or fo without ruf "
            "(ignored)"
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
        severity_note="info",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="info",
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
        severity_note="warning",
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
    # --- Alignment (RFC 7489 §3.1, RFC 9989 §4.4) ---
    CheckInfo(
        id="align.spf-unaligned",
        title="SPF passes but is not aligned",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers=(
            "message mode: SPF passes but the MAIL FROM (Return-Path) domain is not aligned with"
            " the From domain"
        ),
        why=(
            "DMARC counts an SPF pass only when the MAIL FROM (Return-Path) domain matches the "
            "From domain (relaxed mode: same Organizational Domain). An ESP's own bounce domain "
            "passes SPF but does nothing for DMARC, which then depends on DKIM alone."
        ),
        fix="Set up a custom bounce (Return-Path) domain under your From domain at the ESP",
        references=("RFC 9989 §4.4.2",),
    ),
    CheckInfo(
        id="align.dkim-unaligned",
        title="DKIM passes but is not aligned",
        severity=Severity.WARNING,
        severity_note="warning",
        triggers="message mode: DKIM passes only for a d= not aligned with the From domain",
        why=(
            "DMARC counts a DKIM pass only when the signature's d= domain matches the From "
            "domain (relaxed mode: same Organizational Domain). A signature by the ESP's own "
            "domain verifies but does nothing for DMARC, and DKIM is the method that survives "
            "forwarding."
        ),
        fix="Have the ESP sign with your domain (custom DKIM)",
        references=("RFC 9989 §4.4.1",),
    ),
    CheckInfo(
        id="align.none",
        title="DMARC fails: no aligned SPF or DKIM pass",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="message mode: neither SPF nor DKIM passes aligned; DMARC fails",
        why=(
            "Without an aligned SPF or DKIM pass the message fails DMARC, and receivers apply "
            "the published policy (quarantine or reject). Gmail, Yahoo and Microsoft require "
            "bulk mail to align with SPF or DKIM and may reject or junk it even under p=none."
        ),
        fix="Get at least one aligned pass; prefer DKIM, which survives forwarding",
        references=("RFC 9989 §4.4, §5.3.5", "Google/Yahoo/Microsoft bulk rules"),
    ),
    CheckInfo(
        id="align.strict-mode",
        title="Strict DMARC alignment",
        severity=Severity.INFO,
        severity_note="info",
        triggers="adkim=s or aspf=s",
        why=(
            "With adkim=s or aspf=s, domains must match exactly, so mail signed or bounced with "
            "a subdomain (mail.example.com for example.com) fails alignment. That is safe only "
            "if every sender uses the exact From domain."
        ),
        fix="Make sure every sender uses the exact From domain, or use relaxed alignment",
        references=("RFC 9989 §4.7",),
    ),
    # --- MX and null MX ---
    CheckInfo(
        id="mx.missing",
        title="No MX record",
        severity=Severity.WARNING,
        severity_note="warning",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="error",
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
    # --- MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) ---
    CheckInfo(
        id="mtasts.missing",
        title="No MTA-STS policy",
        severity=Severity.INFO,
        severity_note="info",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="info",
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
        severity_note="warning (info otherwise)",
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
        severity_note="error",
        triggers="_smtp._tls record not v=TLSRPTv1; rua=<mailto or https URIs>, or several records",
        why=(
            "Senders send TLS reports only when _smtp._tls holds exactly one v=TLSRPTv1 record "
            "with a rua of mailto: or https: URIs; otherwise they assume the domain does not "
            "want reports."
        ),
        fix="Publish exactly one valid v=TLSRPTv1 record",
        references=("RFC 8460 §3",),
    ),
    # --- BIMI (draft-brand-indicators-for-message-identification) ---
    CheckInfo(
        id="bimi.dmarc-not-enforced",
        title="BIMI without DMARC enforcement",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "BIMI record present but DMARC is not at enforcement (p quarantine/reject, no pct < "
            "100, sp not none, at the Organizational Domain)"
        ),
        why=(
            "Mailbox providers show a BIMI logo only for mail from domains whose DMARC policy "
            "enforces (quarantine or reject, for all mail and subdomains), so that the logo "
            "cannot be spoofed. With a weaker policy the BIMI record is ignored."
        ),
        fix="Move DMARC to p=quarantine or p=reject for 100 % of mail, with sp not none",
        references=("BIMI draft (DMARC enforcement prerequisite)",),
    ),
    CheckInfo(
        id="bimi.record-invalid",
        title="Invalid BIMI record or logo",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "default._bimi TXT not v=BIMI1; l=<https SVG URL>; a=<https PEM URL or empty>, or "
            "the logo is unreachable or not SVG Tiny Portable/Secure"
        ),
        why=(
            "Providers fetch the logo from l= and check that it is SVG Tiny Portable/Secure; an "
            "invalid record, an unreachable URL or a non-conforming SVG means no logo is shown."
        ),
        fix="Fix the record, and publish the logo over HTTPS as SVG Tiny Portable/Secure",
        references=("BIMI draft (record and SVG Tiny PS profile)",),
    ),
    CheckInfo(
        id="bimi.no-certificate",
        title="BIMI without a mark certificate",
        severity=Severity.INFO,
        severity_note="info",
        triggers=(
            "a= empty or missing (most mailbox providers, e.g. Gmail, need a VMC or CMC to show "
            "the logo)"
        ),
        why=(
            "Most mailbox providers, Gmail among them, show a BIMI logo only when a= points at a"
            " Verified Mark Certificate or Common Mark Certificate that proves the right to use "
            "the logo. Without one, few recipients will see it."
        ),
        fix=(
            "Obtain a Verified Mark Certificate or Common Mark Certificate and publish its URL "
            "in a="
        ),
        references=("BIMI draft", "Gmail and Apple Mail documentation"),
    ),
    # --- DNSSEC and DANE for SMTP (RFC 7672) ---
    CheckInfo(
        id="dnssec.unsigned",
        title="Zone not signed with DNSSEC",
        severity=Severity.INFO,
        severity_note="info",
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
        severity_note="error",
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
        severity_note="warning",
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
        severity_note="error",
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
    # --- DNS health (applies to every lookup above) ---
    CheckInfo(
        id="dns.lookup-failed",
        title="DNS lookup failed",
        severity=Severity.WARNING,
        severity_note="warning (status unknown)",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
    # --- Bulk-sender requirements (Google, Yahoo from Feb 2024; Microsoft Outlook.com from May 2025) ---
    CheckInfo(
        id="bulk.auth-incomplete",
        title="Bulk-sender authentication requirements not met",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "for a bulk sender: SPF or DKIM missing, no DMARC record (p=none is the minimum), or"
            " neither SPF nor DKIM aligned with the From domain"
        ),
        why=(
            "Gmail, Yahoo and Microsoft require senders of about 5,000 or more messages a day to"
            " have SPF, DKIM and a DMARC record (p=none is enough), with the From domain aligned"
            " with SPF or DKIM. Mail that falls short is rejected or sent to spam."
        ),
        fix=(
            "Publish SPF, sign with DKIM as your own domain, publish DMARC, and align at least "
            "one of SPF or DKIM with the From domain"
        ),
        references=(
            "Google sender guidelines",
            "Yahoo Sender Hub",
            "Microsoft Outlook.com (May 2025)",
        ),
    ),
    CheckInfo(
        id="bulk.one-click-unsubscribe",
        title="No one-click unsubscribe",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "message mode: marketing/subscribed mail without List-Unsubscribe (with an https "
            "URI) and List-Unsubscribe-Post: List-Unsubscribe=One-Click"
        ),
        why=(
            "Gmail and Yahoo require marketing and subscribed mail from bulk senders to carry "
            "List-Unsubscribe with an https URI and List-Unsubscribe-Post (RFC 8058), and to "
            "honour requests within two days. Without it, recipients use the spam button "
            "instead."
        ),
        fix=(
            "Add List-Unsubscribe (https URI) and List-Unsubscribe-Post: "
            "List-Unsubscribe=One-Click, and sign both headers with DKIM"
        ),
        references=("RFC 8058", "Google/Yahoo (honour within 2 days)"),
    ),
    CheckInfo(
        id="bulk.tls-required",
        title="Mail host without TLS",
        severity=Severity.ERROR,
        severity_note="error",
        triggers="an MX or sending host does not offer/use TLS",
        why=(
            "Google requires senders to use TLS to transmit mail, and mail sent without it can "
            "be read or changed by anyone on the path. An MX without STARTTLS cannot receive "
            "mail from senders that require TLS (MTA-STS, DANE)."
        ),
        fix="Enable STARTTLS with a valid certificate",
        references=("Google sender guidelines",),
    ),
    # --- Policy file (dmarc-audit.yaml; project additions beyond the spec) ---
    CheckInfo(
        id="policy.dmarc-too-weak",
        title="DMARC policy weaker than the policy file requires",
        severity=Severity.ERROR,
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
        severity_note="error",
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
            "Remove the include, or add it to spf.allowed_includes in dmarc-audit.yaml after "
            "review"
        ),
        references=("RFC 7208 §5.2", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-include-required-missing",
        title="Required SPF include missing",
        severity=Severity.ERROR,
        severity_note="error",
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
        severity_note="error",
        triggers=(
            "an ip4 or ip6 term of the domain's SPF record is not inside a network listed in "
            "spf.allowed_ips"
        ),
        why=(
            "An ip4 or ip6 term authorises every host in the network to send as the domain. "
            "The allowed list keeps that set to networks the organisation controls."
        ),
        fix=(
            "Remove the term or narrow it, or add the network to spf.allowed_ips after review"
        ),
        references=("RFC 7208 §5.6", "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.spf-ip-required-missing",
        title="Required SPF network missing",
        severity=Severity.ERROR,
        severity_note="error",
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
        severity_note="error",
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
        references=("RFC 7208 §5.1", "RFC 7505 §4", "M3AAWG parked-domains BCP",
                    "dmarc-audit policy file"),
    ),
    CheckInfo(
        id="policy.sending-domain-parked",
        title="Sending domain publishes parked-domain records",
        severity=Severity.ERROR,
        severity_note="error",
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
        title="MTA-STS expected but no valid record",
        severity=Severity.ERROR,
        severity_note="error",
        triggers=(
            "mta_sts_mode is enforce or testing and there is no single valid v=STSv1 record at "
            "_mta-sts.<domain> (the policy file itself is not fetched over HTTPS yet, so the "
            "mode is not compared)"
        ),
        why=(
            "Without the _mta-sts record, sending servers never fetch the policy, so mail to "
            "the domain can be downgraded to plain text or redirected by an attacker on the "
            "path, whatever the policy file on the web server says."
        ),
        fix="Publish _mta-sts.<domain> TXT \"v=STSv1; id=<new id>\" and serve the policy file",
        references=("RFC 8461 §3.1", "dmarc-audit policy file"),
    ),
)

CATALOG: dict[str, CheckInfo] = {info.id: info for info in CHECKS}


class UnknownCheckId(KeyError):
    """An id that is not in the catalog; carries the closest ids."""

    def __init__(self, check_id: str, suggestions: list[str]) -> None:
        super().__init__(check_id)
        self.check_id = check_id
        self.suggestions = suggestions


def lookup(check_id: str) -> CheckInfo:
    """The catalog entry for ``check_id``; raises :class:`UnknownCheckId` with suggestions."""
    info = CATALOG.get(check_id.strip().lower())
    if info is None:
        raise UnknownCheckId(check_id, closest_ids(check_id))
    return info


def closest_ids(check_id: str, limit: int = 3) -> list[str]:
    """Ids that look like ``check_id`` (typos, missing area prefix)."""
    wanted = check_id.strip().lower()
    ids = list(CATALOG)
    matches = difflib.get_close_matches(wanted, ids, n=limit, cutoff=0.5)
    if not matches:
        matches = [i for i in ids if wanted and wanted in i][:limit]
    if not matches:
        tails = {i.split(".", 1)[1]: i for i in ids}
        matches = [tails[t] for t in difflib.get_close_matches(wanted, list(tails), n=limit)]
    return matches


def finding(
    check_id: str,
    subject: str,
    message: str,
    *,
    severity: Severity | None = None,
    status: Status = Status.FAIL,
    record: str | None = None,
    remediation: str | None = None,
    suggested_record: str | None = None,
    evidence: tuple[str, ...] | list[str] = (),
) -> Finding:
    """Build a :class:`Finding` with the catalog's defaults for ``check_id``.

    Raises ``KeyError`` for an id that is not in the catalog: a typo in a check
    must fail the tests, not reach users.
    """
    info = CATALOG[check_id]
    return Finding(
        id=check_id,
        severity=severity or info.severity,
        message=message,
        subject=subject,
        status=status,
        record=record,
        remediation=remediation if remediation is not None else info.fix,
        suggested_record=suggested_record,
        references=info.references,
        evidence=tuple(evidence),
    )
