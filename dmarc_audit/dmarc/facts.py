"""What the DMARC rules read: the discovered policy, the record as both specs read it,
the DNS answers around it and the external report destinations.

:func:`dmarc_audit.dmarc.collect.collect_dmarc` fills in :class:`DmarcFacts`; the pure
rules in :mod:`dmarc_audit.checks.dmarc` turn them into findings. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import unquote

from dmarc_audit.dmarc.suggest import suggest_dmarc_record
from dmarc_audit.dns.types import Answer
from dmarc_audit.records.dmarc import (
    DmarcMode,
    DmarcProblem,
    DmarcRecord,
    Policy,
    ReportUri,
    parse_dmarc,
)


class DiscoveryStatus(StrEnum):
    """Whether discovery found a record that applies."""

    FOUND = "found"
    NONE = "none"
    UNKNOWN = "unknown"
    """A lookup failed: the policy cannot be determined (never "no record")."""


class FoundAt(StrEnum):
    """Where the applicable record was found, relative to the Author Domain."""

    DOMAIN = "domain"
    ORGANIZATIONAL = "organizational"
    PSD = "psd"
    """A public suffix domain's record (``psd=y``, RFC 9989 §4.10.1)."""
    NONE = "none"
    UNKNOWN = "unknown"


class PolicySource(StrEnum):
    """Which policy tag applies to the Author Domain."""

    P = "p"
    """The record is at the domain itself."""
    SP = "sp"
    """An existing subdomain of the record's domain."""
    NP = "np"
    """A non-existent subdomain (RFC 9989)."""
    NONE = ""
    """No policy applies."""


@dataclass(frozen=True, slots=True)
class WalkStep:
    """One ``_dmarc`` question and what it held."""

    name: str
    """The domain asked about (without ``_dmarc.``)."""
    answer: Answer
    candidates: tuple[DmarcRecord, ...]
    """TXT records that start with ``v=DMARC1`` (parsed in the discovery's mode)."""
    discarded: tuple[DmarcRecord, ...]
    """Other TXT records at the name, parsed (receivers discard them)."""

    @property
    def query(self) -> str:
        return f"_dmarc.{self.name}"

    @property
    def record(self) -> DmarcRecord | None:
        """The record receivers use here: exactly one candidate, else none (§4.10 step 2)."""
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def multiple(self) -> bool:
        return len(self.candidates) > 1

    @property
    def psd(self) -> str:
        record = self.record
        return str(record.tag("psd", "u")) if record is not None else "u"


@dataclass(frozen=True, slots=True)
class TreeWalk:
    """The result of an RFC 9989 DNS tree walk (§4.10, §4.10.2)."""

    domain: str
    steps: tuple[WalkStep, ...]
    org_domain: str | None
    """``None`` when a lookup failed before the walk could finish."""
    psd_domain: str | None
    """Where a ``psd=y`` record stopped the walk (not at ``domain`` itself), if one did."""
    failed: Answer | None

    @property
    def found_any(self) -> bool:
        return any(step.record is not None for step in self.steps)

    def step(self, name: str) -> WalkStep | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass(frozen=True, slots=True)
class DmarcDiscovery:
    """Where the applicable DMARC record was found and what it means for ``domain``."""

    domain: str
    mode: DmarcMode
    record: DmarcRecord | None
    record_name: str | None
    found_at: FoundAt
    org_domain: str | None
    applied_policy: Policy | None
    """What a receiver applies to failing mail From ``domain`` (after ``t=y``)."""
    policy_source: PolicySource
    explanation: str
    queries: tuple[str, ...]
    status: DiscoveryStatus
    steps: tuple[WalkStep, ...] = ()
    failures: tuple[Answer, ...] = ()
    stated_policy: Policy | None = None
    """The policy the record states for ``domain`` before ``t=y`` lowers it."""
    author_exists: bool | None = None
    """Whether ``domain`` exists (A/AAAA/MX); ``None`` when it was not needed or not known."""
    walk: TreeWalk | None = None


