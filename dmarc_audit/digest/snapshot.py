"""Posture snapshots and digest markers, kept in the report store.

A :class:`Snapshot` is what one audit run found for one domain: the findings that
count (after the policy file's select/ignore/severity rules), the published record
texts (SPF, DMARC, MX, DKIM per selector tried) each with its state, and which
areas could be checked. A :class:`Marker` remembers, per recipient list, the newest
snapshot and the period end its last *successfully sent* digest covered.

Tables ``snapshots`` and ``digest_markers`` come from migration 2
(:mod:`dmarc_audit.reports.migrations`); their JSON is described in docs/digest.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.dmarc.facts import DiscoveryStatus
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.reports.store import Store, to_ts

if TYPE_CHECKING:
    from dmarc_audit.report import DomainReport

CORE_AREAS = ("spf", "dmarc", "dkim", "mx")
OTHER_AREA = "other"
"""Every check id outside the four core areas (mtasts., tlsrpt., policy., …)."""


class PostureState(str, Enum):
    """How much of a domain's posture one run could check."""

    CHECKED = "checked"
    PARTIAL = "partial"
    """Some lookups failed (an SPF include timed out, a DKIM selector SERVFAILed)."""
    COULD_NOT_CHECK = "could-not-check"
    """The domain's own SPF, DMARC and MX lookups all failed: DNS was not reachable."""


class RecordState(str, Enum):
    FOUND = "found"
    ABSENT = "absent"
    INVALID = "invalid"
    """There, but not one usable record (several SPF records, for example)."""
    UNKNOWN = "unknown"
    """The lookup failed: whether a record exists is not known."""


