"""GitHub-flavoured Markdown for pull-request comments.

A summary table (one row per domain: SPF, DKIM, DMARC and MX at a glance, then the
error, warning and info counts), then a section per domain with findings: each with
its fix, the record to publish in a code block and the evidence folded away. Domains
without findings appear in the table only. Text from DNS is escaped, so a record can
neither break the table nor inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.findings import Finding, Severity, Status

if TYPE_CHECKING:
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~&#!])")


def render_markdown(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The whole comment."""
    parts = ["## dmarc-audit", "", _headline(reports), ""]
    if reports:
        parts.extend(_table(reports))
        parts.append("")
    for report in reports:
        if report.findings:
            parts.extend(_domain_section(report, context))
    if context.input_errors:
        parts.extend(["### Input errors", ""])
        parts.extend(f"- {escape(error)}" for error in context.input_errors)
        parts.append("")
    return "\n".join(parts).rstrip("\n") + "\n"


def _headline(reports: Sequence[DomainReport]) -> str:
    counts = {s: sum(r.count(s) for r in reports) for s in Severity}
    unknown = sum(1 for r in reports for f in r.findings if f.status is Status.UNKNOWN)
    words = [
        _plural(len(reports), "domain"),
        _plural(counts[Severity.ERROR], "error"),
        _plural(counts[Severity.WARNING], "warning"),
        f"{counts[Severity.INFO]} info",
    ]
    if unknown:
        words.append(f"{unknown} could not be checked")
    return " · ".join(words)


def _table(reports: Sequence[DomainReport]) -> list[str]:
    rows = [
        "| Domain | SPF | DKIM | DMARC | MX | Errors | Warnings | Info |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for report in reports:
        cells = [
            escape(report.domain.display),
            *_glances(report),
            *(str(report.count(s)) for s in Severity),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _glances(report: DomainReport) -> list[str]:
    """The text report's one-glance verdicts, without colour or the area label."""
    from rich.text import Text

    from dmarc_audit.output.text import dkim_glance, dmarc_glance, mx_glance, spf_glance

    cells = []
    for label, glance in (
        ("SPF", spf_glance),
        ("DKIM", dkim_glance),
        ("DMARC", dmarc_glance),
        ("MX", mx_glance),
    ):
        plain = Text.from_markup(glance(report)).plain
        plain = plain[len(label) :].strip() if plain.startswith(label) else plain
        cells.append(escape(plain) if plain else "—")
    return cells


def _domain_section(report: DomainReport, context: RenderContext) -> list[str]:
    lines = [f"### {escape(report.domain.display)}", ""]
    for finding in report.findings:
        lines.extend(_finding(report, finding, context))
    return lines


def _finding(report: DomainReport, finding: Finding, context: RenderContext) -> list[str]:
    unknown = " (could not check)" if finding.status is Status.UNKNOWN else ""
    lines = [
        f"**{finding.severity.value}**{unknown} {code_span(finding.id)} — "
        f"{escape(finding.message)}",
        "",
    ]
    details = []
    place = context.locate(finding)
    if finding.subject != report.domain.ascii or place is not None:
        where = f" in {code_span(f'{place.path}:{place.line}')}" if place is not None else ""
        details.append(f"- at {code_span(finding.subject)}{where}")
    if finding.record:
        details.append(f"- record: {code_span(finding.record)}")
    if finding.remediation:
        details.append(f"- fix: {escape(finding.remediation)}")
    if finding.references:
        details.append(f"- references: {escape('; '.join(finding.references))}")
    if details:
        lines.extend([*details, ""])
    if finding.suggested_record:
        lines.extend(["Publish:", "", code_block(finding.suggested_record), ""])
    if finding.evidence:
        lines.extend(
            [
                f"<details><summary>Evidence ({len(finding.evidence)})</summary>",
                "",
                code_block("\n".join(finding.evidence)),
                "",
                "</details>",
                "",
            ]
        )
    return lines


def escape(text: str) -> str:
    """Inline text: Markdown punctuation, HTML and table pipes escaped; newlines as <br>.

    The result is one line, always written after other text, so nothing in it can
    start a block (a list, a heading, a quote).
    """
    return "<br>".join(_SPECIAL.sub(r"\\\1", line) for line in text.splitlines() or [""])


def code_span(text: str) -> str:
    """Inline code that survives backticks in ``text`` (not for table cells)."""
    text = " ".join(text.splitlines())
    fence = "`" * (_longest_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str) -> str:
    """A fenced block longer than any backtick run inside."""
    fence = "`" * max(3, _longest_run(text) + 1)
    return f"{fence}text\n{text}\n{fence}"


def _longest_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


__all__ = ["code_block", "code_span", "escape", "render_markdown"]
