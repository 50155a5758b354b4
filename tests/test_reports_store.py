"""The report store and ingest: no loss, no duplicates, safe under crashes and concurrency.

Reports are built from the model here (no reader needed); the end-to-end tests
through the real reader are in tests/test_cli_reports.py.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dmarc_audit.reports import migrations
from dmarc_audit.reports.ingest import (
    FileStatus,
    IngestOptions,
    ReportStatus,
    expand_paths,
    ingest,
)
from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateReport,
    AggregateSchema,
    AuthResult,
    FailureReport,
    ParseWarning,
    PolicyPublished,
    ReportError,
    TlsPolicySummary,
    TlsReport,
)
from dmarc_audit.reports.store import Store, StoreError, StoreOutcome, default_db_path

DAY0 = datetime(2024, 5, 1, tzinfo=UTC)


# --- builders (shared with test_reports_summary and test_cli_reports) --------


def dkim(domain: str, result: str = "pass", selector: str = "s1") -> AuthResult:
    return AuthResult("dkim", domain, result, selector=selector)


def spf(domain: str, result: str = "pass") -> AuthResult:
    return AuthResult("spf", domain, result, scope="mfrom")


def rec(
    ip: str,
    count: int = 1,
    *,
    dkim_al: str = "pass",
    spf_al: str = "pass",
    disposition: str = "none",
    header_from: str = "shop.example",
    auth: Sequence[AuthResult] = (),
    reasons: Sequence[tuple[str, str]] = (),
    envelope_from: str | None = None,
) -> AggregateRecord:
    return AggregateRecord(
        ip,
        count,
        disposition,
        dkim_al,
        spf_al,
        header_from,
        envelope_from,
        None,
        tuple(reasons),
        tuple(auth),
    )


def agg(
    records: Sequence[AggregateRecord] | Iterator[AggregateRecord],
    *,
    org: str = "google.com",
    report_id: str = "r1",
    domain: str = "shop.example",
    day: int = 0,
    days: int = 1,
    p: str | None = "none",
    pct: int | None = None,
    sp: str | None = None,
    testing: str | None = None,
    warnings: Sequence[str] = (),
    skipped: int = 0,
) -> AggregateReport:
    begin = DAY0 + timedelta(days=day)
    meta = AggregateMeta(
        org,
        f"noreply-dmarc@{org}",
        report_id,
        begin,
        begin + timedelta(days=days),
        PolicyPublished(domain, p=p, sp=sp, pct=pct, testing=testing),
        AggregateSchema.RFC7489,
    )
    return AggregateReport(
        meta, iter(records), f"{org}!{report_id}.xml", [ParseWarning(w) for w in warnings], skipped
    )


def good_records(n: int, ip_base: str = "192.0.2.") -> list[AggregateRecord]:
    return [
        rec(f"{ip_base}{i % 250 + 1}", i % 7 + 1, auth=(dkim("shop.example"), spf("shop.example")))
        for i in range(n)
    ]


@pytest.fixture
def store(store_target: str) -> Iterator[Store]:
    """A store in SQLite, then the same test in PostgreSQL (conftest.store_target)."""
    with Store(store_target) as s:
        yield s


# --- storing -----------------------------------------------------------------


def test_new_store_is_wal_and_at_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "r.sqlite3"
    with Store(path) as s:
        conn = s.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        assert migrations.user_version(conn) == migrations.LATEST
    assert path.exists()


def test_round_trip(store: Store) -> None:
    records = [
        rec("192.0.2.1", 10, auth=(dkim("shop.example"), spf("shop.example"))),
        rec(
            "2001:db8::1",
            3,
            dkim_al="fail",
            spf_al="fail",
            disposition="quarantine",
            auth=(dkim("esp.example", "pass", "k1"), spf("bounce.esp.example", "softfail")),
            reasons=[("forwarded", "list"), ("local_policy", "")],
            envelope_from="esp.example",
        ),
    ]
    result = store.add(agg(records, warnings=["line 40: bad ip"], skipped=1))
    assert result.outcome is StoreOutcome.STORED
    assert (result.records, result.messages) == (2, 13)
    stored = store.get_aggregate(result.row_id)
    assert stored is not None
    assert (stored.org_name, stored.report_id, stored.domain) == (
        "google.com",
        "r1",
        "shop.example",
    )
    assert stored.begin == DAY0 and stored.end == DAY0 + timedelta(days=1)
    assert stored.policy.p == "none"
    assert stored.warnings == ("line 40: bad ip",) and stored.skipped_records == 1
    assert list(store.records(result.row_id)) == records
    assert store.totals().records == 2 and store.totals().messages == 13


def test_duplicate_changes_nothing_and_reads_no_records(store: Store) -> None:
    first = store.add(agg(good_records(50)))
    before = store.totals()
    consumed = []

    def spy() -> Iterator[AggregateRecord]:
        for r in good_records(50):
            consumed.append(r)
            yield r

    again = store.add(agg(spy()))
    assert again.outcome is StoreOutcome.DUPLICATE
    assert again.row_id == first.row_id and again.records == 50
    assert consumed == []
    assert store.totals() == before


def test_dedup_key_is_org_report_id_and_domain(store: Store) -> None:
    assert store.add(agg(good_records(1))).outcome is StoreOutcome.STORED
    assert store.add(agg(good_records(1), org="yahoo.com")).outcome is StoreOutcome.STORED
    assert store.add(agg(good_records(1), domain="other.example")).outcome is StoreOutcome.STORED
    # the domain is compared case- and trailing-dot-insensitively
    assert store.add(agg(good_records(1), domain="Shop.Example.")).outcome is StoreOutcome.DUPLICATE
    assert store.totals().aggregate_reports == 3


def test_report_without_id_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="report_id"):
        store.add(agg(good_records(1), report_id="  "))
    assert store.totals().aggregate_reports == 0


def _explode_after(n: int, exc: Exception) -> Iterator[AggregateRecord]:
    yield from good_records(n)
    raise exc


def test_iterator_that_raises_halfway_stores_nothing(store_target: str) -> None:
    # a batch size below the record count: some batches were already written
    with Store(store_target, batch_size=100) as s:
        bad = agg(_explode_after(1000, ReportError("a.xml", "line 9000: truncated XML")))
        with pytest.raises(ReportError):
            s.add(bad)
        assert s.totals().aggregate_reports == 0
        assert s.connection.execute("SELECT COUNT(*) FROM aggregate_records").fetchone()[0] == 0
        assert s.connection.execute("SELECT COUNT(*) FROM auth_sets").fetchone()[0] == 0
        # the key was not taken: the intact report stores later
        assert s.add(agg(good_records(2000))).outcome is StoreOutcome.STORED
        assert s.totals().records == 2000


def test_auth_sets_are_shared_and_survive_a_rolled_back_report(store: Store) -> None:
    novel = (dkim("esp.example", "pass", "k9"), spf("bounce.esp.example", "softfail"))

    def then_fail() -> Iterator[AggregateRecord]:
        yield rec("203.0.113.1", 2, auth=novel)
        raise ReportError("x.xml", "truncated")

    with pytest.raises(ReportError):
        store.add(agg(then_fail(), report_id="x"))
    # the set inserted by the rolled-back report is gone, and must not be reused by id
    assert store.connection.execute("SELECT COUNT(*) FROM auth_sets").fetchone()[0] == 0
    records = [
        rec("203.0.113.1", 2, auth=novel),
        rec("203.0.113.2", 1, auth=novel),
        rec("192.0.2.1", 5, auth=(dkim("shop.example"),)),
        rec("192.0.2.2", 1),
    ]
    first = store.add(agg(records, report_id="a"))
    second = store.add(agg(records, report_id="b"))
    assert list(store.records(first.row_id)) == records
    assert list(store.records(second.row_id)) == records
    assert store.connection.execute("SELECT COUNT(*) FROM auth_sets").fetchone()[0] == 2
    with Store(store.target) as other:  # a second writer finds the same sets by key
        third = other.add(agg(records, report_id="c"))
        assert list(other.records(third.row_id)) == records
    assert store.connection.execute("SELECT COUNT(*) FROM auth_sets").fetchone()[0] == 2


def _killed_midway(path: str) -> None:
    def records() -> Iterator[AggregateRecord]:
        for i, r in enumerate(good_records(20000)):
            if i == 12000:
                os._exit(3)  # the process dies inside the transaction
            yield r

    with Store(path, batch_size=1000) as s:
        s.add(agg(good_records(5), report_id="before"))
        s.add(agg(records(), report_id="dies"))


def test_process_killed_mid_report_leaves_no_partial_report(store_target: str) -> None:
    path = store_target
    proc = multiprocessing.get_context("fork").Process(target=_killed_midway, args=(path,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    with Store(path) as s:
        assert _intact(s)
        assert [r.report_id for r in s.list_aggregate()] == ["before"]
        assert s.totals().records == 5
        assert s.connection.execute("SELECT COUNT(*) FROM aggregate_records").fetchone()[0] == 5


def _corpus() -> list[AggregateReport]:
    return [
        agg(good_records(1500, f"198.51.{i}."), report_id=f"r{i}", day=i % 9) for i in range(12)
    ]


def _ingest_corpus(path: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    with Store(path, batch_size=500) as s:
        barrier.wait()
        outcomes = [s.add(report).outcome.value for report in _corpus()]
    results.put(outcomes)


def test_two_processes_ingesting_at_once(store_target: str) -> None:
    path = store_target
    Store(path).close()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_ingest_corpus, args=(path, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    flat = [o for run in outcomes for o in run]
    assert flat.count("stored") == 12 and flat.count("duplicate") == 12
    with Store(path) as s:
        totals = s.totals()
        assert (totals.aggregate_reports, totals.records) == (12, 12 * 1500)
        assert (
            s.connection.execute("SELECT COUNT(*) FROM aggregate_records").fetchone()[0]
            == 12 * 1500
        )
        assert _intact(s)


def _intact(s: Store) -> bool:
    """SQLite's integrity check; in PostgreSQL, every record belongs to a stored report."""
    if s.kind == "sqlite":
        return s.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = s.connection.execute(
        "SELECT COUNT(*) FROM aggregate_records r LEFT JOIN aggregate_reports rep "
        "ON rep.id = r.report WHERE rep.id IS NULL"
    ).fetchone()[0]
    counted = s.connection.execute(
        "SELECT COUNT(*) FROM aggregate_reports rep WHERE record_count != "
        "(SELECT COUNT(*) FROM aggregate_records r WHERE r.report = rep.id)"
    ).fetchone()[0]
    return orphans == 0 and counted == 0