@dataclass(frozen=True, slots=True)
class RecordText:
    """One published record as a run saw it."""

    state: RecordState
    text: str | None = None
    name: str | None = None
    """The DNS name it was read from."""

    def to_json(self) -> dict[str, object]:
        return {"state": self.state.value, "text": self.text, "name": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RecordText:
        text, name = data.get("text"), data.get("name")
        return cls(
            RecordState(str(data["state"])),
            text if isinstance(text, str) else None,
            name if isinstance(name, str) else None,
        )


@dataclass(frozen=True, slots=True)
class FindingFact:
    """The part of a finding a digest shows and compares (by ``(id, subject)``)."""

    id: str
    severity: Severity
    status: Status
    subject: str
    message: str
    record: str | None = None
    remediation: str = ""
    suggested_record: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.subject)

    @property
    def area(self) -> str:
        head = self.id.split(".", 1)[0]
        return head if head in CORE_AREAS else OTHER_AREA

    @classmethod
    def of(cls, finding: Finding) -> FindingFact:
        return cls(
            finding.id,
            finding.severity,
            finding.status,
            finding.subject,
            finding.message,
            finding.record,
            finding.remediation,
            finding.suggested_record,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "status": self.status.value,
            "subject": self.subject,
            "message": self.message,
            "record": self.record,
            "remediation": self.remediation,
            "suggested_record": self.suggested_record,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FindingFact:
        def opt(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            str(data["id"]),
            Severity(str(data["severity"])),
            Status(str(data["status"])),
            str(data["subject"]),
            str(data.get("message", "")),
            opt("record"),
            str(data.get("remediation") or ""),
            opt("suggested_record"),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One domain's posture at one audit run."""

    domain: str
    run_at: datetime
    state: PostureState
    findings: tuple[FindingFact, ...]
    records: tuple[tuple[str, RecordText], ...]
    """``(key, record)`` pairs: ``spf``, ``dmarc``, ``mx``, ``dkim:<selector>``."""
    checked: frozenset[str]
    """Areas (:data:`CORE_AREAS` and ``other``) whose lookups all answered."""
    tool_version: str = ""
    id: int | None = field(default=None, compare=False)

    def record(self, key: str) -> RecordText | None:
        return next((r for k, r in self.records if k == key), None)

    @property
    def failing(self) -> tuple[FindingFact, ...]:
        """Findings about a problem that is there (not the ones that could not be checked)."""
        return tuple(f for f in self.findings if f.status is Status.FAIL)

    @property
    def unknown(self) -> tuple[FindingFact, ...]:
        return tuple(f for f in self.findings if f.status is Status.UNKNOWN)

    def records_json(self) -> dict[str, object]:
        return {
            "records": {k: r.to_json() for k, r in self.records},
            "checked": sorted(self.checked),
        }


def capture(report: DomainReport, run_at: datetime, tool_version: str = "") -> Snapshot:
    """The snapshot of one audited domain (pass the gated report: findings that count)."""
    records: list[tuple[str, RecordText]] = []
    checked: set[str] = set()
    domain = report.domain.ascii
    spf, dmarc, dkim, mx = report.spf, report.dmarc, report.dkim, report.mx
    if spf is not None:
        records.append(("spf", _spf_text(spf.record, spf.status.value, domain)))
        if spf.status.value != "temperror":
            checked.add("spf")
    if dmarc is not None:
        records.append(("dmarc", _dmarc_text(dmarc)))
        if dmarc.status is not DiscoveryStatus.UNKNOWN:
            checked.add("dmarc")
    if mx is not None:
        records.append(("mx", _mx_text(mx, domain)))
        if mx.status != "unknown":
            checked.add("mx")
    if dkim is not None:
        for result in dkim.results:
            records.append((f"dkim:{result.selector}", _dkim_text(result)))
        if not dkim.incomplete:
            checked.add("dkim")
    findings = tuple(FindingFact.of(f) for f in report.findings)
    unknown_areas = {f.area for f in findings if f.status is Status.UNKNOWN}
    checked -= unknown_areas
    if checked >= set(CORE_AREAS) and not any(f.status is Status.UNKNOWN for f in findings):
        checked.add(OTHER_AREA)
    tops = [r for k, r in records if k in ("spf", "dmarc", "mx")]
    if tops and all(r.state is RecordState.UNKNOWN for r in tops):
        state = PostureState.COULD_NOT_CHECK
    elif OTHER_AREA in checked:
        state = PostureState.CHECKED
    else:
        state = PostureState.PARTIAL
    return Snapshot(
        domain, run_at, state, findings, tuple(records), frozenset(checked), tool_version
    )


def _spf_text(record: str | None, status: str, domain: str) -> RecordText:
    if record is not None:
        return RecordText(RecordState.FOUND, record, domain)
    state = {"none": RecordState.ABSENT, "permerror": RecordState.INVALID}.get(
        status, RecordState.UNKNOWN
    )
    return RecordText(state, None, domain)


def _dmarc_text(dmarc) -> RecordText:
    if dmarc.status is DiscoveryStatus.UNKNOWN:
        return RecordText(RecordState.UNKNOWN, None, f"_dmarc.{dmarc.domain}")
    if dmarc.record is None:
        return RecordText(RecordState.ABSENT, None, f"_dmarc.{dmarc.domain}")
    return RecordText(RecordState.FOUND, dmarc.record.text, dmarc.record_name)


def _mx_text(mx, domain: str) -> RecordText:
    status = str(mx.status)
    if status == "unknown":
        return RecordText(RecordState.UNKNOWN, None, domain)
    if not mx.hosts:
        return RecordText(RecordState.ABSENT, None, domain)
    text = ", ".join(f"{h.preference} {h.exchange}" for h in mx.hosts)
    return RecordText(RecordState.FOUND, text, domain)


def _dkim_text(result) -> RecordText:
    status = result.status.value
    if status == "found":
        return RecordText(RecordState.FOUND, " | ".join(result.records), result.name)
    if status == "unknown":
        return RecordText(RecordState.UNKNOWN, None, result.name)
    if status == "dangling-cname":
        return RecordText(RecordState.INVALID, None, result.name)
    return RecordText(RecordState.ABSENT, None, result.name)


# --- markers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Marker:
    """Where the last digest sent to one recipient list left off."""

    list_key: str
    recipients: tuple[str, ...]
    last_snapshot: int
    period_end: datetime
    sent_at: datetime


def list_key(recipients: Sequence[str]) -> str:
    """The same recipients in any order or case make the same list."""
    return ",".join(sorted({r.strip().lower() for r in recipients}))


# --- the store side ----------------------------------------------------------


class SnapshotStore:
    """Snapshots and markers in a report :class:`~dmarc_audit.reports.store.Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn = store.connection

    def save(self, snapshots: Sequence[Snapshot]) -> tuple[Snapshot, ...]:
        """Store one run's snapshots in one transaction; returns them with their ids."""
        saved = []
        with self._store.transaction() as conn:
            for snap in snapshots:
                cur = conn.execute(
                    "INSERT INTO snapshots (run_ts, domain, state, tool_version, findings, "
                    "records) VALUES (?,?,?,?,?,?) RETURNING id",
                    (
                        to_ts(snap.run_at),
                        snap.domain,
                        snap.state.value,
                        snap.tool_version,
                        json.dumps([f.to_json() for f in snap.findings], ensure_ascii=False),
                        json.dumps(snap.records_json(), ensure_ascii=False),
                    ),
                )
                saved.append(_with_id(snap, int(cur.fetchone()[0])))
        return tuple(saved)

    def baseline(self, domain: str, up_to: int) -> Snapshot | None:
        """The newest snapshot of ``domain`` with id ≤ ``up_to`` that reached DNS."""
        row = self._conn.execute(
            "SELECT id, run_ts, domain, state, tool_version, findings, records FROM snapshots "
            "WHERE domain = ? AND id <= ? AND state != ? ORDER BY id DESC LIMIT 1",
            (domain, up_to, PostureState.COULD_NOT_CHECK.value),
        ).fetchone()
        return None if row is None else _snapshot(row)

    def get(self, snapshot_id: int) -> Snapshot | None:
        row = self._conn.execute(
            "SELECT id, run_ts, domain, state, tool_version, findings, records FROM snapshots "
            "WHERE id = ?",
            (snapshot_id,),
        ).fetchone()
        return None if row is None else _snapshot(row)

    def marker(self, key: str) -> Marker | None:
        row = self._conn.execute(
            "SELECT list_key, recipients, last_snapshot, period_end, sent_at "
            "FROM digest_markers WHERE list_key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return Marker(
            row[0],
            tuple(json.loads(row[1])),
            row[2],
            _moment(row[3]),
            _moment(row[4]),
        )

    def advance(
        self,
        key: str,
        recipients: Sequence[str],
        last_snapshot: int,
        period_end: datetime,
        sent_at: datetime,
    ) -> Marker:
        """Move the list's marker forward (never back) after a digest was sent."""
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO digest_markers (list_key, recipients, last_snapshot, period_end, "
                "sent_at) VALUES (?,?,?,?,?) ON CONFLICT (list_key) DO UPDATE SET "
                "recipients = excluded.recipients, "
                "last_snapshot = CASE WHEN digest_markers.last_snapshot > excluded.last_snapshot "
                "THEN digest_markers.last_snapshot ELSE excluded.last_snapshot END, "
                "period_end = CASE WHEN digest_markers.period_end > excluded.period_end "
                "THEN digest_markers.period_end ELSE excluded.period_end END, "
                "sent_at = excluded.sent_at",
                (
                    key,
                    json.dumps(list(recipients)),
                    last_snapshot,
                    to_ts(period_end),
                    to_ts(sent_at),
                ),
            )
        marker = self.marker(key)
        assert marker is not None
        return marker


def _with_id(snap: Snapshot, snapshot_id: int) -> Snapshot:
    return Snapshot(
        snap.domain,
        snap.run_at,
        snap.state,
        snap.findings,
        snap.records,
        snap.checked,
        snap.tool_version,
        snapshot_id,
    )


def _snapshot(row: tuple) -> Snapshot:
    snapshot_id, run_ts, domain, state, version, findings, records = row
    data = json.loads(records)
    return Snapshot(
        domain=domain,
        run_at=_moment(run_ts),
        state=PostureState(state),  # type: ignore[arg-type]
        findings=tuple(FindingFact.from_json(f) for f in json.loads(findings)),
        records=tuple((k, RecordText.from_json(v)) for k, v in data["records"].items()),
        checked=frozenset(data.get("checked", ())),
        tool_version=version,
        id=snapshot_id,
    )


def _moment(ts: int) -> datetime:
    """A stored timestamp (seconds, UTC; never null in these tables)."""
    return datetime.fromtimestamp(ts, UTC)
