"""What the stored aggregate reports say: volumes, pass rates, sources, readiness.

A report belongs to a period when its begin time falls in ``[since, until)``.
Figures are message counts (a record's ``count``), never record counts.
"Known senders" are all sources except those whose failures look like spoofing
or forwarding (see :mod:`dmarc_audit.reports.classify`); the readiness verdict
asks whether their mail passes aligned often enough to tighten the policy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from dmarc_audit.errors import InputError
from dmarc_audit.reports.classify import (
    Diagnosis,
    Reason,
    SourceContext,
    Verdict,
    classify_record,
    diagnose,
    org_domain,
    provider_for,
)
from dmarc_audit.reports.store import (
    Store,
    from_ts,
    load_auth_sets,
    norm_domain,
    period_where,
    record_from_row,
)

SCHEMA_VERSION = 1
"""Of the JSON summary document (docs/reports.md). Bump on breaking changes."""
READY_THRESHOLD = 0.98
"""Share of known senders' mail that must pass aligned before the next policy step."""
MIN_MESSAGES = 100
MIN_DAYS = 7
TOP_FAILING = 10

_PASS = "(r.dkim_aligned = 'pass' OR r.spf_aligned = 'pass')"


# --- the period ------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)


def parse_when(text: str, option: str, now: datetime, end_of_day: bool = False) -> datetime:
    """``7d``/``24h``/``2w`` before ``now``, or a date / ISO 8601 time (UTC if no zone).

    A bare date means its start, or with ``end_of_day`` the start of the next day.
    """
    match = _DURATION.match(text)
    if match:
        unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2).lower()]
        return now - timedelta(**{unit: int(match.group(1))})
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {text!r}: expected a duration like 7d, 24h or 2w, or a date like 2024-05-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One UTC day of a period: messages and DMARC-passing messages (the daily charts)."""

    day: date
    messages: int
    dmarc_pass: int

    @property
    def pass_rate(self) -> float | None:
        return self.dmarc_pass / self.messages if self.messages else None


@dataclass(frozen=True, slots=True)
class PeriodFilter:
    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# --- figures ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """Message counts: all, DMARC pass, SPF-aligned pass, DKIM-aligned pass."""

    messages: int = 0
    dmarc_pass: int = 0
    spf_aligned: int = 0
    dkim_aligned: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.messages + other.messages,
            self.dmarc_pass + other.dmarc_pass,
            self.spf_aligned + other.spf_aligned,
            self.dkim_aligned + other.dkim_aligned,
        )

    @property
    def failing(self) -> int:
        return self.messages - self.dmarc_pass

    def rate(self, part: int) -> float | None:
        return part / self.messages if self.messages else None

    @property
    def pass_rate(self) -> float | None:
        return self.rate(self.dmarc_pass)

    def to_json(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "dmarc_pass": self.dmarc_pass,
            "dmarc_pass_rate": _round(self.rate(self.dmarc_pass)),
            "spf_aligned_pass": self.spf_aligned,
            "spf_aligned_rate": _round(self.rate(self.spf_aligned)),
            "dkim_aligned_pass": self.dkim_aligned,
            "dkim_aligned_rate": _round(self.rate(self.dkim_aligned)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def percent(value: float | None) -> str:
    """``99.2%``, rounded down so 97.96% never shows as a passing 98.0%."""
    if value is None:
        return "n/a"
    return f"{math.floor(value * 1000 + 1e-9) / 10:.1f}%"


@dataclass(frozen=True, slots=True)
class PtrInfo:
    """A source IP's reverse DNS: the first PTR name, its provider, or how the lookup ended."""

    name: str | None
    provider: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class SourceFigures:
    source_ip: str
    figures: Figures
    dispositions: tuple[tuple[str, int], ...]
    reporters: tuple[str, ...]
    header_from: tuple[str, ...]
    domains: tuple[str, ...]
    first_seen: datetime
    new: bool | None
    """None when the period has no start (nothing to compare against)."""
    ptr: PtrInfo | None
    provider: str | None
    diagnosis: Diagnosis | None

    def to_json(self) -> dict[str, object]:
        return {
            "source_ip": self.source_ip,
            "ptr": self.ptr.name if self.ptr else None,
            "ptr_outcome": self.ptr.outcome if self.ptr else None,
            "provider": self.provider,
            **self.figures.to_json(),
            "dispositions": dict(self.dispositions),
            "reporters": list(self.reporters),
            "header_from": list(self.header_from),
            "domains": list(self.domains),
            "first_seen": _iso(self.first_seen),
            "new": self.new,
            "failing": self.diagnosis.to_json() if self.diagnosis else None,
        }


