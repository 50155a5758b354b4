"""The one seam between the report store and a database engine.

Everything that reads or writes the store (:class:`~dmarc_audit.reports.store.Store`,
the summary, the digest, the sender table, IMAP progress, export) talks to a
:class:`Database`: portable SQL with ``?`` placeholders, ``RETURNING id`` instead
of ``lastrowid``, ``CASE`` instead of SQLite's scalar ``MAX(a, b)`` or MAX over a
comparison. Two engines implement it: :class:`SqliteDatabase` here and
:class:`~dmarc_audit.reports.postgres.PostgresDatabase` (psycopg, imported only
for a ``postgresql://`` store).

Engine errors are turned into :class:`DatabaseError` (a :class:`StoreError`) here
and only here, with the engine's text made readable and any credential redacted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol


class StoreError(Exception):
    """The store cannot be opened or written (not a database, locked, read-only, full)."""


class DatabaseError(StoreError):
    """The database engine refused a statement (the message is the engine's, readable)."""


class Rows(Protocol):
    """What :meth:`Database.execute` returns: a DB-API cursor, as far as we use one."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """A connection to one report store, in autocommit mode outside :meth:`transaction`."""

    kind: str
    """``sqlite`` or ``postgresql``."""
    location: str
    """Where the store is, safe to print (no credentials)."""

    def execute(self, sql: str, args: Sequence[object] = ()) -> Rows:
        """Run one statement (``?`` placeholders); engine errors become DatabaseError."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Insert many rows at once, the engine's fastest way (COPY on PostgreSQL)."""
        ...

    def transaction(self) -> Any:
        """A context manager: one write transaction, committed whole or rolled back.

        Writers are serialized (SQLite's write lock, an advisory lock on
        PostgreSQL), so two ingests never deadlock and the second one finds the
        first one's reports as duplicates.
        """
        ...

    def schema_version(self) -> int: ...

    def set_schema_version(self, version: int) -> None:
        """Inside the migration transaction only."""
        ...

    def migration_transaction(self) -> Any:
        """A context manager: the write transaction migrations run in."""
        ...

    def ddl(self, statement: str) -> str:
        """A migration statement (written for SQLite) in this engine's dialect."""
        ...

    def close(self) -> None: ...


def sqlite_error_text(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "report store busy: another ingest held it too long; run again later"
    return text


class SqliteDatabase:
    """A SQLite file: WAL, ``synchronous=NORMAL``, a busy timeout, ``BEGIN IMMEDIATE``."""

    kind = "sqlite"

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.location = str(path)
        self._conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            self._conn.close()
            raise

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection (tests and PRAGMAs)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise DatabaseError(sqlite_error_text(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise DatabaseError(sqlite_error_text(exc)) from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        marks = ",".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @contextmanager
    def transaction(self) -> Iterator[SqliteDatabase]:
        self.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self._conn.in_transaction:
                with suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    migration_transaction = transaction

    def schema_version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def ddl(self, statement: str) -> str:
        return statement

    def close(self) -> None:
        self._conn.close()
