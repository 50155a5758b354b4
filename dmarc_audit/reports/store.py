"""The report store: SQLite or PostgreSQL, one transaction per report, no duplicates.

Aggregate reports are keyed by (reporter org, report id, policy domain), SMTP TLS
reports by (org, report id), failure reports by a fingerprint of their fields.
Storing a report either commits all of it or nothing: the records are streamed
from the report's one-pass iterator into ``executemany`` batches inside the
report's ``BEGIN IMMEDIATE`` transaction, and any exception rolls it back.

A record's ``auth_results`` are stored once per distinct set (``auth_sets``):
thousands of records share "DKIM pass d=shop.example s=s1; SPF pass", so each
record carries a set id instead of its own rows.

WAL journaling, ``synchronous=NORMAL`` and a busy timeout let two ingests (two
cron jobs) share a store: the second writer waits for the first one's report to
commit, then finds duplicates already stored. The schema is in
:mod:`dmarc_audit.reports.migrations` and documented in docs/reports.md.

A ``postgresql://`` target opens the same store in PostgreSQL
(:mod:`dmarc_audit.reports.postgres`); all SQL goes through the
:class:`~dmarc_audit.reports.database.Database` seam, so it is written once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from dmarc_audit.reports.database import Database, DatabaseError, SqliteDatabase, StoreError
from dmarc_audit.reports.migrations import SchemaTooNew, migrate
from dmarc_audit.reports.model import (
    AggregateRecord,
    AggregateReport,
    AuthResult,
    FailureReport,
    PolicyPublished,
    Report,
    ReportKind,
    TlsReport,
)

BATCH_SIZE = 5000
"""Records per ``executemany`` call."""
BUSY_TIMEOUT = 300.0
"""Seconds a writer waits for another writer's report to commit."""
AUTH_CACHE_SIZE = 100_000
"""Auth-result sets whose ids a Store remembers between reports."""

AuthSet = tuple[AuthResult, ...]


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/dmarc-audit/reports.sqlite3``, else ``~/.local/share/dmarc-audit/…``."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "dmarc-audit" / "reports.sqlite3"


__all__ = ["DatabaseError", "Store", "StoreError", "is_postgres_url"]


def is_postgres_url(target: object) -> bool:
    """Whether ``--db`` names a PostgreSQL store (``postgresql://…`` or ``postgres://…``)."""
    return isinstance(target, str) and target.lower().startswith(("postgresql://", "postgres://"))


