"""What every renderer is handed besides the reports, and the renderer signature.

A renderer takes the gated reports of a run and a :class:`RenderContext` and returns
the whole output as text; it never prints and never decides the exit status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.findings import FailOn

if TYPE_CHECKING:
    from dmarc_audit.dns.zonelines import Location, ZoneLineIndex
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.findings import Finding


class TextView(str, Enum):
    """What the text renderer of ``check`` shows."""

    FULL = "full"
    CONCISE = "concise"
    STATISTICS = "statistics"


@dataclass(frozen=True)
class RenderContext:
    """What a renderer needs besides the reports."""

    tool_version: str
    zone_index: ZoneLineIndex | None = None
    """Set when zone files were audited: findings then point at file and line."""
    fail_on: str = "error"
    """The ``--fail-on`` threshold: JUnit marks exactly those findings as failures."""
    input_errors: tuple[str, ...] = ()
    """Inputs that could not be audited (bad domain names), one line each."""
    dns: dict[str, object] | None = None
    """The JSON ``dns`` section (``json_output.dns_section(resolver)``), for ``json``."""
    color_system: str | None = None
    """For ``text``: the rich colour system of the terminal it goes to; None for plain text."""
    width: int | None = None
    """For ``text``: the width of the terminal it goes to (None: rich's default)."""
    json_indent: int | None = 2
    """For ``json``: indentation (None: compact, as when stdout is piped)."""
    verbosity: int = 0
    """For ``text``: -1 with ``-q`` (errors and warnings only), 1 with ``-v`` (every
    evidence line, whole keys and lists); JSON always carries everything."""
    text_view: TextView = TextView.FULL
    """For ``text``: every finding, one line per domain (``--concise``) or counts per
    check id (``--statistics``)."""

    @property
    def threshold(self) -> FailOn:
        return FailOn(self.fail_on)

    def locate(self, finding: Finding) -> Location | None:
        """Where the finding's record is written, when zone files were audited."""
        if self.zone_index is None:
            return None
        return self.zone_index.locate_finding(finding)


Renderer = Callable[["Sequence[GatedReport]", RenderContext], str]
"""``RENDERERS[format](gated_reports, context) -> output``."""

__all__ = ["RenderContext", "Renderer", "TextView"]
