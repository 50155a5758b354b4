"""SPF rules: one function per check id, from a walk (:mod:`dmarc_audit.spf.facts`) to findings.

Each rule reads what the walk saw (answers, parsed records, numbered lookup
steps) and never queries DNS. :func:`evaluate` runs them all in catalog order.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from dmarc_audit.catalog import finding, rule
from dmarc_audit.dns.types import Outcome, TxtRecord
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.records.spf import (
    MX_NAME_LIMIT,
    Mechanism,
    MechanismKind,
    Qualifier,
    SpfRecord,
    Term,
    is_spf_record,
)
from dmarc_audit.records.spf_macro import Literal, MacroError, parse_macro_string
from dmarc_audit.spf.facts import SpfAnalysis, SpfStatus

if TYPE_CHECKING:
    from dmarc_audit.spf.facts import LookupStep, SpfFetch, SpfWalk

LOOKUP_LIMIT = 10
"""DNS-querying terms receivers evaluate before permerror (RFC 7208 §4.6.4)."""
NEAR_LIMIT = 8
"""From this many lookups on, warn that the record is close to the limit."""
VOID_LIMIT = 2
"""Void lookups receivers tolerate (RFC 7208 §4.6.4)."""
STRING_LIMIT = 255
"""Octets in one TXT character-string (RFC 1035 §3.3)."""
UDP_LIMIT = 512
"""DNS payload that fits a plain UDP response (RFC 1035 §4.2.1, RFC 7208 §3.4)."""

_PERMERROR_IDS = frozenset(
    {
        "spf.multiple-records",
        "spf.syntax-error",
        "spf.too-many-lookups",
        "spf.target-no-record",
        "spf.include-loop",
    }
)
_PRIVATE_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
    )
)
_PRIVATE_V6 = tuple(ipaddress.ip_network(n) for n in ("::/128", "::1/128", "fc00::/7", "fe80::/10"))
_TERM_NAME = re.compile(r"[+\-~?]?([A-Za-z0-9]+)")


def is_permerror(item: Finding) -> bool:
    """True for a finding that makes receivers return permerror."""
    if item.status is not Status.FAIL:
        return False
    if item.id == "spf.void-lookups":
        return item.severity is Severity.ERROR
    return item.id in _PERMERROR_IDS


def evaluate(walk: SpfWalk) -> tuple[Finding, ...]:
    """Every SPF finding for ``walk``, rule by rule in catalog order."""
    return tuple(f for rule in RULES for f in rule(walk))


def judge(walk: SpfWalk) -> SpfAnalysis:
    """The SPF section of a report: the walk's record, counts and tree, its status and findings."""
    findings = evaluate(walk)
    record = walk.top.record
    return SpfAnalysis(
        domain=walk.domain,
        record=record.text if record else None,
        status=spf_status(walk, findings),
        lookups=walk.lookups,
        void_lookups=len(walk.void_steps),
        tree=walk.tree,
        steps=walk.steps,
        findings=findings,
    )


def spf_status(walk: SpfWalk, findings: tuple[Finding, ...]) -> SpfStatus:
    """What a receiver's check_host() would at best reach, from the walk and its findings."""
    top = walk.top
    if top.answer.failed:
        return SpfStatus.TEMPERROR
    if not top.spf:
        return SpfStatus.NONE
    if top.record is None or not top.record.valid:
        return SpfStatus.PERMERROR  # receivers stop before any lookup
    if walk.failed_steps:
        return SpfStatus.TEMPERROR
    if any(is_permerror(f) for f in findings):
        return SpfStatus.PERMERROR
    return SpfStatus.VALID


# --- helpers -------------------------------------------------------------------------------


def _text(walk: SpfWalk, domain: str) -> str | None:
    """The raw SPF record(s) of ``domain`` as fetched, one per line."""
    fetch = walk.fetch(domain)
    if fetch is None or not fetch.spf:
        return None
    return "\n".join(r.text for r in fetch.spf)


