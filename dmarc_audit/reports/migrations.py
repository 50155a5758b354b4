"""The report store's schema, as an ordered list of migrations.

``PRAGMA user_version`` (SQLite) or the table ``dmarc_audit_schema`` (PostgreSQL)
holds the number of the last migration applied. Statements are written in SQLite's
dialect; the PostgreSQL store maps their types (see
:func:`dmarc_audit.reports.postgres.pg_ddl`), so keep to INTEGER, TEXT, REAL, BLOB,
``INTEGER PRIMARY KEY``, UNIQUE, REFERENCES and plain indexes. A new
feature appends a :class:`Migration`; applied migrations never change. The layout
is documented in docs/reports.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmarc_audit.reports.database import Database


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``version`` is what ``user_version`` reads after it."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "aggregate, failure and SMTP TLS reports",
        (
            """CREATE TABLE aggregate_reports (
            id INTEGER PRIMARY KEY,
            org_name TEXT NOT NULL,
            report_id TEXT NOT NULL,
            domain TEXT NOT NULL,
            email TEXT,
            extra_contact TEXT,
            begin_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            schema TEXT NOT NULL,
            policy_p TEXT,
            policy_sp TEXT,
            policy_np TEXT,
            policy_adkim TEXT,
            policy_aspf TEXT,
            policy_pct INTEGER,
            policy_fo TEXT,
            policy_testing TEXT,
            policy_discovery TEXT,
            generator TEXT,
            errors TEXT NOT NULL DEFAULT '[]',
            warnings TEXT NOT NULL DEFAULT '[]',
            skipped_records INTEGER NOT NULL DEFAULT 0,
            record_count INTEGER NOT NULL DEFAULT 0,
            message_count INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            ingested_at INTEGER NOT NULL,
            UNIQUE (org_name, report_id, domain)
        )""",
            "CREATE INDEX aggregate_reports_domain_begin ON aggregate_reports (domain, begin_ts)",
            "CREATE INDEX aggregate_reports_begin ON aggregate_reports (begin_ts)",
            """CREATE TABLE auth_sets (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE
        )""",
            """CREATE TABLE auth_results (
            auth_set INTEGER NOT NULL REFERENCES auth_sets (id),
            position INTEGER NOT NULL,
            method TEXT NOT NULL,
            domain TEXT NOT NULL,
            result TEXT NOT NULL,
            selector TEXT,
            scope TEXT,
            human_result TEXT,
            PRIMARY KEY (auth_set, position)
        ) WITHOUT ROWID""",
            """CREATE TABLE aggregate_records (
            id INTEGER PRIMARY KEY,
            report INTEGER NOT NULL REFERENCES aggregate_reports (id) ON DELETE CASCADE,
            source_ip TEXT NOT NULL,
            count INTEGER NOT NULL,
            disposition TEXT NOT NULL,
            dkim_aligned TEXT NOT NULL,
            spf_aligned TEXT NOT NULL,
            header_from TEXT NOT NULL,
            envelope_from TEXT,
            envelope_to TEXT,
            reasons TEXT,
            auth_set INTEGER REFERENCES auth_sets (id)
        )""",
            "CREATE INDEX aggregate_records_report ON aggregate_records (report)",
            """CREATE TABLE failure_reports (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            feedback_type TEXT NOT NULL,
            arrival_ts INTEGER,
            reported_domain TEXT,
            source_ip TEXT,
            original_mail_from TEXT,
            original_rcpt_to TEXT,
            auth_failure TEXT,
            delivery_result TEXT,
            authentication_results TEXT,
            dkim_domain TEXT,
            subject TEXT,
            header_from TEXT,
            reporter TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            ingested_at INTEGER NOT NULL
        )""",
            "CREATE INDEX failure_reports_domain_arrival "
            "ON failure_reports (reported_domain, arrival_ts)",
            """CREATE TABLE tls_reports (
            id INTEGER PRIMARY KEY,
            org_name TEXT NOT NULL,
            report_id TEXT NOT NULL,
            begin_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            contact TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            ingested_at INTEGER NOT NULL,
            UNIQUE (org_name, report_id)
        )""",
            """CREATE TABLE tls_policies (
            id INTEGER PRIMARY KEY,
            report INTEGER NOT NULL REFERENCES tls_reports (id) ON DELETE CASCADE,
            policy_type TEXT NOT NULL,
            policy_domain TEXT NOT NULL,
            successful INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            failure_details TEXT NOT NULL DEFAULT '[]'
        )""",
            "CREATE INDEX tls_policies_report ON tls_policies (report)",
        ),
    ),
    Migration(
        2,
        "posture snapshots and digest markers",
        (
            # one row per domain per audit run of `digest`; state: checked, partial or
            # could-not-check; findings: JSON list; records: JSON object (see docs/digest.md)
            """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            run_ts INTEGER NOT NULL,
            domain TEXT NOT NULL,
            state TEXT NOT NULL,
            tool_version TEXT NOT NULL,
            findings TEXT NOT NULL,
            records TEXT NOT NULL
        )""",
            "CREATE INDEX snapshots_domain ON snapshots (domain, id)",
            # one row per recipient list: the newest snapshot and period end its last
            # successfully sent digest covered
            """CREATE TABLE digest_markers (
            list_key TEXT PRIMARY KEY,
            recipients TEXT NOT NULL,
            last_snapshot INTEGER NOT NULL,
            period_end INTEGER NOT NULL,
            sent_at INTEGER NOT NULL
        )""",
        ),
    ),
    Migration(
        3,
        "IMAP messages whose reports are all stored",
        (
            # one row per message of a mailbox (imap://user@host:port/folder) that was
            # ingested; written after its reports commit, before it is moved or flagged
            """CREATE TABLE imap_messages (
            mailbox TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            done_at INTEGER NOT NULL,
            PRIMARY KEY (mailbox, uidvalidity, uid)
        )""",
        ),
    ),
    Migration(
        4,
        "sender inventory: first and last sighting per domain and source, per domain and sender",
        (
            # one row per (policy domain, source IP) ever reported: kept up to date by
            # every aggregate report stored, so "new" means new for the domain
            """CREATE TABLE source_history (
            domain TEXT NOT NULL,
            source_ip TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            PRIMARY KEY (domain, source_ip)
        )""",
            "INSERT INTO source_history (domain, source_ip, first_seen, last_seen, messages) "
            "SELECT rep.domain, r.source_ip, MIN(rep.begin_ts), MAX(rep.end_ts), SUM(r.count) "
            "FROM aggregate_records r JOIN aggregate_reports rep ON rep.id = r.report "
            "GROUP BY rep.domain, r.source_ip",
            # one row per (policy domain, named sender): sender_key as in the summary's
            # sender table (provider:sendgrid, declared:Franchise Lyon, spf:<include>)
            """CREATE TABLE sender_inventory (
            domain TEXT NOT NULL,
            sender_key TEXT NOT NULL,
            name TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            PRIMARY KEY (domain, sender_key)
        )""",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version


class SchemaTooNew(Exception):
    """The database was written by a newer dmarc-audit."""

    def __init__(self, found: int) -> None:
        super().__init__(f"schema version {found}, this dmarc-audit knows up to {LATEST}")
        self.found = found


def user_version(db: Database) -> int:
    """The number of the last migration applied (SQLite's ``user_version``)."""
    return db.schema_version()


def migrate(db: Database) -> list[int]:
    """Bring the schema to :data:`LATEST`; returns the versions applied.

    Runs in one write transaction and re-reads the version under the write lock,
    so two processes opening a new store at once migrate once. Each statement is
    written for SQLite and put in the engine's dialect by ``db.ddl``.
    """
    found = db.schema_version()
    if found > LATEST:
        raise SchemaTooNew(found)
    if found == LATEST:
        return []
    applied = []
    with db.migration_transaction():
        current = db.schema_version()
        if current > LATEST:
            raise SchemaTooNew(current)
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                db.execute(db.ddl(statement))
            db.set_schema_version(migration.version)
            applied.append(migration.version)
    return applied
