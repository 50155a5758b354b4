"""Text renderer for people: the verdict first, then findings by severity with fixes.

:func:`render_gated_text` is ``RENDERERS[TEXT]`` of ``check``; the glances and
:func:`render_finding` are shared with the other text renderers. The one-line
summary and the gate notes go to stderr.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from dmarc_audit.findings import FailOn, Finding, Severity, Status
from dmarc_audit.output.console import buffer_console, stderr_console

if TYPE_CHECKING:
    from rich.console import Console

    from dmarc_audit.exit_status import ExitStatus
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
GOOD, BAD, WARN, UNKNOWN = "[green]✓[/]", "[red]✗[/]", "[yellow]~[/]", "[magenta]?[/]"


def spf_glance(report: DomainReport) -> str:
    """``SPF ✓ 4/10 lookups`` and friends."""
    spf = report.spf
    if spf is None:
        return ""
    status = spf.status.value
    ids = {f.id for f in report.findings if f.id.startswith("spf.")}
    if status == "temperror":
        return f"SPF {UNKNOWN} could not check"
    if status == "none":
        return f"SPF {BAD} none"
    if status == "permerror":
        return f"SPF {BAD} permerror {spf.lookups}/10 lookups"
    errors = any(f.severity is Severity.ERROR for f in report.findings if f.id in ids)
    mark = BAD if errors else (WARN if ids else GOOD)
    return f"SPF {mark} {spf.lookups}/10 lookups"


def dmarc_glance(report: DomainReport) -> str:
    """``DMARC ✓ p=reject``, ``DMARC ~ p=none``, ``DMARC ✗ none``."""
    dmarc = report.dmarc
    if dmarc is None:
        return ""
    if dmarc.status == "unknown":
        return f"DMARC {UNKNOWN} could not check"
    if dmarc.status != "found" or dmarc.applied_policy is None:
        return f"DMARC {BAD} none"
    policy = dmarc.applied_policy.value
    errors = any(
        f.id.startswith("dmarc.") and f.severity is Severity.ERROR for f in report.findings
    )
    mark = BAD if errors else (WARN if policy == "none" else GOOD)
    inherited = f" (from {dmarc.record_name})" if dmarc.found_at != "domain" else ""
    return f"DMARC {mark} p={policy}{escape(inherited)}"


def dkim_glance(report: DomainReport) -> str:
    """``DKIM ✓ s1 (2048)`` for the keys found."""
    dkim = report.dkim
    if dkim is None:
        return ""
    found = dkim.found
    if not found:
        if dkim.incomplete:
            return f"DKIM {UNKNOWN} could not check"
        return f"DKIM {BAD if dkim.explicit else WARN} no key found"
    errors = any(f.id.startswith("dkim.") and f.severity is Severity.ERROR for f in report.findings)
    keys = ", ".join(
        f"{r.selector} ({r.key.key_bits if r.key and r.key.key_bits else '?'}"
        f"{'' if not r.key or r.key.key_type in (None, 'rsa') else ' ' + str(r.key.key_type)})"
        for r in found
    )
    return f"DKIM {BAD if errors else GOOD} {escape(keys)}"


def mx_glance(report: DomainReport) -> str:
    """``MX ✓``, ``MX null`` (takes no mail), ``MX ✗``."""
    mx = report.mx
    if mx is None:
        return ""
    status = str(getattr(mx.status, "value", mx.status))
    if status == "unknown":
        return f"MX {UNKNOWN}"
    if status == "null":
        return "MX null (no mail)"
    errors = any(
        f.id.startswith("mx.")
        for f in report.findings
        if f.severity in (Severity.ERROR, Severity.WARNING)
    )
    return f"MX {BAD if errors else GOOD}"


def render_finding(console: Console, finding: Finding, indent: str = "  ") -> None:
    style = SEVERITY_STYLE[finding.severity]
    label = finding.severity.value
    if finding.status is Status.UNKNOWN:
        label += "?"
    pad = indent + " " * 9
    head = f"{indent}[{style}]{label:<8}[/] [bold]{finding.id}[/]"
    console.print(f"{head}  {escape(finding.message)}")
    if finding.record:
        console.print(f"{pad}record: {escape(_quote(finding.record))}")
    for line in finding.evidence[:12]:
        console.print(f"{pad}[dim]{escape(line)}[/]")
    if len(finding.evidence) > 12:
        console.print(f"{pad}[dim]… {len(finding.evidence) - 12} more (see --format json)[/]")
    if finding.remediation:
        console.print(f"{pad}fix: {escape(finding.remediation)}")
    if finding.suggested_record:
        lines = finding.suggested_record.splitlines()
        console.print(f"{pad}publish: [green]{escape(lines[0])}[/]")
        for line in lines[1:]:
            console.print(f"{pad}         [green]{escape(line)}[/]")


def _quote(record: str) -> str:
    return '"' + record.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_header(console: Console, report: DomainReport) -> None:
    """The verdict line: SPF / DKIM / DMARC / MX at a glance (an inherited DMARC policy is
    explained by its ``dmarc.inherited`` finding)."""
    parts = (spf_glance(report), dkim_glance(report), dmarc_glance(report), mx_glance(report))
    glance = "   ".join(part for part in parts if part)
    console.print(f"[bold]{escape(report.domain.display)}[/]   {glance}")


def render_gated_text(gated: Sequence[GatedReport], context: RenderContext) -> str:
    """The ``check`` text report; baselined findings are listed after the others, one
    line each. Coloured when ``context.color_system`` is set."""
    buffer = io.StringIO()
    console = buffer_console(buffer, color_system=context.color_system, width=context.width)
    for index, g in enumerate(gated):
        if index:
            console.print()
        render_gated_domain(console, g)
    return buffer.getvalue()


def render_gated_domain(console: Console, gated: GatedReport) -> None:
    """One domain: the verdict line, the findings that count, then the baselined ones."""
    report = gated.report
    render_header(console, report)
    active = gated.active
    known = [f for f in report.findings if gated.is_baselined(f)]
    if not active:
        console.print("  [green]no new problems[/]" if known else "  [green]no problems found[/]")
    for finding in active:
        render_finding(console, finding)
    for finding in known:
        console.print(
            f"  [dim]baselined {finding.severity.value:<8} {finding.id}  "
            f"{escape(finding.message)}[/]"
        )


def render_gate_notes(gated: Sequence[GatedReport]) -> None:
    """Baselined and ignored counts on stderr (ignores with their reasons)."""
    known = sum(len(g.baselined) for g in gated)
    reasons: dict[tuple[str, str], int] = {}
    for g in gated:
        for s in g.suppressed:
            key = (s.finding.id, s.reason)
            reasons[key] = reasons.get(key, 0) + 1
    if not known and not reasons:
        return
    console = stderr_console()
    if known:
        console.print(f"{known} baselined finding{'s' if known != 1 else ''} not counted")
    for (check_id, reason), count in reasons.items():
        why = f": {reason}" if reason and reason != "--ignore" else f" ({reason or 'ignore'})"
        console.print(escape(f"ignored {count}× {check_id}{why}"))


def render_summary(
    reports: Sequence[DomainReport],
    queries: int,
    status: ExitStatus,
    fail_on: FailOn,
    input_errors: Sequence[str],
) -> None:
    """One summary line on stderr."""
    counts = {s: sum(r.count(s) for r in reports) for s in Severity}
    unknown = sum(1 for r in reports for f in r.findings if f.status is Status.UNKNOWN)
    parts = [f"{len(reports)} domain" + ("" if len(reports) == 1 else "s")]
    parts.append(
        ", ".join(
            f"{counts[s]} {s.value}" + ("s" if counts[s] != 1 and s is not Severity.INFO else "")
            for s in Severity
        )
    )
    if unknown:
        parts.append(f"{unknown} could not be checked")
    if input_errors:
        parts.append(f"{len(input_errors)} skipped (bad input)")
    parts.append(f"{queries} DNS queries")
    parts.append(f"exit {int(status)} (--fail-on {fail_on.value})")
    stderr_console().print(escape(" · ".join(parts)))