class StoreOutcome(str, Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one report did."""

    outcome: StoreOutcome
    kind: ReportKind
    row_id: int
    """The stored row (the earlier one for a duplicate)."""
    key: str
    """The deduplication key, readable: ``org / report-id / domain``."""
    records: int = 0
    messages: int = 0


def to_ts(moment: datetime) -> int:
    """Unix seconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def from_ts(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _iso(ts: int | None) -> str | None:
    moment = from_ts(ts)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def norm_domain(name: str | None) -> str:
    return (name or "").strip().lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class StoredAggregate:
    """An aggregate report's stored metadata (its records come from :meth:`Store.records`)."""

    id: int
    org_name: str
    report_id: str
    domain: str
    email: str | None
    extra_contact: str | None
    begin: datetime
    end: datetime
    schema: str
    policy: PolicyPublished
    generator: str | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    skipped_records: int
    records: int
    messages: int
    source: str
    ingested_at: datetime

    def to_json(self, full: bool = False) -> dict[str, object]:
        doc: dict[str, object] = {
            "id": self.id,
            "org_name": self.org_name,
            "report_id": self.report_id,
            "domain": self.domain,
            "begin": _iso(to_ts(self.begin)),
            "end": _iso(to_ts(self.end)),
            "records": self.records,
            "messages": self.messages,
        }
        if full:
            policy = {k: getattr(self.policy, k) for k in PolicyPublished.__slots__}
            doc.update(
                {
                    "email": self.email,
                    "extra_contact": self.extra_contact,
                    "schema": self.schema,
                    "policy_published": policy,
                    "generator": self.generator,
                    "errors": list(self.errors),
                    "warnings": list(self.warnings),
                    "skipped_records": self.skipped_records,
                    "source": self.source,
                    "ingested_at": _iso(to_ts(self.ingested_at)),
                }
            )
        return doc


@dataclass(frozen=True, slots=True)
class StoredFailure:
    id: int
    feedback_type: str
    arrival: datetime | None
    reported_domain: str | None
    source_ip: str | None
    auth_failure: str | None
    header_from: str | None
    reporter: str | None
    subject: str | None
    source: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "feedback_type": self.feedback_type,
            "arrival": _iso(to_ts(self.arrival)) if self.arrival else None,
            "reported_domain": self.reported_domain,
            "source_ip": self.source_ip,
            "auth_failure": self.auth_failure,
            "header_from": self.header_from,
            "reporter": self.reporter,
            "subject": self.subject,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class StoredTls:
    id: int
    org_name: str
    report_id: str
    begin: datetime
    end: datetime
    policies: int
    successful: int
    failed: int
    source: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "org_name": self.org_name,
            "report_id": self.report_id,
            "begin": _iso(to_ts(self.begin)),
            "end": _iso(to_ts(self.end)),
            "policies": self.policies,
            "successful": self.successful,
            "failed": self.failed,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class StoreTotals:
    aggregate_reports: int
    records: int
    messages: int
    failure_reports: int
    tls_reports: int


_AGG_COLUMNS = (
    "id, org_name, report_id, domain, email, extra_contact, begin_ts, end_ts, schema, "
    "policy_p, policy_sp, policy_np, policy_adkim, policy_aspf, policy_pct, policy_fo, "
    "policy_testing, policy_discovery, generator, errors, warnings, skipped_records, "
    "record_count, message_count, source, ingested_at"
)


class Store:
    """One report store (a SQLite file or a PostgreSQL database). One per thread.

    ``target`` is a path, or a ``postgresql://user@host[:port]/dbname`` URL
    (``password`` then comes from the caller, ``PGPASSWORD`` or ``PGPASSFILE``).
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT,
        batch_size: int = BATCH_SIZE,
        password: str | None = None,
    ) -> None:
        self.batch_size = batch_size
        self._auth_ids: dict[AuthSet, int] = {}
        """Committed auth sets only: a rolled-back transaction's ids never get here."""
        self._db: Database
        self.path: Path | None = None
        """The SQLite file (None for PostgreSQL)."""
        self.target = str(target)
        """What was opened: a path or the URL (may name a user, never a password)."""
        self.location = self.target
        """Where the store is, safe to print."""
        if is_postgres_url(target):
            self._open_postgres(str(target), create, busy_timeout, password)
        else:
            self._open_sqlite(Path(target), create, busy_timeout)

    def _open_postgres(
        self, url: str, create: bool, busy_timeout: float, password: str | None
    ) -> None:
        from dmarc_audit.reports.postgres import PostgresDatabase

        db = PostgresDatabase(url, password=password, busy_timeout=busy_timeout)
        self.location = db.location
        try:
            if not create and db.schema_version() == 0:
                raise StoreError(
                    f"no report store in {db.location} (run 'dmarc-audit reports ingest' first)"
                )
            migrate(db)
        except SchemaTooNew as exc:
            db.close()
            raise StoreError(f"{db.location}: {exc}; upgrade dmarc-audit") from None
        except StoreError as exc:
            db.close()
            if isinstance(exc, DatabaseError):
                raise StoreError(f"cannot use {db.location} as a report store: {exc}") from None
            raise
        self._db = db

    def _open_sqlite(self, path: Path, create: bool, busy_timeout: float) -> None:
        self.path = path
        if not create and not path.exists():
            raise StoreError(f"no report store at {path} (run 'dmarc-audit reports ingest' first)")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from None
        try:
            db = SqliteDatabase(str(path), busy_timeout)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use {path} as a report store: {exc}") from None
        try:
            migrate(db)
        except SchemaTooNew as exc:
            db.close()
            raise StoreError(f"{path}: {exc}; upgrade dmarc-audit") from None
        except StoreError as exc:
            db.close()
            raise StoreError(f"cannot use {path} as a report store: {exc}") from None
        self._db = db

    # --- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.kind

    @property
    def connection(self) -> Database:
        """The database, for read queries in portable SQL (``?`` placeholders).

        Writes go through ``add`` or :meth:`transaction`.
        """
        return self._db

    def transaction(self) -> AbstractContextManager[Database]:
        """One write transaction yielding the :class:`Database`, committed whole or
        rolled back; writers are serialized."""
        return self._db.transaction()

    # --- writing -----------------------------------------------------------

    def add(self, report: Report) -> StoreResult:
        """Store any report kind; see :meth:`add_aggregate`."""
        if isinstance(report, AggregateReport):
            return self.add_aggregate(report)
        if isinstance(report, FailureReport):
            return self.add_failure(report)
        if isinstance(report, TlsReport):
            return self.add_tls(report)
        raise TypeError(f"not a report: {type(report).__name__}")

    def add_aggregate(self, report: AggregateReport) -> StoreResult:
        """Store the report and all its records in one transaction, or find it stored.

        Consumes ``report.records``. A duplicate's records are not read. If the
        iterator raises, nothing of this report is stored and the exception
        propagates.
        """
        meta = report.meta
        policy = meta.policy
        org, rid, domain = meta.org_name.strip(), meta.report_id.strip(), norm_domain(policy.domain)
        key = f"{org} / {rid} / {domain}"
        if not org or not rid or not domain:
            _close(report.records)
            raise StoreError(f"report lacks org_name, report_id or policy domain ({key})")
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO aggregate_reports (org_name, report_id, domain, email, "
                "extra_contact, begin_ts, end_ts, schema, policy_p, policy_sp, policy_np, "
                "policy_adkim, policy_aspf, policy_pct, policy_fo, policy_testing, "
                "policy_discovery, generator, errors, source, ingested_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (org_name, report_id, domain) DO NOTHING RETURNING id",
                (
                    org,
                    rid,
                    domain,
                    meta.email,
                    meta.extra_contact,
                    to_ts(meta.begin),
                    to_ts(meta.end),
                    meta.schema.value,
                    policy.p,
                    policy.sp,
                    policy.np,
                    policy.adkim,
                    policy.aspf,
                    policy.pct,
                    policy.fo,
                    policy.testing,
                    policy.discovery_method,
                    meta.generator,
                    json.dumps(list(meta.errors)),
                    report.source,
                    int(time.time()),
                ),
            )
            inserted = cur.fetchone()
            if inserted is None:
                _close(report.records)
                row = conn.execute(
                    "SELECT id, record_count, message_count FROM aggregate_reports "
                    "WHERE org_name = ? AND report_id = ? AND domain = ?",
                    (org, rid, domain),
                ).fetchone()
                return StoreResult(
                    StoreOutcome.DUPLICATE, ReportKind.AGGREGATE, row[0], key, row[1], row[2]
                )
            report_row = int(inserted[0])
            seen: dict[str, int] = {}
            records, messages, new_sets = self._insert_records(
                conn, report_row, report.records, seen
            )
            _note_sources(conn, domain, to_ts(meta.begin), to_ts(meta.end), seen)
            conn.execute(
                "UPDATE aggregate_reports SET record_count = ?, message_count = ?, "
                "warnings = ?, skipped_records = ? WHERE id = ?",
                (
                    records,
                    messages,
                    json.dumps([str(w) for w in report.warnings]),
                    report.skipped_records,
                    report_row,
                ),
            )
        if len(self._auth_ids) + len(new_sets) > AUTH_CACHE_SIZE:
            self._auth_ids.clear()
        self._auth_ids.update(new_sets)
        return StoreResult(
            StoreOutcome.STORED, ReportKind.AGGREGATE, report_row, key, records, messages
        )

    def _insert_records(
        self,
        conn: Database,
        report_row: int,
        records: Iterator[AggregateRecord],
        seen: dict[str, int],
    ) -> tuple[int, int, dict]:
        """Insert in batches; returns (records, messages, auth sets new to the cache).

        ``seen`` gets the messages per source IP.
        """
        known = self._auth_ids
        new_sets: dict[AuthSet, int] = {}
        rows: list[tuple] = []
        count = messages = 0
        dumps = json.dumps
        for rec in records:
            auth = rec.auth_results
            set_id = None
            if auth:
                set_id = known.get(auth) or new_sets.get(auth)
                if set_id is None:
                    set_id = new_sets[auth] = _auth_set_id(conn, auth)
            rows.append(
                (
                    report_row,
                    rec.source_ip,
                    rec.count,
                    rec.disposition,
                    rec.dkim_aligned,
                    rec.spf_aligned,
                    rec.header_from,
                    rec.envelope_from,
                    rec.envelope_to,
                    dumps(rec.reasons) if rec.reasons else None,
                    set_id,
                )
            )
            count += 1
            messages += rec.count
            seen[rec.source_ip] = seen.get(rec.source_ip, 0) + rec.count
            if len(rows) >= self.batch_size:
                _insert_rows(conn, rows)
        _insert_rows(conn, rows)
        return count, messages, new_sets

    def add_failure(self, report: FailureReport) -> StoreResult:
        """Store a failure report unless one with the same fields is stored."""
        fields = (
            report.feedback_type,
            report.arrival_date and to_ts(report.arrival_date),
            norm_domain(report.reported_domain) or None,
            report.source_ip,
            report.original_mail_from,
            report.original_rcpt_to,
            report.auth_failure,
            report.delivery_result,
            report.authentication_results,
            report.dkim_domain,
            report.subject,
            report.header_from,
            report.reporter,
        )
        fingerprint = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
        key = (
            f"{report.reporter or '?'} / {report.arrival_date or '?'} / "
            f"{report.reported_domain or '?'}"
        )
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO failure_reports (fingerprint, feedback_type, arrival_ts, "
                "reported_domain, source_ip, original_mail_from, original_rcpt_to, "
                "auth_failure, delivery_result, authentication_results, dkim_domain, subject, "
                "header_from, reporter, warnings, source, ingested_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (fingerprint) DO NOTHING RETURNING id",
                (
                    fingerprint,
                    *fields,
                    json.dumps([str(w) for w in report.warnings]),
                    report.source,
                    int(time.time()),
                ),
            )
            inserted = cur.fetchone()
            if inserted is None:
                row = conn.execute(
                    "SELECT id FROM failure_reports WHERE fingerprint = ?", (fingerprint,)
                ).fetchone()
                return StoreResult(StoreOutcome.DUPLICATE, ReportKind.FAILURE, row[0], key, 1, 1)
            row_id = int(inserted[0])
        return StoreResult(StoreOutcome.STORED, ReportKind.FAILURE, row_id, key, 1, 1)

    def add_tls(self, report: TlsReport) -> StoreResult:
        """Store an SMTP TLS report and its policies unless (org, report id) is stored."""
        org, rid = report.org_name.strip(), report.report_id.strip()
        key = f"{org} / {rid}"
        if not org or not rid:
            raise StoreError(f"TLS report lacks organization-name or report-id ({key})")
        sessions = sum(p.successful + p.failed for p in report.policies)
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO tls_reports (org_name, report_id, begin_ts, end_ts, contact, "
                "warnings, source, ingested_at) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT (org_name, report_id) DO NOTHING RETURNING id",
                (
                    org,
                    rid,
                    to_ts(report.begin),
                    to_ts(report.end),
                    report.contact,
                    json.dumps([str(w) for w in report.warnings]),
                    report.source,
                    int(time.time()),
                ),
            )
            inserted = cur.fetchone()
            if inserted is None:
                row = conn.execute(
                    "SELECT id FROM tls_reports WHERE org_name = ? AND report_id = ?", (org, rid)
                ).fetchone()
                return StoreResult(
                    StoreOutcome.DUPLICATE,
                    ReportKind.TLS,
                    row[0],
                    key,
                    len(report.policies),
                    sessions,
                )
            row_id = int(inserted[0])
            conn.executemany(
                "INSERT INTO tls_policies (report, policy_type, policy_domain, successful, "
                "failed, failure_details) VALUES (?,?,?,?,?,?)",
                [
                    (
                        row_id,
                        p.policy_type,
                        norm_domain(p.policy_domain),
                        p.successful,
                        p.failed,
                        json.dumps(list(p.failure_details), default=str),
                    )
                    for p in report.policies
                ],
            )
        return StoreResult(
            StoreOutcome.STORED, ReportKind.TLS, row_id, key, len(report.policies), sessions
        )

    # --- reading -----------------------------------------------------------

    def totals(self) -> StoreTotals:
        agg = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(record_count), 0), COALESCE(SUM(message_count), 0) "
            "FROM aggregate_reports"
        ).fetchone()
        failures = self._db.execute("SELECT COUNT(*) FROM failure_reports").fetchone()[0]
        tls = self._db.execute("SELECT COUNT(*) FROM tls_reports").fetchone()[0]
        return StoreTotals(agg[0], agg[1], agg[2], failures, tls)

    def list_aggregate(
        self,
        domain: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StoredAggregate]:
        """Aggregate reports, oldest first; ``since``/``until`` bound the report's begin."""
        where, args = period_where("", domain, since, until)
        rows = self._db.execute(
            f"SELECT {_AGG_COLUMNS} FROM aggregate_reports {where} ORDER BY begin_ts, id", args
        )
        return [_stored_aggregate(row) for row in rows]

    def get_aggregate(self, row_id: int) -> StoredAggregate | None:
        row = self._db.execute(
            f"SELECT {_AGG_COLUMNS} FROM aggregate_reports WHERE id = ?", (row_id,)
        ).fetchone()
        return None if row is None else _stored_aggregate(row)

    def records(self, report_row: int) -> Iterator[AggregateRecord]:
        """The stored records of one aggregate report, in the order they were read."""
        sets = load_auth_sets(
            self._db,
            "WHERE auth_set IN (SELECT auth_set FROM aggregate_records WHERE report = ?)",
            (report_row,),
        )
        for row in self._db.execute(
            "SELECT source_ip, count, disposition, dkim_aligned, spf_aligned, header_from, "
            "envelope_from, envelope_to, reasons, auth_set FROM aggregate_records "
            "WHERE report = ? ORDER BY id",
            (report_row,),
        ):
            yield record_from_row(row[:9], sets.get(row[9], ()))

    def list_failure(self, domain: str | None = None) -> list[StoredFailure]:
        where, args = ("WHERE reported_domain = ?", [norm_domain(domain)]) if domain else ("", [])
        rows = self._db.execute(
            "SELECT id, feedback_type, arrival_ts, reported_domain, source_ip, auth_failure, "
            f"header_from, reporter, subject, source FROM failure_reports {where} "
            "ORDER BY arrival_ts, id",
            args,
        )
        return [StoredFailure(r[0], r[1], from_ts(r[2]), *r[3:]) for r in rows]

    def list_tls(self, domain: str | None = None) -> list[StoredTls]:
        where, args = "", []
        if domain:
            where = "WHERE t.id IN (SELECT report FROM tls_policies WHERE policy_domain = ?)"
            args = [norm_domain(domain)]
        rows = self._db.execute(
            "SELECT t.id, t.org_name, t.report_id, t.begin_ts, t.end_ts, COUNT(p.id), "
            "COALESCE(SUM(p.successful), 0), COALESCE(SUM(p.failed), 0), t.source "
            f"FROM tls_reports t LEFT JOIN tls_policies p ON p.report = t.id {where} "
            "GROUP BY t.id ORDER BY t.begin_ts, t.id",
            args,
        )
        return [
            StoredTls(r[0], r[1], r[2], from_ts(r[3]), from_ts(r[4]), *r[5:])  # type: ignore[arg-type]
            for r in rows
        ]


