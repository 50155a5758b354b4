"""``dmarc-audit message FILE.eml``: why did this message pass or fail DMARC?"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dmarc_audit.cli.common import (
    FormatOpt,
    NameserverOpt,
    OfflineOpt,
    TimeoutOpt,
    ZoneOpt,
    dns_options,
    run_async,
)
from dmarc_audit.errors import InputError
from dmarc_audit.output.formats import OutputFormat
from dmarc_audit.records.dmarc import DmarcMode


def message_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The message (.eml, RFC 5322); '-' reads stdin.")
    ],
    ip: Annotated[
        str | None,
        typer.Option(
            "--ip",
            metavar="IP",
            help="Connecting IP (default: from Received-SPF, Authentication-Results or Received).",
        ),
    ] = None,
    helo: Annotated[
        str | None, typer.Option("--helo", metavar="NAME", help="HELO/EHLO name of the client.")
    ] = None,
    mail_from: Annotated[
        str | None,
        typer.Option(
            "--mail-from",
            metavar="ADDR",
            help="MAIL FROM address (default: Return-Path); '' or '<>' for a bounce.",
        ),
    ] = None,
    output_format: FormatOpt = OutputFormat.TEXT,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare", help="Set the message's own Authentication-Results beside our verdict."
        ),
    ] = False,
    dmarc_mode: Annotated[
        DmarcMode, typer.Option("--dmarc-mode", help="Which DMARC specification to follow.")
    ] = DmarcMode.RFC9989,
    authserv_id: Annotated[
        str,
        typer.Option(
            "--authserv-id",
            metavar="ID",
            help="authserv-id of the Authentication-Results we write.",
        ),
    ] = "dmarc-audit",
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 2.0,
) -> None:
    """Check one message's DKIM, SPF, alignment, DMARC and ARC, and say what to fix.

    Exit status: 0 DMARC pass; 1 fail, no policy, or no usable From; 2 bad input;
    3 could not decide (a lookup failed, or SPF needed but no connecting IP known).
    """
    from dmarc_audit.dns.setup import build_resolver
    from dmarc_audit.message.verdict import MessageOptions, analyze_message

    message = read_message(file)
    options = MessageOptions(
        ip=_checked_ip(ip),
        helo=_checked_helo(helo),
        mail_from=_checked_mail_from(mail_from),
        dmarc_mode=dmarc_mode,
        compare=compare,
        authserv_id=_checked_authserv_id(authserv_id),
    )
    resolver = build_resolver(dns_options(nameserver, zone, offline, timeout))
    source = "stdin" if file == "-" else file
    report = run_async(analyze_message(resolver, message, options, source=source))
    if output_format is OutputFormat.JSON:
        from dmarc_audit.output.console import print_json
        from dmarc_audit.output.json_output import dns_section

        print_json({**report.to_json(), "dns": dns_section(resolver)})
    else:
        from dmarc_audit.output.message_text import render_message_text

        render_message_text(report)
    from dmarc_audit.output.message_text import render_message_summary

    render_message_summary(report, resolver.queries)
    raise typer.Exit(int(report.exit_status))


def read_message(file: str):
    """Read and parse the message; unreadable or non-message input is an :class:`InputError`."""
    from dmarc_audit.message.parse import NotAMessage, parse_message

    where = "stdin" if file == "-" else file
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if path.is_dir():
            raise InputError(f"{file}: is a directory, not a message file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read message file {file}: {exc.strerror}") from None
    try:
        return parse_message(data)
    except NotAMessage as exc:
        raise InputError(f"{where}: not an e-mail message: {exc}") from None


def _checked_ip(ip: str | None) -> str | None:
    if ip is None:
        return None
    from dmarc_audit.message.connection import valid_ip

    checked = valid_ip(ip)
    if checked is None:
        raise InputError(f"--ip {ip!r}: not an IPv4 or IPv6 address")
    return checked


def _checked_helo(helo: str | None) -> str | None:
    if helo is not None and (not helo.strip() or any(ch.isspace() for ch in helo.strip())):
        raise InputError(f"--helo {helo!r}: give the host name the client sent")
    return helo.strip() if helo is not None else None


def _checked_mail_from(mail_from: str | None) -> str | None:
    if mail_from is None:
        return None
    value = mail_from.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if value and ("@" not in value or any(ch.isspace() for ch in value)):
        raise InputError(
            f"--mail-from {mail_from!r}: give an address like bounce@example.com, "
            "or '' for the null reverse-path"
        )
    return value


def _checked_authserv_id(value: str) -> str:
    value = value.strip()
    if not value or any(ch.isspace() or ch in ';()"' for ch in value):
        raise InputError(f"--authserv-id {value!r}: use a host name such as mx.example.com")
    return value
