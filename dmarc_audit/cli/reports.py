"""``dmarc-audit reports ingest|summary|list|show``: store reports and read what they say."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dmarc_audit.cli.check import ConfigOpt
from dmarc_audit.cli.common import FormatOpt, NameserverOpt, OfflineOpt, TimeoutOpt, ZoneOpt
from dmarc_audit.errors import InputError
from dmarc_audit.output.console import print_json, stderr_console, stdout_console
from dmarc_audit.output.formats import OutputFormat

if TYPE_CHECKING:
    from dmarc_audit.reports.ingest import FileOutcome, ReportOutcome
    from dmarc_audit.reports.store import Store
    from dmarc_audit.reports.summary import Summary

reports_app = typer.Typer(
    name="reports",
    help="Store DMARC aggregate, failure and SMTP TLS reports, and read what they say.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class SummaryFormat(str, Enum):
    """Summary renderers. Every member must have one (tests check)."""

    TEXT = "text"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class ReportKindOpt(str, Enum):
    AGGREGATE = "aggregate"
    FAILURE = "failure"
    TLS = "tls"


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH|URL",
        help="The report store: a SQLite file, or postgresql://USER@HOST[:PORT]/DBNAME "
        "(password from PGPASSWORD, PGPASSFILE or DMARC_AUDIT_DB_PASSWORD_FILE, never "
        "the URL). Default: $DMARC_AUDIT_DB, else "
        "$XDG_DATA_HOME/dmarc-audit/reports.sqlite3 "
        "(~/.local/share/dmarc-audit/reports.sqlite3).",
    ),
]
DomainOpt = Annotated[
    str | None,
    typer.Option("--domain", "-d", metavar="DOMAIN", help="Only reports about this policy domain."),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="7d|DATE",
        help="Reports that begin at or after this (7d, 24h, 2w, 2024-05-01, or an ISO time; UTC).",
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="DATE",
        help="Reports that begin before this (a bare date includes that day).",
    ),
]


ENV_DB = "DMARC_AUDIT_DB"
ENV_DB_PASSWORD_FILE = "DMARC_AUDIT_DB_PASSWORD_FILE"


def open_store(db: str | Path | None, create: bool) -> Store:
    """The store at ``--db``, ``$DMARC_AUDIT_DB`` or the default path.

    Problems become one-line input errors, with any credential redacted.
    """
    import os

    from dmarc_audit.reports.store import Store, StoreError, default_db_path, is_postgres_url

    option = "--db"
    if db is None and os.environ.get(ENV_DB, "").strip():
        db, option = os.environ[ENV_DB].strip(), ENV_DB
    if db is not None and is_postgres_url(str(db)):
        return _open_postgres(str(db), option, create)
    path = Path(db) if db is not None else default_db_path()
    if path.exists() and path.is_dir():
        raise InputError(f"{option} {path}: is a directory, expected a database file")
    try:
        return Store(path, create=create)
    except StoreError as exc:
        raise InputError(str(exc)) from None


def _open_postgres(url: str, option: str, create: bool) -> Store:
    import os

    from dmarc_audit.redact import redact_urls
    from dmarc_audit.reports.store import Store, StoreError

    password = None
    if os.environ.get(ENV_DB_PASSWORD_FILE):
        from dmarc_audit.digest.send import read_password_file

        password = read_password_file(os.environ[ENV_DB_PASSWORD_FILE], ENV_DB_PASSWORD_FILE)
    try:
        return Store(url, create=create, password=password)
    except StoreError as exc:
        raise InputError(f"{option}: {redact_urls(str(exc))}") from None


def _period(domain: str | None, since: str | None, until: str | None):
    from dmarc_audit.reports.summary import PeriodFilter, parse_when

    now = datetime.now(UTC)
    start = parse_when(since, "--since", now) if since else None
    end = parse_when(until, "--until", now, end_of_day=True) if until else None
    if start and end and start >= end:
        raise InputError(f"--since {since} is not before --until {until}")
    name = domain.strip().lower().rstrip(".") if domain else None
    if domain is not None and not name:
        raise InputError("--domain: empty domain name")
    return PeriodFilter(name, start, end)


# --- ingest ----------------------------------------------------------------


@reports_app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH|URL...",
            help="Report files or directories (walked); '-' reads one from stdin. "
            "XML, gzip, zip and e-mail messages. Or a mailbox: "
            "imaps://USER@HOST[:PORT]/FOLDER (TLS) or imap://… (STARTTLS).",
        ),
    ] = None,
    db: DbOpt = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            metavar="DIR",
            help="Move each file here after all its reports are stored (committed).",
        ),
    ] = None,
    archive_folder: Annotated[
        str | None,
        typer.Option(
            "--archive-folder",
            metavar="FOLDER",
            help="IMAP: move each message here (created if missing) after all its "
            "reports are stored; without it the message is flagged \\Seen.",
        ),
    ] = None,
    error_folder: Annotated[
        str | None,
        typer.Option(
            "--error-folder",
            metavar="FOLDER",
            help="IMAP: move messages that failed here (created if missing); "
            "without it they stay put and the next run retries them.",
        ),
    ] = None,
    unseen: Annotated[
        bool, typer.Option("--unseen", help="IMAP: read only messages not flagged \\Seen.")
    ] = False,
    imap_password_file: Annotated[
        str | None,
        typer.Option(
            "--imap-password-file",
            metavar="FILE",
            help="IMAP: read the password from FILE (its first line); refused when "
            "the group or others may read it. Default: $DMARC_AUDIT_IMAP_PASSWORD_FILE, "
            "else $DMARC_AUDIT_IMAP_PASSWORD. Never on the command line.",
        ),
    ] = None,
    ca_file: Annotated[
        str | None,
        typer.Option(
            "--ca-file",
            metavar="FILE",
            help="IMAP: trust the CA certificates in FILE (PEM) instead of the system's.",
        ),
    ] = None,
    imap_insecure: Annotated[
        bool,
        typer.Option(
            "--imap-insecure",
            help="imap:// only: go on in plain text when the server offers no "
            "STARTTLS (the password crosses the network readable).",
        ),
    ] = False,
    imap_timeout: Annotated[
        float | None,
        typer.Option(
            "--imap-timeout",
            metavar="SECONDS",
            min=0.1,
            help="IMAP: give up on a server answer after this long (default 60).",
        ),
    ] = None,
    output_format: FormatOpt = OutputFormat.TEXT,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Name every report stored or already stored (on stderr)."
        ),
    ] = False,
) -> None:
    """Store the reports in PATH...: duplicates are skipped, bad files listed, never fatal.

    Exit 0 when every file and message was ingested, 1 when some failed, 2 on a
    usage error or when a mailbox refused the connection or login.
    """
    from dmarc_audit.reports.imap import ImapFlags, is_imap_url, parse_settings
    from dmarc_audit.reports.ingest import IngestOptions, IngestResult, expand_paths, ingest_files

    if not paths:
        raise InputError("no report files given (pass PATH..., a directory, or '-' for stdin)")
    if archive is not None and archive.exists() and not archive.is_dir():
        raise InputError(f"--archive {archive}: not a directory")
    urls = [p for p in paths if is_imap_url(p)]
    local = [p for p in paths if not is_imap_url(p)]
    flags = ImapFlags(
        password_file=imap_password_file,
        ca_file=ca_file,
        insecure=imap_insecure,
        timeout=imap_timeout,
        unseen=unseen,
        archive_folder=archive_folder,
        error_folder=error_folder,
    )
    mailboxes = [parse_settings(url, flags) for url in urls]
    if not mailboxes:
        for option, value in (
            ("--archive-folder", archive_folder),
            ("--error-folder", error_folder),
            ("--imap-password-file", imap_password_file),
            ("--ca-file", ca_file),
        ):
            if value is not None:
                raise InputError(f"{option} applies to an imap:// or imaps:// mailbox only")
    files = expand_paths(local) if local else []
    if local and not files:
        raise InputError(f"no files in {' '.join(local)}")
    store = open_store(db, create=True)
    out = _StderrLines()
    progress = _IngestProgress(len(files)) if len(files) > 1 and sys.stderr.isatty() else None
    if progress:
        out.console = progress.console

    def on_report(outcome: ReportOutcome) -> None:
        _report_lines(out, outcome, verbose)
        if (
            progress
            and outcome.status.value == "stored"
            and outcome.kind is not None
            and outcome.kind.value == "aggregate"
        ):
            progress.add_records(outcome.records)

    def on_file(done: FileOutcome) -> None:
        if done.archive_error:
            out.line(f"dmarc-audit: warning: {done.path}: {done.archive_error}")
        if done.status.value == "vanished":
            out.line(
                f"dmarc-audit: warning: {done.path}: gone before it was read "
                "(archived by another ingest?); skipped"
            )
        elif done.status.value == "failed" and not done.reports:
            out.line(f"dmarc-audit: failed: {done.path}")
        if progress:
            progress.advance()

    result = IngestResult(())
    refused = False
    boxes = []
    try:
        if files:
            result = ingest_files(
                store,
                files,
                IngestOptions(archive_dir=archive),
                on_report=on_report,
                on_file=on_file,
            )
        if progress:
            progress.stop()
            progress = None
            out.console = None
        for settings in mailboxes:
            box, login_error = _ingest_mailbox(store, settings, on_report, on_file)
            if login_error:
                out.line(f"dmarc-audit: error: {login_error}")
                refused = True
                continue
            assert box is not None
            boxes.append(box)
            for warning in box.warnings:
                out.line(f"dmarc-audit: warning: {warning}")
            result = IngestResult(result.files + box.messages, result.seconds + box.seconds)
    finally:
        if progress:
            progress.stop()
        store.close()
    if output_format is OutputFormat.JSON:
        doc = result.to_json()
        if mailboxes:
            doc["mailboxes"] = [box.to_json() for box in boxes]
        print_json(doc)
    for box in boxes:
        sys.stderr.write(f"{box.summary_line()}\n")
    if omitted := result.omitted_line():
        sys.stderr.write(f"{omitted}\n")
    sys.stderr.write(f"{result.summary_line()}\n")
    if refused:
        raise typer.Exit(2)
    failed = int(result.exit_status) or any(box.error for box in boxes)
    raise typer.Exit(1 if failed else 0)


def _ingest_mailbox(store, settings, on_report, on_file):
    """``(MailboxResult, None)``, or ``(None, one line)`` when the login failed."""
    from dmarc_audit.reports.imap import ImapLoginError, ingest_mailbox

    try:
        return ingest_mailbox(store, settings, on_report=on_report, on_message=on_file), None
    except ImapLoginError as exc:
        return None, f"{settings.mailbox}: {exc}"


def _report_lines(out: _StderrLines, outcome: ReportOutcome, verbose: bool) -> None:
    status = outcome.status.value
    if status == "failed":
        out.line(f"dmarc-audit: failed: {outcome.source}: {outcome.error}")
        return
    for warning in outcome.warnings:
        out.line(f"dmarc-audit: warning: {outcome.source}: {warning}")
    hidden = outcome.warning_count - len(outcome.warnings)
    if hidden > 0:
        out.line(f"dmarc-audit: warning: {outcome.source}: … {hidden} more warnings")
    if verbose:
        kind = outcome.kind.value if outcome.kind else "report"
        if status == "duplicate":
            out.line(f"{outcome.source}: {kind} {outcome.key}: already stored (#{outcome.row_id})")
        elif outcome.kind is not None and outcome.kind.value == "aggregate":
            out.line(
                f"{outcome.source}: {kind} {outcome.key}: stored as #{outcome.row_id}, "
                f"{outcome.records:,} records"
            )
        else:
            out.line(f"{outcome.source}: {kind} {outcome.key}: stored as #{outcome.row_id}")


class _StderrLines:
    """Lines on stderr, through the progress bar's console while it is shown."""

    def __init__(self) -> None:
        self.console = None

    def line(self, text: str) -> None:
        if self.console is not None:
            from rich.markup import escape

            self.console.print(escape(text))
        else:
            sys.stderr.write(text + "\n")


