"""One row per sender: its figures, its state and the one-line fix.

The summary's sources (IPs with figures and a diagnosis) are grouped by their
:class:`~dmarc_audit.senders.naming.SenderName`; unnamed sources are grouped by
state. A sender has one state, from all of its failing mail, so the same source
is never "forwarded, nothing to publish" in one place and "fix first" in another.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from dmarc_audit.reports.classify import Reason, aligned, org_domain
from dmarc_audit.reports.summary import Figures, SourceFigures
from dmarc_audit.senders.facts import SpfPosture
from dmarc_audit.senders.naming import AuthEvidence, Evidence, EvidenceKind, SenderName

ALIGNED_RATE = 0.98
"""A sender whose mail passes DMARC at least this often is *aligned*."""
SPF_LIMIT = 10
NEW_SENDER_MESSAGES = 100
"""An unnamed new source needs this many messages to count as a new sender."""


class SenderState(str, Enum):
    ALIGNED = "aligned"
    NOT_ALIGNED = "authenticated-not-aligned"
    NOT_AUTHORISED = "not-authorised"
    FORWARDING = "forwarding"
    SPOOFING = "spoofing"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def to_fix(self) -> bool:
        """The domain owner has something to publish or set up for it."""
        return self in (SenderState.NOT_ALIGNED, SenderState.NOT_AUTHORISED)


_LABELS = {
    SenderState.ALIGNED: "passes aligned",
    SenderState.NOT_ALIGNED: "authenticated but not aligned",
    SenderState.NOT_AUTHORISED: "not authorised",
    SenderState.FORWARDING: "forwarding",
    SenderState.SPOOFING: "spoofing",
    SenderState.UNKNOWN: "unknown",
}

_BY_REASON = {
    Reason.ESP_OWN_DOMAIN: SenderState.NOT_ALIGNED,
    Reason.NOT_IN_SPF: SenderState.NOT_AUTHORISED,
    Reason.SPF_ERROR: SenderState.NOT_AUTHORISED,
    Reason.FORWARDING: SenderState.FORWARDING,
    Reason.SPOOFING: SenderState.SPOOFING,
}


@dataclass(frozen=True, slots=True)
class SenderRow:
    """One sender in the period."""

    key: str
    name: str
    named: bool
    state: SenderState
    figures: Figures
    share: float
    previous: Figures | None
    """The same sender in the previous period of equal length (None: no --since)."""
    ips: tuple[str, ...]
    domains: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    reason: Reason | None
    """The main reason behind its failing mail."""
    fix: str | None
    record: str | None
    """The exact record the fix publishes, when there is one."""
    first_seen: datetime | None
    new: bool | None

    @property
    def trend(self) -> float | None:
        """Change in DMARC pass rate (percentage points) against the previous period."""
        if self.previous is None or not self.previous.messages or not self.figures.messages:
            return None
        return ((self.figures.pass_rate or 0) - (self.previous.pass_rate or 0)) * 100

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "named": self.named,
            "state": self.state.value,
            "state_label": self.state.label,
            **self.figures.to_json(),
            "share": round(self.share, 4),
            "previous": None
            if self.previous is None
            else {
                "messages": self.previous.messages,
                "dmarc_pass_rate": _round(self.previous.pass_rate),
            },
            "trend": None if self.trend is None else round(self.trend, 2),
            "ips": list(self.ips),
            "domains": list(self.domains),
            "evidence": [e.to_json() for e in self.evidence],
            "reason": self.reason.value if self.reason else None,
            "fix": self.fix,
            "record": self.record,
            "first_seen": _iso(self.first_seen),
            "new": self.new,
        }


def build_rows(
    sources: Sequence[SourceFigures],
    names: Mapping[str, SenderName],
    auth: Mapping[str, AuthEvidence],
    *,
    previous: Mapping[str, tuple[int, int, int, int]] | None = None,
    posture: Mapping[str, SpfPosture] | None = None,
    since: datetime | None = None,
) -> tuple[SenderRow, ...]:
    """Group ``sources`` into senders, most messages first."""
    total = sum(s.figures.messages for s in sources)
    groups: dict[str, list[SourceFigures]] = {}
    labels: dict[str, SenderName | None] = {}
    for s in sources:
        name = names.get(s.source_ip)
        if name is not None:
            key = name.key
            labels.setdefault(key, name)
        else:
            key = f"unnamed:{_source_state(s, None, auth.get(s.source_ip)).value}"
            labels.setdefault(key, None)
        groups.setdefault(key, []).append(s)
    rows = [
        _row(key, labels[key], members, names, auth, total, previous, posture or {}, since)
        for key, members in groups.items()
    ]
    rows.sort(key=lambda r: (-r.figures.messages, r.name))
    return tuple(rows)


def _source_state(
    s: SourceFigures, name: SenderName | None, auth: AuthEvidence | None
) -> SenderState:
    return _state(s.figures, _reasons([s]), name, [auth] if auth else [])


def _reasons(members: Sequence[SourceFigures]) -> Counter[Reason]:
    """Failing messages by each source's *main* reason (one classification per source)."""
    out: Counter[Reason] = Counter()
    for s in members:
        if s.diagnosis is not None:
            out[s.diagnosis.reason] += s.figures.failing
    return out


