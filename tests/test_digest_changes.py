"""Snapshots, markers, posture and changes: the store side of the digest, without mail."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from test_digest_support import DOMAIN, make_store, write_zones

from dmarc_audit.audit import audit_domains
from dmarc_audit.digest.build import build_digest, mark_sent, own_dmarc_record
from dmarc_audit.digest.changes import CompareStatus, RecordChangeKind, compare, record_label
from dmarc_audit.digest.figures import Period
from dmarc_audit.digest.posture import posture_of
from dmarc_audit.digest.snapshot import (
    FindingFact,
    PostureState,
    RecordState,
    RecordText,
    Snapshot,
    SnapshotStore,
    capture,
    list_key,
)
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Severity, Status
from dmarc_audit.report import AuditOptions
from dmarc_audit.reports import migrations
from dmarc_audit.reports.store import Store

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 17, 6, 0, tzinfo=UTC)
PERIOD = Period(dt.datetime(2024, 6, 10, tzinfo=UTC), dt.datetime(2024, 6, 17, tzinfo=UTC))


def audit(zones: list[str], domain: str = DOMAIN, offline: bool = True):
    resolver = build_resolver(DnsOptions(zones=tuple(zones), offline=offline))
    return asyncio.run(audit_domains(resolver, [parse_domain(domain)], AuditOptions()))[0]


def fact(
    id_: str,
    subject: str = DOMAIN,
    severity: Severity = Severity.WARNING,
    status: Status = Status.FAIL,
    suggested: str | None = None,
) -> FindingFact:
    return FindingFact(id_, severity, status, subject, f"{id_} message", suggested_record=suggested)


def snap(
    findings: list[FindingFact],
    records: dict[str, RecordText] | None = None,
    checked: set[str] | None = None,
    state: PostureState = PostureState.CHECKED,
    at: dt.datetime = NOW,
) -> Snapshot:
    return Snapshot(
        DOMAIN,
        at,
        state,
        tuple(findings),
        tuple((records or {}).items()),
        frozenset({"spf", "dmarc", "dkim", "mx", "other"} if checked is None else checked),
    )


def found(text: str, name: str = DOMAIN) -> RecordText:
    return RecordText(RecordState.FOUND, text, name)


# --- the migration ---------------------------------------------------------------------------


def test_migration_2_adds_snapshot_tables(tmp_path: Path) -> None:
    assert [m.version for m in migrations.MIGRATIONS][:2] == [1, 2]
    with Store(tmp_path / "s.sqlite3") as store:
        conn = store.connection
        assert migrations.user_version(conn) == migrations.LATEST
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"snapshots", "digest_markers", "aggregate_reports"} <= tables


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in migrations.MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with Store(path, create=False) as store:
        assert migrations.user_version(store.connection) == migrations.LATEST
        assert SnapshotStore(store).marker("x") is None


# --- capture ---------------------------------------------------------------------------------


def test_capture_keeps_findings_records_and_state(tmp_path: Path) -> None:
    report = audit(write_zones(tmp_path, 1))
    s = capture(report, NOW, "0.1.0")
    assert s.state is PostureState.CHECKED
    assert s.record("spf") == found("v=spf1 ip4:192.0.2.10 include:_spf.esp.example ~all")
    assert s.record("dmarc") == found(
        "v=DMARC1; p=none; rua=mailto:dmarc@shop.example", "_dmarc.shop.example"
    )
    assert s.record("mx") == found("10 mx1.shop.example")
    assert s.record("dkim:s1").state is RecordState.ABSENT
    assert {f.id for f in s.failing} >= {"dmarc.policy-none"}
    assert own_dmarc_record(s) == "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"


def test_capture_offline_is_could_not_check() -> None:
    s = capture(audit([]), NOW)
    assert s.state is PostureState.COULD_NOT_CHECK
    assert s.record("spf").state is RecordState.UNKNOWN
    assert s.checked == frozenset()
    p = posture_of(s)
    assert p.state is PostureState.COULD_NOT_CHECK
    assert p.problem and "offline" in p.problem and ";" not in p.problem


def test_snapshot_round_trip_and_baseline(tmp_path: Path, store_target: str) -> None:
    report = audit(write_zones(tmp_path / "z", 1))
    with Store(store_target) as store:
        snapshots = SnapshotStore(store)
        (first,) = snapshots.save([capture(report, NOW)])
        (down,) = snapshots.save([capture(audit([]), NOW + dt.timedelta(days=7))])
        assert snapshots.get(first.id) == first
        # a snapshot taken while DNS was down is never a baseline
        assert snapshots.baseline(DOMAIN, down.id) == first
        assert snapshots.baseline(DOMAIN, first.id - 1) is None
        assert snapshots.baseline("other.example", down.id) is None


def test_marker_moves_forward_only(tmp_path: Path, store_target: str) -> None:
    with Store(store_target) as store:
        snapshots = SnapshotStore(store)
        key = list_key(["Ops@Example.com", "sec@example.com"])
        assert key == list_key(["sec@example.com", "ops@example.com"])
        m = snapshots.advance(key, ["ops@example.com"], 5, PERIOD.until, NOW)
        assert (m.last_snapshot, m.period_end) == (5, PERIOD.until)
        m = snapshots.advance(key, ["ops@example.com"], 3, PERIOD.since, NOW)
        assert (m.last_snapshot, m.period_end) == (5, PERIOD.until)


# --- posture ---------------------------------------------------------------------------------


def test_top_fix_is_the_most_severe_preferring_a_record_to_publish() -> None:
    s = snap(
        [
            fact("mtasts.missing", severity=Severity.INFO),
            fact("dkim.rsa-1024"),
            fact("dmarc.policy-none", suggested="v=DMARC1; p=quarantine"),
            fact("spf.lookups-near-limit"),
            fact("dkim.missing", status=Status.UNKNOWN, severity=Severity.ERROR),
        ]
    )
    p = posture_of(s)
    assert p.top_fix.id == "dmarc.policy-none"
    assert (p.errors, p.warnings, p.infos, p.unknown) == (0, 3, 1, 1)
    assert p.counts_text == "0 errors, 3 warnings, 1 info · 1 could not be checked"
    error = fact("spf.pass-all", severity=Severity.ERROR)
    assert posture_of(snap([*s.findings, error])).top_fix == error
    assert posture_of(snap([])).counts_text == "no problems found"


# --- changes ---------------------------------------------------------------------------------


def test_new_fixed_and_record_changes() -> None:
    before = snap(
        [fact("dmarc.policy-none", "_dmarc.shop.example")],
        {
            "spf": found("v=spf1 ~all"),
            "dmarc": found("v=DMARC1; p=none"),
            "dkim:s1": RecordText(RecordState.ABSENT, None, "s1._domainkey.shop.example"),
            "dkim:old": found("v=DKIM1; p=AAAA", "old._domainkey.shop.example"),
        },
        at=NOW - dt.timedelta(days=7),
    )
    after = snap(
        [fact("spf.pass-all", severity=Severity.ERROR)],
        {
            "spf": found("v=spf1 +all"),
            "dmarc": found("v=DMARC1; p=none"),
            "dkim:s1": found("v=DKIM1; p=BBBB", "s1._domainkey.shop.example"),
            "dkim:old": RecordText(RecordState.ABSENT, None, "old._domainkey.shop.example"),
            "dkim:new": found("v=DKIM1; p=CCCC"),
        },
    )
    c = compare(before, after)
    assert c.status is CompareStatus.COMPARED and c.since == before.run_at
    assert [f.id for f in c.new] == ["spf.pass-all"]
    assert [f.id for f in c.fixed] == ["dmarc.policy-none"]
    assert [(r.key, r.kind) for r in c.records] == [
        ("spf", RecordChangeKind.CHANGED),
        ("dkim:old", RecordChangeKind.REMOVED),
        ("dkim:s1", RecordChangeKind.ADDED),
    ]  # dkim:new was not looked for before
    assert c.new_count(Severity.ERROR) == 1
    assert record_label("dkim:s1") == "DKIM s1" and record_label("spf") == "SPF"


def test_failed_lookups_are_neither_fixed_nor_removed() -> None:
    before = snap(
        [fact("spf.lookups-near-limit"), fact("dkim.rsa-1024", "s1"), fact("mtasts.missing")],
        {"spf": found("v=spf1 include:a ~all"), "mx": found("10 mx1")},
    )
    after = snap(
        [
            fact("dkim.rsa-1024", "s1"),
            fact("spf.temperror", status=Status.UNKNOWN, severity=Severity.ERROR),
        ],
        {"spf": RecordText(RecordState.UNKNOWN, None, DOMAIN), "mx": found("10 mx1")},
        checked={"dkim", "mx", "dmarc"},
        state=PostureState.PARTIAL,
    )
    c = compare(before, after)
    assert c.fixed == () and c.new == () and c.records == ()
    assert c.not_compared == ("other", "spf")


def test_first_digest_and_dns_down() -> None:
    now = snap([fact("spf.pass-all")])
    assert compare(None, now).status is CompareStatus.FIRST
    down = snap([], state=PostureState.COULD_NOT_CHECK, checked=set())
    c = compare(now, down)
    assert c.status is CompareStatus.NOT_CHECKED and c.empty


# --- build ---------------------------------------------------------------------------------


def test_build_digest_compares_with_the_marked_snapshot(tmp_path: Path) -> None:
    db = make_store(tmp_path / "r.sqlite3")
    v1, v2 = audit(write_zones(tmp_path / "z", 1)), audit(write_zones(tmp_path / "z", 2))
    with Store(db, create=False) as store:
        first = build_digest(store, [v1], PERIOD, ["ops@example.com"], NOW)
        assert first.last_digest is None
        assert first.domains[0].changes.status is CompareStatus.FIRST
        figures = first.domains[0].figures
        assert figures is not None
        assert (figures.totals.messages, figures.previous.messages) == (7500, 7140)
        assert figures.rate_delta == -2.7
        assert [d.messages for d in figures.days] == [1050, 1050, 1080, 1080, 1080, 1080, 1080]
        assert figures.new_senders == 1
        # readiness keeps the published rua (the audit read the record)
        assert (
            figures.summary.readiness[0].record
            == "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"
        )
        # not sent: the next digest still compares with nothing
        unsent = build_digest(store, [v2], PERIOD, ["ops@example.com"], NOW)
        assert unsent.domains[0].changes.status is CompareStatus.FIRST
        mark_sent(store, first, NOW)
        later = build_digest(store, [v2], PERIOD, ["ops@example.com"], NOW)
        assert later.last_digest is not None
        assert [f.id for f in later.domains[0].changes.new] == ["spf.pass-all"]
        # another recipient list has its own marker
        other = build_digest(store, [v2], PERIOD, ["boss@example.com"], NOW)
        assert other.domains[0].changes.status is CompareStatus.FIRST


def test_no_reports_in_the_period(tmp_path: Path) -> None:
    db = make_store(tmp_path / "r.sqlite3", reports=[])
    with Store(db, create=False) as store:
        digest = build_digest(
            store, [audit(write_zones(tmp_path / "z", 1))], PERIOD, ["ops@example.com"], NOW
        )
    assert digest.domains[0].figures is None
    assert digest.new_senders == 0


@pytest.mark.parametrize("version", [1, 2])
def test_zone_versions_audit_cleanly(tmp_path: Path, version: int) -> None:
    s = capture(audit(write_zones(tmp_path, version)), NOW)
    assert s.state is PostureState.CHECKED