class _IngestProgress:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.records = 0
        self._progress = Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=stderr_console(),
            transient=True,
        )
        self.console = self._progress.console
        self._task = self._progress.add_task("0 records", total=total)
        self._progress.start()

    def add_records(self, n: int) -> None:
        if n:
            self.records += n
            self._progress.update(self._task, description=f"{self.records:,} records")

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


# --- summary ---------------------------------------------------------------


@reports_app.command("summary")
def summary_command(
    domain: DomainOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    output_format: Annotated[
        SummaryFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format (data goes to stdout or --output; csv is one row per "
            "source; html is a one-file dashboard).",
        ),
    ] = SummaryFormat.TEXT,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the document to FILE instead of stdout ('-' for stdout).",
        ),
    ] = None,
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve",
            help="Look up reverse DNS and the provider of each "
            "source, and the published DMARC record.",
        ),
    ] = False,
    db: DbOpt = None,
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 2.0,
    config: ConfigOpt = None,
) -> None:
    """Who sends as you, and their fix; volumes, pass rates, sources and readiness.

    Senders are named offline from the policy file's senders: and the reports'
    authentication domains; with --zone from your SPF tree; with --resolve also
    from reverse DNS and the origin AS.
    """
    from dmarc_audit.reports.summary import build_summary, lookup, period_keys

    filt = _period(domain, since, until)
    if output not in (None, "-") and not Path(output).parent.is_dir():
        raise InputError(f"--output {output}: directory {Path(output).parent} does not exist")
    declared = _declared_senders(config)
    queries = 0
    days: tuple = ()
    with open_store(db, create=False) as store:
        ptrs = published = None
        resolver = None
        if resolve or zone:
            from dmarc_audit.cli.common import dns_options, run_async
            from dmarc_audit.dns.setup import build_resolver

            resolver = build_resolver(
                dns_options(nameserver, zone, offline or not resolve, timeout)
            )
        if resolve:
            ips, domains = period_keys(store, filt)
            ptrs, published = run_async(lookup(resolver, ips, domains))
        summary = build_summary(store, filt, ptrs=ptrs, published=published)
        summary, posture = _with_senders(store, summary, declared, resolver, resolve)
        if resolver is not None:
            queries = resolver.queries
        if output_format is SummaryFormat.HTML:
            days = _daily(store, summary)
    render = SUMMARY_RENDERERS[output_format]
    if output_format is SummaryFormat.HTML:
        render = partial(render_summary_html, days=days, posture=posture)
    _write_document(render, summary, output)
    line = (
        f"{summary.reports:,} reports · {summary.totals.messages:,} messages · "
        f"{len(summary.sources):,} sources"
    )
    if summary.totals.messages:
        from dmarc_audit.reports.summary import percent

        line += f" · {percent(summary.totals.pass_rate)} DMARC pass"
    if resolve:
        line += f" · {queries} DNS queries"
    if not summary.reports:
        line = "no aggregate reports stored for this period" + (
            f" and domain {filt.domain}" if filt.domain else ""
        )
    sys.stderr.write(line + "\n")


