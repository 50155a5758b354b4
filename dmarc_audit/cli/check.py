"""``dmarc-audit check DOMAIN...``: the posture audit of many domains."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from dmarc_audit.cli.common import (
    DmarcModeChoice,
    FormatOpt,
    NameserverOpt,
    OfflineOpt,
    OutputFormat,
    ProfileChoice,
    TimeoutOpt,
    ZoneOpt,
    dns_options,
    read_domain_lines,
    run_async,
    stderr_console,
)
from dmarc_audit.findings import FailOn


def check_command(
    domains: Annotated[
        list[str] | None,
        typer.Argument(metavar="DOMAIN...", help="Domains to audit; '-' reads them from stdin."),
    ] = None,
    domains_file: Annotated[
        str | None,
        typer.Option("--domains-file", "-F", metavar="FILE",
                     help="Read domains from FILE, one per line ('-' for stdin)."),
    ] = None,
    output_format: FormatOpt = OutputFormat.TEXT,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at least this severe.")
    ] = FailOn.ERROR,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 3 when something could not be checked.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=1000,
                          help="Domains audited at the same time.")
    ] = 32,
    selector: Annotated[
        list[str] | None,
        typer.Option("--selector", "-s", metavar="NAME",
                     help="DKIM selector to check (repeatable). Default: probe common ones."),
    ] = None,
    dmarc_mode: Annotated[
        DmarcModeChoice,
        typer.Option("--dmarc-mode", help="rfc9989: DNS tree walk (default); "
                                          "rfc7489: Public Suffix List."),
    ] = DmarcModeChoice.RFC9989,
    profile: Annotated[
        ProfileChoice,
        typer.Option("--profile", help="bulk-sender: Gmail/Yahoo/Microsoft bulk-sender "
                                       "requirements raise severities."),
    ] = ProfileChoice.DEFAULT,
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 2.0,
) -> None:
    """Audit the mail-authentication posture of each DOMAIN."""
    from dmarc_audit.audit import AuditOptions, Profile, audit_domains, exit_status_for
    from dmarc_audit.dns.setup import build_resolver
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.errors import InputError

    raw: list[str] = []
    for item in domains or []:
        raw.extend(read_domain_lines("-") if item == "-" else [item])
    if domains_file:
        raw.extend(read_domain_lines(domains_file))
    if not raw:
        raise InputError("no domains given (pass DOMAIN..., --domains-file FILE, or '-' for stdin)")

    parsed = []
    input_errors: list[str] = []
    for text in raw:
        try:
            parsed.append(parse_domain(text))
        except InputError as exc:
            input_errors.append(str(exc))
            sys.stderr.write(f"dmarc-audit: error: {exc}; skipped\n")

    from dmarc_audit.dkim.probe import normalize_selectors

    selectors = normalize_selectors(selector or ())
    resolver = build_resolver(dns_options(nameserver, zone, offline, timeout))
    options = AuditOptions(profile=Profile(profile.value), selectors=selectors,
                           dmarc_mode=dmarc_mode.value)

    async def run():
        progress = _progress(len(parsed))
        try:
            return await audit_domains(
                resolver, parsed, options, concurrency=concurrency,
                on_done=(lambda _r: progress.advance()) if progress else None,
            )
        finally:
            if progress:
                progress.stop()

    reports = run_async(run()) if parsed else []
    status = exit_status_for(reports, fail_on, strict, bool(input_errors))
    if output_format is OutputFormat.JSON:
        from dmarc_audit.output.json_output import render_check_json

        render_check_json(reports, resolver, input_errors)
    else:
        from dmarc_audit.output.text import render_check_text

        render_check_text(reports)
    from dmarc_audit.output.text import render_summary

    render_summary(reports, resolver.queries, status, fail_on, input_errors)
    raise typer.Exit(int(status))


class _Progress:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(),
                                  console=stderr_console(), transient=True)
        self._task = self._progress.add_task("audit", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


def _progress(total: int) -> _Progress | None:
    """A progress bar on stderr, only when stderr is a terminal and the job is long."""
    if total < 2 or not sys.stderr.isatty():
        return None
    return _Progress(total)
