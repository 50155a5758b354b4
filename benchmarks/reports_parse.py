"""Benchmark: parse a large synthetic DMARC aggregate report, plain and gzipped.

Writes a report with ``--records`` records (default 200,000) to a temporary
directory, gzips a copy, then parses each in a fresh subprocess so the peak RSS
(``ru_maxrss``) belongs to that parse alone. Prints records/s and peak RSS.

    /work/venv/bin/python benchmarks/reports_parse.py [--records N] [--keep DIR]

Targets: at least 15,000 records/s on one core; peak RSS under 100 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>bench.example</org_name>
    <email>noreply-dmarc@bench.example</email>
    <report_id>bench-{records}</report_id>
    <date_range>
      <begin>1700000000</begin>
      <end>1700086399</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
  </policy_published>
"""

RECORD = """  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>{dkim}</dkim>
        <spf>{spf}</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from>bounce{n}.example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s{sel}</selector>
        <result>{dkim}</result>
      </dkim>
      <spf>
        <domain>bounce{n}.example.com</domain>
        <scope>mfrom</scope>
        <result>{spf}</result>
      </spf>
    </auth_results>
  </record>
"""


def write_report(path: str, records: int) -> int:
    """Write the synthetic report; returns the message total (sum of counts)."""
    total = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER.format(records=records))
        for n in range(records):
            ip = (
                f"2001:db8::{n >> 16:x}:{n & 0xFFFF:x}"
                if n % 5 == 0
                else f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            )
            count = n % 7 + 1
            total += count
            out.write(
                RECORD.format(
                    ip=ip,
                    count=count,
                    n=n % 100,
                    sel=n % 3,
                    dkim="pass" if n % 4 else "fail",
                    spf="fail" if n % 6 == 0 else "pass",
                )
            )
        out.write("</feedback>\n")
    return total


def measure(path: str) -> dict[str, float]:
    """Parse ``path`` in this process (run as the child)."""
    from dmarc_audit.reports.model import AggregateReport
    from dmarc_audit.reports.read import read_reports

    started = time.perf_counter()
    cpu = time.process_time()
    records = messages = 0
    for item in read_reports([path]):
        if not isinstance(item, AggregateReport):
            raise SystemExit(f"unexpected: {item!r}")
        for record in item.records:
            records += 1
            messages += record.count
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": records,
        "messages": messages,
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak_kib / 1024,
    }


def floor(path: str, records: int) -> float:
    """Records/s of bare expat with do-nothing callbacks: what this machine allows."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.buffer_text = True
    stack: list[str] = []
    text: list[str] = []

    def start(name: str, _attrs: object) -> None:
        stack.append(name)

    def end(_name: str) -> None:
        stack.pop()
        text.clear()

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text.append
    cpu = time.process_time()
    with open(path, "rb") as src:
        while chunk := src.read(1 << 16):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return records / (time.process_time() - cpu)


def run_child(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--keep", help="write the files here and keep them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    if args.floor:
        print(json.dumps({"rate": floor(args.floor, args.records)}))
        return
    folder = args.keep or tempfile.mkdtemp(prefix="dmarc-bench-")
    os.makedirs(folder, exist_ok=True)
    try:
        plain = os.path.join(folder, "large.xml")
        packed = plain + ".gz"
        total = write_report(plain, args.records)
        with open(plain, "rb") as src, gzip.open(packed, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        small = os.path.join(folder, "small.xml")
        write_report(small, 10)
        print(
            f"report: {args.records:,} records, {total:,} messages; "
            f"{os.path.getsize(plain) / 1e6:.1f} MB XML, "
            f"{os.path.getsize(packed) / 1e6:.1f} MB gzip"
        )
        base = run_child("--child", small)
        print(f"baseline: a 10-record report peaks at {base['peak_rss_mb']:.1f} MB RSS")
        bare = run_child("--floor", plain, "--records", str(args.records))["rate"]
        print(
            f"machine:  bare expat, do-nothing callbacks: {bare:,.0f} records/s "
            f"(the ceiling for any expat-based reader here)"
        )
        for label, path in (("xml", plain), ("xml.gz", packed)):
            result = run_child("--child", path)
            ok = result["records"] == args.records and result["messages"] == total
            rate = result["records"] / result["cpu_seconds"]
            print(
                f"{label:7} {result['records']:>9,} records  {result['seconds']:6.2f} s wall  "
                f"{rate:9,.0f} records/s (CPU)  peak RSS {result['peak_rss_mb']:5.1f} MB"
                f"  {'ok' if ok else 'COUNT MISMATCH'}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
