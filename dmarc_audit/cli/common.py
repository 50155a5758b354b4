"""Options shared by commands, and input helpers."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dmarc_audit.errors import InputError
from dmarc_audit.output.formats import OutputFormat, RenderFormat
from dmarc_audit.records.dmarc import DmarcMode

T = TypeVar("T")


CheckFormatOpt = Annotated[
    RenderFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output format (data goes to stdout): text for people, "
        "json, or sarif/junit/github/markdown/csv for CI.",
    ),
]
DmarcModeOpt = Annotated[
    DmarcMode | None,
    typer.Option(
        "--dmarc-mode", help="rfc9989: DNS tree walk (default); rfc7489: Public Suffix List."
    ),
]


class ProfileChoice(str, Enum):
    """Severity profile (mirrors :class:`dmarc_audit.report.Profile`, kept light for --help)."""

    DEFAULT = "default"
    BULK_SENDER = "bulk-sender"


NameserverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        "-n",
        metavar="IP[:PORT]",
        help="Recursive resolver to ask (repeatable). Default: the system's.",
    ),
]
ZoneOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--zone",
        "-z",
        metavar="FILE[@ORIGIN]",
        help="Answer from a zone file (RFC 1035 master file, or .yaml zone data; "
        "repeatable). Names outside loaded master files are resolved live "
        "unless --offline; YAML zone data is a closed world.",
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Never query live DNS: names outside --zone files are reported as 'could not check'.",
    ),
]
NoFetchOpt = Annotated[
    bool,
    typer.Option(
        "--no-fetch",
        help="Make no HTTPS request (MTA-STS policy, BIMI logo and certificate): "
        "DNS-only checks, for air-gapped runs.",
    ),
]
CaFileOpt = Annotated[
    str | None,
    typer.Option(
        "--ca-file",
        metavar="FILE",
        help="Verify HTTPS certificates against this PEM bundle instead of the system store.",
    ),
]
HttpsPortOpt = Annotated[
    int | None,
    typer.Option(
        "--https-port",
        metavar="N",
        min=1,
        max=65535,
        help="Connect HTTPS fetches to port N instead of 443 (labs and tests).",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", metavar="SECONDS", min=0.001, help="Time to wait for each DNS server answer."
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Show everything in text: every evidence line and lookup step, whole keys "
        "and lists (JSON always has them).",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Text shows only errors and warnings, and no summary line."),
]


def verbosity(verbose: bool, quiet: bool) -> int:
    """-1 for ``-q``, 1 for ``-v``, 0 otherwise; both at once is bad input."""
    if verbose and quiet:
        raise InputError("--verbose and --quiet cannot be used together")
    return 1 if verbose else -1 if quiet else 0


FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format (data goes to stdout).")
]


def dns_options(
    nameserver: list[str] | None, zone: list[str] | None, offline: bool, timeout: float
):  # -> DnsOptions, imported lazily
    from dmarc_audit.dns.setup import DnsOptions

    return DnsOptions(
        nameservers=tuple(nameserver or ()),
        zones=tuple(zone or ()),
        offline=offline,
        timeout=timeout,
    )


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run the command's coroutine on a fresh event loop."""
    import asyncio

    return asyncio.run(coro)


def read_domain_lines(source: str) -> list[str]:
    """Domains from a file (or ``-`` for stdin): one per line, ``#`` comments allowed."""
    if source == "-":
        text = sys.stdin.read()
        where = "stdin"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read domains file {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"domains file {source} is not UTF-8 text") from None
        where = source
    names: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.extend(line.split())
    if not names and where != "stdin":
        raise InputError(f"domains file {source} lists no domains")
    return names
