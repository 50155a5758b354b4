"""``dmarc-audit digest``: posture changes and report figures, mailed (from cron).

Exit 0 when the message was sent (or written with ``--dry-run``), 1 when sending
failed (one line on stderr says why; the last-digest marker does not move), 2 for
a usage error. Nothing is audited or stored before every option has been checked.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dmarc_audit.cli.check import ConfigOpt, TimeoutOpt
from dmarc_audit.cli.common import (
    CaFileOpt,
    HttpsPortOpt,
    NameserverOpt,
    NoFetchOpt,
    OfflineOpt,
    ZoneOpt,
)
from dmarc_audit.cli.reports import DbOpt
from dmarc_audit.errors import InputError
from dmarc_audit.exit_status import ExitStatus

if TYPE_CHECKING:
    from dmarc_audit.digest.figures import Period
    from dmarc_audit.digest.send import SmtpSettings
    from dmarc_audit.report import DomainReport
    from dmarc_audit.reports.store import Store
    from dmarc_audit.reports.summary import PtrInfo

SEND_FAILED = 1
"""Exit status when the server did not take the message (cron mails stderr to the operator)."""
LAST = "last"
DEFAULT_DAYS = 7


class SmtpTlsChoice(str, Enum):
    """Mirrors :class:`dmarc_audit.digest.send.TlsMode` (kept light for --help)."""

    AUTO = "auto"
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


def digest_command(
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="ADDR",
            help="Recipient (repeatable, or comma-separated). The recipient list also "
            "keys the 'last digest' marker.",
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            metavar="7d|DATE|last",
            help="Start of the period: a duration before --until (7d, 2w, 24h), "
            "a date, or 'last' for where the last digest to this list "
            "ended.",
        ),
    ] = "7d",
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="End of the period (a bare date includes that day). "
            "Default: the start of today, UTC.",
        ),
    ] = None,
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain",
            "-d",
            metavar="DOMAIN",
            help="Domain to report on (repeatable). Default: the policy file's "
            "domains, else the domains with reports in the period.",
        ),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Reverse DNS and provider of each report source.")
    ] = False,
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    no_fetch: NoFetchOpt = False,
    ca_file: CaFileOpt = None,
    https_port: HttpsPortOpt = None,
    timeout: TimeoutOpt = None,
    sender: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="ADDR",
            help="Sender address. Default: $DMARC_AUDIT_SMTP_FROM, else "
            "dmarc-audit@<this host's name>.",
        ),
    ] = None,
    smtp_host: Annotated[
        str | None,
        typer.Option(
            "--smtp-host",
            metavar="HOST",
            help="SMTP server. Default: $DMARC_AUDIT_SMTP_HOST, else localhost.",
        ),
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            "--smtp-port",
            metavar="N",
            min=1,
            max=65535,
            help="Default: $DMARC_AUDIT_SMTP_PORT, else 465 with --smtp-tls tls, 25 otherwise.",
        ),
    ] = None,
    smtp_tls: Annotated[
        SmtpTlsChoice | None,
        typer.Option(
            "--smtp-tls",
            help="auto: STARTTLS when offered (default; "
            "$DMARC_AUDIT_SMTP_TLS); starttls: required; tls: "
            "implicit TLS; none: never encrypt.",
        ),
    ] = None,
    smtp_user: Annotated[
        str | None,
        typer.Option(
            "--smtp-user",
            metavar="USER",
            help="Login name (default $DMARC_AUDIT_SMTP_USER). The password "
            "comes from $DMARC_AUDIT_SMTP_PASSWORD or a file, never "
            "from the command line.",
        ),
    ] = None,
    smtp_password_file: Annotated[
        str | None,
        typer.Option(
            "--smtp-password-file",
            metavar="FILE",
            help="Read the password from FILE (its first line); refused "
            "when the group or others may read it. Default: "
            "$DMARC_AUDIT_SMTP_PASSWORD_FILE.",
        ),
    ] = None,
    smtp_cafile: Annotated[
        str | None,
        typer.Option(
            "--smtp-cafile",
            metavar="FILE",
            help="Trust the CA certificates in FILE (PEM) for the server's "
            "certificate, instead of the system's.",
        ),
    ] = None,
    smtp_timeout: Annotated[
        float | None,
        typer.Option(
            "--smtp-timeout",
            metavar="SECONDS",
            min=0.1,
            help="Give up on an SMTP answer after this long (default 30).",
        ),
    ] = None,
    smtp_password: Annotated[
        str | None, typer.Option("--smtp-password", hidden=True, metavar="REFUSED")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Write the message (see --output) instead of "
            "sending it; the marker does not move.",
        ),
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE.eml",
            help="With --dry-run: write the message here ('-' for stdout, the default).",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Say on stderr what was sent, and how. "
            "Without it a successful run prints only "
            "warnings (quiet under cron).",
        ),
    ] = False,
) -> None:
    """Mail a digest: posture now, what changed since the last digest, report figures."""
    if smtp_password is not None:
        raise InputError(
            "--smtp-password is refused: a password on the command line is "
            "visible to every user of this machine; set DMARC_AUDIT_SMTP_PASSWORD "
            "or use --smtp-password-file FILE (mode 600)"
        )
    if smtp_user is not None and ":" in smtp_user:
        raise InputError(
            "--smtp-user must not carry a password ('user:password' on the "
            "command line is visible to every user); set "
            "DMARC_AUDIT_SMTP_PASSWORD or use --smtp-password-file"
        )
    recipients = parse_addresses(to or [], "--to")
    if not recipients:
        raise InputError("no recipients: give --to ADDR (repeatable)")
    from_addr = _sender(sender)
    if output is not None and not dry_run:
        raise InputError("--output writes the message instead of sending it: add --dry-run")
    if output not in (None, "-") and not Path(output).parent.is_dir():
        raise InputError(f"--output {output}: directory {Path(output).parent} does not exist")
    smtp = None
    if not dry_run:
        from dmarc_audit.digest.send import SmtpFlags, TlsMode, resolve_settings

        smtp = resolve_settings(
            SmtpFlags(
                host=smtp_host,
                port=smtp_port,
                tls=TlsMode(smtp_tls.value) if smtp_tls is not None else None,
                user=smtp_user,
                password_file=smtp_password_file,
                cafile=smtp_cafile,
                timeout=smtp_timeout,
            )
        )
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.gate import gate_settings

    given = [parse_domain(name) for name in domain or []]
    settings = gate_settings(
        config,
        nameserver=nameserver,
        zone=zone,
        offline=offline,
        timeout=timeout,
        fetch=not no_fetch,
        ca_file=ca_file,
        https_port=https_port,
    )
    now = datetime.now(UTC)
    from dmarc_audit.cli.reports import open_store

    with open_store(db, create=False) as store:
        period = _period(store, since, until, recipients, now)
        parsed = given or [p.domain for p in settings.domains]
        if not parsed:
            from dmarc_audit.digest.figures import store_domains

            parsed = _store_domains(store_domains(store, period))
        if not parsed:
            raise InputError(
                "no domains: give --domain, list them in the policy file, or "
                f"ingest reports for {period.describe()}"
            )
        from dmarc_audit.gate import run_gate

        run = run_gate(settings, parsed, use_baseline=False)
        reports = [g.counting() for g in run.gated]
        ptrs = _ptrs(store, run.resolver, reports, period, now) if resolve else None
        _send_or_write(
            store,
            reports,
            period,
            recipients,
            from_addr,
            now,
            ptrs,
            smtp,
            output if dry_run else None,
            dry_run,
            verbose,
        )


def _send_or_write(
    store: Store,
    reports: list[DomainReport],
    period: Period,
    recipients: tuple[str, ...],
    from_addr: str,
    now: datetime,
    ptrs: dict[str, PtrInfo] | None,
    smtp: SmtpSettings | None,
    output: str | None,
    dry_run: bool,
    verbose: bool,
) -> None:
    from dmarc_audit import __version__
    from dmarc_audit.digest.build import build_digest, mark_sent
    from dmarc_audit.digest.compose import compose_message
    from dmarc_audit.digest.snapshot import PostureState

    digest = build_digest(
        store, reports, period, recipients, now, ptrs=ptrs, tool_version=__version__
    )
    for d in digest.domains:
        if d.posture.state is PostureState.COULD_NOT_CHECK:
            _log(
                f"warning: {d.domain}: posture could not be checked "
                f"({d.posture.problem}); the digest says so"
            )
    message = compose_message(digest, from_addr)
    if verbose:
        _log(f"digest: {message['Subject']}")
    if dry_run:
        data = message.as_bytes()
        if output in (None, "-"):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            try:
                Path(output).write_bytes(data)
            except OSError as exc:
                raise InputError(f"--output {output}: {exc.strerror}") from None
            _log(f"wrote the digest to {output} (not sent; the last-digest marker did not move)")
        raise typer.Exit(int(ExitStatus.OK))
    from dmarc_audit.digest.send import SendError, send_message

    assert smtp is not None
    try:
        delivery = send_message(
            message, smtp, from_addr, recipients, log=lambda line: _log(f"warning: {line}")
        )
    except SendError as exc:
        sys.stderr.write(f"dmarc-audit: error: digest not sent: {exc}\n")
        raise typer.Exit(SEND_FAILED) from None
    mark_sent(store, digest, datetime.now(UTC))
    how = (
        "encrypted with STARTTLS"
        if delivery.encryption == "STARTTLS"
        else ("over TLS" if delivery.encryption == "TLS" else "unencrypted")
    )
    if verbose:
        _log(f"digest sent to {', '.join(delivery.recipients)} via {delivery.where} ({how})")
    raise typer.Exit(int(ExitStatus.OK))


def _store_domains(names: list[str]) -> list:
    """The report store's policy domains that are valid names (others are skipped, noted)."""
    from dmarc_audit.domains import parse_domain

    parsed = []
    for name in names:
        try:
            parsed.append(parse_domain(name))
        except InputError as exc:
            _log(f"warning: reports for {exc}; skipped")
    return parsed


