"""``dmarc-audit check DOMAIN...``: the posture audit of many domains, and the CI gate."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from dmarc_audit.cli.common import (
    CaFileOpt,
    CheckFormatOpt,
    DmarcModeOpt,
    HttpsPortOpt,
    NameserverOpt,
    NoFetchOpt,
    OfflineOpt,
    ProfileChoice,
    QuietOpt,
    VerboseOpt,
    ZoneOpt,
    read_domain_lines,
    verbosity,
)
from dmarc_audit.findings import FailOn
from dmarc_audit.gate import gate_settings, parse_domains, regate, run_gate
from dmarc_audit.output.console import stderr_console
from dmarc_audit.output.formats import RenderFormat

if TYPE_CHECKING:
    from dmarc_audit.output.context import TextView

ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Policy file (YAML). Default: ./dmarc-audit.yaml when present.",
    ),
]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding is at least this severe "
        "(default: the policy file's fail_on, else error).",
    ),
]
StrictOpt = Annotated[
    bool | None,
    typer.Option("--strict/--no-strict", help="Exit 3 when something could not be checked."),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        metavar="ID|PREFIX",
        help="Report only these check ids or prefixes, e.g. 'spf.' (repeatable; "
        "replaces the policy file's select).",
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        metavar="ID|PREFIX",
        help="Drop these check ids or prefixes, e.g. 'dmarc.' (repeatable; added "
        "to the policy file's ignore).",
    ),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        metavar="FILE",
        help="Known findings (from --write-baseline): shown as baselined, not "
        "counted for the exit status.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.001,
        help="Time to wait for each DNS server answer (default 2).",
    ),
]
DnssecOpt = Annotated[
    bool,
    typer.Option(
        "--dnssec/--no-dnssec",
        help="Validate DNSSEC for the domain, the records used and each MX zone (default on).",
    ),
]
TrustAnchorOpt = Annotated[
    str | None,
    typer.Option(
        "--trust-anchor",
        metavar="FILE",
        help="DS or DNSKEY records (zone-file syntax) to trust instead of the IANA root anchor.",
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-j",
        min=1,
        max=1000,
        help="Domains audited at the same time (default 32).",
    ),
]


def check_command(
    domains: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="DOMAIN...",
            help="Domains to audit; '-' reads them from stdin. Default: the policy file's domains.",
        ),
    ] = None,
    domains_file: Annotated[
        str | None,
        typer.Option(
            "--domains-file",
            "-F",
            metavar="FILE",
            help="Read domains from FILE, one per line ('-' for stdin).",
        ),
    ] = None,
    output_format: CheckFormatOpt = RenderFormat.TEXT,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    concise: Annotated[
        bool,
        typer.Option(
            "--concise",
            help="Text: one line per domain (its verdicts, counts and check ids), for "
            "many domains.",
        ),
    ] = False,
    statistics: Annotated[
        bool,
        typer.Option(
            "--statistics",
            help="Text: count the findings per check id over all domains, most "
            "frequent first, instead of listing them.",
        ),
    ] = False,
    fail_on: FailOnOpt = None,
    strict: StrictOpt = None,
    concurrency: ConcurrencyOpt = None,
    selector: Annotated[
        list[str] | None,
        typer.Option(
            "--selector",
            "-s",
            metavar="NAME",
            help="DKIM selector to check (repeatable). Default: the policy file's "
            "dkim_selectors, else probe common ones.",
        ),
    ] = None,
    dmarc_mode: DmarcModeOpt = None,
    profile: Annotated[
        ProfileChoice | None,
        typer.Option(
            "--profile",
            help="bulk-sender: Gmail/Yahoo/Microsoft bulk-sender requirements raise severities.",
        ),
    ] = None,
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    no_fetch: NoFetchOpt = False,
    ca_file: CaFileOpt = None,
    https_port: HttpsPortOpt = None,
    timeout: TimeoutOpt = None,
    dnssec: DnssecOpt = True,
    trust_anchor: TrustAnchorOpt = None,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    baseline: BaselineOpt = None,
    write_baseline: Annotated[
        str | None,
        typer.Option(
            "--write-baseline",
            metavar="FILE",
            help="Write this run's findings to FILE as the accepted baseline.",
        ),
    ] = None,
) -> None:
    """Audit the mail-authentication posture of each DOMAIN."""
    from dmarc_audit.errors import InputError

    level = verbosity(verbose, quiet)
    view = _text_view(output_format, concise=concise, statistics=statistics)
    settings = gate_settings(
        config,
        nameserver=nameserver,
        zone=zone,
        offline=offline,
        timeout=timeout,
        concurrency=concurrency,
        fail_on=fail_on,
        strict=strict,
        profile=profile.value if profile is not None else None,
        dmarc_mode=dmarc_mode.value if dmarc_mode is not None else None,
        select=select,
        ignore=ignore,
        baseline=baseline,
        fetch=not no_fetch,
        ca_file=ca_file,
        https_port=https_port,
    )
    raw: list[str] = []
    for item in domains or []:
        raw.extend(read_domain_lines("-") if item == "-" else [item])
    if domains_file:
        raw.extend(read_domain_lines(domains_file))
    if not raw:
        raw = [p.domain.ascii for p in settings.domains]
    if not raw:
        raise InputError(
            "no domains given (pass DOMAIN..., --domains-file FILE, '-' for "
            "stdin, or list them under 'domains:' in dmarc-audit.yaml)"
        )
    parsed, input_errors = parse_domains(raw)
    # with --write-baseline the old baseline is replaced, so it need not exist yet
    import gc

    gc.freeze()  # the imported modules never die: keep the collector from rescanning them
    bar = _progress(len(parsed))
    try:
        run = run_gate(
            settings,
            parsed,
            selector or (),
            use_baseline=not write_baseline,
            on_done=(lambda _r: bar.advance()) if bar else None,
            dnssec=dnssec,
            trust_anchor=trust_anchor,
        )
    finally:
        if bar:
            bar.stop()
    gated = run.gated
    if write_baseline:
        from dmarc_audit.filters import write_baseline as write

        written = write(write_baseline, gated)
        gated = regate(settings, run.reports, written)
        sys.stderr.write(
            f"dmarc-audit: wrote {len(written.keys)} findings to baseline {write_baseline}\n"
        )
    from dmarc_audit import __version__
    from dmarc_audit.filters import gate_exit_status
    from dmarc_audit.output.console import write_stdout
    from dmarc_audit.output.render import RENDERERS, stdout_context
    from dmarc_audit.output.text import render_gate_notes, render_summary

    status = gate_exit_status(gated, settings.fail_on, settings.strict, bool(input_errors))
    context = stdout_context(
        output_format,
        tool_version=__version__,
        fail_on=settings.fail_on.value,
        input_errors=input_errors,
        resolver=run.resolver,
        zones=settings.zones,
        verbosity=level,
        text_view=view,
    )
    write_stdout(RENDERERS[output_format](gated, context))
    if level >= 0:
        render_summary(
            [g.counting() for g in gated],
            run.resolver.queries,
            status,
            settings.fail_on,
            input_errors,
        )
        render_gate_notes(gated)
    raise typer.Exit(int(status))


def _text_view(output_format: RenderFormat, *, concise: bool, statistics: bool) -> TextView:
    """The text view the flags ask for; they need ``--format text`` and exclude each other."""
    from dmarc_audit.errors import InputError
    from dmarc_audit.output.context import TextView

    if concise and statistics:
        raise InputError("--concise and --statistics cannot be used together")
    if (concise or statistics) and output_format is not RenderFormat.TEXT:
        flag = "--concise" if concise else "--statistics"
        raise InputError(
            f"{flag} shapes the text output; it cannot be used with --format {output_format.value}"
        )
    if concise:
        return TextView.CONCISE
    return TextView.STATISTICS if statistics else TextView.FULL


class _Progress:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("auditing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=stderr_console(),
            transient=True,
        )
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