_RECORD_COLUMNS = (
    "report",
    "source_ip",
    "count",
    "disposition",
    "dkim_aligned",
    "spf_aligned",
    "header_from",
    "envelope_from",
    "envelope_to",
    "reasons",
    "auth_set",
)


_NOTE_SOURCE = (
    "INSERT INTO source_history (domain, source_ip, first_seen, last_seen, messages) "
    "VALUES (?,?,?,?,?) ON CONFLICT (domain, source_ip) DO UPDATE SET "
    "first_seen = CASE WHEN excluded.first_seen < source_history.first_seen "
    "THEN excluded.first_seen ELSE source_history.first_seen END, "
    "last_seen = CASE WHEN excluded.last_seen > source_history.last_seen "
    "THEN excluded.last_seen ELSE source_history.last_seen END, "
    "messages = source_history.messages + excluded.messages"
)


def _note_sources(conn: Database, domain: str, begin: int, end: int, seen: dict[str, int]) -> None:
    """Keep ``source_history`` (first/last sighting per domain and IP) up to date."""
    if seen:
        conn.executemany(
            _NOTE_SOURCE, [(domain, ip, begin, end, n) for ip, n in sorted(seen.items())]
        )


def _insert_rows(conn: Database, rows: list[tuple]) -> None:
    if rows:
        conn.insert_rows("aggregate_records", _RECORD_COLUMNS, rows)
        rows.clear()