def _via(fetch: SpfFetch) -> str:
    """`` (in x, reached through include:x in y)`` for a nested record, else ``""``."""
    if fetch.via is None:
        return ""
    return f" (in {fetch.domain}, reached through {fetch.via.term} in {fetch.via.in_record})"


def _reached(walk: SpfWalk, fetch: SpfFetch) -> tuple[str, ...]:
    """The step that fetched ``fetch``'s record, as evidence."""
    return ((fetch.via or walk.steps[0]).describe(),)


def _records(walk: SpfWalk) -> list[tuple[SpfFetch, SpfRecord]]:
    """Every single, parsed record the walk evaluated, top first."""
    return [(f, r) for f in walk.fetches if (r := f.record) is not None]


def _counted(walk: SpfWalk) -> tuple[str, ...]:
    return tuple(s.describe() for s in walk.steps if s.number is not None)


def _costs(walk: SpfWalk, shown: int = 6) -> str:
    """``include:_spf.crm.example 5 · include:… 4 · mx 1``: what each top-level term costs."""
    parts = [f"{term} {cost}" for term, cost in walk.costs]
    return " · ".join(parts[:shown] + (["…"] if len(parts) > shown else []))


def _kind(term: str) -> str:
    match = _TERM_NAME.match(term)
    return match.group(1).lower() if match else ""


def _with_all(record: SpfRecord, replacement: str) -> str:
    """The record with its ``all`` term replaced, or ``replacement`` appended when it has none."""
    mech = record.all_mechanism
    if mech is None:
        return f"{record.text.rstrip()} {replacement}"
    end = mech.offset + len(mech.text)
    return record.text[: mech.offset] + replacement + record.text[end:]


def _quoted_strings(text: str) -> str:
    """``"…" "…"``: ``text`` split into character-strings of at most 255 octets."""
    chunks = [text[i : i + STRING_LIMIT] for i in range(0, len(text), STRING_LIMIT)]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def txt_response_size(name: str, records: list[TxtRecord]) -> int:
    """Estimated octets of a DNS response holding ``records`` for ``name`` (no EDNS).

    Header (12) + question (name + 4) + per RR a compressed owner (2), type, class,
    TTL and length (10) and the character-strings (1 + length each).
    """
    qname = sum(len(label) + 1 for label in name.split(".") if label) + 1
    answers = sum(12 + sum(1 + len(s) for s in r.strings) for r in records)
    return 12 + qname + 4 + answers


def _uses_ptr(term: Term) -> bool:
    """A ``ptr`` mechanism, or a domain-spec with the ``%{p}`` macro."""
    if isinstance(term, Mechanism) and term.kind is MechanismKind.PTR:
        return True
    spec = term.domain_spec if isinstance(term, Mechanism) else term.value
    if not spec:
        return False
    try:
        parts = parse_macro_string(spec)
    except MacroError:
        return False
    return any(not isinstance(p, Literal) and p.letter == "p" for p in parts)


@lru_cache(maxsize=4096)
def _broad(mech: Mechanism) -> str | None:
    """Why a pass mechanism authorises too much, or None."""
    if mech.kind in (MechanismKind.IP4, MechanismKind.IP6):
        v4 = mech.kind is MechanismKind.IP4
        length = mech.cidr4 if v4 else mech.cidr6
        if length is None:
            length = 32 if v4 else 128
        net = ipaddress.ip_network(f"{mech.network}/{length}", strict=False)
        floor = 16 if v4 else 32
        if net.prefixlen < floor:
            return (
                f"{mech.text} authorises {net.num_addresses:,} addresses "
                f"(/{net.prefixlen} is wider than /{floor})"
            )
        private = _PRIVATE_V4 if v4 else _PRIVATE_V6
        hit = next((r for r in private if net.overlaps(r)), None)
        if hit is not None:
            return f"{mech.text} lies in the private or loopback range {hit}"
        return None
    if mech.kind in (MechanismKind.A, MechanismKind.MX):
        if mech.cidr4 is not None and mech.cidr4 < 16:
            return f"{mech.text} authorises a /{mech.cidr4} around every address it finds"
        if mech.cidr6 is not None and mech.cidr6 < 32:
            return f"{mech.text} authorises a /{mech.cidr6} around every address it finds"
    return None


