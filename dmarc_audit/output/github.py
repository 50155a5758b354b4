"""GitHub Actions workflow commands: one annotation per finding.

``::error file=F,line=N,title=T::message`` for errors, ``::warning`` and ``::notice``
for warnings and info. ``file``/``line`` are given only when zone files were audited.
Values are escaped as the runner expects: ``%``, CR and LF everywhere, and also ``:``
and ``,`` in properties. A finding that could not be checked is a ``::notice`` (as
SARIF gives it level ``none``) and says "could not check:" first: it never looks like
a failure, because it does not fail the build.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.findings import Finding, Severity, Status

if TYPE_CHECKING:
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """One workflow command per line."""
    lines = [
        _annotation(report, finding, context) for report in reports for finding in report.findings
    ]
    lines.extend(
        _command("error", {"title": "dmarc-audit: input error"}, error)
        for error in context.input_errors
    )
    return "".join(line + "\n" for line in lines)


def _annotation(report: DomainReport, finding: Finding, context: RenderContext) -> str:
    properties: dict[str, str] = {}
    place = context.locate(finding)
    if place is not None:
        properties["file"] = place.path
        properties["line"] = str(place.line)
        if place.end_line is not None:
            properties["endLine"] = str(place.end_line)
    properties["title"] = f"{finding.id} ({report.domain.ascii})"
    text = ("could not check: " if finding.status is Status.UNKNOWN else "") + finding.message
    if finding.subject != report.domain.ascii:
        text += f"\nat {finding.subject}"
    if finding.remediation:
        text += f"\nfix: {finding.remediation}"
    if finding.suggested_record:
        text += f"\npublish: {finding.suggested_record}"
    # could not check: a notice (SARIF level "none"), never an error annotation
    command = "notice" if finding.status is Status.UNKNOWN else COMMANDS[finding.severity]
    return _command(command, properties, text)


def _command(name: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return (
        f"::{name} {props}::{escape_data(message)}"
        if props
        else f"::{name}::{escape_data(message)}"
    )


def escape_data(text: str) -> str:
    """The message part: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as data, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


__all__ = ["escape_data", "escape_property", "render_github"]
