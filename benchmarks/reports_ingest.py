"""Benchmark: ingest a large synthetic aggregate-report corpus through the real code path.

    python benchmarks/reports_ingest.py [--records 200000] [--reports 40] [--keep DIR]
        [--engine sqlite|postgresql|both]

Writes RFC 7489 XML files (a third of them gzipped) into a temporary directory,
then, in a fresh child process so its peak RSS is the ingest's own, runs
``dmarc_audit.reports.ingest.ingest`` (the reader parses, the store writes) into
a new SQLite store, or a new PostgreSQL database on a server started here from
the Debian package (tests/pgserver.py, with fsync on). Prints records/s and peak
RSS, checks the stored totals
against what the generator wrote, ingests again to check that nothing changes,
and times a summary over the corpus. Exits 1 when a check fails or the rate is
under ``--min-rate`` (for PostgreSQL, also when it is under half the SQLite rate
with ``--engine both``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAIN = "shop.example"
ORGS = ("google.com", "Yahoo", "Microsoft Corporation", "Mail.Ru", "comcast.net")
BEGIN = 1714521600  # 2024-05-01T00:00:00Z


def _record(rng: random.Random) -> tuple[str, int]:
    """One ``<record>`` and its message count."""
    kind = rng.random()
    count = rng.choice((1, 1, 1, 2, 3, 5, 8, 40, 200))
    if kind < 0.80:  # our own servers, aligned
        ip = f"192.0.2.{rng.randrange(1, 60)}"
        dkim_d, dkim_r, spf_d, spf_r, dkim_al, spf_al = (
            DOMAIN,
            "pass",
            DOMAIN,
            "pass",
            "pass",
            "pass",
        )
    elif kind < 0.90:  # an ESP signing with its own domain
        ip = f"203.0.113.{rng.randrange(1, 250)}"
        dkim_d, dkim_r, spf_d, spf_r, dkim_al, spf_al = (
            "esp.example",
            "pass",
            "bounce.esp.example",
            "pass",
            "fail",
            "fail",
        )
    elif kind < 0.95:  # forwarded, DKIM broken
        ip = f"198.18.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"
        dkim_d, dkim_r, spf_d, spf_r, dkim_al, spf_al = (
            DOMAIN,
            "fail",
            DOMAIN,
            "fail",
            "fail",
            "fail",
        )
    else:  # spoofing from anywhere
        ip = f"198.51.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"
        dkim_d, dkim_r, spf_d, spf_r, dkim_al, spf_al = (None, None, DOMAIN, "fail", "fail", "fail")
    disposition = "none" if dkim_al == "pass" or rng.random() < 0.7 else "quarantine"
    dkim_xml = (
        (
            f"<dkim><domain>{dkim_d}</domain><selector>s{rng.randrange(1, 3)}</selector>"
            f"<result>{dkim_r}</result></dkim>"
        )
        if dkim_d
        else ""
    )
    xml = (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        f"<policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim_al}</dkim>"
        f"<spf>{spf_al}</spf></policy_evaluated></row>"
        f"<identifiers><header_from>{DOMAIN}</header_from></identifiers>"
        f"<auth_results>{dkim_xml}<spf><domain>{spf_d}</domain><scope>mfrom</scope>"
        f"<result>{spf_r}</result></spf></auth_results></record>\n"
    )
    return xml, count


def generate(directory: Path, records: int, reports: int, seed: int = 7) -> dict[str, int]:
    """Write the corpus; returns what was written (reports, records, messages, bytes)."""
    rng = random.Random(seed)
    per_report = [records // reports + (1 if i < records % reports else 0) for i in range(reports)]
    messages = size = 0
    for index, n in enumerate(per_report):
        org = ORGS[index % len(ORGS)]
        begin = BEGIN + 86400 * (index // len(ORGS))
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n'
            f"<report_metadata><org_name>{org}</org_name><email>dmarc@{org}</email>"
            f"<report_id>bench-{index}</report_id><date_range><begin>{begin}</begin>"
            f"<end>{begin + 86399}</end></date_range></report_metadata>\n"
            f"<policy_published><domain>{DOMAIN}</domain><adkim>r</adkim><aspf>r</aspf>"
            "<p>none</p><sp>none</sp><pct>100</pct></policy_published>\n"
        )
        body = []
        for _ in range(n):
            xml, count = _record(rng)
            body.append(xml)
            messages += count
        data = (head + "".join(body) + "</feedback>\n").encode()
        size += len(data)
        name = f"{org.split()[0].lower()}!{DOMAIN}!{begin}!{begin + 86399}!{index}.xml"
        if index % 3 == 2:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data, compresslevel=1))
        else:
            (directory / name).write_bytes(data)
    return {"reports": reports, "records": records, "messages": messages, "bytes": size}


def run_ingest(corpus: Path, db: str) -> dict[str, object]:
    """(In the child process) ingest twice and summarise; returns the measurements."""
    from dmarc_audit.reports.ingest import ingest
    from dmarc_audit.reports.store import Store
    from dmarc_audit.reports.summary import PeriodFilter, build_summary

    with Store(db) as store:
        started, cpu = time.perf_counter(), time.process_time()
        first = ingest(store, [str(corpus)])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        totals = store.totals()
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        second = ingest(store, [str(corpus)])
        again_seconds = time.perf_counter() - started
        same = store.totals() == totals
        started = time.perf_counter()
        summary = build_summary(store, PeriodFilter())
        summary_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "stored": first.stored,
        "failed": first.failed,
        "errors": [r.error for r in first.reports if r.error][:5],
        "records": totals.records,
        "reports": totals.aggregate_reports,
        "messages": totals.messages,
        "peak_rss_mib": rss_kib / 1024,
        "second_duplicates": second.duplicates,
        "second_stored": second.stored,
        "second_seconds": again_seconds,
        "totals_unchanged": same,
        "summary_seconds": summary_seconds,
        "summary_messages": summary.totals.messages,
        "db_mib": _size(db) / 2**20,
    }


def _size(db: str) -> int:
    from dmarc_audit.reports.store import Store, is_postgres_url

    if not is_postgres_url(db):
        return Path(db).stat().st_size
    with Store(db) as store:
        row = store.connection.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument(
        "--min-rate",
        type=float,
        default=15_000.0,
        help="fail below this many records/s (parse + store)",
    )
    parser.add_argument(
        "--gate",
        choices=("wall", "cpu"),
        default="wall",
        help="rate checked against --min-rate: wall clock, or CPU time "
        "(steadier on a shared, loaded machine)",
    )
    parser.add_argument("--keep", type=Path, help="write the corpus and store here and keep them")
    parser.add_argument(
        "--engine",
        choices=("sqlite", "postgresql", "both"),
        default="sqlite",
        help="the store to ingest into (postgresql: a server started here, from the Debian "
        "package)",
    )
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_ingest(Path(args.child[0]), args.child[1])))
        return 0

    with tempfile.TemporaryDirectory(prefix="dmarc-audit-bench-") as tmp:
        root = args.keep or Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        db = root / "bench.sqlite3"
        for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        written = generate(corpus, args.records, args.reports)
        print(
            f"corpus: {written['reports']} reports, {written['records']:,} records, "
            f"{written['messages']:,} messages, {written['bytes'] / 2**20:.1f} MiB of XML "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
        measured = {}
        for engine in engines:
            if engine == "sqlite":
                m = _child(corpus, str(db))
            else:
                with _postgres() as server:
                    m = _child(corpus, server.new_database())
            if m is None:
                return 1
            measured[engine] = m
    failed = False
    for engine, m in measured.items():
        print(f"--- {engine}")
        failed |= _report(m, written, args)
    if len(measured) == 2:
        lite, pg = (
            measured[e]["records"] / measured[e]["seconds"] for e in ("sqlite", "postgresql")
        )
        print(f"postgresql/sqlite: {pg / lite:.2f} (target: at least 0.5)")
        if pg < lite / 2:
            print("FAIL: PostgreSQL ingest is under half the SQLite rate")
            failed = True
    return 1 if failed else 0


def _postgres():  # type: ignore[no-untyped-def]
    """A PostgreSQL server from the Debian package, durable (fsync on), for one run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pgserver import PgServer

    server = PgServer(durable=True)
    os.environ["PGPASSFILE"] = str(server.passfile)
    return server