# --- rules, in catalog order ---------------------------------------------------------------


@rule("spf.missing")
def check_missing(walk: SpfWalk) -> list[Finding]:
    """spf.missing: the domain has no ``v=spf1`` TXT record (never when the lookup failed)."""
    answer = walk.top.answer
    if answer.failed or walk.top.spf:
        return []
    if answer.ok:
        texts = answer.texts
        reason = f"none of its {len(texts)} TXT records starts with 'v=spf1'"
        lookalike = next((t for t in texts if "spf1" in t.lower()[:20]), None)
        if lookalike is not None:
            reason += (
                f"; {lookalike[:60]!r} looks like SPF but is not selected: it must start "
                "with 'v=spf1' followed by a space or the end"
            )
    else:
        reason = f"TXT lookup: {answer.describe()}"
    return [
        finding(
            "spf.missing",
            walk.domain,
            f"{walk.domain} has no SPF record ({reason})",
            evidence=_reached(walk, walk.top),
        )
    ]


@rule("spf.multiple-records")
def check_multiple_records(walk: SpfWalk) -> list[Finding]:
    """spf.multiple-records: more than one ``v=spf1`` record at one name (permerror)."""
    out = []
    for fetch in walk.fetches:
        spf = fetch.spf
        if len(spf) > 1:
            out.append(
                finding(
                    "spf.multiple-records",
                    fetch.domain,
                    f"{fetch.domain} publishes {len(spf)} SPF records{_via(fetch)}; "
                    "receivers return permerror",
                    record=_text(walk, fetch.domain),
                    evidence=_reached(walk, fetch)
                    + tuple(f"record {i}: {r.text}" for i, r in enumerate(spf, 1)),
                )
            )
    return out


@rule("spf.syntax-error")
def check_syntax_error(walk: SpfWalk) -> list[Finding]:
    """spf.syntax-error: a record outside the ABNF; names the term and its offset."""
    out = []
    for fetch, record in _records(walk):
        parsed = " ".join(t.text for t in record.terms) or "(no terms)"
        for problem in record.problems:
            out.append(
                finding(
                    "spf.syntax-error",
                    fetch.domain,
                    f"{problem.term!r} at offset {problem.offset}: {problem.message}{_via(fetch)}; "
                    "receivers return permerror",
                    record=record.text,
                    remediation=f"Fix {problem.term!r} (offset {problem.offset}); "
                    "validate the record before publishing",
                    evidence=(*_reached(walk, fetch), f"parsed terms: {parsed}"),
                )
            )
    return out


@rule("spf.too-many-lookups")
def check_too_many_lookups(walk: SpfWalk) -> list[Finding]:
    """spf.too-many-lookups: over 10 counted terms, or an ``mx`` with over 10 MX names.

    When a lookup failed the count is a lower bound ("at least"); under the limit that
    leaves nothing to report here: spf.temperror says the walk is incomplete.
    """
    out = []
    for overflow in walk.mx_overflows:
        step = overflow.step
        out.append(
            finding(
                "spf.too-many-lookups",
                step.in_record,
                f"{step.term} in {step.in_record}: {step.name} has {overflow.names} MX names; "
                f"receivers allow {MX_NAME_LIMIT} (permerror)",
                record=_text(walk, step.in_record),
                remediation=(
                    f"Replace {step.term} with ip4:/ip6: terms for the hosts that send mail"
                ),
                evidence=(step.describe(),),
            )
        )
    lookups = walk.lookups
    if lookups > LOOKUP_LIMIT:
        out.append(
            finding(
                "spf.too-many-lookups",
                walk.domain,
                f"SPF needs {_at_least(walk)}{lookups} DNS lookups; receivers stop at "
                f"{LOOKUP_LIMIT} (permerror); costs: {_costs(walk)}",
                record=walk.tree.record if walk.tree else None,
                remediation=_lookup_fix(walk),
                evidence=_counted(walk),
            )
        )
    return out