def test_two_threads_with_their_own_connections(store_target: str) -> None:
    path = store_target
    Store(path).close()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Store(path, batch_size=500) as s:
                barrier.wait()
                outcomes.extend(s.add(r).outcome.value for r in _corpus())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert outcomes.count("stored") == 12 and outcomes.count("duplicate") == 12
    with Store(path) as s:
        assert s.totals().records == 12 * 1500


def test_failure_and_tls_reports_have_their_own_tables(store: Store) -> None:
    failure = FailureReport(
        source="f.eml",
        feedback_type="auth-failure",
        arrival_date=DAY0,
        reported_domain="Shop.Example",
        source_ip="198.51.100.9",
        original_mail_from="x@shop.example",
        original_rcpt_to="y@example.net",
        auth_failure="dmarc",
        delivery_result="reject",
        authentication_results="spf=fail",
        dkim_domain=None,
        subject="hello",
        header_from="shop.example",
        reporter="example.net",
    )
    assert store.add(failure).outcome is StoreOutcome.STORED
    assert store.add(failure).outcome is StoreOutcome.DUPLICATE
    tls = TlsReport(
        source="t.json",
        org_name="Google Inc.",
        report_id="2024-05-01Z_shop",
        begin=DAY0,
        end=DAY0 + timedelta(days=1),
        contact="smtp-tls@google.com",
        policies=(
            TlsPolicySummary(
                "sts",
                "shop.example",
                120,
                3,
                ({"result-type": "certificate-expired", "failed-session-count": 3},),
            ),
        ),
    )
    stored = store.add(tls)
    assert stored.outcome is StoreOutcome.STORED and stored.messages == 123
    assert store.add(tls).outcome is StoreOutcome.DUPLICATE
    totals = store.totals()
    assert (totals.failure_reports, totals.tls_reports, totals.aggregate_reports) == (1, 1, 0)
    [listed] = store.list_failure("shop.example")
    assert listed.source_ip == "198.51.100.9" and listed.arrival == DAY0
    [tls_row] = store.list_tls("shop.example")
    assert (tls_row.successful, tls_row.failed, tls_row.policies) == (120, 3, 1)


