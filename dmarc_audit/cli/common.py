"""Options shared by commands, input helpers and the run loop."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dmarc_audit.errors import InputError

T = TypeVar("T")


class OutputFormat(str, Enum):
    """Renderers. Every member must have one (tests check)."""

    TEXT = "text"
    JSON = "json"


class CheckFormat(str, Enum):
    """``check`` output formats; mirrors ``output.render.RenderFormat`` (kept light for --help)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"
    MARKDOWN = "markdown"
    CSV = "csv"


CheckFormatOpt = Annotated[
    CheckFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output format (data goes to stdout): text for people, "
        "json, or sarif/junit/github/markdown/csv for CI.",
    ),
]


class DmarcModeChoice(str, Enum):
    """How the DMARC policy is discovered."""

    RFC9989 = "rfc9989"
    RFC7489 = "rfc7489"


class ProfileChoice(str, Enum):
    """Severity profile (mirrors :class:`dmarc_audit.audit.Profile`, kept light for --help)."""

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
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", metavar="SECONDS", min=0.001, help="Time to wait for each DNS server answer."
    ),
]
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
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.extend(line.split())
    if not names and where != "stdin":
        raise InputError(f"domains file {source} lists no domains")
    return names


def stderr_console():
    """A rich console on stderr (colour follows NO_COLOR and whether it is a terminal)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def stdout_console():
    """A rich console on stdout; when piped, wide enough that tables do not wrap."""
    import os

    from rich.console import Console

    width = None
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        width = 160
    return Console(highlight=False, soft_wrap=True, emoji=False, width=width)


def print_json(data: object) -> None:
    """JSON on stdout: indented for a terminal, compact (and faster) when piped."""
    import json

    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")
