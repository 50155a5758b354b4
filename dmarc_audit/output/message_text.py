"""Text output of ``dmarc-audit message``: the verdict first, then each mechanism, then fixes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from dmarc_audit.findings import Severity
from dmarc_audit.output.console import stderr_console, stdout_console
from dmarc_audit.output.text import print_parts, render_finding
from dmarc_audit.output.wrap import print_line
from dmarc_audit.words import plural

if TYPE_CHECKING:
    from rich.console import Console

    from dmarc_audit.message.dkim_verify import DkimVerification
    from dmarc_audit.message.report import MessageReport

RESULT_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "softfail": "yellow",
    "neutral": "yellow",
    "none": "magenta",
    "policy": "bold red",
    "permerror": "bold red",
    "temperror": "magenta",
    "unknown": "magenta",
}
GOOD, BAD, UNKNOWN = "[green]✓[/]", "[red]✗[/]", "[magenta]?[/]"


def _result(value: str | None) -> str:
    text = value or "n/a"
    return f"[{RESULT_STYLE.get(text, 'bold')}]{escape(text)}[/]"


def _mark(value: bool | None) -> str:
    return GOOD if value else UNKNOWN if value is None else BAD


def render_message_text(report: MessageReport) -> None:
    """Print the whole report on stdout."""
    console = stdout_console()
    _verdict(console, report)
    _message(console, report)
    _dkim(console, report)
    _spf(console, report)
    _dmarc(console, report)
    _arc(console, report)
    _bulk(console, report)
    _compare(console, report)
    _findings(console, report)
    print_line(console)
    print_line(console, escape(report.authentication_results()))


def _verdict(console: Console, report: MessageReport) -> None:
    dmarc = report.dmarc
    head, _, rest = report.headline.partition(": ")
    print_line(
        console, f"[bold]{escape(head.split()[0])}[/] {_result(dmarc.result.value)}: {escape(rest)}"
    )
    print_line(
        console,
        f"  disposition: [bold]{escape(dmarc.disposition)}[/] — {escape(dmarc.disposition_reason)}",
    )
    if dmarc.override is not None and dmarc.override.possible:
        print_line(console, f"  [cyan]ARC[/]: {escape(dmarc.override.reason)}")


def _message(console: Console, report: MessageReport) -> None:
    print_line(console)
    print_line(console, f"[bold]Message[/]  {escape(report.source)}")
    info = report.from_info
    author = f"Author Domain {info.domain}" if info.domain else f"no usable From ({info.reason})"
    shown = ", ".join(a.address for a in info.authors) or "(none)"
    print_line(console, f"  From        {escape(shown)}  → {escape(author)}")
    subject = report.message.first("subject")
    if subject is not None:
        print_line(console, f"  Subject     {escape(subject.text)}")
    conn = report.connection
    for label, fact in (("client IP", conn.ip), ("HELO", conn.helo), ("MAIL FROM", conn.mail_from)):
        if fact is None:
            print_line(console, f"  {label:<11} [magenta]unknown[/]")
        else:
            value = fact.value if fact.value or label != "MAIL FROM" else "<> (null)"
            print_line(
                console, f"  {label:<11} {escape(value)}  [dim]from {escape(fact.source)}[/]"
            )
    for note in (*report.message.notes, *conn.notes):
        print_line(console, f"  [yellow]note[/]: {escape(note)}")


def _dkim(console: Console, report: MessageReport) -> None:
    print_line(console)
    count = len(report.dkim)
    print_line(console, f"[bold]DKIM[/]  {plural(count, 'signature')}")
    if not count:
        print_line(console, "  the message is not DKIM-signed")
    for v in report.dkim:
        _signature(console, v)


def _signature(console: Console, v: DkimVerification) -> None:
    sig = v.signature
    mark = GOOD if v.passed else BAD
    head = (
        f"d={sig.domain or '?'} s={sig.selector or '?'} a={sig.algorithm or '?'} "
        f"c={sig.canonicalization}"
    )
    print_line(
        console,
        f"  {mark} {_result(v.result.value)} {escape(head)}  [dim]({escape(v.reason.value)})[/]",
    )
    print_line(console, f"      {escape(v.detail)}")
    key = v.key
    if v.lookup is not None:
        what = (
            f"{key.key_type or 'unusable'} {key.key_bits or '?'} bits"
            if key is not None
            else v.lookup.status.value
        )
        print_line(console, f"      [dim]key: {escape(v.lookup.name)} ({escape(what)})[/]")
    if sig.body_length is not None:
        print_line(
            console, f"      [yellow]l={sig.body_length}[/]: only part of the body is signed"
        )


def _spf(console: Console, report: MessageReport) -> None:
    print_line(console)
    spf = report.spf
    result = spf.result
    if result is None:
        print_line(
            console, f"[bold]SPF[/]   [magenta]not evaluated[/]: {escape(spf.skipped or '')}"
        )
    else:
        ip = report.connection.ip.value if report.connection.ip else "?"
        print_line(
            console,
            f"[bold]SPF[/]   {_result(spf.code)} for {escape(result.domain)} "
            f"({escape(spf.identity)} {escape(result.sender)}, client {escape(ip)})",
        )
        print_line(
            console, f"      {escape(result.reason)} [dim]· {result.lookups}/10 DNS lookups[/]"
        )
    if spf.note:
        print_line(console, f"      [yellow]note[/]: {escape(spf.note)}")


def _dmarc(console: Console, report: MessageReport) -> None:
    print_line(console)
    dmarc = report.dmarc
    discovery = dmarc.discovery
    if dmarc.from_domain is None:
        print_line(console, "[bold]DMARC[/] no Author Domain: the policy cannot be looked up")
        return
    print_line(
        console,
        f"[bold]DMARC[/] policy for {escape(dmarc.from_domain)} ({escape(report.mode.label)})",
    )
    if discovery is not None:
        if discovery.record is not None:
            print_line(
                console,
                f"      {escape(discovery.record_name or '')}  "
                f'[green]"{escape(discovery.record.text)}"[/]',
            )
        print_line(console, f"      {escape(discovery.explanation)}")
        if discovery.org_domain:
            print_line(
                console,
                f"      [dim]Organizational Domain of {escape(dmarc.from_domain)}: "
                f"{escape(discovery.org_domain)}[/]",
            )
    adkim = "s" if dmarc.adkim.value == "s" else "r"
    aspf = "s" if dmarc.aspf.value == "s" else "r"
    print_line(console, f"  alignment (adkim={adkim}, aspf={aspf}):")
    checked = {c.domain for c in dmarc.dkim}
    for check in dmarc.dkim:
        print_line(console, f"    {_mark(check.aligned)} DKIM {escape(check.reason)}")
    for v in report.dkim:
        if (v.domain or "") not in checked:
            print_line(
                console,
                f"    {BAD} DKIM d={escape(v.domain or '?')}: not a pass "
                f"({escape(v.result.value)}), so not counted",
            )
    if dmarc.spf is not None:
        passed = report.spf.passed
        aligned = dmarc.spf.aligned if passed else False
        what = (
            escape(dmarc.spf.reason)
            if passed
            else (
                f"SPF {escape(report.spf.code or 'not evaluated')} for {escape(dmarc.spf.domain)}"
                f" ({escape(dmarc.spf.reason)})"
            )
        )
        print_line(console, f"    {_mark(aligned)} SPF {what}")
    elif report.spf.result is not None:
        print_line(
            console,
            f"    {BAD} SPF {escape(report.spf.code or '')} for "
            f"{escape(report.spf.domain or '?')}: not a pass, so not counted",
        )


def _arc(console: Console, report: MessageReport) -> None:
    arc = report.arc
    if not arc.hops:
        return
    print_line(console)
    print_line(console, f"[bold]ARC[/]   {_result(arc.status.value)}  {escape(arc.reason)}")
    for hop in arc.hops:
        results = "; ".join(
            f"{r.method}={r.result}"
            + (f" header.d={r.prop('header.d')}" if r.prop("header.d") else "")
            for r in (hop.results.results if hop.results else ())
        )
        authserv = hop.results.authserv_id if hop.results else "?"
        print_line(
            console,
            f"  i={hop.instance} {escape(hop.seal_domain or '?')} (cv={hop.cv}) "
            f"seal {_mark(hop.seal_valid)} signature {_mark(hop.signature_valid)}"
            f" — {escape(authserv)}: {escape(results)}",
        )
        if hop.reason:
            print_line(console, f"      {escape(hop.reason)}")
    override = report.dmarc.override
    if override is not None:
        label = "[green]override possible[/]" if override.possible else "no override"
        print_line(console, f"  {label}: {escape(override.reason)}")


def _bulk(console: Console, report: MessageReport) -> None:
    bulk = report.bulk
    if not bulk.is_bulk:
        return
    print_line(console)
    state = (
        "[green]one-click unsubscribe OK[/]"
        if bulk.ok
        else "[red]one-click unsubscribe incomplete[/]"
        if bulk.problems
        else "[yellow]one-click unsubscribe could not be checked[/]"
    )
    print_line(console, f"[bold]Bulk[/]  {escape(', '.join(bulk.markers))}: {state}")
    if bulk.list_unsubscribe:
        print_line(console, f"      List-Unsubscribe: {escape(bulk.list_unsubscribe)}")
    if bulk.post:
        print_line(console, f"      List-Unsubscribe-Post: {escape(bulk.post)}")


def _compare(console: Console, report: MessageReport) -> None:
    if report.comparisons is None:
        return
    print_line(console)
    print_line(console, "[bold]Compared with the message's Authentication-Results[/]")
    if not report.comparisons:
        print_line(
            console, "  the message has no Authentication-Results with dkim, spf, dmarc or arc"
        )
    for c in report.comparisons:
        mark = GOOD if c.agree else (BAD if c.pass_differs else "[yellow]≠[/]")
        hop = "" if c.receiver else " [dim](earlier hop)[/]"
        note = f" [dim]{escape(c.note)}[/]" if c.note else ""
        print_line(
            console,
            f"  {mark} {escape(c.authserv_id)} (line {c.line}){hop}  {c.method}: "
            f"theirs {_result(c.theirs)}, ours {_result(c.ours)}  "
            f"{escape(c.subject)}{note}",
        )


def _findings(console: Console, report: MessageReport) -> None:
    print_line(console)
    if not report.findings:
        print_line(console, "[bold]Findings[/]  [green]nothing to fix[/]")
        return
    print_line(console, "[bold]Findings[/]")
    for item in report.findings:
        render_finding(console, item)


def render_message_summary(report: MessageReport, queries: int) -> None:
    """One line on stderr: verdict, finding counts, DNS queries, exit status."""
    counts = {s: sum(1 for f in report.findings if f.severity is s) for s in Severity}
    parts = [f"DMARC {report.dmarc.result.value}"]
    parts.append(", ".join(plural(counts[s], s.value) for s in Severity))
    parts.append(plural(queries, "DNS query"))
    parts.append(f"exit {int(report.exit_status)}")
    print_parts(stderr_console(), parts)
