"""Read report files and store them: a bad file never stops the batch.

Each input file (directories are walked, hidden names skipped; ``-`` is stdin) is
read on its own, so every report and every error is attributed to the file it
came from. A file is *ingested* when every report in it was stored or found
already stored; only then may ``archive_dir`` take it (after the commit). A file
that failed stays where it is, so the next run retries it; duplicates make the
retry harmless.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.reports.model import AggregateReport, Report, ReportError, ReportKind
from dmarc_audit.reports.store import DatabaseError, Store, StoreError, StoreOutcome

Reader = Callable[[Sequence[str], object], Iterable[object]]
"""``read_reports(paths, options)``: yields reports and :class:`ReportError` items."""

WARNINGS_SHOWN = 5
"""Warnings kept per report (the count is always complete)."""


class ReportStatus(str, Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """One report (or one unreadable part) of a file."""

    source: str
    status: ReportStatus
    kind: ReportKind | None = None
    key: str = ""
    row_id: int | None = None
    records: int = 0
    messages: int = 0
    skipped_records: int = 0
    warnings: tuple[str, ...] = ()
    warning_count: int = 0
    error: str | None = None
    omitted: tuple[str, ...] = ()
    """Optional-in-practice elements the report leaves out (not warnings; counted)."""

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "status": self.status.value,
            "kind": self.kind.value if self.kind else None,
            "key": self.key or None,
            "id": self.row_id,
            "records": self.records,
            "messages": self.messages,
            "skipped_records": self.skipped_records,
            "warnings": list(self.warnings),
            "warning_count": self.warning_count,
            "error": self.error,
        }


class FileStatus(str, Enum):
    INGESTED = "ingested"
    FAILED = "failed"
    VANISHED = "vanished"
    """Listed from a directory, gone when its turn came (another ingest archived it)."""


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: str
    status: FileStatus
    reports: tuple[ReportOutcome, ...] = ()
    archived_to: str | None = None
    archive_error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "status": self.status.value,
            "archived_to": self.archived_to,
            "archive_error": self.archive_error,
            "reports": [r.to_json() for r in self.reports],
        }


@dataclass(frozen=True, slots=True)
class IngestOptions:
    archive_dir: Path | None = None
    read_options: object | None = None
    """A ``ReadOptions`` for the reader; None for its defaults."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    files: tuple[FileOutcome, ...]
    seconds: float = 0.0

    @property
    def reports(self) -> list[ReportOutcome]:
        return [r for f in self.files for r in f.reports]

    def count(self, status: ReportStatus) -> int:
        return sum(1 for r in self.reports if r.status is status)

    @property
    def stored(self) -> int:
        return self.count(ReportStatus.STORED)

    @property
    def duplicates(self) -> int:
        return self.count(ReportStatus.DUPLICATE)

    @property
    def failed(self) -> int:
        return self.count(ReportStatus.FAILED)

    def _stored_aggregate(self) -> list[ReportOutcome]:
        return [
            r
            for r in self.reports
            if r.status is ReportStatus.STORED and r.kind is ReportKind.AGGREGATE
        ]

    @property
    def records(self) -> int:
        """Aggregate records stored by this run (not those of duplicates)."""
        return sum(r.records for r in self._stored_aggregate())

    @property
    def messages(self) -> int:
        """Messages in the aggregate records stored by this run."""
        return sum(r.messages for r in self._stored_aggregate())

    @property
    def warnings(self) -> int:
        return sum(r.warning_count for r in self.reports)

    @property
    def skipped_records(self) -> int:
        return sum(r.skipped_records for r in self.reports)

    @property
    def failed_files(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status is FileStatus.FAILED]

    @property
    def exit_status(self) -> ExitStatus:
        """0 when every file was ingested (duplicates are fine), 1 when some failed."""
        return ExitStatus.FINDINGS if self.failed_files else ExitStatus.OK

    def omitted_line(self) -> str | None:
        """One line counting the stored reports that leave out optional-in-practice
        elements (``sp``, ``fo``, ``pct``, ``envelope_from``, ``scope``), or None."""
        counts: dict[str, int] = {}
        reports = 0
        for r in self.reports:
            if r.status is ReportStatus.STORED and r.omitted:
                reports += 1
                for name in r.omitted:
                    counts[name] = counts.get(name, 0) + 1
        if not reports:
            return None
        each = ", ".join(f"<{name}> {counts[name]:,}" for name in sorted(counts))
        return (
            f"{reports:,} report{'s' if reports != 1 else ''} leave out elements most "
            f"reporters omit (not a problem): {each}"
        )

    def summary_line(self) -> str:
        """``12 reports stored, 3 duplicates, 1 failed · 45,210 records``."""
        parts = [
            f"{self.stored:,} report{'s' if self.stored != 1 else ''} stored",
            f"{self.duplicates:,} duplicate{'s' if self.duplicates != 1 else ''}",
            f"{self.failed:,} failed",
        ]
        line = ", ".join(parts) + f" · {self.records:,} records"
        if self.skipped_records:
            line += f" · {self.skipped_records:,} skipped"
        if self.warnings:
            line += f" · {self.warnings:,} warning{'s' if self.warnings != 1 else ''}"
        archived = sum(1 for f in self.files if f.archived_to)
        if archived:
            line += f" · {archived:,} file{'s' if archived != 1 else ''} archived"
        return line

    def to_json(self) -> dict[str, object]:
        from dmarc_audit.reports.summary import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "files": [f.to_json() for f in self.files],
            "totals": {
                "files": len(self.files),
                "failed_files": len(self.failed_files),
                "stored": self.stored,
                "duplicates": self.duplicates,
                "failed": self.failed,
                "records": self.records,
                "messages": self.messages,
                "skipped_records": self.skipped_records,
                "warnings": self.warnings,
                "seconds": round(self.seconds, 3),
            },
        }


