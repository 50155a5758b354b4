"""The renderer registry of ``check``: one function per ``--format``.

Every renderer takes the gated reports and a :class:`RenderContext` and returns the
whole output; ``check`` writes ``RENDERERS[format](gated, context)`` to stdout. The
CI formats (sarif, junit, github, markdown, csv) show only the findings that count
(not baselined); text and JSON show baselined findings as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.output.context import RenderContext, Renderer, TextView
from dmarc_audit.output.csv_output import render_csv
from dmarc_audit.output.formats import RenderFormat
from dmarc_audit.output.github import render_github
from dmarc_audit.output.json_output import render_gated_json
from dmarc_audit.output.junit import render_junit
from dmarc_audit.output.markdown import render_markdown
from dmarc_audit.output.sarif import render_sarif
from dmarc_audit.output.text import render_gated_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from dmarc_audit.dns.cache import CachingResolver
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.report import DomainReport


def counting_only(render: Callable[[Sequence[DomainReport], RenderContext], str]) -> Renderer:
    """A renderer of the findings that count, from one that takes plain reports."""

    def renderer(gated: Sequence[GatedReport], context: RenderContext) -> str:
        return render([g.counting() for g in gated], context)

    renderer.__name__ = render.__name__
    renderer.__doc__ = render.__doc__
    return renderer


RENDERERS: dict[RenderFormat, Renderer] = {
    RenderFormat.TEXT: render_gated_text,
    RenderFormat.JSON: render_gated_json,
    RenderFormat.SARIF: counting_only(render_sarif),
    RenderFormat.JUNIT: counting_only(render_junit),
    RenderFormat.GITHUB: counting_only(render_github),
    RenderFormat.MARKDOWN: counting_only(render_markdown),
    RenderFormat.CSV: counting_only(render_csv),
}

LOCATING = frozenset(RENDERERS) - {RenderFormat.TEXT, RenderFormat.JSON}
"""Formats that point findings at zone-file lines (the index is built only for them)."""


def stdout_context(
    output_format: RenderFormat,
    *,
    tool_version: str,
    fail_on: str,
    input_errors: Sequence[str],
    resolver: CachingResolver,
    zones: Sequence[str] = (),
    verbosity: int = 0,
    text_view: TextView = TextView.FULL,
) -> RenderContext:
    """The context for rendering ``output_format`` to this process's stdout: colour,
    width and JSON indentation follow the terminal; each format gets what it reads."""
    from dmarc_audit.output.console import json_indent, stdout_console

    zone_index = None
    if output_format in LOCATING and zones:
        from dmarc_audit.dns.zonelines import ZoneLineIndex

        zone_index = ZoneLineIndex.from_zone_args(list(zones))
    dns = None
    if output_format is RenderFormat.JSON:
        from dmarc_audit.output.json_output import dns_section

        dns = dns_section(resolver)
    color_system = width = None
    if output_format is RenderFormat.TEXT:
        console = stdout_console()
        color_system, width = console.color_system, console.width
    return RenderContext(
        tool_version=tool_version,
        zone_index=zone_index,
        fail_on=fail_on,
        input_errors=tuple(input_errors),
        dns=dns,
        color_system=color_system,
        width=width,
        json_indent=json_indent(),
        verbosity=verbosity,
        text_view=text_view,
    )


__all__ = ["LOCATING", "RENDERERS", "counting_only", "stdout_context"]
