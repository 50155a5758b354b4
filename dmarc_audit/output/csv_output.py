"""CSV: a header row, then one row per finding (RFC 4180 quoting, CRLF line ends).

The columns are fixed (:data:`COLUMNS`), whatever the findings hold. A domain without
findings has no row (the JSON output lists every domain audited); input errors are
reported on stderr only. ``references`` are joined with "; "; ``location`` is
``FILE:LINE`` when zone files were audited, else empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

COLUMNS = (
    "domain",
    "id",
    "severity",
    "status",
    "subject",
    "message",
    "remediation",
    "suggested_record",
    "references",
    "record",
    "location",
)


def render_csv(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The table as text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for report in reports:
        for finding in report.findings:
            place = context.locate(finding)
            writer.writerow(
                (
                    report.domain.ascii,
                    finding.id,
                    finding.severity.value,
                    finding.status.value,
                    finding.subject,
                    finding.message,
                    finding.remediation,
                    finding.suggested_record or "",
                    "; ".join(finding.references),
                    finding.record or "",
                    f"{place.path}:{place.line}" if place is not None else "",
                )
            )
    return buffer.getvalue()


__all__ = ["COLUMNS", "render_csv"]