def _declared_senders(config: str | None):
    from dmarc_audit.config import find_config, load_config

    path = find_config(config)
    return load_config(path).senders if path is not None else ()


def _write_document(render: Callable[[Summary], None], summary: Summary, output: str | None):
    """Render to stdout, or to ``output`` (written whole: a failed run leaves no half file)."""
    if output in (None, "-"):
        render(summary)
        return
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        render(summary)
    try:
        Path(output).write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--output {output}: {exc.strerror}") from None


def _daily(store: Store, summary: Summary) -> tuple:
    """The summary's days (UTC) with messages and DMARC passes, for the HTML chart."""
    from dmarc_audit.digest.figures import Period, daily

    start = summary.filter.since or summary.first_begin
    end = summary.filter.until or summary.last_end
    if start is None or end is None or end <= start:
        return ()
    return daily(store, summary.filter.domain, Period(start, end))


def _with_senders(
    store: Store, summary: Summary, declared, resolver, resolve: bool
) -> tuple[Summary, dict]:
    """Name the sources (DNS evidence when there is a resolver) and add the sender table."""
    from dataclasses import replace

    from dmarc_audit.senders.report import name_sources, with_senders

    if resolver is None:
        return with_senders(store, summary, declared), {}
    from dmarc_audit.cli.common import run_async
    from dmarc_audit.senders.collect import collect, collect_posture
    from dmarc_audit.senders.table import SenderState, build_rows

    ips = [s.source_ip for s in summary.sources]
    dns = run_async(collect(resolver, ips, summary.domains, resolve=resolve))
    names, auth = name_sources(store, summary, declared, dns)
    draft = build_rows(summary.sources, names, auth)
    includes = [
        inc
        for row in draft
        if row.state is SenderState.NOT_AUTHORISED
        for ip in row.ips[:1]
        if (n := names.get(ip)) is not None and n.provider and (inc := n.provider.spf_include)
    ]
    posture = run_async(collect_posture(resolver, summary.domains, includes))
    dns = replace(dns, posture=posture)
    return with_senders(store, summary, declared, dns, names, auth), posture