def _state(
    figures: Figures,
    reasons: Counter[Reason],
    name: SenderName | None,
    auth: Sequence[AuthEvidence],
) -> SenderState:
    if not figures.failing or (figures.pass_rate or 0) >= ALIGNED_RATE:
        return SenderState.ALIGNED
    if name is not None and (name.forwarder or name.key.startswith("list:")):
        return SenderState.FORWARDING
    if auth and any(a.list_mail for a in auth):
        return SenderState.FORWARDING
    if auth and not any(a.has_results for a in auth):
        return SenderState.UNKNOWN
    if not reasons:
        return SenderState.UNKNOWN
    reason = reasons.most_common(1)[0][0]
    state = _BY_REASON[reason]
    if state is SenderState.SPOOFING and name is not None:
        # named from evidence, yet nothing passes: a sender not set up (yet)
        return SenderState.NOT_AUTHORISED
    return state


def _row(
    key: str,
    name: SenderName | None,
    members: list[SourceFigures],
    names: Mapping[str, SenderName],
    auth: Mapping[str, AuthEvidence],
    total: int,
    previous: Mapping[str, tuple[int, int, int, int]] | None,
    posture: Mapping[str, SpfPosture],
    since: datetime | None,
) -> SenderRow:
    figures = sum((s.figures for s in members), Figures())
    evidence = tuple(dict.fromkeys(e for s in members for e in _evidence(names.get(s.source_ip))))
    proofs = [a for s in members if (a := auth.get(s.source_ip)) is not None]
    reasons = _reasons(members)
    state = _state(figures, reasons, name, proofs)
    ips = tuple(s.source_ip for s in members)
    domain_counts: Counter[str] = Counter()
    for s in members:
        for d in s.header_from or s.domains:
            domain_counts[d] += s.figures.messages
    domains = tuple(d for d, _ in domain_counts.most_common())
    prev = None
    if previous is not None:
        prev = sum((Figures(*previous[ip]) for ip in ips if ip in previous), Figures())
    firsts = [s.first_seen for s in members if s.first_seen is not None]
    first = min(firsts) if firsts else None
    new = None if since is None or first is None else first >= since
    if new and name is None and figures.messages < NEW_SENDER_MESSAGES:
        new = False  # a handful of unnamed messages is not a new sender
    if new and state is SenderState.SPOOFING:
        new = False
    label = name.name if name else f"unnamed sources ({_state_word(state)})"
    failing_ips = tuple(s.source_ip for s in members if s.figures.failing) or ips
    fix, record = fix_for(
        state,
        name,
        label,
        failing_ips,
        domains[0] if domains else "",
        proofs,
        figures,
        posture.get(members[0].domains[0]) if members[0].domains else None,
        unproven=bool(reasons) and reasons.most_common(1)[0][0] is Reason.SPOOFING,
    )
    return SenderRow(
        key=key,
        name=label,
        named=name is not None,
        state=state,
        figures=figures,
        share=figures.messages / total if total else 0.0,
        previous=prev,
        ips=ips,
        domains=domains,
        evidence=evidence,
        reason=reasons.most_common(1)[0][0] if reasons else None,
        fix=fix,
        record=record,
        first_seen=first,
        new=new,
    )


def _state_word(state: SenderState) -> str:
    return state.label


def _evidence(name: SenderName | None) -> tuple[Evidence, ...]:
    return name.evidence if name else ()


# --- the fix -------------------------------------------------------------------------


def fix_for(
    state: SenderState,
    name: SenderName | None,
    label: str,
    ips: Sequence[str],
    domain: str,
    auth: Sequence[AuthEvidence],
    figures: Figures,
    posture: SpfPosture | None,
    unproven: bool = False,
) -> tuple[str | None, str | None]:
    """One line saying what to do for this sender, and the record it publishes.

    ``unproven``: nothing says the mail is the domain's own (it never passed, no
    ``senders:`` entry names it), so the fix is worded "if you send through it".
    """
    provider = name.provider if name else None
    if state is SenderState.ALIGNED:
        dkim_rate = figures.rate(figures.dkim_aligned) or 0
        if figures.messages and dkim_rate < 0.5 and provider and provider.dkim:
            step = provider.dkim.filled(domain)
            return (
                f"{label}: passes on SPF alone, so forwarded mail fails; sign with DKIM: "
                f"publish `{step.record}` (from {step.where})",
                step.record,
            )
        return None, None
    if state is SenderState.FORWARDING:
        return (
            "forwarded or list mail: nothing to publish; sign all your mail with DKIM so "
            "unmodified forwards keep passing",
            None,
        )
    if state is SenderState.SPOOFING:
        return (
            f"not yours: nothing to publish; p=quarantine or p=reject stops mail that "
            f"claims to be {domain or 'you'}",
            None,
        )
    if state is SenderState.UNKNOWN:
        shown = _ips(ips)
        return (
            f"receivers gave no SPF or DKIM results for {shown}: find out whether it is yours",
            None,
        )
    if state is SenderState.NOT_ALIGNED:
        method, other = _foreign_domain(auth, domain) or ("", "")
        if provider is not None and provider.dkim is not None:
            step = provider.dkim.filled(domain)
            signs = {
                "dkim": f"DKIM signs d={other}",
                "spf": f"SPF passes for {other} only",
            }.get(method, "it authenticates with its own domain")
            return (
                f"{label}: {signs}; publish `{step.record}` (from {step.where})",
                step.record,
            )
        who = {"dkim": f"signs as {other}", "spf": f"bounces as {other}"}.get(
            method, "authenticates with its own domain"
        )
        return (
            f"{label}: {who}, not {domain}; set up DKIM signing for {domain} there "
            "(usually CNAME selectors) or a return-path under it",
            None,
        )
    return _not_authorised(name, label, ips, domain, posture, unproven)