def _at_least(walk: SpfWalk) -> str:
    """``"at least "`` when part of the tree could not be counted."""
    return "at least " if walk.truncated or walk.failed_steps else ""


def _lookup_fix(walk: SpfWalk) -> str:
    """What to cut, naming the costliest include and the a/mx terms."""
    includes = [(t, c) for t, c in walk.costs if _kind(t) in ("include", "redirect")]
    hosts = [t for t, _ in walk.costs if _kind(t) in ("a", "mx")]
    parts = []
    if includes:
        term, cost = includes[0]
        parts.append(
            f"Drop includes you no longer send through (the costliest is {term}, "
            f"{cost} lookups), or move that sender to a subdomain with its own record "
            f'(<sender>.{walk.domain} TXT "v=spf1 {term} -all")'
        )
    if hosts:
        parts.append(
            f"replace {', '.join(hosts)} with the ip4:/ip6: networks they resolve to "
            "(one lookup saved each)"
        )
    if not parts:
        return "Remove terms you no longer need or split senders across subdomains"
    return "; ".join(parts)


@rule("spf.lookups-near-limit")
def check_lookups_near_limit(walk: SpfWalk) -> list[Finding]:
    """spf.lookups-near-limit: 8 to 10 counted terms; one more include breaks SPF."""
    lookups = walk.lookups
    if not NEAR_LIMIT <= lookups <= LOOKUP_LIMIT:
        return []
    return [
        finding(
            "spf.lookups-near-limit",
            walk.domain,
            f"SPF needs {_at_least(walk)}{lookups} of the {LOOKUP_LIMIT} DNS lookups "
            "receivers allow; "
            f"costs: {_costs(walk)}",
            record=walk.tree.record if walk.tree else None,
            evidence=_counted(walk),
        )
    ]


@rule("spf.void-lookups")
def check_void_lookups(walk: SpfWalk) -> list[Finding]:
    """spf.void-lookups: evaluated terms with NXDOMAIN/NODATA answers; warning 1–2, error >2."""
    void = walk.void_steps
    if not void:
        return []
    over = len(void) > VOID_LIMIT
    names = ", ".join(f"{s.term} → {s.name} {s.outcome}" for s in void)
    consequence = (
        "receivers allow 2, so SPF returns permerror"
        if over
        else "receivers allow 2 before returning permerror"
    )
    return [
        finding(
            "spf.void-lookups",
            walk.domain,
            f"{len(void)} void DNS lookup{'s' if len(void) > 1 else ''} (no such name or no "
            f"records): {names}; {consequence}",
            severity=Severity.ERROR if over else Severity.WARNING,
            record=walk.tree.record if walk.tree else None,
            evidence=tuple(s.describe() for s in void),
        )
    ]


@rule("spf.target-no-record")
def check_target_no_record(walk: SpfWalk) -> list[Finding]:
    """spf.target-no-record: an include/redirect target publishes no SPF record (permerror)."""
    out = []
    for fetch in walk.fetches:
        via = fetch.via
        if via is None or fetch.answer.failed or fetch.spf:
            continue
        answer = fetch.answer
        reason = (
            f"its {len(answer.txt)} TXT records do not start with 'v=spf1'"
            if answer.ok
            else f"TXT lookup: {answer.describe()}"
        )
        steps = tuple(
            s.describe()
            for s in walk.steps
            if s.number is not None and s.rdtype == "TXT" and s.name == fetch.domain
        )
        out.append(
            finding(
                "spf.target-no-record",
                via.in_record,
                f"{via.term} in {via.in_record}: {fetch.domain} has no SPF record ({reason}); "
                "receivers return permerror",
                record=_text(walk, via.in_record),
                remediation=f"Correct {via.term} (typo? provider moved the record?) or remove it",
                evidence=steps,
            )
        )
    return out