def test_list_filters_by_domain_and_begin(store: Store) -> None:
    for day in range(5):
        store.add(agg(good_records(2), report_id=f"r{day}", day=day))
    store.add(agg(good_records(2), report_id="o", domain="other.example"))
    assert len(store.list_aggregate()) == 6
    assert [
        r.report_id
        for r in store.list_aggregate(
            "shop.example", DAY0 + timedelta(days=1), DAY0 + timedelta(days=3)
        )
    ] == ["r1", "r2"]
    assert [r.report_id for r in store.list_aggregate("other.example")] == ["o"]


# --- opening, paths, migrations ---------------------------------------------------


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "dmarc-audit" / "reports.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        default_db_path()
        == tmp_path / "home" / ".local" / "share" / "dmarc-audit" / "reports.sqlite3"
    )
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec wants absolute paths
    assert default_db_path().is_relative_to(tmp_path / "home")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(StoreError, match="report store"):
        Store(path)


def test_missing_store_is_not_created_for_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no report store"):
        Store(tmp_path / "none.sqlite3", create=False)
    assert not (tmp_path / "none.sqlite3").exists()


def test_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[-1] == migrations.LATEST


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="upgrade dmarc-audit"):
        Store(path)


def test_a_later_migration_upgrades_an_existing_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.sqlite3"
    with Store(path) as s:
        s.add(agg(good_records(3)))
    extra = migrations.Migration(
        migrations.LATEST + 1,
        "digest snapshots (test)",
        ("CREATE TABLE digest_snapshots (id INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL)",),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, extra))
    monkeypatch.setattr(migrations, "LATEST", extra.version)
    with Store(path) as s:
        assert migrations.user_version(s.connection) == extra.version
        s.connection.execute("INSERT INTO digest_snapshots (taken_at) VALUES (1)")
        assert s.totals().records == 3
    with Store(path) as s:  # nothing left to apply
        assert migrations.migrate(s.connection) == []


