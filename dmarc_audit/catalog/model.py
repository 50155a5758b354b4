"""The shape of one catalog entry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dmarc_audit.findings import Severity

BULK_PROFILE_OPTION = "--profile bulk-sender"
"""The command-line option that applies ``bulk_severity``."""


class CheckStatus(str, Enum):
    """Whether any code emits the id yet."""

    ACTIVE = "active"
    """A rule or collector reports it."""
    PLANNED = "planned"
    """Documented and reserved, but not checked yet."""


@dataclass(frozen=True, slots=True)
class SeverityCase:
    """Another severity the rule gives in some cases, e.g. ``warning`` when ``1–2``."""

    severity: Severity
    when: str = ""


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """Documentation and defaults for one check id."""

    id: str
    title: str
    severity: Severity
    triggers: str
    why: str
    fix: str
    references: tuple[str, ...]
    bulk_severity: Severity | None = None
    """Severity under ``--profile bulk-sender`` when it differs."""
    qualifier: str = ""
    """A short remark on the default severity: when it applies, or what applies otherwise."""
    also: tuple[SeverityCase, ...] = ()
    """Other severities the rule gives, each with its case."""
    status: CheckStatus = CheckStatus.ACTIVE

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def planned(self) -> bool:
        """True when no code checks this id yet."""
        return self.status is CheckStatus.PLANNED

    @property
    def severity_note(self) -> str:
        """The default severity in words, e.g. ``warning (error with --profile bulk-sender)``."""
        cases = [(self.severity, self.qualifier), *((c.severity, c.when) for c in self.also)]
        note = " / ".join(_case(severity, when) for severity, when in cases)
        if self.bulk_severity is not None and self.bulk_severity is not self.severity:
            note += f" ({self.bulk_severity.value} with {BULK_PROFILE_OPTION})"
        return note


def _case(severity: Severity, when: str) -> str:
    return f"{severity.value} ({when})" if when else severity.value