@rule("spf.include-loop")
def check_include_loop(walk: SpfWalk) -> list[Finding]:
    """spf.include-loop: an include/redirect chain comes back to a domain it already visits."""
    out = []
    seen: set[frozenset[str]] = set()
    for loop in walk.loops:
        cycle = frozenset(loop.chain[loop.chain.index(loop.chain[-1]) :])
        if cycle in seen:
            continue
        seen.add(cycle)
        step = loop.step
        out.append(
            finding(
                "spf.include-loop",
                step.in_record,
                f"{step.term} in {step.in_record} loops back: {' → '.join(loop.chain)}; "
                "receivers run out of lookups (permerror)",
                record=_text(walk, step.in_record),
                remediation=(
                    f"Remove {step.term} from {step.in_record}, or the term that leads back"
                ),
                evidence=(step.describe(),),
            )
        )
    return out


@rule("spf.ignored-terms")
def check_ignored_terms(walk: SpfWalk) -> list[Finding]:
    """spf.ignored-terms: mechanisms after ``all``, or ``redirect=`` next to ``all``."""
    out = []
    for fetch, record in _records(walk):
        last = record.all_mechanism
        if last is None:
            continue
        after = [m for m in record.mechanisms if m.offset > last.offset]
        redirect = record.redirect
        parts = []
        if after:
            parts.append(
                f"terms after {last.text!r} are never evaluated: " + " ".join(m.text for m in after)
            )
        if redirect is not None:
            parts.append(f"{redirect.text!r} is ignored because the record has {last.text!r}")
        if not parts:
            continue
        suggested = None
        if record.valid:
            kept = [t.text for t in record.terms if t is not last and t is not redirect]
            suggested = " ".join(["v=spf1", *kept, last.text])
        out.append(
            finding(
                "spf.ignored-terms",
                fetch.domain,
                "; ".join(parts) + _via(fetch),
                record=record.text,
                suggested_record=suggested,
                evidence=_reached(walk, fetch),
            )
        )
    return out


@rule("spf.pass-all")
def check_pass_all(walk: SpfWalk) -> list[Finding]:
    """spf.pass-all: ``+all`` or bare ``all`` in an evaluated record: every host passes."""
    out = []
    for fetch, record in _records(walk):
        last = record.all_mechanism
        if last is None or last.qualifier is not Qualifier.PASS:
            continue
        out.append(
            finding(
                "spf.pass-all",
                fetch.domain,
                f"{last.text!r} lets every host on the Internet pass SPF for {walk.domain}"
                + _via(fetch),
                record=record.text,
                suggested_record=_with_all(record, "~all"),
                evidence=_reached(walk, fetch),
            )
        )
    return out


@rule("spf.weak-all")
def check_weak_all(walk: SpfWalk) -> list[Finding]:
    """spf.weak-all: the record (after its redirects) ends in ``?all`` or has no ``all`` at all."""
    fetch: SpfFetch | None = walk.top
    seen: set[str] = set()
    while fetch is not None and (record := fetch.record) is not None:
        if fetch.domain in seen:
            return []
        seen.add(fetch.domain)
        last = record.all_mechanism
        if last is not None and last.qualifier is not Qualifier.NEUTRAL:
            return []
        if last is None and record.redirect is not None:
            fetch = walk.target(fetch.domain, record.redirect.text)
            continue
        why = f"ends with {last.text!r}" if last is not None else "has neither 'all' nor 'redirect'"
        where = "" if fetch.via is None else f" (the record {walk.domain} redirects to)"
        return [
            finding(
                "spf.weak-all",
                fetch.domain,
                f"{fetch.domain}'s record{where} {why}: mail from any other host gets "
                "neutral, not fail",
                record=record.text,
                suggested_record=_with_all(record, "~all"),
                evidence=_reached(walk, fetch),
            )
        ]
    return []