def test_a_failing_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.sqlite3"
    Store(path).close()
    bad = migrations.Migration(
        migrations.LATEST + 1,
        "broken",
        (
            "CREATE TABLE half_done (x INTEGER)",
            "THIS IS NOT SQL",
        ),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, bad))
    monkeypatch.setattr(migrations, "LATEST", bad.version)
    with pytest.raises(StoreError):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == bad.version - 1
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchall()
    conn.close()


# --- ingest (with a stand-in reader; the real one is tested end to end elsewhere) -----


def fake_reader(corpus: dict[str, list[object]]):  # type: ignore[no-untyped-def]
    """A reader that yields, for each file name, the reports/errors listed for it."""

    def read(paths: Sequence[str], _options: object) -> Iterator[object]:
        for path in paths:
            for item in corpus[Path(path).name]:
                if isinstance(item, BaseException) and not isinstance(item, ReportError):
                    raise item
                yield item() if callable(item) else item

    return read


def _files(tmp_path: Path, names: Sequence[str]) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in names:
        (inbox / name).write_text("<feedback/>")
    return inbox


def _corpus_reader() -> dict[str, list[object]]:
    return {
        "a.xml": [lambda: agg(good_records(100), report_id="a")],
        "b.zip": [
            lambda: agg(good_records(10), report_id="b1"),
            lambda: agg(good_records(20), report_id="b2", org="yahoo.com"),
        ],
        "bad.xml": [ReportError("bad.xml", "line 3, column 7: mismatched tag")],
        "c.xml": [lambda: agg(good_records(5), report_id="c", warnings=["line 12: odd"])],
        "half.xml": [
            lambda: agg(
                _explode_after(50, ReportError("half.xml", "byte 9000: truncated")), report_id="h"
            )
        ],
        "crash.xml": [RuntimeError("reader bug")],
    }


def test_malformed_files_are_listed_and_the_batch_continues(store: Store, tmp_path: Path) -> None:
    inbox = _files(tmp_path, ["a.xml", "b.zip", "bad.xml", "c.xml", "half.xml", "crash.xml"])
    result = ingest(store, [str(inbox)], reader=fake_reader(_corpus_reader()))
    by_name = {Path(f.path).name: f for f in result.files}
    assert by_name["a.xml"].status is FileStatus.INGESTED
    assert by_name["b.zip"].status is FileStatus.INGESTED
    assert by_name["c.xml"].status is FileStatus.INGESTED
    for bad, fragment in (
        ("bad.xml", "line 3, column 7"),
        ("half.xml", "byte 9000"),
        ("crash.xml", "RuntimeError: reader bug"),
    ):
        assert by_name[bad].status is FileStatus.FAILED
        assert fragment in (by_name[bad].reports[0].error or "")
    assert (result.stored, result.duplicates, result.failed) == (4, 0, 3)
    assert result.records == 135 == store.totals().records
    assert result.warnings == 1
    assert int(result.exit_status) == 1
    assert result.summary_line().startswith(
        "4 reports stored, 0 duplicates, 3 failed · 135 records"
    )


