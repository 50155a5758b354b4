"""Put one digest together: snapshot this run, compare with the last digest, add figures.

The caller audits the domains (``check``'s gate: policy file rules applied) and
hands in the reports; :func:`build_digest` stores their snapshots, finds what each
domain looked like when this recipient list last got a digest, and reads the
period's figures. :func:`mark_sent` moves the list's marker forward; call it only
after the message was accepted, so a failed send hides nothing from the next digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dmarc_audit.digest.changes import Changes, compare
from dmarc_audit.digest.figures import DomainFigures, Period, domain_figures
from dmarc_audit.digest.posture import Posture, posture_of
from dmarc_audit.digest.snapshot import (
    Marker,
    RecordState,
    Snapshot,
    SnapshotStore,
    capture,
    list_key,
)
from dmarc_audit.findings import Severity

if TYPE_CHECKING:
    from dmarc_audit.report import DomainReport
    from dmarc_audit.reports.store import Store
    from dmarc_audit.reports.summary import PtrInfo


@dataclass(frozen=True, slots=True)
class DomainDigest:
    domain: str
    display: str
    snapshot: Snapshot
    posture: Posture
    changes: Changes
    figures: DomainFigures | None
    """None when no aggregate report for the domain begins in the period."""


@dataclass(frozen=True, slots=True)
class Digest:
    period: Period
    recipients: tuple[str, ...]
    generated_at: datetime
    last_digest: Marker | None
    domains: tuple[DomainDigest, ...]

    @property
    def list_key(self) -> str:
        return list_key(self.recipients)

    @property
    def new_senders(self) -> int:
        return sum(d.figures.new_senders for d in self.domains if d.figures)

    def new_findings(self, severity: Severity) -> int:
        return sum(d.changes.new_count(severity) for d in self.domains)

    @property
    def last_snapshot(self) -> int:
        return max((d.snapshot.id or 0 for d in self.domains), default=0)


def build_digest(
    store: Store,
    reports: Sequence[DomainReport],
    period: Period,
    recipients: Sequence[str],
    now: datetime,
    *,
    ptrs: Mapping[str, PtrInfo] | None = None,
    tool_version: str = "",
) -> Digest:
    """Snapshot ``reports`` (saved in ``store``) and assemble the digest for ``period``."""
    snapshots = SnapshotStore(store)
    marker = snapshots.marker(list_key(recipients))
    saved = snapshots.save([capture(r, now, tool_version) for r in reports])
    domains = []
    for report, snap in zip(reports, saved, strict=True):
        baseline = snapshots.baseline(snap.domain, marker.last_snapshot) if marker else None
        figures = None
        if _has_reports(store, snap.domain, period):
            figures = domain_figures(
                store, snap.domain, period, ptrs=ptrs, published=own_dmarc_record(snap)
            )
        domains.append(
            DomainDigest(
                snap.domain,
                report.domain.display,
                snap,
                posture_of(snap),
                compare(baseline, snap),
                figures,
            )
        )
    return Digest(period, tuple(recipients), now, marker, tuple(domains))


def mark_sent(store: Store, digest: Digest, sent_at: datetime) -> Marker:
    """Record that ``digest`` reached its recipients (the next one compares with it)."""
    return SnapshotStore(store).advance(
        digest.list_key, digest.recipients, digest.last_snapshot, digest.period.until, sent_at
    )


def own_dmarc_record(snapshot: Snapshot) -> str | None:
    """The DMARC record published at ``_dmarc.<domain>`` itself, when the run read one."""
    record = snapshot.record("dmarc")
    if record is None or record.state is not RecordState.FOUND:
        return None
    return record.text if record.name == f"_dmarc.{snapshot.domain}" else None


def _has_reports(store: Store, domain: str, period: Period) -> bool:
    from dmarc_audit.reports.store import period_where

    where, args = period_where("", domain, period.since, period.until)
    row = store.connection.execute(
        f"SELECT 1 FROM aggregate_reports {where} LIMIT 1", args
    ).fetchone()
    return row is not None