def _auth_set_id(conn: Database, auth: AuthSet) -> int:
    """The id of this set of auth results, stored now if it is new."""
    key = json.dumps(
        [[a.method, a.domain, a.result, a.selector, a.scope, a.human_result] for a in auth]
    )
    inserted = conn.execute(
        "INSERT INTO auth_sets (key) VALUES (?) ON CONFLICT (key) DO NOTHING RETURNING id", (key,)
    ).fetchone()
    if inserted is None:
        return int(conn.execute("SELECT id FROM auth_sets WHERE key = ?", (key,)).fetchone()[0])
    set_id = int(inserted[0])
    conn.executemany(
        "INSERT INTO auth_results VALUES (?,?,?,?,?,?,?,?)",
        [
            (set_id, i, a.method, a.domain, a.result, a.selector, a.scope, a.human_result)
            for i, a in enumerate(auth)
        ],
    )
    return set_id


def load_auth_sets(
    conn: Database, where: str = "", args: Sequence[object] = ()
) -> dict[int, AuthSet]:
    """Auth sets by id; ``where`` filters ``auth_results`` (e.g. ``WHERE auth_set IN (…)``)."""
    sets: dict[int, list[AuthResult]] = {}
    for set_id, method, domain, result, selector, scope, human in conn.execute(
        "SELECT auth_set, method, domain, result, selector, scope, human_result "
        f"FROM auth_results {where} ORDER BY auth_set, position",
        args,
    ):
        sets.setdefault(set_id, []).append(
            AuthResult(method, domain, result, selector, scope, human)
        )
    return {k: tuple(v) for k, v in sets.items()}


