"""Process exit statuses, defined once for every command."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes shared by all commands (see the README's table)."""

    OK = 0
    """Clean run (or, for ``spf --ip``, the result is ``pass``)."""
    FINDINGS = 1
    """A finding at or above ``--fail-on`` (or a definite non-pass SPF result)."""
    USAGE = 2
    """Bad flag, unreadable or malformed input."""
    INCOMPLETE = 3
    """Something could not be checked (``--strict``), or SPF temperror."""


def combine(statuses: list[ExitStatus]) -> ExitStatus:
    """Pick the status to exit with: USAGE beats FINDINGS, FINDINGS beats INCOMPLETE."""
    for wanted in (ExitStatus.USAGE, ExitStatus.FINDINGS, ExitStatus.INCOMPLETE):
        if wanted in statuses:
            return wanted
    return ExitStatus.OK