@dataclass(frozen=True, slots=True)
class ReporterFigures:
    """One reporting organisation: its names (as the reports spell them) taken together."""

    org_name: str
    """The name most of its mail was reported under."""
    reports: int
    figures: Figures
    names: tuple[str, ...] = ()
    """Every ``org_name`` its reports carry, most messages first."""
    email_domains: tuple[str, ...] = ()
    """The organisational domains of its reports' ``email`` addresses."""

    def to_json(self) -> dict[str, object]:
        return {
            "org_name": self.org_name,
            "names": list(self.names or (self.org_name,)),
            "email_domains": list(self.email_domains),
            "reports": self.reports,
            **self.figures.to_json(),
        }


# --- readiness -------------------------------------------------------------


class ReadyVerdict(str, Enum):
    READY = "ready"
    NOT_READY = "not-ready"
    NOT_ENOUGH_DATA = "not-enough-data"
    AT_REJECT = "at-reject"
    """Already enforcing fully: there is no next step."""


@dataclass(frozen=True, slots=True)
class FixFirst:
    source_ip: str
    failing: int
    reason: Reason

    def to_json(self) -> dict[str, object]:
        return {"source_ip": self.source_ip, "failing": self.failing, "reason": self.reason.value}


@dataclass(frozen=True, slots=True)
class Readiness:
    """Is ``domain`` ready for its next policy step, and what to publish."""

    domain: str
    verdict: ReadyVerdict
    current_policy: str | None
    """The ``p=`` (with ``pct``/``t`` noted) the newest report in the period saw."""
    next_policy: str | None
    messages: int
    known_messages: int
    known_pass: int
    forwarded: int
    spoofed: int
    days: float
    fix_first: tuple[FixFirst, ...]
    record: str | None
    """The DMARC record to publish at ``_dmarc.<domain>`` for the next step."""
    record_note: str | None
    """Set when the record may be missing something (no rua known)."""
    message: str
    failing_sources: tuple[FixFirst, ...] = ()
    """Every failing source of the domain with its one classification (not in JSON)."""

    @property
    def known_rate(self) -> float | None:
        return self.known_pass / self.known_messages if self.known_messages else None

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "verdict": self.verdict.value,
            "ready": self.verdict is ReadyVerdict.READY,
            "current_policy": self.current_policy,
            "next_policy": self.next_policy,
            "messages": self.messages,
            "known_messages": self.known_messages,
            "known_pass": self.known_pass,
            "known_pass_rate": _round(self.known_rate),
            "threshold": READY_THRESHOLD,
            "forwarded_failing": self.forwarded,
            "spoofed": self.spoofed,
            "days": round(self.days, 2),
            "fix_first": [f.to_json() for f in self.fix_first],
            "record_name": f"_dmarc.{self.domain}",
            "record": self.record,
            "record_note": self.record_note,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class PolicySeen:
    p: str | None
    sp: str | None
    np: str | None
    adkim: str | None
    aspf: str | None
    pct: int | None
    fo: str | None
    testing: str | None

    @property
    def partial(self) -> bool:
        return (self.pct is not None and self.pct < 100) or (self.testing or "").lower() == "y"

    def describe(self) -> str | None:
        if not self.p:
            return None
        parts = [f"p={self.p}"]
        if self.pct is not None and self.pct < 100:
            parts.append(f"pct={self.pct}")
        if (self.testing or "").lower() == "y":
            parts.append("t=y")
        return " ".join(parts)


def next_step(policy: PolicySeen | None) -> str | None:
    """none → quarantine → reject; a partial (pct/t=y) policy first goes full."""
    current = (policy.p or "none").lower() if policy else "none"
    if policy is not None and policy.partial and current in ("quarantine", "reject"):
        return current
    return {"none": "quarantine", "quarantine": "reject"}.get(current)


