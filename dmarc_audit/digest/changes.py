"""What changed between two snapshots: findings that appeared or went, and record texts.

A change is only claimed where both runs could check: a finding that is missing
because a lookup failed is not "fixed", and a record that could not be read is not
"removed". Those areas are listed in :attr:`Changes.not_compared` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from dmarc_audit.digest.snapshot import (
    CORE_AREAS,
    FindingFact,
    PostureState,
    RecordState,
    RecordText,
    Snapshot,
)
from dmarc_audit.findings import Severity


class CompareStatus(str, Enum):
    COMPARED = "compared"
    FIRST = "first"
    """No earlier snapshot for this recipient list: nothing to compare with yet."""
    NOT_CHECKED = "not-checked"
    """This run could not reach DNS; the changes wait for the next digest."""


class RecordChangeKind(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class RecordChange:
    key: str
    kind: RecordChangeKind
    before: RecordText | None
    after: RecordText | None

    @property
    def label(self) -> str:
        return record_label(self.key)

    @property
    def name(self) -> str | None:
        record = self.after or self.before
        return record.name if record is not None else None


@dataclass(frozen=True, slots=True)
class Changes:
    status: CompareStatus
    since: datetime | None
    """When the snapshot compared against was taken."""
    new: tuple[FindingFact, ...] = ()
    fixed: tuple[FindingFact, ...] = ()
    records: tuple[RecordChange, ...] = ()
    not_compared: tuple[str, ...] = ()
    """Areas whose lookups failed in either run (``spf``, ``dkim``, ``other``, …)."""

    @property
    def empty(self) -> bool:
        return not (self.new or self.fixed or self.records)

    def new_count(self, severity: Severity) -> int:
        return sum(1 for f in self.new if f.severity is severity)


def record_label(key: str) -> str:
    """``SPF``, ``DMARC``, ``MX``, ``DKIM s1``."""
    if key.startswith("dkim:"):
        return f"DKIM {key[5:]}"
    return key.upper()


def compare(before: Snapshot | None, after: Snapshot) -> Changes:
    """The changes from ``before`` (the last digest's snapshot) to ``after`` (now)."""
    if after.state is PostureState.COULD_NOT_CHECK:
        return Changes(CompareStatus.NOT_CHECKED, before.run_at if before else None)
    if before is None:
        return Changes(CompareStatus.FIRST, None)
    both = before.checked & after.checked
    old = {f.key: f for f in before.failing}
    now = {f.key: f for f in after.failing}
    new = tuple(f for k, f in now.items() if k not in old and f.area in both)
    fixed = tuple(f for k, f in old.items() if k not in now and f.area in both)
    skipped = {
        f.area
        for k, f in (*now.items(), *old.items())
        if (k not in old or k not in now) and f.area not in both
    }
    unchecked = {a for a in CORE_AREAS if a not in both} & _areas(before, after)
    not_compared = sorted(skipped | unchecked)
    return Changes(
        CompareStatus.COMPARED,
        before.run_at,
        _by_severity(new),
        _by_severity(fixed),
        _record_changes(before, after),
        tuple(not_compared),
    )


def _areas(before: Snapshot, after: Snapshot) -> set[str]:
    """Core areas either run looked at (a domain without DKIM selectors tried has none)."""
    keys = {k for k, _ in (*before.records, *after.records)}
    return {k.split(":", 1)[0] for k in keys}


def _record_changes(before: Snapshot, after: Snapshot) -> tuple[RecordChange, ...]:
    """Records read in both runs whose text differs, appeared or went.

    A record that could not be read in either run, or that only one run looked
    for (a DKIM selector newly listed), is not compared.
    """
    old, now = dict(before.records), dict(after.records)
    changes = []
    for key in _ordered_keys(old, now):
        a, b = old.get(key), now.get(key)
        if a is None or b is None or RecordState.UNKNOWN in (a.state, b.state):
            continue
        was, is_now = _present(a), _present(b)
        if was is None and is_now is None:
            continue
        if was is None:
            changes.append(RecordChange(key, RecordChangeKind.ADDED, a, b))
        elif is_now is None:
            changes.append(RecordChange(key, RecordChangeKind.REMOVED, a, b))
        elif was != is_now or a.name != b.name:
            changes.append(RecordChange(key, RecordChangeKind.CHANGED, a, b))
    return tuple(changes)


def _present(record: RecordText | None) -> str | None:
    """The text when the record is there (an invalid one counts as there)."""
    if record is None or record.state in (RecordState.ABSENT, RecordState.UNKNOWN):
        return None
    return record.text or f"({record.state.value})"


def _ordered_keys(*maps: dict[str, RecordText]) -> list[str]:
    order = {"spf": 0, "dmarc": 1, "mx": 2}
    keys = {k for m in maps for k in m}
    return sorted(keys, key=lambda k: (order.get(k, 3), k))


def _by_severity(findings: tuple[FindingFact, ...]) -> tuple[FindingFact, ...]:
    return tuple(sorted(findings, key=lambda f: -f.severity.rank))
