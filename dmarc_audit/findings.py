"""Findings: what a check reports, with the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class Severity(str, Enum):
    """How much a finding matters (see the catalog for each id's default)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Status(str, Enum):
    """``fail``: the problem is there. ``unknown``: it could not be checked."""

    FAIL = "fail"
    UNKNOWN = "unknown"


class FailOn(str, Enum):
    """The ``--fail-on`` threshold."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    NEVER = "never"

    def trips(self, severity: Severity) -> bool:
        if self is FailOn.NEVER:
            return False
        return severity.rank >= Severity(self.value).rank


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or one thing that could not be checked) about one subject.

    Build findings with :func:`dmarc_audit.catalog.finding` so that severity,
    remediation and references come from the catalog.
    """

    id: str
    severity: Severity
    message: str
    subject: str
    status: Status = Status.FAIL
    record: str | None = None
    remediation: str = ""
    suggested_record: str | None = None
    references: tuple[str, ...] = ()
    evidence: tuple[str, ...] = field(default=())

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "status": self.status.value,
            "subject": self.subject,
            "message": self.message,
            "record": self.record,
            "remediation": self.remediation,
            "suggested_record": self.suggested_record,
            "references": list(self.references),
            "evidence": list(self.evidence),
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first; stable otherwise."""
    return sorted(findings, key=lambda f: -f.severity.rank)