def render_summary_json(summary: Summary) -> None:
    print_json(summary.to_json())


def render_summary_csv(summary: Summary) -> None:
    import csv

    from dmarc_audit.reports.summary import CSV_COLUMNS, csv_rows

    writer = csv.DictWriter(sys.stdout, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(summary))


def render_summary_text(summary: Summary, source_rows: int = 20) -> None:
    from rich.markup import escape
    from rich.table import Table

    from dmarc_audit.reports.summary import percent

    if not summary.reports:
        return
    console = stdout_console()
    t = summary.totals
    first, last = _day(summary.first_begin), _day(summary.last_end)
    reporters = len(summary.reporters)
    console.print(
        f"[bold]{escape(', '.join(summary.domains))}[/] · {first} → {last} · "
        f"{summary.reports:,} reports from {reporters} reporter"
        f"{'s' if reporters != 1 else ''}"
    )
    console.print(
        f"{t.messages:,} messages · {percent(t.pass_rate)} DMARC pass · "
        f"{percent(t.rate(t.spf_aligned))} SPF aligned · "
        f"{percent(t.rate(t.dkim_aligned))} DKIM aligned"
    )
    if summary.senders:
        from dmarc_audit.output.senders_text import render_senders

        console.print()
        render_senders(console, summary.senders)

    table = Table(
        title=_title("Sources", len(summary.sources), source_rows),
        title_justify="left",
        show_edge=False,
    )
    for name, right in (
        ("source", False),
        ("reverse DNS", False),
        ("provider", False),
        ("messages", True),
        ("DMARC", True),
        ("SPF al.", True),
        ("DKIM al.", True),
        ("new", False),
        ("failing: likely reason", False),
    ):
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for s in summary.sources[:source_rows]:
        f = s.figures
        reason = f"{f.failing:,} {s.diagnosis.reason.label}" if s.diagnosis else ""
        table.add_row(
            s.source_ip,
            escape(s.ptr.name or f"({s.ptr.outcome})") if s.ptr else "",
            escape(s.provider or ""),
            f"{f.messages:,}",
            percent(f.pass_rate),
            percent(f.rate(f.spf_aligned)),
            percent(f.rate(f.dkim_aligned)),
            "new" if s.new else "",
            escape(reason),
        )
    console.print()
    console.print(table)

    table = Table(title="Reporters", title_justify="left", show_edge=False)
    for name, right in (
        ("reporter", False),
        ("reports", True),
        ("messages", True),
        ("DMARC pass", True),
    ):
        table.add_column(name, justify="right" if right else "left")
    for r in summary.reporters:
        others = len(r.names) - 1
        table.add_row(
            escape(r.org_name)
            + (f" [dim](+{others} other name{'s' if others > 1 else ''})[/]" if others > 0 else ""),
            f"{r.reports:,}",
            f"{r.figures.messages:,}",
            percent(r.figures.pass_rate),
        )
    console.print()
    console.print(table)
    disp = " · ".join(f"{escape(name)} {n:,}" for name, n in summary.dispositions)
    console.print(f"\n[bold]Dispositions[/]  {disp}")

    if summary.top_failing:
        console.print("\n[bold]Top failing sources[/]")
        for s in summary.top_failing:
            d = s.diagnosis
            host = f" ({escape(s.ptr.name)})" if s.ptr and s.ptr.name else ""
            label = d.reason.label if d else ""
            console.print(
                f"  [red]{s.source_ip}[/]{host}  {s.figures.failing:,} failing "
                f"of {s.figures.messages:,} · {label}"
            )
            if d:
                console.print(f"      [dim]{escape(d.detail)}[/]")
                console.print(f"      → {escape(d.fix)}")

    if summary.new_sources is None:
        console.print("\n[bold]New sources[/]  [dim](give --since to compare with before)[/]")
    elif summary.new_sources:
        listed = ", ".join(
            f"{s.source_ip} ({s.figures.messages:,})" for s in summary.new_sources[:10]
        )
        more = len(summary.new_sources) - 10
        console.print(
            f"\n[bold]New sources[/]  {len(summary.new_sources)}: {listed}"
            + (f", … {more} more" if more > 0 else "")
        )
    else:
        console.print("\n[bold]New sources[/]  none")

    console.print("\n[bold]Readiness[/]")
    for r in summary.readiness:
        style = {"ready": "green", "not-ready": "red"}.get(r.verdict.value, "yellow")
        step = (
            f"{r.current_policy or 'p=?'} → p={r.next_policy}"
            if r.next_policy
            else (r.current_policy or "")
        )
        console.print(
            f"  [bold]{escape(r.domain)}[/]  {escape(step)}  [{style}]{r.verdict.value}[/]"
        )
        console.print(f"      {escape(r.message)}")
        if r.fix_first:
            items = ", ".join(
                f"{f.source_ip} ({f.failing:,}, {f.reason.value})" for f in r.fix_first[:5]
            )
            more = len(r.fix_first) - 5
            console.print(f"      fix first: {items}" + (f", … {more} more" if more > 0 else ""))
        if r.record and r.verdict.value in ("ready", "not-ready"):
            when = "publish" if r.verdict.value == "ready" else "then publish"
            console.print(
                f'      {when}: [green]_dmarc.{escape(r.domain)} TXT "{escape(r.record)}"[/]'
            )
            if r.record_note:
                console.print(f"      [yellow]note:[/] {escape(r.record_note)}")