def suggest_record(
    domain: str, step: str, policy: PolicySeen | None, published: str | None
) -> tuple[str, str | None]:
    """The record for the next step, and a note when it cannot keep the rua.

    From the published record (``--resolve``) every tag is kept but ``p``, ``pct``
    and ``t``. Without it the record is built from what the reports saw, which
    does not include ``rua``.
    """
    tags = _dmarc_tags(published) if published else None
    if tags is not None:
        out = [("v", "DMARC1"), ("p", step)]
        out += [(k, v) for k, v in tags if k not in ("v", "p", "pct", "t")]
        return "; ".join(f"{k}={v}" for k, v in out), None
    out = [("v", "DMARC1"), ("p", step)]
    if policy is not None:
        out += [(k, v) for k, v in (("sp", policy.sp), ("np", policy.np)) if v]
        out += [
            (k, "s")
            for k, v in (("adkim", policy.adkim), ("aspf", policy.aspf))
            if (v or "").lower() == "s"
        ]
        if policy.fo and policy.fo != "0":
            out.append(("fo", policy.fo))
    note = (
        f"add your rua= (and ruf=) tags: the reports do not carry them; "
        f"run with --resolve to keep the ones published at _dmarc.{domain}"
    )
    return "; ".join(f"{k}={v}" for k, v in out), note


def _dmarc_tags(text: str) -> list[tuple[str, str]] | None:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    tags = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            return None
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        return None
    return tags


# --- the summary -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    filter: PeriodFilter
    reports: int
    first_begin: datetime | None
    last_end: datetime | None
    domains: tuple[str, ...]
    totals: Figures
    dispositions: tuple[tuple[str, int], ...]
    reporters: tuple[ReporterFigures, ...]
    sources: tuple[SourceFigures, ...]
    """Most messages first."""
    top_failing: tuple[SourceFigures, ...]
    new_sources: tuple[SourceFigures, ...] | None
    readiness: tuple[Readiness, ...]
    resolved: bool
    senders: tuple[Any, ...] = ()
    """One row per named sender (:class:`dmarc_audit.senders.table.SenderRow`), most mail first."""

    def to_json(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "period": {
                "domain": self.filter.domain,
                "since": _iso(self.filter.since),
                "until": _iso(self.filter.until),
                "reports": self.reports,
                "first_begin": _iso(self.first_begin),
                "last_end": _iso(self.last_end),
                "domains": list(self.domains),
            },
            "senders": [s.to_json() for s in self.senders],
            "totals": self.totals.to_json(),
            "dispositions": dict(self.dispositions),
            "reporters": [r.to_json() for r in self.reporters],
            "sources": [s.to_json() for s in self.sources],
            "top_failing": [s.source_ip for s in self.top_failing],
            "new_sources": None
            if self.new_sources is None
            else [s.source_ip for s in self.new_sources],
            "readiness": [r.to_json() for r in self.readiness],
            "resolved": self.resolved,
        }


CSV_COLUMNS = (
    "source_ip",
    "ptr",
    "provider",
    "messages",
    "dmarc_pass",
    "dmarc_pass_rate",
    "spf_aligned_pass",
    "spf_aligned_rate",
    "dkim_aligned_pass",
    "dkim_aligned_rate",
    "disposition_none",
    "disposition_quarantine",
    "disposition_reject",
    "reporters",
    "header_from",
    "domains",
    "first_seen",
    "new",
    "failing",
    "reason",
    "detail",
    "fix",
    "sender",
    "sender_state",
)


def csv_rows(summary: Summary) -> Iterable[dict[str, object]]:
    """One row per source, the columns of :data:`CSV_COLUMNS` (lists space-separated)."""
    sender_of = {ip: row for row in summary.senders for ip in row.ips}
    for s in summary.sources:
        sender = sender_of.get(s.source_ip)
        doc = s.figures.to_json()
        disp = dict(s.dispositions)
        diag = s.diagnosis
        yield {
            "source_ip": s.source_ip,
            "ptr": s.ptr.name if s.ptr and s.ptr.name else "",
            "provider": s.provider or "",
            **{k: "" if v is None else v for k, v in doc.items()},
            "disposition_none": disp.get("none", 0),
            "disposition_quarantine": disp.get("quarantine", 0),
            "disposition_reject": disp.get("reject", 0),
            "reporters": " ".join(s.reporters),
            "header_from": " ".join(s.header_from),
            "domains": " ".join(s.domains),
            "first_seen": _iso(s.first_seen),
            "new": "" if s.new is None else str(s.new).lower(),
            "failing": s.figures.failing,
            "reason": diag.reason.value if diag else "",
            "detail": diag.detail if diag else "",
            "fix": diag.fix if diag else "",
            "sender": sender.name if sender else "",
            "sender_state": sender.state.value if sender else "",
        }