@rule("spf.ptr-used")
def check_ptr_used(walk: SpfWalk) -> list[Finding]:
    """spf.ptr-used: a ``ptr`` mechanism or ``%{p}`` macro (slow, SHOULD NOT be published)."""
    out = []
    for fetch, record in _records(walk):
        terms = [t.text for t in record.terms if _uses_ptr(t)]
        if terms:
            out.append(
                finding(
                    "spf.ptr-used",
                    fetch.domain,
                    f"{', '.join(terms)} uses reverse DNS{_via(fetch)}: slow, unreliable, and "
                    "RFC 7208 §5.5 says it SHOULD NOT be published",
                    record=record.text,
                    evidence=_reached(walk, fetch),
                )
            )
    return out


@rule("spf.type99")
def check_type99(walk: SpfWalk) -> list[Finding]:
    """spf.type99: SPF published as the obsolete RR type 99; error when it is the only copy."""
    texts = [r.text for r in walk.type99.txt if is_spf_record(r.text)]
    if not texts:
        return []
    if walk.top.spf:
        return [
            finding(
                "spf.type99",
                walk.domain,
                f"{walk.domain} also publishes SPF as the obsolete type SPF (99); "
                "receivers only read the TXT record",
                record=texts[0],
                evidence=(f"SPF(99) {walk.domain}: {texts[0]}",),
            )
        ]
    status = Status.UNKNOWN if walk.top.answer.failed else Status.FAIL
    return [
        finding(
            "spf.type99",
            walk.domain,
            f"{walk.domain} publishes SPF only as the obsolete type SPF (99); "
            "receivers only read TXT, so they see no SPF record",
            severity=Severity.ERROR,
            status=status,
            record=texts[0],
            remediation=f"Publish the same text as a TXT record at {walk.domain} and "
            "remove the type 99 record",
            suggested_record=texts[0],
            evidence=(f"SPF(99) {walk.domain}: {texts[0]}", walk.steps[0].describe()),
        )
    ]


@rule("spf.string-too-long")
def check_string_too_long(walk: SpfWalk) -> list[Finding]:
    """spf.string-too-long: a character-string of an SPF TXT RR over 255 octets."""
    out = []
    for fetch in walk.fetches:
        for rr in fetch.spf:
            sizes = [len(s) for s in rr.strings]
            if max(sizes, default=0) <= STRING_LIMIT:
                continue
            out.append(
                finding(
                    "spf.string-too-long",
                    fetch.domain,
                    f"the SPF record of {fetch.domain} has a character-string of {max(sizes)} "
                    f"octets; one string holds at most {STRING_LIMIT}, "
                    "so DNS servers and providers "
                    "truncate or reject it",
                    record=rr.text,
                    suggested_record=_quoted_strings(rr.text),
                    evidence=(f"string lengths: {', '.join(map(str, sizes))}",),
                )
            )
    return out


@rule("spf.response-too-large")
def check_response_too_large(walk: SpfWalk) -> list[Finding]:
    """spf.response-too-large: the TXT RRset at an SPF name exceeds 512 octets of payload."""
    out = []
    for fetch in walk.fetches:
        if not fetch.spf:
            continue
        records = fetch.answer.txt
        size = txt_response_size(fetch.domain, records)
        if size <= UDP_LIMIT:
            continue
        out.append(
            finding(
                "spf.response-too-large",
                fetch.domain,
                f"the TXT answer at {fetch.domain} is about {size} octets ({len(records)} TXT "
                f"records), over the {UDP_LIMIT} of a plain UDP response; resolvers must retry "
                "over TCP or EDNS, and some give up",
                record=_text(walk, fetch.domain),
                evidence=tuple(f"TXT {len(r.text)} octets: {r.text[:60]}" for r in records),
            )
        )
    return out


