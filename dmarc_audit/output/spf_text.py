"""Text output of the ``spf`` command: the include tree, or a check_host() verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from dmarc_audit.output.console import stdout_console
from dmarc_audit.output.text import render_finding

if TYPE_CHECKING:
    from dmarc_audit.findings import Finding
    from dmarc_audit.spf.evaluate import SpfResult
    from dmarc_audit.spf.facts import SpfAnalysis, SpfNode

RESULT_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "softfail": "yellow",
    "neutral": "yellow",
    "none": "magenta",
    "permerror": "bold red",
    "temperror": "magenta",
}


def render_spf_analysis(analysis: SpfAnalysis, findings: Sequence[Finding]) -> None:
    console = stdout_console()
    console.print(
        f"[bold]{escape(analysis.domain)}[/]  SPF {analysis.status.value}  "
        f"{analysis.lookups}/10 DNS lookups · {analysis.void_lookups}/2 void lookups"
    )
    if analysis.record is not None:
        console.print(f"  record: {escape(analysis.record)}")
    if analysis.tree is not None:
        from rich.tree import Tree

        tree = Tree(_node_label(analysis.tree))
        _add_children(tree, analysis.tree)
        console.print(tree)
    if not findings:
        console.print("  [green]no problems found[/]")
    for finding in findings:
        render_finding(console, finding)


def _node_label(node: SpfNode) -> str:
    term = f"{escape(node.term)} → " if node.term else ""
    cost = f"[bold]{node.lookups}[/] lookup" + ("" if node.lookups == 1 else "s")
    extra = "" if node.outcome in ("", "records") else f" [magenta]({escape(node.outcome)})[/]"
    return f"{term}{escape(node.domain)}  [dim]{cost}[/]{extra}"


def _add_children(tree, node: SpfNode) -> None:
    for child in node.children:
        branch = tree.add(_node_label(child))
        _add_children(branch, child)


def render_spf_result(
    result: SpfResult, ip: str, helo: str | None, findings: Sequence[Finding] = ()
) -> None:
    console = stdout_console()
    value = result.result.value
    style = RESULT_STYLE.get(value, "bold")
    console.print(f"[{style}]{value}[/]  {escape(result.reason)}")
    console.print(
        f"  identity: {escape(result.sender)} (checked domain {escape(result.domain)}),"
        f" client {escape(ip)}" + (f", HELO {escape(helo)}" if helo else "")
    )
    if result.matched_term:
        where = f" in {escape(result.matched_domain)}" if result.matched_domain else ""
        console.print(f"  matched: {escape(result.matched_term)}{where}")
    if result.explanation:
        console.print(f"  explanation: {escape(result.explanation)}")
    console.print(f"  lookups: {result.lookups}/10 · void lookups: {result.void_lookups}/2")
    if result.steps:
        console.print("  steps:")
        for step in result.steps:
            console.print(f"    [dim]{escape(step)}[/]")
    for finding in findings:
        render_finding(console, finding)
    received = f"Received-SPF: {value} client-ip={ip}; envelope-from={result.sender}"
    if helo:
        received += f"; helo={helo}"
    console.print(escape(received))