def period_keys(store: Store, filt: PeriodFilter) -> tuple[list[str], list[str]]:
    """The source IPs and policy domains in the period (what ``--resolve`` looks up)."""
    where, args = period_where("rep", filt.domain, filt.since, filt.until)
    conn = store.connection
    ips = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT r.source_ip FROM aggregate_records r JOIN aggregate_reports rep "
            f"ON rep.id = r.report {where} ORDER BY r.source_ip",
            args,
        )
    ]
    domains = [
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT rep.domain FROM aggregate_reports rep {where} ORDER BY rep.domain",
            args,
        )
    ]
    return ips, domains


def build_summary(
    store: Store,
    filt: PeriodFilter,
    *,
    ptrs: Mapping[str, PtrInfo] | None = None,
    published: Mapping[str, str | None] | None = None,
) -> Summary:
    """Compute the summary; ``ptrs`` and ``published`` come from :func:`lookup`.

    Five steps, each one query or one pass: :func:`_tally_volumes` (message
    figures), :func:`_scan_reports` (report counts, spans, newest policy),
    :func:`_source_history` (first sighting, any aligned pass), :func:`_judge_failures`
    (a verdict for every failing record), then the figures are assembled.
    """
    ptrs = ptrs or {}
    volumes = _tally_volumes(store, filt)
    reports = _scan_reports(store, filt)
    history = _source_history(store, filt, volumes.by_source)
    contexts = _source_contexts(volumes.by_source, history, ptrs, reports.spans)
    judged = _judge_failures(store, filt, contexts)
    sources = _source_figures(volumes, history, judged, ptrs, filt)
    failing = sorted(
        (s for s in sources if s.figures.failing),
        key=lambda s: (-s.figures.failing, _ip_key(s.source_ip)),
    )
    spans = reports.spans
    all_begins = [span[0] for span in spans.values()]
    all_ends = [span[1] for span in spans.values()]
    return Summary(
        filter=filt,
        reports=sum(reports.counts.values()),
        first_begin=from_ts(min(all_begins)) if all_begins else None,
        last_end=from_ts(max(all_ends)) if all_ends else None,
        domains=tuple(sorted(spans)),
        totals=volumes.totals(),
        dispositions=tuple(volumes.dispositions.most_common()),
        reporters=_reporter_figures(volumes, reports),
        sources=tuple(sources),
        top_failing=tuple(failing[:TOP_FAILING]),
        new_sources=None if filt.since is None else tuple(s for s in sources if s.new),
        readiness=_readiness_by_domain(volumes, reports, judged, published or {}),
        resolved=bool(ptrs) or bool(published),
    )


_JOIN = "FROM aggregate_records r JOIN aggregate_reports rep ON rep.id = r.report"


def _zero() -> list[int]:
    return [0, 0, 0, 0]


def _three_sets() -> tuple[set[str], set[str], set[str]]:
    return set(), set(), set()


@dataclass(slots=True)
class _Volumes:
    """Step 1: message figures in the period, summed as [messages, pass, spf, dkim]."""

    by_domain: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(_zero))
    by_source: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(_zero))
    by_reporter: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(_zero))
    dispositions: Counter[str] = field(default_factory=Counter)
    source_dispositions: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    source_sets: defaultdict[str, tuple[set[str], set[str], set[str]]] = field(
        default_factory=lambda: defaultdict(_three_sets)
    )
    """Per source IP: (reporters, header_from domains, policy domains)."""

    def totals(self) -> Figures:
        return Figures(*(sum(acc[i] for acc in self.by_domain.values()) for i in range(4)))