def record_from_row(row: tuple, auth: tuple[AuthResult, ...]) -> AggregateRecord:
    """``(source_ip, count, disposition, dkim, spf, header_from, env_from, env_to, reasons)``."""
    reasons = tuple(tuple(pair) for pair in json.loads(row[8])) if row[8] else ()
    return AggregateRecord(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], reasons, auth
    )  # type: ignore[arg-type]


def period_where(
    alias: str, domain: str | None, since: datetime | None, until: datetime | None
) -> tuple[str, list[object]]:
    """A WHERE clause on a report's policy domain and begin time."""
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    args: list[object] = []
    if domain:
        clauses.append(f"{prefix}domain = ?")
        args.append(norm_domain(domain))
    if since is not None:
        clauses.append(f"{prefix}begin_ts >= ?")
        args.append(to_ts(since))
    if until is not None:
        clauses.append(f"{prefix}begin_ts < ?")
        args.append(to_ts(until))
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args


def _stored_aggregate(row: tuple) -> StoredAggregate:
    policy = PolicyPublished(
        row[3], row[9], row[10], row[11], row[12], row[13], row[14], row[15], row[16], row[17]
    )
    return StoredAggregate(
        id=row[0],
        org_name=row[1],
        report_id=row[2],
        domain=row[3],
        email=row[4],
        extra_contact=row[5],
        begin=from_ts(row[6]),  # type: ignore[arg-type]
        end=from_ts(row[7]),  # type: ignore[arg-type]
        schema=row[8],
        policy=policy,
        generator=row[18],
        errors=tuple(json.loads(row[19])),
        warnings=tuple(json.loads(row[20])),
        skipped_records=row[21],
        records=row[22],
        messages=row[23],
        source=row[24],
        ingested_at=from_ts(row[25]),  # type: ignore[arg-type]
    )


def _close(records: object) -> None:
    """Close a generator we will not finish (so the reader releases its file)."""
    close = getattr(records, "close", None)
    if callable(close):
        with suppress(Exception):
            close()
