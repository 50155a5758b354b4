"""The shape of one catalog entry."""

from __future__ import annotations

from dataclasses import dataclass

from dmarc_audit.findings import Severity


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