def _log(line: str) -> None:
    sys.stderr.write(f"dmarc-audit: {line}\n")


def parse_addresses(values: list[str], option: str) -> tuple[str, ...]:
    """Bare addresses from ``values`` (each may hold several, comma-separated)."""
    from email.utils import getaddresses

    out: dict[str, None] = {}
    for value in values:
        if any(c in value for c in "\r\n\0"):
            raise InputError(f"{option}: line breaks are not allowed in an address")
        for name, addr in getaddresses([value]):
            if not addr and not name:
                continue
            local, at, host = addr.rpartition("@")
            if (
                not at
                or not local
                or "." not in host.strip(".")
                or any(c.isspace() or c in '<>()[],;"' for c in addr)
            ):
                raise InputError(
                    f"{option} {value.strip()!r}: not an e-mail address (expected user@example.com)"
                )
            out[addr] = None
    return tuple(out)


def _sender(flag: str | None) -> str:
    import os
    import socket

    from dmarc_audit.digest.send import ENV_FROM

    value = flag or os.environ.get(ENV_FROM)
    if not value:
        host = socket.getfqdn() or "localhost"
        return f"dmarc-audit@{host}"
    found = parse_addresses([value], "--from" if flag else ENV_FROM)
    if len(found) != 1:
        raise InputError(f"{'--from' if flag else ENV_FROM} {value!r}: expected one address")
    return found[0]