def render_summary_html(summary: Summary, days: tuple = (), posture=None) -> None:
    from dmarc_audit.output.console import write_stdout
    from dmarc_audit.output.summary_html import SummaryPage, render_html

    write_stdout(render_html(SummaryPage(summary, days, posture or {})))


SUMMARY_RENDERERS: dict[SummaryFormat, Callable[[Summary], None]] = {
    SummaryFormat.TEXT: render_summary_text,
    SummaryFormat.JSON: render_summary_json,
    SummaryFormat.CSV: render_summary_csv,
    SummaryFormat.HTML: render_summary_html,
}


def _title(name: str, total: int, shown: int) -> str:
    if total > shown:
        return f"{name} (top {shown} of {total:,} by messages; all in --format json/csv)"
    return name


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "?"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


# --- list and show ---------------------------------------------------------


@reports_app.command("list")
def list_command(
    domain: DomainOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    kind: Annotated[
        ReportKindOpt, typer.Option("--kind", "-k", help="Which reports to list.")
    ] = ReportKindOpt.AGGREGATE,
    output_format: FormatOpt = OutputFormat.TEXT,
    db: DbOpt = None,
) -> None:
    """List the stored reports, oldest first (ids for 'reports show')."""
    from rich.markup import escape
    from rich.table import Table

    filt = _period(domain, since, until)
    with open_store(db, create=False) as store:
        if kind is ReportKindOpt.AGGREGATE:
            rows = store.list_aggregate(filt.domain, filt.since, filt.until)
        elif kind is ReportKindOpt.FAILURE:
            rows = store.list_failure(filt.domain)  # type: ignore[assignment]
        else:
            rows = store.list_tls(filt.domain)  # type: ignore[assignment]
    if output_format is OutputFormat.JSON:
        from dmarc_audit.reports.summary import SCHEMA_VERSION

        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "kind": kind.value,
                "reports": [row.to_json() for row in rows],
            }
        )
    elif rows:
        docs = [row.to_json() for row in rows]
        columns = [c for c in docs[0] if c != "source"]
        table = Table(show_edge=False)
        for name in columns:
            right = name in ("id", "records", "messages", "policies", "successful", "failed")
            fixed = right or name in ("begin", "end", "arrival", "source_ip")
            table.add_column(
                name,
                justify="right" if right else "left",
                overflow="fold",
                no_wrap=fixed,
                min_width=None if fixed else 8,
            )
        for doc in docs:
            table.add_row(*(escape(_cell(doc[c])) for c in columns))
        stdout_console().print(table)
    sys.stderr.write(f"{len(rows):,} {kind.value} report{'s' if len(rows) != 1 else ''}\n")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}" if not isinstance(value, bool) else str(value).lower()
    text = str(value)
    if text.endswith("Z") and "T" in text:  # ISO time: shorter for the table
        return text[:10] if text[10:] == "T00:00:00Z" else text.replace("T", " ")[:16]
    return text


