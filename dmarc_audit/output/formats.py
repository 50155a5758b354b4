"""Output format choices, defined once and used directly as the commands' option types.

Kept free of heavy imports: ``dmarc-audit --help`` loads this module.
"""

from __future__ import annotations

from enum import Enum


class RenderFormat(str, Enum):
    """Output formats of ``check``. Every member has a renderer (tests check)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"
    MARKDOWN = "markdown"
    CSV = "csv"


class OutputFormat(str, Enum):
    """Output formats of the other commands: text for people, or JSON."""

    TEXT = "text"
    JSON = "json"


class SummaryFormat(str, Enum):
    """``reports summary`` formats. Every member has a renderer (tests check)."""

    TEXT = "text"
    JSON = "json"
    CSV = "csv"