@rule("spf.overly-broad")
def check_overly_broad(walk: SpfWalk) -> list[Finding]:
    """spf.overly-broad: pass terms wider than /16 (IPv4) or /32 (IPv6), or private ranges."""
    out = []
    for fetch, record in _records(walk):
        effective = []
        for mech in record.mechanisms:
            if mech.kind is MechanismKind.ALL:
                break
            effective.append(mech)
        reasons = [
            r for m in effective if m.qualifier is Qualifier.PASS if (r := _broad(m)) is not None
        ]
        if reasons:
            out.append(
                finding(
                    "spf.overly-broad",
                    fetch.domain,
                    "; ".join(reasons) + _via(fetch),
                    record=record.text,
                    evidence=_reached(walk, fetch),
                )
            )
    return out


@rule("spf.temperror")
def check_temperror(walk: SpfWalk) -> list[Finding]:
    """spf.temperror: a lookup SPF needs failed (SERVFAIL, timeout …); status unknown."""
    failed = walk.failed_steps
    if not failed:
        return []
    first = failed[0]
    if first.term:
        what = f"{first.term} in {first.in_record}: {first.rdtype} {first.name} {first.outcome}"
        fix = None
    else:
        what = f"the TXT lookup for {first.name} ended in {first.outcome}"
        fix = (
            f"Check the nameservers of {walk.domain}; rerun with another resolver "
            "(--nameserver) to rule out a local problem"
        )
    return [
        finding(
            "spf.temperror",
            walk.domain,
            f"SPF could not be evaluated: {what}; receivers return temperror "
            "and may defer or reject mail",
            status=Status.UNKNOWN,
            record=walk.tree.record if walk.tree else None,
            remediation=fix,
            evidence=tuple(s.describe() for s in failed),
        )
    ]


@rule("dns.lookup-failed")
def check_lookup_failed(walk: SpfWalk) -> list[Finding]:
    """dns.lookup-failed: one finding per failed query the SPF walk needed; status unknown."""
    by_query: dict[tuple[str, str], list[LookupStep]] = {}
    for step in walk.failed_steps:
        by_query.setdefault((step.name, step.rdtype), []).append(step)
    return [
        finding(
            "dns.lookup-failed",
            name,
            f"{rdtype} lookup for {name} failed ({steps[0].outcome}); the SPF checks "
            "that need it are unknown",
            status=Status.UNKNOWN,
            record=_text(walk, steps[0].in_record),
            evidence=tuple(s.describe() for s in steps),
        )
        for (name, rdtype), steps in by_query.items()
    ]


@rule("dns.dangling-cname")
def check_dangling_cname(walk: SpfWalk) -> list[Finding]:
    """dns.dangling-cname: an include/redirect target is a CNAME to a name that does not exist."""
    out = []
    for fetch in walk.fetches:
        answer = fetch.answer
        if fetch.via is None or answer.outcome is not Outcome.NXDOMAIN or not answer.cnames:
            continue
        target = answer.cnames[-1][1]
        out.append(
            finding(
                "dns.dangling-cname",
                fetch.domain,
                f"{fetch.domain} ({fetch.via.term} in {fetch.via.in_record}) is a CNAME to "
                f"{target}, which does not exist; whoever registers it decides who passes SPF "
                f"for {walk.domain}",
                record=_text(walk, fetch.via.in_record),
                evidence=(
                    fetch.via.describe(),
                    *(f"CNAME {owner} → {alias}" for owner, alias in answer.cnames),
                ),
            )
        )
    return out


RULES: tuple[Callable[[SpfWalk], list[Finding]], ...] = (
    check_missing,
    check_multiple_records,
    check_syntax_error,
    check_too_many_lookups,
    check_lookups_near_limit,
    check_void_lookups,
    check_target_no_record,
    check_include_loop,
    check_ignored_terms,
    check_pass_all,
    check_weak_all,
    check_ptr_used,
    check_type99,
    check_string_too_long,
    check_response_too_large,
    check_overly_broad,
    check_temperror,
    check_lookup_failed,
    check_dangling_cname,
)
"""Every SPF rule, in catalog order."""