def _tally_volumes(store: Store, filt: PeriodFilter) -> _Volumes:
    """Message figures by (domain, reporter, source, disposition, header_from)."""
    where, args = period_where("rep", filt.domain, filt.since, filt.until)
    volumes = _Volumes()
    by_domain, by_source, by_reporter = volumes.by_domain, volumes.by_source, volumes.by_reporter
    for domain, org, ip, disp, header_from, n, ok, spf, dkim in store.connection.execute(
        f"SELECT rep.domain, rep.org_name, r.source_ip, r.disposition, r.header_from, "
        f"SUM(r.count), SUM(CASE WHEN {_PASS} THEN r.count ELSE 0 END), "
        "SUM(CASE WHEN r.spf_aligned = 'pass' THEN r.count ELSE 0 END), "
        "SUM(CASE WHEN r.dkim_aligned = 'pass' THEN r.count ELSE 0 END) "
        f"{_JOIN} {where} GROUP BY 1, 2, 3, 4, 5",
        args,
    ):
        for acc in (by_domain[domain], by_source[ip], by_reporter[org]):
            acc[0] += n
            acc[1] += ok
            acc[2] += spf
            acc[3] += dkim
        volumes.dispositions[disp] += n
        volumes.source_dispositions[ip][disp] += n
        reporters, froms, domains = volumes.source_sets[ip]
        reporters.add(org)
        froms.add(header_from)
        domains.add(domain)
    return volumes


@dataclass(frozen=True, slots=True)
class _ReportScan:
    """Step 2: reports per reporter, each domain's [first begin, last end], newest policy."""

    counts: Counter[str]
    spans: dict[str, list[int]]
    policies: dict[str, PolicySeen]
    emails: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Per ``org_name``: the organisational domains of its reports' ``email``."""


def _scan_reports(store: Store, filt: PeriodFilter) -> _ReportScan:
    where, args = period_where("rep", filt.domain, filt.since, filt.until)
    scan = _ReportScan(Counter(), {}, {})
    for org, email, domain, begin, end, *policy in store.connection.execute(
        "SELECT rep.org_name, rep.email, rep.domain, rep.begin_ts, rep.end_ts, rep.policy_p, "
        "rep.policy_sp, rep.policy_np, rep.policy_adkim, rep.policy_aspf, rep.policy_pct, "
        f"rep.policy_fo, rep.policy_testing FROM aggregate_reports rep {where} "
        "ORDER BY rep.end_ts, rep.id",
        args,
    ):
        scan.counts[org] += 1
        if email and "@" in email:
            mail_domain = email.rsplit("@", 1)[1].strip().rstrip(">").lower()
            if mail_domain:
                scan.emails[org].add(org_domain(mail_domain))
        scan.policies[domain] = PolicySeen(*policy)  # ordered by end: the newest wins
        span = scan.spans.setdefault(domain, [begin, end])
        span[0], span[1] = min(span[0], begin), max(span[1], end)
    return scan


@dataclass(frozen=True, slots=True)
class _History:
    """Step 3: each source's first sighting and whether it ever passed aligned."""

    first_seen: dict[str, int]
    ever_passed: set[str]


def _source_history(store: Store, filt: PeriodFilter, in_period: Mapping[str, object]) -> _History:
    """Up to the period's end, for the sources seen in the period."""
    where, args = period_where("rep", filt.domain, None, filt.until)
    history = _History({}, set())
    for ip, first, passed in store.connection.execute(
        f"SELECT r.source_ip, MIN(rep.begin_ts), MAX(CASE WHEN {_PASS} THEN 1 ELSE 0 END) "
        f"{_JOIN} {where} GROUP BY r.source_ip",
        args,
    ):
        if ip in in_period:
            history.first_seen[ip] = first
            if passed:
                history.ever_passed.add(ip)
    return history


def _source_contexts(
    sources: Iterable[str],
    history: _History,
    ptrs: Mapping[str, PtrInfo],
    spans: Mapping[str, object],
) -> dict[str, SourceContext]:
    """Is each source a known sender (passed before, our own PTR, a provider's PTR)?"""
    own_orgs = {org_domain(d) for d in spans}
    contexts: dict[str, SourceContext] = {}
    for ip in sources:
        ptr = ptrs.get(ip)
        own = bool(ptr and ptr.name and org_domain(ptr.name) in own_orgs)
        known = ip in history.ever_passed or own or bool(ptr and ptr.provider)
        contexts[ip] = SourceContext(known=known, own=own)
    return contexts


