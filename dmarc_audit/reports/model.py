"""The shapes every report reader produces and the store consumes.

Aggregate reports can hold hundreds of thousands of records, so a parsed report is
its metadata plus an *iterator* of records: readers stream, the store consumes in
one pass, and nothing holds a whole report in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class ReportKind(str, Enum):
    AGGREGATE = "aggregate"
    FAILURE = "failure"
    TLS = "smtp-tls"


class AggregateSchema(str, Enum):
    """Which aggregate-report format the XML follows."""

    RFC7489 = "rfc7489"
    DRAFT = "draft"
    """The pre-RFC draft schema (e.g. the dmarc.org wiki example)."""
    RFC9990 = "rfc9990"


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A quirk tolerated while reading: what and where (line or byte offset when known)."""

    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True, slots=True)
class PolicyPublished:
    """``<policy_published>``: the DMARC record the reporter saw."""

    domain: str
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    adkim: str | None = None
    aspf: str | None = None
    pct: int | None = None
    fo: str | None = None
    testing: str | None = None
    discovery_method: str | None = None


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``<auth_results>`` entry: DKIM (selector set) or SPF (scope set)."""

    method: str
    """``dkim`` or ``spf``."""
    domain: str
    result: str
    selector: str | None = None
    scope: str | None = None
    human_result: str | None = None


@dataclass(frozen=True, slots=True)
class AggregateRecord:
    """One ``<record>``: a source IP and the verdict on the messages it sent."""

    source_ip: str
    count: int
    disposition: str
    dkim_aligned: str
    """policy_evaluated/dkim: ``pass`` or ``fail`` (lower-cased)."""
    spf_aligned: str
    header_from: str
    envelope_from: str | None = None
    envelope_to: str | None = None
    reasons: tuple[tuple[str, str], ...] = ()
    """policy_override_reason (type, comment) pairs."""
    auth_results: tuple[AuthResult, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        return self.dkim_aligned == "pass" or self.spf_aligned == "pass"


@dataclass(frozen=True, slots=True)
class AggregateMeta:
    """Report metadata and the published policy."""

    org_name: str
    email: str | None
    report_id: str
    begin: datetime
    end: datetime
    policy: PolicyPublished
    schema: AggregateSchema
    extra_contact: str | None = None
    errors: tuple[str, ...] = ()
    generator: str | None = None


@dataclass(slots=True)
class AggregateReport:
    """Metadata plus a one-pass iterator over the records.

    ``warnings`` grows while ``records`` is consumed (a bad record is skipped and a
    warning appended), so read it after the iteration.
    """

    meta: AggregateMeta
    records: Iterator[AggregateRecord]
    source: str
    """Where it came from: a path, with the member/part inside it (``a.zip!report.xml``)."""
    warnings: list[ParseWarning] = field(default_factory=list)
    skipped_records: int = 0
    omitted: set[str] = field(default_factory=set)
    """Elements its schema requires that large reporters all leave out (``sp``, ``fo``,
    ``pct``, ``envelope_from``, ``scope``): not warnings; the ingest summary counts them."""


@dataclass(frozen=True, slots=True)
class FailureReport:
    """An RFC 6591 / RFC 9991 failure (forensic) report."""

    source: str
    feedback_type: str
    arrival_date: datetime | None
    reported_domain: str | None
    source_ip: str | None
    original_mail_from: str | None
    original_rcpt_to: str | None
    auth_failure: str | None
    delivery_result: str | None
    authentication_results: str | None
    dkim_domain: str | None
    subject: str | None
    header_from: str | None
    reporter: str | None
    warnings: tuple[ParseWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class TlsPolicySummary:
    """One policy block of an SMTP TLS report (RFC 8460 §4.4)."""

    policy_type: str
    policy_domain: str
    successful: int
    failed: int
    failure_details: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class TlsReport:
    """An RFC 8460 SMTP TLS report."""

    source: str
    org_name: str
    report_id: str
    begin: datetime
    end: datetime
    contact: str | None
    policies: tuple[TlsPolicySummary, ...]
    warnings: tuple[ParseWarning, ...] = ()


Report = AggregateReport | FailureReport | TlsReport


class ReportError(Exception):
    """A file or part that cannot be read as a report; says what and where."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
