"""What the callbacks tell the pass engine, and the report's warning list."""

from __future__ import annotations

from dmarc_audit.reports.aggregate.vocabulary import MAX_WARNINGS
from dmarc_audit.reports.model import ParseWarning


class Reject(Exception):
    """Raised inside expat handlers: the document cannot be a usable report."""


class Restart(Exception):
    """A repair was planned: read the document again from the start."""


class Careful(Exception):
    """The fast record reader met something unusual: read again, carefully."""


class Warnings:
    """De-duplicated, bounded warning list (the report's own list object)."""

    def __init__(self) -> None:
        self.items: list[ParseWarning] = []
        self._seen: set[object] = set()
        self.dropped = 0
        self.omitted: set[str] = set()
        """Optional-in-practice elements the report leaves out: counted, not warned."""

    def omit(self, name: str) -> None:
        self.omitted.add(name)

    def add(self, message: str, where: str = "", key: object = None) -> None:
        key = message if key is None else key
        if key in self._seen:
            return
        if len(self.items) >= MAX_WARNINGS:
            self.dropped += 1  # the key is not kept, so the seen-set stays bounded
            return
        self._seen.add(key)
        self.items.append(ParseWarning(message, where))

    def finish(self) -> None:
        if self.dropped:
            self.items.append(ParseWarning(f"{self.dropped} more warning(s) not listed"))
            self.dropped = 0