@dataclass(frozen=True, slots=True)
class _Judged:
    """Step 4: failing messages by source and verdict, and by domain and reason."""

    verdicts: defaultdict[str, Counter[tuple[Verdict, str]]]
    """Per source IP: (verdict, author domain) -> messages."""
    domain_reasons: defaultdict[str, Counter[tuple[str, Reason]]]
    """Per policy domain: (source IP, reason) -> messages."""


def _judge_failures(
    store: Store, filt: PeriodFilter, contexts: Mapping[str, SourceContext]
) -> _Judged:
    """A verdict per failing record; one kind of mail from one source gets one verdict.

    A receiver may note forwarding (``policy_override_reason``) on part of a source's
    mail only: its other records with the same authentication results are the same
    mail, so they are judged forwarded too.
    """
    rows = list(_failing(store, filt, contexts))
    forwarded = {
        (ip, set_id)
        for _d, ip, _n, _a, verdict, set_id in rows
        if verdict.reason is Reason.FORWARDING
    }
    judged = _Judged(defaultdict(Counter), defaultdict(Counter))
    for domain, ip, count, author, verdict, set_id in rows:
        if verdict.reason is not Reason.FORWARDING and (ip, set_id) in forwarded:
            verdict = Verdict(
                Reason.FORWARDING,
                f"{verdict.detail}; the same results as its mail noted as forwarded",
            )
        judged.verdicts[ip][(verdict, author)] += count
        judged.domain_reasons[domain][(ip, verdict.reason)] += count
    return judged


def _source_figures(
    volumes: _Volumes,
    history: _History,
    judged: _Judged,
    ptrs: Mapping[str, PtrInfo],
    filt: PeriodFilter,
) -> list[SourceFigures]:
    """Step 5: one :class:`SourceFigures` per source, most messages first."""
    sources = []
    for ip, acc in volumes.by_source.items():
        ptr = ptrs.get(ip)
        reporters, froms, domains = volumes.source_sets[ip]
        verdicts = judged.verdicts[ip]
        diag = diagnose(
            ip,
            ((v, n, author) for (v, author), n in verdicts.items()),
            ptr.provider if ptr else None,
        )
        first = from_ts(history.first_seen.get(ip))
        new = None if filt.since is None or first is None else first >= filt.since
        sources.append(
            SourceFigures(
                ip,
                Figures(*acc),
                tuple(volumes.source_dispositions[ip].most_common()),
                tuple(sorted(reporters)),
                tuple(sorted(froms)),
                tuple(sorted(domains)),
                first,  # type: ignore[arg-type]
                new,
                ptr,
                ptr.provider if ptr else None,
                diag,
            )
        )
    sources.sort(key=lambda s: (-s.figures.messages, _ip_key(s.source_ip)))
    return sources


def _reporter_figures(volumes: _Volumes, reports: _ReportScan) -> tuple[ReporterFigures, ...]:
    """Reporters grouped by organisation, most messages first.

    Two names are one organisation when they are equal ignoring case, spacing and
    punctuation ("FastMail Pty Ltd", "Fastmail Pty Ltd"), or when their reports come
    from the same email domain (Microsoft's "Outlook.com" and "Enterprise Outlook").
    """
    names = sorted(volumes.by_reporter)
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    by_key: dict[str, str] = {}
    for n in names:
        keys = [f"name:{_org_key(n)}"] + [f"mail:{d}" for d in sorted(reports.emails.get(n, ()))]
        for key in keys:
            if key in by_key:
                parent[find(n)] = find(by_key[key])
            else:
                by_key[key] = n
    groups: dict[str, list[str]] = defaultdict(list)
    for n in names:
        groups[find(n)].append(n)
    out = []
    for members in groups.values():
        members.sort(key=lambda n: (-volumes.by_reporter[n][0], n))
        acc = [sum(volumes.by_reporter[n][i] for n in members) for i in range(4)]
        mail = sorted({d for n in members for d in reports.emails.get(n, ())})
        out.append(
            ReporterFigures(
                members[0],
                sum(reports.counts[n] for n in members),
                Figures(*acc),
                tuple(members),
                tuple(mail),
            )
        )
    return tuple(sorted(out, key=lambda r: (-r.figures.messages, r.org_name)))


def _org_key(name: str) -> str:
    """``FastMail Pty Ltd`` and ``Fastmail  Pty. Ltd`` → ``fastmailptyltd``."""
    return re.sub(r"[\W_]+", "", name.casefold()) or name.casefold()