def _not_authorised(
    name: SenderName | None,
    label: str,
    ips: Sequence[str],
    domain: str,
    posture: SpfPosture | None,
    unproven: bool = False,
) -> tuple[str, str | None]:
    provider = name.provider if name else None
    lookups = posture.lookups if posture else None
    shared = (
        name is not None
        and name.declared is None
        and (unproven or all(e.kind in (EvidenceKind.PTR, EvidenceKind.ASN) for e in name.evidence))
    )
    if provider is not None and not provider.spf_include:
        # a shared service without an SPF include: never "authorise this IP"
        lead = f"if you send through {label}: " if shared else f"{label}: "
        tail = "; otherwise it is someone else's mail on its servers: nothing to publish"
        if provider.dkim is not None:
            step = provider.dkim.filled(domain)
            return (
                f"{lead}it cannot be authorised in SPF; sign with DKIM: publish "
                f"`{step.record}` (from {step.where}){tail if shared else ''}",
                step.record,
            )
        return (
            f"{lead}it cannot be authorised in SPF or sign for {domain}: send that mail "
            f"another way{tail if shared else ''}",
            None,
        )
    if provider is not None and provider.spf_include:
        include = provider.spf_include
        cost = dict(posture.include_costs).get(include) if posture else None
        lead = f"if you send through {label}: " if shared else f"{label}: "
        if lookups is not None and cost is not None and lookups + cost > SPF_LIMIT:
            sub = f"bounce.{domain}"
            record = f'{sub}. TXT "v=spf1 include:{include} -all"'
            return (
                f"{lead}not in SPF of {domain}; `include:{include}` would take it to "
                f"{lookups + cost} of {SPF_LIMIT} lookups, so use a subdomain: set the "
                f"return-path to {sub}, publish `{record}` and sign with DKIM",
                record,
            )
        budget = (
            f" (SPF then needs {lookups + cost} of {SPF_LIMIT} lookups)"
            if lookups is not None and cost is not None
            else f" (then check the lookup count: dmarc-audit spf {domain})"
        )
        tail = (
            "; otherwise it is someone else's mail on its servers: nothing to publish"
            if shared
            else ""
        )
        return (
            f"{lead}not in SPF of {domain}; add `include:{include}`{budget}{tail}",
            f"include:{include}",
        )
    if name is not None and name.declared is not None and name.network:
        term = _term(name.network)
        budget = (
            f" (SPF then needs {lookups} of {SPF_LIMIT} lookups)" if lookups is not None else ""
        )
        return (
            f"{label} {_ips(ips)}: not in SPF of {domain}; add `{term}`{budget}",
            term,
        )
    terms = " ".join(_term(ip) for ip in ips[:5])
    budget = f" (SPF then needs {lookups} of {SPF_LIMIT} lookups)" if lookups is not None else ""
    return (
        f"{label} {_ips(ips)}: not in SPF of {domain}; if it is yours, add `{terms}`{budget} "
        "and sign with DKIM",
        terms,
    )


def _term(network: str) -> str:
    try:
        version = ipaddress.ip_network(network, strict=False).version
    except ValueError:
        return network
    return f"ip{version}:{network}"


def _ips(ips: Sequence[str]) -> str:
    shown = ", ".join(ips[:3])
    return shown + (f" (+{len(ips) - 3} more)" if len(ips) > 3 else "")


def _foreign_domain(auth: Sequence[AuthEvidence], domain: str) -> tuple[str, str] | None:
    """``("dkim", d)`` (else ``("spf", d)``): a passing domain not aligned with ``domain``."""
    if not domain:
        return None
    for a in auth:
        for d, _ in sorted(a.dkim_pass):
            if d and not aligned(d, domain):
                return "dkim", d
    for a in auth:
        for d in sorted(a.spf_pass):
            if d and org_domain(d) != org_domain(domain):
                return "spf", d
    return None


def new_senders(rows: Sequence[SenderRow]) -> tuple[SenderRow, ...]:
    """Senders first seen in the period (named, or unnamed with meaningful volume)."""
    return tuple(r for r in rows if r.new)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
