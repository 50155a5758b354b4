"""The renderer registry: one function per ``--format``, each returning the whole output.

A renderer takes the domain reports and a :class:`RenderContext` and returns text for
stdout; it never prints and never decides the exit status. ``check`` picks one with
``RENDERERS[RenderFormat(value)](reports, context)``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.findings import FailOn
from dmarc_audit.output.csv_output import render_csv
from dmarc_audit.output.github import render_github
from dmarc_audit.output.junit import render_junit
from dmarc_audit.output.markdown import render_markdown
from dmarc_audit.output.sarif import render_sarif

if TYPE_CHECKING:
    from dmarc_audit.audit import DomainReport
    from dmarc_audit.dns.zonelines import Location, ZoneLineIndex
    from dmarc_audit.findings import Finding


class RenderFormat(str, Enum):
    """Output formats of ``check``. Every member has a renderer (tests check)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"
    MARKDOWN = "markdown"
    CSV = "csv"


@dataclass(frozen=True)
class RenderContext:
    """What a renderer needs besides the reports."""

    tool_version: str
    zone_index: ZoneLineIndex | None = None
    """Set when zone files were audited: findings then point at file and line."""
    fail_on: str = "error"
    """The ``--fail-on`` threshold: JUnit marks exactly those findings as failures."""
    input_errors: tuple[str, ...] = ()
    """Inputs that could not be audited (bad domain names), one line each."""
    dns: dict[str, object] | None = None
    """The JSON ``dns`` section (``json_output.dns_section(resolver)``), for ``json``."""

    @property
    def threshold(self) -> FailOn:
        return FailOn(self.fail_on)

    def locate(self, finding: Finding) -> Location | None:
        """Where the finding's record is written, when zone files were audited."""
        if self.zone_index is None:
            return None
        return self.zone_index.locate_finding(finding)


Renderer = Callable[["Sequence[DomainReport]", RenderContext], str]


def render_text(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The terminal report, without colour."""
    from rich.console import Console

    from dmarc_audit.output.text import render_domain

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        color_system=None,
        force_terminal=False,
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
    for index, report in enumerate(reports):
        if index:
            console.print()
        render_domain(console, report)
    return buffer.getvalue()


def render_json(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The ``check`` JSON document (docs/json.md); ``dns`` is null without context.dns."""
    from dmarc_audit.audit import SCHEMA_VERSION

    document = {
        "schema_version": SCHEMA_VERSION,
        "domains": [report.to_json() for report in reports],
        "input_errors": list(context.input_errors),
        "dns": context.dns,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[RenderFormat, Renderer] = {
    RenderFormat.TEXT: render_text,
    RenderFormat.JSON: render_json,
    RenderFormat.SARIF: render_sarif,
    RenderFormat.JUNIT: render_junit,
    RenderFormat.GITHUB: render_github,
    RenderFormat.MARKDOWN: render_markdown,
    RenderFormat.CSV: render_csv,
}


__all__ = ["RENDERERS", "RenderContext", "RenderFormat", "Renderer"]