def _readiness_by_domain(
    volumes: _Volumes,
    reports: _ReportScan,
    judged: _Judged,
    published: Mapping[str, str | None],
) -> tuple[Readiness, ...]:
    return tuple(
        _readiness(
            domain,
            Figures(*volumes.by_domain[domain]),
            judged.domain_reasons[domain],
            reports.policies.get(domain),
            reports.spans[domain],
            published.get(domain),
        )
        for domain in sorted(reports.spans)
    )


def _failing(store: Store, filt: PeriodFilter, contexts: Mapping[str, SourceContext]):
    """``(domain, ip, count, author, verdict, auth set)`` for each failing record in the period."""
    conn = store.connection
    where, args = period_where("rep", filt.domain, filt.since, filt.until)
    cond = f"{where} {'AND' if where else 'WHERE'} NOT {_PASS}"
    join = "FROM aggregate_records r JOIN aggregate_reports rep ON rep.id = r.report"
    sets = load_auth_sets(conn, f"WHERE auth_set IN (SELECT r.auth_set {join} {cond})", args)
    # A verdict depends on the record's shape, not on its IP or count: classify
    # each distinct (policy, header_from, reasons, auth set, context) once.
    verdicts: dict[tuple, tuple[str, Verdict]] = {}
    for domain, adkim, aspf, *row, set_id in conn.execute(
        "SELECT rep.domain, rep.policy_adkim, rep.policy_aspf, r.source_ip, r.count, "
        "r.disposition, r.dkim_aligned, r.spf_aligned, r.header_from, r.envelope_from, "
        f"r.envelope_to, r.reasons, r.auth_set {join} {cond}",
        args,
    ):
        ip, count, context = row[0], row[1], contexts[row[0]]
        key = (domain, adkim, aspf, row[5], row[8], set_id, context)
        known = verdicts.get(key)
        if known is None:
            record = record_from_row(tuple(row), sets.get(set_id, ()))
            author = norm_domain(record.header_from) or domain
            known = verdicts[key] = (author, classify_record(record, domain, adkim, aspf, context))
        yield domain, ip, count, known[0], known[1], set_id


def _readiness(
    domain: str,
    figures: Figures,
    reasons: Counter[tuple[str, Reason]],
    policy: PolicySeen | None,
    span: list[int],
    published: str | None,
) -> Readiness:
    # report periods are inclusive (a day is begin .. begin + 86399), so count the last second
    days = (span[1] - span[0] + 1) / 86400
    step = next_step(policy)
    record, note = suggest_record(domain, step, policy, published) if step else (None, None)
    return judge_readiness(
        domain,
        figures,
        main_reasons(reasons),
        step,
        days,
        policy.describe() if policy else None,
        record,
        note,
    )