def test_ingesting_twice_leaves_identical_totals(store: Store, tmp_path: Path) -> None:
    inbox = _files(tmp_path, ["a.xml", "b.zip", "c.xml"])
    first = ingest(store, [str(inbox)], reader=fake_reader(_corpus_reader()))
    totals = store.totals()
    second = ingest(store, [str(inbox)], reader=fake_reader(_corpus_reader()))
    assert store.totals() == totals
    assert (first.stored, first.duplicates) == (4, 0)
    assert (second.stored, second.duplicates, second.failed) == (0, 4, 0)
    assert int(second.exit_status) == 0
    assert second.summary_line().startswith("0 reports stored, 4 duplicates, 0 failed")


def test_archive_moves_only_files_fully_stored(store: Store, tmp_path: Path) -> None:
    inbox = _files(tmp_path, ["a.xml", "b.zip", "bad.xml", "half.xml"])
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "a.xml").write_text("an older a.xml")
    seen_while_storing: list[bool] = []
    corpus = _corpus_reader()

    def watched() -> AggregateReport:  # the file is still in place while it is stored
        seen_while_storing.append((inbox / "a.xml").exists())
        return agg(good_records(3), report_id="a")

    corpus["a.xml"] = [watched]
    result = ingest(
        store,
        [str(inbox)],
        IngestOptions(archive_dir=tmp_path / "done"),
        reader=fake_reader(corpus),
    )
    assert seen_while_storing == [True]
    assert sorted(p.name for p in inbox.iterdir()) == ["bad.xml", "half.xml"]
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a.1.xml", "a.xml", "b.zip"]
    assert (tmp_path / "done" / "a.xml").read_text() == "an older a.xml"
    archived = {Path(f.path).name: f.archived_to for f in result.files}
    assert archived["a.xml"] == str(tmp_path / "done" / "a.1.xml")
    assert archived["bad.xml"] is None


def test_missing_path_fails_that_file_only(store: Store, tmp_path: Path) -> None:
    inbox = _files(tmp_path, ["a.xml"])
    result = ingest(
        store,
        [str(tmp_path / "nope.xml"), str(inbox / "a.xml")],
        reader=fake_reader(_corpus_reader()),
    )
    assert [f.status for f in result.files] == [FileStatus.FAILED, FileStatus.INGESTED]
    assert result.files[0].reports[0].error == "file not found"
    assert result.stored == 1


def test_file_with_no_report_fails(store: Store, tmp_path: Path) -> None:
    inbox = _files(tmp_path, ["empty.eml"])
    result = ingest(store, [str(inbox / "empty.eml")], reader=fake_reader({"empty.eml": []}))
    assert result.files[0].status is FileStatus.FAILED
    assert result.files[0].reports[0].error == "no report found"


def test_expand_paths_walks_directories_once_like_the_reader(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for sub in ("sub", "Maildir/cur", "Maildir/new", "Maildir/tmp"):
        (inbox / sub).mkdir(parents=True)
    for name in (
        "b.xml",
        "a.xml",
        "sub/c.xml.gz",
        ".hidden.xml",
        "Maildir/cur/1",
        "Maildir/new/2",
        "Maildir/tmp/half-delivered",
    ):
        (inbox / name).write_text("x")
    files = expand_paths([str(inbox), str(inbox / "a.xml"), "-"])
    assert [Path(p).relative_to(inbox).as_posix() for p, _ in files[:-1]] == [
        "a.xml",
        "b.xml",
        "Maildir/cur/1",
        "Maildir/new/2",
        "sub/c.xml.gz",
    ]
    assert files[-1] == ("-", False)
    assert all(from_dir for _, from_dir in files[:-1])


def test_store_failure_does_not_stop_the_batch(tmp_path: Path, store_target: str) -> None:
    """A report the store refuses (a NOT NULL column) fails alone and leaves nothing."""
    inbox = _files(tmp_path, ["x.xml", "a.xml"])
    broken = rec("192.0.2.9")
    object.__setattr__(broken, "disposition", None)
    corpus = {
        "x.xml": [lambda: agg([*good_records(10), broken], report_id="x")],
        "a.xml": [lambda: agg(good_records(4), report_id="a")],
    }
    with Store(store_target) as s:
        result = ingest(s, [str(inbox)], reader=fake_reader(corpus))
        assert [f.status for f in result.files] == [FileStatus.INGESTED, FileStatus.FAILED]
        assert "cannot store" in (result.files[1].reports[0].error or "")
        assert result.files[1].reports[0].status is ReportStatus.FAILED
        assert s.totals().records == 4