def expand_paths(paths: Sequence[str]) -> list[tuple[str, bool]]:
    """``(path, listed_from_a_directory)`` for each file to read, each once, in order.

    Directories are walked as the reader walks them (hidden files and a Maildir's
    ``tmp`` are skipped), so each file's reports are attributed to that file.
    """
    from dmarc_audit.reports.sources import walk

    out: list[tuple[str, bool]] = []
    seen: set[str] = set()

    def add(path: str, from_dir: bool) -> None:
        key = path if path == "-" else os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append((path, from_dir))

    for path in paths:
        if path != "-" and os.path.isdir(path):
            for child in walk(path):
                add(child, True)
        else:
            add(path, False)
    return out


def ingest(
    store: Store,
    paths: Sequence[str],
    options: IngestOptions = IngestOptions(),
    *,
    reader: Reader | None = None,
    on_report: Callable[[ReportOutcome], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestResult:
    """Store every report in ``paths``; ``reader`` defaults to ``read_reports``."""
    return ingest_files(
        store, expand_paths(paths), options, reader=reader, on_report=on_report, on_file=on_file
    )


def ingest_files(
    store: Store,
    files: Sequence[tuple[str, bool]],
    options: IngestOptions = IngestOptions(),
    *,
    reader: Reader | None = None,
    on_report: Callable[[ReportOutcome], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestResult:
    """:func:`ingest` for the output of :func:`expand_paths`."""
    started = time.perf_counter()
    read_options = options.read_options
    if reader is None:
        from dmarc_audit.reports.read import ReadOptions, read_reports

        reader = read_reports  # type: ignore[assignment]
        if read_options is None:
            read_options = ReadOptions()
    if options.archive_dir is not None:
        options.archive_dir.mkdir(parents=True, exist_ok=True)
    done_files: list[FileOutcome] = []
    for path, from_dir in files:
        if path != "-" and not os.path.lexists(path):
            status = FileStatus.VANISHED if from_dir else FileStatus.FAILED
            outcome = ReportOutcome(path, ReportStatus.FAILED, error="file not found")
            done = FileOutcome(path, status, () if from_dir else (outcome,))
        else:
            done = _ingest_file(store, path, reader, read_options, on_report)  # type: ignore[arg-type]
            if done.status is FileStatus.INGESTED and options.archive_dir and path != "-":
                done = _archive(done, options.archive_dir)
        done_files.append(done)
        if on_file:
            on_file(done)
    return IngestResult(tuple(done_files), time.perf_counter() - started)


def ingest_one(
    store: Store,
    data: bytes,
    source: str,
    read_options: object | None = None,
    on_report: Callable[[ReportOutcome], None] | None = None,
) -> FileOutcome:
    """Store every report in one in-memory input named ``source`` (a fetched message).

    The outcome is the same as for a file: INGESTED when every report in it was
    stored or found already stored, FAILED otherwise (or when it holds no report).
    """
    from dmarc_audit.reports.read import ReadOptions, read_report_bytes

    def reader(_paths: Sequence[str], options: object) -> Iterable[object]:
        return read_report_bytes(data, source, options)  # type: ignore[arg-type]

    return _ingest_file(store, source, reader, read_options or ReadOptions(), on_report)


def _ingest_file(
    store: Store,
    path: str,
    reader: Reader,
    read_options: object,
    on_report: Callable[[ReportOutcome], None] | None,
) -> FileOutcome:
    outcomes: list[ReportOutcome] = []

    def note(outcome: ReportOutcome) -> None:
        outcomes.append(outcome)
        if on_report:
            on_report(outcome)

    try:
        for item in reader([path], read_options):
            if isinstance(item, ReportError):
                note(ReportOutcome(item.source, ReportStatus.FAILED, error=item.message))
            else:
                note(store_report(store, item))  # type: ignore[arg-type]
    except ReportError as exc:
        note(ReportOutcome(exc.source, ReportStatus.FAILED, error=exc.message))
    except OSError as exc:
        note(ReportOutcome(path, ReportStatus.FAILED, error=f"cannot read: {exc.strerror or exc}"))
    except Exception as exc:  # a reader bug must not stop the batch either
        note(
            ReportOutcome(
                path, ReportStatus.FAILED, error=f"unexpected {type(exc).__name__}: {exc}"
            )
        )
    if not outcomes:
        outcomes.append(ReportOutcome(path, ReportStatus.FAILED, error="no report found"))
    failed = any(o.status is ReportStatus.FAILED for o in outcomes)
    return FileOutcome(path, FileStatus.FAILED if failed else FileStatus.INGESTED, tuple(outcomes))


def store_report(store: Store, report: Report) -> ReportOutcome:
    """Store one report; an exception becomes a FAILED outcome and nothing is stored."""
    source = getattr(report, "source", "?")
    try:
        result = store.add(report)
    except ReportError as exc:
        return ReportOutcome(exc.source, ReportStatus.FAILED, error=exc.message)
    except DatabaseError as exc:  # the engine's words, mapped in reports/database.py
        return ReportOutcome(source, ReportStatus.FAILED, error=f"cannot store: {exc}")
    except StoreError as exc:
        return ReportOutcome(source, ReportStatus.FAILED, error=str(exc))
    except OSError as exc:
        return ReportOutcome(
            source, ReportStatus.FAILED, error=f"cannot read: {exc.strerror or exc}"
        )
    except Exception as exc:
        return ReportOutcome(
            source, ReportStatus.FAILED, error=f"unexpected {type(exc).__name__}: {exc}"
        )
    if result.outcome is StoreOutcome.DUPLICATE:
        return ReportOutcome(
            source,
            ReportStatus.DUPLICATE,
            result.kind,
            result.key,
            result.row_id,
            result.records,
            result.messages,
        )
    warnings = [str(w) for w in report.warnings]
    aggregate = isinstance(report, AggregateReport)
    skipped = report.skipped_records if aggregate else 0
    omitted = tuple(sorted(report.omitted)) if isinstance(report, AggregateReport) else ()
    return ReportOutcome(
        source,
        ReportStatus.STORED,
        result.kind,
        result.key,
        result.row_id,
        result.records,
        result.messages,
        skipped,
        tuple(warnings[:WARNINGS_SHOWN]),
        len(warnings),
        omitted=omitted,
    )


def _archive(done: FileOutcome, archive_dir: Path) -> FileOutcome:
    """Move an ingested file into ``archive_dir`` (``name.1.xml`` if ``name.xml`` exists)."""
    source = Path(done.path)
    target = archive_dir / source.name
    n = 0
    while target.exists():
        n += 1
        target = archive_dir / f"{source.stem}.{n}{source.suffix}"
    try:
        shutil.move(str(source), str(target))
    except OSError as exc:
        return FileOutcome(
            done.path,
            done.status,
            done.reports,
            archive_error=f"not archived: {exc.strerror or exc}",
        )
    return FileOutcome(done.path, done.status, done.reports, archived_to=str(target))