def _child(corpus: Path, db: str) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(corpus), db],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(m: dict, written: dict[str, int], args: argparse.Namespace) -> bool:
    """Print one engine's figures and checks; True when a check failed."""
    rate = m["records"] / m["seconds"] if m["seconds"] else 0.0
    cpu_rate = m["records"] / m["cpu_seconds"] if m["cpu_seconds"] else 0.0
    print(
        f"ingest: {m['records']:,} records in {m['seconds']:.2f} s = {rate:,.0f} records/s "
        f"(parse + store; {cpu_rate:,.0f}/s of CPU time), peak RSS "
        f"{m['peak_rss_mib']:.0f} MiB, store {m['db_mib']:.0f} MiB"
    )
    print(
        f"again:  {m['second_duplicates']} duplicates, {m['second_stored']} stored, "
        f"{m['second_seconds']:.2f} s; totals unchanged: {m['totals_unchanged']}"
    )
    print(f"summary over the corpus: {m['summary_seconds']:.2f} s")
    problems = []
    expected = (written["reports"], written["records"], written["messages"])
    got = (m["reports"], m["records"], m["messages"])
    if got != expected:
        problems.append(f"stored (reports, records, messages) {got} != generated {expected}")
    if m["failed"]:
        problems.append(f"{m['failed']} reports failed: {m['errors']}")
    if (
        m["second_stored"]
        or m["second_duplicates"] != written["reports"]
        or not m["totals_unchanged"]
    ):
        problems.append("the second ingest changed something")
    if m["summary_messages"] != written["messages"]:
        problems.append("the summary's message total differs from the generator's")
    gated = cpu_rate if args.gate == "cpu" else rate
    if gated < args.min_rate:
        problems.append(
            f"{gated:,.0f} records/s ({args.gate}) is under the target {args.min_rate:,.0f}"
        )
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("OK: stored totals match the generator's")
    return bool(problems)


if __name__ == "__main__":
    sys.exit(main())
