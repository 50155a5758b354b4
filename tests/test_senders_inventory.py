"""The sender inventory: first and last sighting per domain and source, per domain and sender.

Runs on SQLite and PostgreSQL (conftest.store_target): migration 4 and its upserts
are portable SQL.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from dmarc_audit.reports import migrations
from dmarc_audit.reports.store import Store, to_ts
from dmarc_audit.reports.summary import PeriodFilter, build_summary
from dmarc_audit.senders.report import with_senders
from dmarc_audit.senders.table import SenderState
from tests.test_reports_store import DAY0, agg, dkim, rec, spf

OWN, SG_OLD, SG_NEW, ONE_OFF, BIG_NEW = (
    "192.0.2.1",
    "203.0.113.7",
    "203.0.113.8",
    "198.51.100.3",
    "198.51.100.4",
)
FAIL = {"dkim_al": "fail", "spf_al": "fail"}


def _sendgrid(ip: str, n: int):
    return rec(ip, n, **FAIL, auth=(dkim("sendgrid.net"), spf("em1.sendgrid.net")))


def _summary(store: Store, since_day: int | None = None, domain: str | None = None):
    since = DAY0 + timedelta(days=since_day) if since_day is not None else None
    return with_senders(store, build_summary(store, PeriodFilter(domain=domain, since=since)))


def test_source_history_is_kept_at_ingest(store_target: str) -> None:
    with Store(store_target) as store:
        store.add(agg([rec(OWN, 10), rec(SG_OLD, 2)], report_id="a", day=0))
        store.add(agg([rec(OWN, 5)], report_id="b", day=3))
        store.add(agg([rec(OWN, 5)], report_id="b", day=3))  # a duplicate counts once
        store.add(agg([rec(OWN, 7)], report_id="c", domain="other.example", day=5))
        rows = sorted(
            tuple(r)
            for r in store.connection.execute(
                "SELECT domain, source_ip, first_seen, last_seen, messages FROM source_history"
            )
        )
    day = 86400
    start = to_ts(DAY0)
    assert rows == [
        ("other.example", OWN, start + 5 * day, start + 6 * day, 7),
        ("shop.example", OWN, start, start + 4 * day, 15),
        ("shop.example", SG_OLD, start, start + day, 2),
    ]


def test_a_sender_seen_before_on_other_ips_is_not_new(store_target: str) -> None:
    with Store(store_target) as store:
        for day in range(4):
            store.add(agg([rec(OWN, 100), _sendgrid(SG_OLD, 50)], report_id=f"a{day}", day=day))
        first = {r.key: r for r in _summary(store).senders}  # names SendGrid: stored
        assert first["provider:sendgrid"].ips == (SG_OLD,)
        for day in range(4, 8):
            store.add(agg([rec(OWN, 100), _sendgrid(SG_NEW, 50)], report_id=f"b{day}", day=day))
        rows = {r.key: r for r in _summary(store, since_day=4).senders}
    sendgrid = rows["provider:sendgrid"]
    assert sendgrid.ips == (SG_NEW,)  # only the new IP is in the period
    assert sendgrid.new is False
    assert sendgrid.first_seen == DAY0


def test_new_for_the_domain_not_new_in_the_store(store_target: str) -> None:
    with Store(store_target) as store:
        for day in range(4):
            store.add(
                agg([_sendgrid(SG_OLD, 50)], report_id=f"o{day}", domain="old.example", day=day)
            )
        _summary(store)
        for day in range(4, 8):
            store.add(
                agg(
                    [rec(OWN, 100, header_from="new.example"), _sendgrid(SG_OLD, 50)],
                    report_id=f"n{day}",
                    domain="new.example",
                    day=day,
                )
            )
        rows = {r.key: r for r in _summary(store, since_day=4, domain="new.example").senders}
        assert rows["provider:sendgrid"].new is True
        assert rows["provider:sendgrid"].first_seen == DAY0 + timedelta(days=4)
        stored = sorted(
            tuple(r)
            for r in store.connection.execute(
                "SELECT domain, sender_key, name, first_seen FROM sender_inventory"
            )
        )
    start = to_ts(DAY0)
    assert stored == [
        ("new.example", "provider:sendgrid", "SendGrid", start + 4 * 86400),
        ("old.example", "provider:sendgrid", "SendGrid", start),
    ]


def test_a_one_off_ip_is_not_a_new_sender(store_target: str) -> None:
    with Store(store_target) as store:
        for day in range(8):
            records = [rec(OWN, 100)]
            if day == 5:
                records.append(rec(ONE_OFF, 3, **FAIL, auth=(spf("shop.example", "fail"),)))
                records.append(rec(BIG_NEW, 400, **FAIL))
            store.add(agg(records, report_id=f"d{day}", day=day))
        summary = _summary(store, since_day=4)
    rows = {ip: r for r in summary.senders for ip in r.ips}
    assert rows[ONE_OFF].state is SenderState.SPOOFING and rows[ONE_OFF].new is False
    assert rows[BIG_NEW].state is SenderState.UNKNOWN and rows[BIG_NEW].new is True
    assert rows[OWN].new is False
    assert ONE_OFF in {s.source_ip for s in summary.new_sources or ()}  # the IP list keeps it


def test_migration_4_backfills_an_old_store(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Store(path) as store:
        store.add(agg([rec(OWN, 10), rec(SG_OLD, 2)], report_id="a", day=0))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE source_history")
    conn.execute("DROP TABLE sender_inventory")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert migrations.user_version(store.connection) == migrations.LATEST
        rows = sorted(
            tuple(r)
            for r in store.connection.execute("SELECT source_ip, messages FROM source_history")
        )
    assert rows == [(OWN, 10), (SG_OLD, 2)]
