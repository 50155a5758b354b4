"""Catalog entries: SPF (RFC 7208)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo, SeverityCase
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="spf.missing",
        title="No SPF record",
        severity=Severity.WARNING,
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
        qualifier=">2",
        also=(SeverityCase(Severity.WARNING, "1–2"),),
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
        triggers="ptr mechanism or %{p} macro present",
        why=(
            "The ptr mechanism is slow, fails when reverse DNS is slow or broken, and loads the "
            ".arpa name servers; RFC 7208 says it SHOULD NOT be published. It also counts "
            "towards the limit of 10 lookups."
        ),
        fix="Replace ptr (and the %{p} macro) with ip4, ip6 or a terms",
        references=('RFC 7208 §5.5 ("SHOULD NOT be published")',),
    ),
    CheckInfo(
        id="spf.type99",
        title="SPF published as DNS type 99",
        severity=Severity.INFO,
        also=(SeverityCase(Severity.ERROR),),
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
)
