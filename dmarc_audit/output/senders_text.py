"""The sender table of ``reports summary`` as text: who sends, their state, what to do."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dmarc_audit.reports.summary import percent
from dmarc_audit.senders.table import SenderRow, SenderState

STATE_STYLE = {
    SenderState.ALIGNED: "green",
    SenderState.NOT_ALIGNED: "yellow",
    SenderState.NOT_AUTHORISED: "red",
    SenderState.FORWARDING: "cyan",
    SenderState.SPOOFING: "magenta",
    SenderState.UNKNOWN: "dim",
}


def trend_text(row: SenderRow) -> str:
    """``+1.2`` / ``−3.4`` points of DMARC pass against the previous period, or ``new``."""
    if row.previous is not None and not row.previous.messages:
        return "new"
    trend = row.trend
    if trend is None:
        return ""
    if abs(trend) < 0.05:
        return "±0.0"
    return f"+{trend:.1f}" if trend > 0 else f"\u2212{-trend:.1f}"


def render_senders(console: Console, rows: Sequence[SenderRow], limit: int = 20) -> None:
    """The table, then one fix line per sender that has one."""
    if not rows:
        return
    title = "Senders" if len(rows) <= limit else f"Senders (top {limit} of {len(rows):,})"
    table = Table(title=title, title_justify="left", show_edge=False)
    for name, right in (
        ("sender", False),
        ("state", False),
        ("messages", True),
        ("share", True),
        ("SPF al.", True),
        ("DKIM al.", True),
        ("DMARC", True),
        ("trend", True),
    ):
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for row in rows[:limit]:
        f = row.figures
        ips = f" ({len(row.ips)} IPs)" if len(row.ips) > 1 else f" ({row.ips[0]})"
        table.add_row(
            escape(row.name) + f"[dim]{escape(ips)}[/]" + (" [bold]new[/]" if row.new else ""),
            f"[{STATE_STYLE[row.state]}]{escape(row.state.label)}[/]",
            f"{f.messages:,}",
            percent(row.share),
            percent(f.rate(f.spf_aligned)),
            percent(f.rate(f.dkim_aligned)),
            percent(f.pass_rate),
            trend_text(row),
        )
    console.print(table)
    fixes = [r for r in rows if r.fix and r.state.to_fix]
    fixes += [r for r in rows if r.fix and not r.state.to_fix and r.state is SenderState.ALIGNED]
    if fixes:
        console.print("\n[bold]What to do[/]")
        for row in fixes[:limit]:
            console.print(f"  → {escape(row.fix or '')}")
    others = sorted({r.state for r in rows if r.fix and r.state not in (*_fix_states(),)})
    for state in others:
        sample = next(r for r in rows if r.state is state and r.fix)
        console.print(f"  [dim]{escape(state.label)}: {escape(sample.fix or '')}[/]")


def _fix_states() -> tuple[SenderState, ...]:
    return (SenderState.NOT_ALIGNED, SenderState.NOT_AUTHORISED, SenderState.ALIGNED)