def _period(
    store: Store, since: str, until: str | None, recipients: tuple[str, ...], now: datetime
) -> Period:
    from dmarc_audit.digest.figures import Period
    from dmarc_audit.digest.snapshot import SnapshotStore, list_key
    from dmarc_audit.reports.summary import parse_when

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = parse_when(until, "--until", now, end_of_day=True) if until else today
    if since.strip().lower() == LAST:
        marker = SnapshotStore(store).marker(list_key(recipients))
        start = marker.period_end if marker else end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise InputError(
                f"--since last: the last digest to this list already covers up "
                f"to {start:%Y-%m-%d %H:%M} UTC (give --until, or a duration)"
            )
    else:
        start = parse_when(since, "--since", end)
        if start >= end:
            raise InputError(
                f"--since {since} is not before --until {until or end.strftime('%Y-%m-%d %H:%M')}"
            )
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def _ptrs(
    store: Store, resolver, reports: list[DomainReport], period: Period, now: datetime
) -> dict[str, PtrInfo] | None:
    """Reverse DNS of the period's sources, unless DNS could not be reached at all."""
    from dmarc_audit.cli.common import run_async
    from dmarc_audit.digest.snapshot import PostureState, capture
    from dmarc_audit.reports.summary import PeriodFilter, lookup, period_keys

    if all(capture(r, now).state is PostureState.COULD_NOT_CHECK for r in reports):
        _log("warning: DNS could not be reached; --resolve skipped")
        return None
    ips: set[str] = set()
    for r in reports:
        found, _domains = period_keys(
            store, PeriodFilter(r.domain.ascii, period.since, period.until)
        )
        ips.update(found)
    ptrs, _published = run_async(lookup(resolver, sorted(ips), []))
    return ptrs
