"""Where output is written: the rich consoles of stdout and stderr, and JSON on stdout.

Every command and renderer gets its consoles here, so that width, colour (NO_COLOR)
and wrapping are decided in one place: text is folded to the width (see
:mod:`dmarc_audit.output.wrap`), never cut at the right edge. Data goes to stdout;
progress, logs and summaries go to stderr. ``rich`` is imported only when a console is made.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 160
"""Width of stdout and stderr when not a terminal (and COLUMNS is unset): tables and
summary lines do not wrap."""


def stderr_console() -> Console:
    """A rich console on stderr (colour follows NO_COLOR and whether it is a terminal);
    when it is not a terminal, as wide as a piped stdout."""
    import os

    from rich.console import Console

    width = None
    if not sys.stderr.isatty() and not os.environ.get("COLUMNS"):
        width = PIPED_WIDTH
    return Console(stderr=True, highlight=False, soft_wrap=False, emoji=False, width=width)


def stdout_console() -> Console:
    """A rich console on stdout; when piped, wide enough that tables do not wrap."""
    import os

    from rich.console import Console

    width = None
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        width = PIPED_WIDTH
    return Console(highlight=False, soft_wrap=False, emoji=False, width=width)


def buffer_console(
    file: IO[str], *, color_system: str | None = None, width: int | None = None
) -> Console:
    """A console that writes into ``file`` (a ``StringIO``): plain text unless
    ``color_system`` is given (as :func:`stdout_console` found it)."""
    from rich.console import Console

    return Console(
        file=file,
        color_system=color_system,  # type: ignore[arg-type]
        force_terminal=color_system is not None,
        highlight=False,
        soft_wrap=False,
        emoji=False,
        width=width,
    )


def json_indent() -> int | None:
    """JSON is indented for a terminal, compact (and faster) when piped."""
    return 2 if sys.stdout.isatty() else None


def json_text(data: object, indent: int | None = None) -> str:
    """``data`` as one JSON document and a newline (non-ASCII kept as is)."""
    import json

    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


def write_stdout(text: str) -> None:
    """Rendered output (a renderer's return value) on stdout."""
    sys.stdout.write(text)


def print_json(data: object) -> None:
    """JSON on stdout: indented for a terminal, compact (and faster) when piped."""
    write_stdout(json_text(data, json_indent()))