@reports_app.command("show")
def show_command(
    report: Annotated[int, typer.Argument(metavar="ID", help="The id from 'reports list'.")],
    output_format: FormatOpt = OutputFormat.TEXT,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Records shown as text (0: all).")
    ] = 200,
    db: DbOpt = None,
) -> None:
    """Show one aggregate report and its records."""
    with open_store(db, create=False) as store:
        stored = store.get_aggregate(report)
        if stored is None:
            raise InputError(
                f"no aggregate report #{report} in {store.location} "
                "(see 'dmarc-audit reports list')"
            )
        if output_format is OutputFormat.JSON:
            from dmarc_audit.reports.summary import SCHEMA_VERSION

            print_json(
                {
                    "schema_version": SCHEMA_VERSION,
                    "report": stored.to_json(full=True),
                    "records": [_record_json(r) for r in store.records(report)],
                }
            )
            return
        _show_text(stored, store, limit)


def _record_json(record) -> dict[str, object]:
    return {
        "source_ip": record.source_ip,
        "count": record.count,
        "disposition": record.disposition,
        "dkim_aligned": record.dkim_aligned,
        "spf_aligned": record.spf_aligned,
        "header_from": record.header_from,
        "envelope_from": record.envelope_from,
        "envelope_to": record.envelope_to,
        "reasons": [{"type": t, "comment": c} for t, c in record.reasons],
        "auth_results": [
            {
                k: v
                for k, v in (
                    ("method", a.method),
                    ("domain", a.domain),
                    ("result", a.result),
                    ("selector", a.selector),
                    ("scope", a.scope),
                    ("human_result", a.human_result),
                )
                if v is not None
            }
            for a in record.auth_results
        ],
    }