@dataclass(frozen=True, slots=True)
class RecordView:
    """One record as both kinds of receivers read it, and where it is published."""

    name: str
    """``_dmarc.example.com``"""
    domain: str
    mode: DmarcMode
    primary: DmarcRecord
    """Parsed under the audit's mode."""
    other: DmarcRecord
    """Parsed under the other spec."""
    suggested: str

    @classmethod
    def of(cls, text: str, domain: str, mode: DmarcMode, *, sends_mail: bool = True) -> RecordView:
        primary = parse_dmarc(text, mode)
        other_mode = DmarcMode.RFC7489 if mode is DmarcMode.RFC9989 else DmarcMode.RFC9989
        return cls(
            f"_dmarc.{domain}",
            domain,
            mode,
            primary,
            parse_dmarc(text, other_mode),
            suggest_dmarc_record(primary, domain, sends_mail=sends_mail),
        )

    @property
    def text(self) -> str:
        return self.primary.text

    def parsed(self, mode: DmarcMode) -> DmarcRecord:
        return self.primary if self.primary.mode is mode else self.other

    def problems(self, check_id: str) -> list[tuple[DmarcProblem, DmarcMode | None]]:
        """Problems with ``check_id`` from both parses; the mode is set when only one has it."""
        keyed = [
            {(p.tag, p.message): p for p in r.problems if p.check_id == check_id}
            for r in (self.primary, self.other)
        ]
        out: list[tuple[DmarcProblem, DmarcMode | None]] = []
        for key, problem in keyed[0].items():
            out.append((problem, None if key in keyed[1] else self.primary.mode))
        for key, problem in keyed[1].items():
            if key not in keyed[0]:
                out.append((problem, self.other.mode))
        return out

    @property
    def publish(self) -> str:
        """The written-out fix: ``_dmarc.example.com TXT "v=DMARC1; ..."``."""
        return f'{self.name} TXT "{self.suggested}"'


@dataclass(frozen=True, slots=True)
class ReportDestination:
    """An external ``rua``/``ruf`` destination and what its authorisation lookup said."""

    tag: str
    uri: ReportUri
    host: str
    record_domain: str
    same_org: bool
    """Same Organizational Domain under the audit's view (no authorisation needed)."""
    view: str
    """How "same organisation" was decided, for the message."""
    other_view_same: bool | None = None
    authorized: bool | None = None
    """``None`` when not needed (same organisation) or not known (lookup failed)."""
    checked: tuple[str, ...] = ()
    failure: Answer | None = None

    @property
    def auth_name(self) -> str:
        return f"{self.record_domain}._report._dmarc.{self.host}"


@dataclass(frozen=True, slots=True)
class DmarcFacts:
    """Everything the DMARC rules look at, collected before any rule runs."""

    domain: str
    mode: DmarcMode
    sends_mail: bool = True
    discovery: DmarcDiscovery | None = None
    record: RecordView | None = None
    """The applicable record, when its owner should act on it (not a public suffix's)."""
    apex: Answer | None = None
    walk: TreeWalk | None = None
    psl_org: str | None = None
    destinations: tuple[ReportDestination, ...] = ()
    extra_failures: tuple[Answer, ...] = ()

    def not_sending(self) -> DmarcFacts:
        """The same facts for a domain that sends no mail (null MX, parked): other advice."""
        if not self.sends_mail:
            return self
        record = self.record
        if record is not None:
            record = RecordView.of(record.text, record.domain, record.mode, sends_mail=False)
        return replace(self, sends_mail=False, record=record)


def report_host(uri: ReportUri) -> str | None:
    """The host a report URI delivers to: the domain of a mailto address, else the authority."""
    body = uri.uri.split(":", 1)[1]
    if uri.scheme == "mailto":
        address = unquote(body.split("?", 1)[0])
        if "@" not in address:
            return None
        host = address.rsplit("@", 1)[1]
    elif body.startswith("//"):
        host = body[2:].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    else:
        return None
    host = host.strip("[]").lower().rstrip(".")
    return host or None