def main_reasons(reasons: Counter[tuple[str, Reason]]) -> tuple[FixFirst, ...]:
    """One classification per source: all its failing mail under its main reason.

    A source is never counted as forwarded for part of its mail and as a sender to
    fix for the rest (the sender table, the readiness and the digest agree).
    """
    order = list(Reason)
    total: Counter[str] = Counter()
    best: dict[str, tuple[int, Reason]] = {}
    for (ip, reason), n in reasons.items():
        total[ip] += n
        held = best.get(ip)
        if held is None or (n, -order.index(reason)) > (held[0], -order.index(held[1])):
            best[ip] = (n, reason)
    return tuple(
        FixFirst(ip, n, best[ip][1])
        for ip, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def judge_readiness(
    domain: str,
    figures: Figures,
    failing: Sequence[FixFirst],
    step: str | None,
    days: float,
    current: str | None,
    record: str | None,
    note: str | None,
) -> Readiness:
    """The verdict from each failing source's one classification (see :func:`main_reasons`)."""
    forwarded = sum(f.failing for f in failing if f.reason is Reason.FORWARDING)
    spoofed = sum(f.failing for f in failing if f.reason is Reason.SPOOFING)
    known = figures.messages - forwarded - spoofed
    fix_first = tuple(f for f in failing if f.reason.known_sender)
    rate = figures.dmarc_pass / known if known > 0 else None
    n_fix = len(fix_first)
    fix_text = (
        f" Fix {'this source' if n_fix == 1 else f'these {n_fix} sources'} first." if n_fix else ""
    )

    if step is None:
        verdict = ReadyVerdict.AT_REJECT
        passing = (
            f"{percent(rate)} of mail from known senders passes aligned"
            if rate is not None
            else "no mail from known senders in this period"
        )
        message = f"already at p=reject; {passing}.{fix_text}"
    elif figures.messages < MIN_MESSAGES or days < MIN_DAYS:
        verdict = ReadyVerdict.NOT_ENOUGH_DATA
        few_days, few_messages = days < MIN_DAYS, figures.messages < MIN_MESSAGES
        if few_days and few_messages:
            short = (
                f"{days:.1f} days of data and {figures.messages:,} messages; "
                f"{MIN_DAYS} days and {MIN_MESSAGES} messages are needed"
            )
        elif few_days:
            short = f"{days:.1f} days of data; {MIN_DAYS} are needed"
        else:
            short = f"{figures.messages:,} messages; {MIN_MESSAGES} are needed"
        message = f"{short} to judge p={step} (two weeks is better)."
    elif rate is None:
        verdict = ReadyVerdict.NOT_ENOUGH_DATA
        message = (
            f"no mail from known senders: all {figures.messages:,} messages look "
            f"spoofed or forwarded; if {domain} sends no mail of its own, "
            "publish p=reject."
        )
    elif rate >= READY_THRESHOLD:
        verdict = ReadyVerdict.READY
        message = (
            f"{percent(rate)} of mail from known senders passes aligned; "
            f"ready for p={step}.{fix_text}"
        )
    else:
        verdict = ReadyVerdict.NOT_READY
        message = (
            f"only {percent(rate)} of mail from known senders passes aligned "
            f"(needs {READY_THRESHOLD:.0%}); not ready for p={step}.{fix_text}"
        )
    return Readiness(
        domain,
        verdict,
        current,
        step,
        figures.messages,
        max(known, 0),
        figures.dmarc_pass,
        forwarded,
        spoofed,
        days,
        fix_first,
        record,
        note,
        message,
        tuple(failing),
    )


def rejudge(r: Readiness, reasons: Mapping[str, Reason]) -> Readiness:
    """``r`` again with some sources classified otherwise (by the sender table)."""
    failing = tuple(
        FixFirst(f.source_ip, f.failing, reasons.get(f.source_ip, f.reason))
        for f in r.failing_sources
    )
    if failing == r.failing_sources:
        return r
    figures = Figures(r.messages, r.known_pass)
    return judge_readiness(
        r.domain, figures, failing, r.next_policy, r.days, r.current_policy, r.record, r.record_note
    )


# --- --resolve ---------------------------------------------------------------


async def lookup(
    resolver, ips: Sequence[str], domains: Sequence[str], concurrency: int = 64
) -> tuple[dict[str, PtrInfo], dict[str, str | None]]:
    """PTR names (concurrently) and published DMARC records, through the run's resolver."""
    limit = asyncio.Semaphore(concurrency)

    async def ptr(ip: str) -> tuple[str, PtrInfo]:
        try:
            name = ipaddress.ip_address(ip).reverse_pointer
        except ValueError:
            return ip, PtrInfo(None, None, "invalid address")
        async with limit:
            answer = await resolver.query(name, "PTR")
        targets = answer.targets if answer.ok else []
        if targets:
            return ip, PtrInfo(targets[0], provider_for(targets[0]), answer.outcome.value)
        return ip, PtrInfo(None, None, answer.outcome.value)

    async def dmarc(domain: str) -> tuple[str, str | None]:
        async with limit:
            answer = await resolver.query(f"_dmarc.{domain}", "TXT")
        found = [t for t in answer.texts if t.strip().lower().startswith("v=dmarc1")]
        return domain, found[0] if len(found) == 1 else None

    ptr_results = await asyncio.gather(*(ptr(ip) for ip in ips))
    dmarc_results = await asyncio.gather(*(dmarc(d) for d in domains))
    return dict(ptr_results), dict(dmarc_results)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _ip_key(ip: str) -> tuple[int, int | str]:
    """IPv4 in numeric order, then IPv6, then anything else."""
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts):
        a, b, c, d = (int(p) for p in parts)
        return (4, (a << 24) | (b << 16) | (c << 8) | d)
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (7, ip)
    return (addr.version, int(addr))