def _show_text(stored, store: Store, limit: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    p = stored.policy
    policy = "; ".join(
        f"{k}={v}"
        for k, v in (
            ("p", p.p),
            ("sp", p.sp),
            ("np", p.np),
            ("adkim", p.adkim),
            ("aspf", p.aspf),
            ("pct", p.pct),
            ("fo", p.fo),
            ("t", p.testing),
        )
        if v is not None
    )
    console.print(
        f"[bold]#{stored.id}[/] {escape(stored.org_name)} · report "
        f"{escape(stored.report_id)} · {escape(stored.domain)}"
    )
    console.print(
        f"  {_when(stored.begin)} → {_when(stored.end)} UTC · "
        f"{stored.records:,} records · {stored.messages:,} messages"
    )
    console.print(f"  policy seen: {escape(policy) or '(none)'} · schema {stored.schema}")
    console.print(f"  from {escape(stored.source)}, stored {_when(stored.ingested_at)} UTC")
    for line in [*stored.errors, *stored.warnings]:
        console.print(f"  [yellow]note:[/] {escape(line)}")
    if stored.skipped_records:
        console.print(f"  [yellow]{stored.skipped_records} records skipped while reading[/]")
    table = Table(show_edge=False)
    for name, right in (
        ("source", False),
        ("count", True),
        ("disposition", False),
        ("DKIM", False),
        ("SPF", False),
        ("header from", False),
        ("auth results", False),
    ):
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for index, r in enumerate(store.records(stored.id)):
        if limit and index >= limit:
            break
        auth = " ".join(f"{a.method}={a.result}:{a.domain}" for a in r.auth_results)
        table.add_row(
            escape(r.source_ip),
            f"{r.count:,}",
            escape(r.disposition),
            escape(r.dkim_aligned),
            escape(r.spf_aligned),
            escape(r.header_from),
            escape(auth),
        )
    console.print(table)
    if limit and stored.records > limit:
        console.print(
            f"[dim]… {stored.records - limit:,} more records "
            "(--limit 0 for all, or --format json)[/]"
        )
