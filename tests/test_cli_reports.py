"""``dmarc-audit reports ...`` through the real command line (a subprocess).

Stores are filled through the Store API for summary/list/show; ingest runs end to
end through the real reader on XML files written here.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmarc_audit.reports.store import Store
from tests.cli_helpers import ROOT, Run, run_cli
from tests.test_reports_store import agg, dkim, rec, spf


def run_reports(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Run:
    return run_cli("reports", *args, stdin=stdin, env=env)


OWN, ESP, SPOOFER = "192.0.2.1", "203.0.113.7", "198.51.100.9"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reports.sqlite3"
    with Store(path) as s:
        for day in range(9):
            s.add(
                agg(
                    [
                        rec(OWN, 1000, auth=(dkim("shop.example"), spf("shop.example"))),
                        rec(
                            ESP,
                            5,
                            dkim_al="fail",
                            spf_al="fail",
                            auth=(dkim("sendgrid.net"), spf("em1.sendgrid.net")),
                        ),
                        rec(
                            SPOOFER,
                            50,
                            dkim_al="fail",
                            spf_al="fail",
                            disposition="none",
                            auth=(spf("shop.example", "fail"),),
                        ),
                    ],
                    report_id=f"g{day}",
                    day=day,
                )
            )
    return path


# --- summary ---------------------------------------------------------------------


def test_summary_text(db: Path) -> None:
    run = run_reports("summary", "--db", str(db))
    assert run.code == 0, run.err
    out = run.out
    assert "shop.example · 2024-05-01 → 2024-05-10 · 9 reports from 1 reporter" in out
    assert "9,495 messages · 94.7% DMARC pass" in out
    assert "Top failing sources" in out and "likely spoofing" in out
    assert "SendGrid (sendgrid.net) authenticates as itself" in out
    assert (
        "99.5% of mail from known senders passes aligned; ready for p=quarantine. "
        "Fix this source first."
    ) in out
    assert 'publish: _dmarc.shop.example TXT "v=DMARC1; p=quarantine"' in out
    assert run.err.strip() == "9 reports · 9,495 messages · 3 sources · 94.7% DMARC pass"


def test_summary_json(db: Path) -> None:
    run = run_reports(
        "summary",
        "--db",
        str(db),
        "--format",
        "json",
        "--domain",
        "SHOP.example",
        "--since",
        "2024-05-02",
        "--until",
        "2024-05-05",
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["schema_version"] == 1
    assert doc["period"]["since"] == "2024-05-02T00:00:00Z"
    assert doc["period"]["until"] == "2024-05-06T00:00:00Z"  # the --until day is included
    assert doc["period"]["domain"] == "shop.example"
    assert doc["period"]["reports"] == 4
    assert doc["new_sources"] == []
    assert doc["totals"]["messages"] == 4 * 1055
    assert doc["readiness"][0]["verdict"] == "not-enough-data"


def test_summary_csv_is_one_row_per_source(db: Path) -> None:
    run = run_reports("summary", "--db", str(db), "--format", "csv")
    assert run.code == 0, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [r["source_ip"] for r in rows] == [OWN, SPOOFER, ESP]
    assert rows[2]["reason"] == "esp-own-domain" and rows[2]["messages"] == "45"


def test_summary_resolve_offline_zone(db: Path, tmp_path: Path) -> None:
    zone = tmp_path / "reverse.zone"
    zone.write_text(
        "$ORIGIN 113.0.203.in-addr.arpa.\n$TTL 300\n"
        "@ SOA ns.example. host.example. 1 7200 3600 1209600 300\n@ NS ns.example.\n"
        "7 PTR o1.ptr99.sendgrid.net.\n"
    )
    shop = tmp_path / "shop.zone"
    shop.write_text(
        "$ORIGIN shop.example.\n$TTL 300\n"
        "@ SOA ns.example. host.example. 1 7200 3600 1209600 300\n@ NS ns.example.\n"
        '_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"\n'
    )
    run = run_reports(
        "summary",
        "--db",
        str(db),
        "--format",
        "json",
        "--resolve",
        "--offline",
        "--zone",
        str(zone),
        "--zone",
        str(shop),
    )
    assert run.code == 0, run.err
    doc = run.json()
    esp = next(s for s in doc["sources"] if s["source_ip"] == ESP)
    assert (esp["ptr"], esp["provider"]) == ("o1.ptr99.sendgrid.net", "SendGrid")
    spoofer = next(s for s in doc["sources"] if s["source_ip"] == SPOOFER)
    assert spoofer["ptr"] is None and spoofer["ptr_outcome"] == "offline"
    assert doc["readiness"][0]["record"] == "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"
    assert doc["resolved"] is True
    assert "DNS queries" in run.err


def test_summary_of_an_empty_period(db: Path) -> None:
    run = run_reports("summary", "--db", str(db), "--since", "2030-01-01")
    assert run.code == 0
    assert run.out == ""
    assert "no aggregate reports stored for this period" in run.err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("summary", "--since", "last tuesday"), "--since 'last tuesday'"),
        (("summary", "--since", "2024-05-05", "--until", "2024-05-01"), "is not before"),
        (("summary", "--format", "xml"), "--format"),
        (("show", "999"), "no aggregate report #999"),
        (("show", "abc"), "ID"),
        (("ingest",), "no report files given"),
    ],
)
def test_bad_input_is_one_line_exit_2(db: Path, args: tuple[str, ...], fragment: str) -> None:
    run = run_reports(*args, "--db", str(db))
    assert run.code == 2, run
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert fragment in lines[0]


def test_missing_or_bad_store(tmp_path: Path) -> None:
    run = run_reports("summary", "--db", str(tmp_path / "none.sqlite3"))
    assert run.code == 2 and "no report store at" in run.err
    assert not (tmp_path / "none.sqlite3").exists()
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database\n" * 200)
    run = run_reports("list", "--db", str(junk))
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
    run = run_reports("list", "--db", str(tmp_path))
    assert run.code == 2 and "is a directory" in run.err


def test_default_store_location(db: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "dmarc-audit").mkdir(parents=True)
    os.link(db, xdg / "dmarc-audit" / "reports.sqlite3")
    run = run_reports("list", "--format", "json", env={"XDG_DATA_HOME": str(xdg)})
    assert run.code == 0, run.err
    assert len(run.json()["reports"]) == 9


# --- list and show -------------------------------------------------------------------


def test_list_json(db: Path) -> None:
    run = run_reports("list", "--db", str(db), "--format", "json", "--since", "2024-05-08")
    assert run.code == 0, run.err
    doc = run.json()
    assert (doc["schema_version"], doc["kind"]) == (1, "aggregate")
    assert doc["reports"] == [
        {
            "id": 8,
            "org_name": "google.com",
            "report_id": "g7",
            "domain": "shop.example",
            "begin": "2024-05-08T00:00:00Z",
            "end": "2024-05-09T00:00:00Z",
            "records": 3,
            "messages": 1055,
        },
        {
            "id": 9,
            "org_name": "google.com",
            "report_id": "g8",
            "domain": "shop.example",
            "begin": "2024-05-09T00:00:00Z",
            "end": "2024-05-10T00:00:00Z",
            "records": 3,
            "messages": 1055,
        },
    ]
    assert run.err.strip() == "2 aggregate reports"


def test_list_failure_and_tls_reports(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from dmarc_audit.reports.model import FailureReport, TlsPolicySummary, TlsReport

    day = datetime(2024, 5, 2, 13, 59, tzinfo=UTC)
    path = tmp_path / "r.sqlite3"
    with Store(path) as s:
        s.add(
            FailureReport(
                "f.eml",
                "auth-failure",
                day,
                "shop.example",
                SPOOFER,
                "<x@shop.example>",
                None,
                "dmarc",
                None,
                None,
                None,
                "hello",
                "shop.example",
                "dmarc@receiver.example",
            )
        )
        s.add(
            TlsReport(
                "t.json",
                "Google Inc.",
                "2024-05-01Z_shop.example",
                day,
                day + timedelta(days=1),
                None,
                (TlsPolicySummary("sts", "shop.example", 90, 10),),
            )
        )
    failure = run_reports("list", "--kind", "failure", "--db", str(path), "--format", "json")
    assert failure.json()["reports"] == [
        {
            "id": 1,
            "feedback_type": "auth-failure",
            "arrival": "2024-05-02T13:59:00Z",
            "reported_domain": "shop.example",
            "source_ip": SPOOFER,
            "auth_failure": "dmarc",
            "header_from": "shop.example",
            "reporter": "dmarc@receiver.example",
            "subject": "hello",
            "source": "f.eml",
        }
    ]
    tls = run_reports(
        "list", "--kind", "tls", "--db", str(path), "--format", "json", "--domain", "shop.example"
    )
    assert tls.json()["reports"] == [
        {
            "id": 1,
            "org_name": "Google Inc.",
            "report_id": "2024-05-01Z_shop.example",
            "begin": "2024-05-02T13:59:00Z",
            "end": "2024-05-03T13:59:00Z",
            "policies": 1,
            "successful": 90,
            "failed": 10,
            "source": "t.json",
        }
    ]
    assert tls.err.strip() == "1 tls report"


def test_list_text(db: Path) -> None:
    run = run_reports("list", "--db", str(db))
    assert run.code == 0
    assert "report_id" in run.out and "g8" in run.out and "│ 2024-05-09 │ 2024-05-10 │" in run.out


def test_show(db: Path) -> None:
    run = run_reports("show", "3", "--db", str(db), "--format", "json")
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["schema_version"] == 1
    report = doc["report"]
    assert report["report_id"] == "g2" and report["policy_published"]["p"] == "none"
    assert (report["records"], report["messages"]) == (3, 1055)
    assert [r["source_ip"] for r in doc["records"]] == [OWN, ESP, SPOOFER]
    assert doc["records"][1]["auth_results"][0] == {
        "method": "dkim",
        "domain": "sendgrid.net",
        "result": "pass",
        "selector": "s1",
    }
    text = run_reports("show", "3", "--db", str(db))
    assert text.code == 0
    assert "#3 google.com · report g2 · shop.example" in text.out
    assert "dkim=pass:sendgrid.net" in text.out


def test_every_summary_format_has_a_renderer() -> None:
    from dmarc_audit.cli.reports import SUMMARY_RENDERERS, SummaryFormat

    assert set(SUMMARY_RENDERERS) == set(SummaryFormat)


def test_reports_help_stays_light() -> None:
    code = (
        "import sys\n"
        "from dmarc_audit.cli.app import main\n"
        "try:\n    main(['reports', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlite3', 'rich.console', 'dns.resolver', 'tldextract',"
        " 'dmarc_audit.reports.store') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
    for command in ("ingest", "summary", "list", "show"):
        assert command in proc.stdout


# --- ingest, end to end through the real reader -----------------------------------------


def aggregate_xml(
    report_id: str,
    records: list[tuple[str, int, str, str]],
    *,
    org: str = "google.com",
    begin: int = 1714521600,
    domain: str = "shop.example",
) -> str:
    rows = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        f"<policy_evaluated><disposition>none</disposition><dkim>{dkim_r}</dkim>"
        f"<spf>{spf_r}</spf></policy_evaluated></row>"
        f"<identifiers><header_from>{domain}</header_from></identifiers>"
        f"<auth_results><dkim><domain>{domain}</domain><selector>s1</selector>"
        f"<result>{dkim_r}</result></dkim><spf><domain>{domain}</domain>"
        f"<result>{spf_r}</result></spf></auth_results></record>"
        for ip, count, dkim_r, spf_r in records
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feedback>'
        f"<report_metadata><org_name>{org}</org_name><email>noreply@{org}</email>"
        f"<report_id>{report_id}</report_id><date_range><begin>{begin}</begin>"
        f"<end>{begin + 86400}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>"
        "<p>none</p><sp>none</sp><pct>100</pct></policy_published>"
        f"{rows}</feedback>\n"
    )


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xml").write_text(
        aggregate_xml("a1", [(OWN, 10, "pass", "pass"), (SPOOFER, 2, "fail", "fail")])
    )
    (inbox / "b.xml.gz").write_bytes(
        gzip.compress(
            aggregate_xml("b1", [(OWN, 7, "pass", "fail")], org="Yahoo", begin=1714608000).encode()
        )
    )
    (inbox / "broken.xml").write_text(aggregate_xml("c1", [(OWN, 1, "pass", "pass")])[:300])
    (inbox / "notes.txt").write_text("this is not a report\n")
    return inbox


@pytest.fixture
def reader_ready() -> None:
    if not (ROOT / "dmarc_audit" / "reports" / "read.py").exists():
        pytest.fail("the report reader (dmarc_audit/reports/read.py) is not there yet")


@pytest.mark.usefixtures("reader_ready")
def test_ingest_lists_bad_files_and_stores_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    run = run_reports("ingest", "--db", str(db), str(_inbox(tmp_path)))
    assert run.code == 1, run.err
    assert run.out == ""
    failed = [line for line in run.err.splitlines() if line.startswith("dmarc-audit: failed:")]
    assert len(failed) == 2, run.err
    assert any("broken.xml" in line for line in failed)
    assert any("notes.txt" in line for line in failed)
    assert (
        run.err.strip()
        .splitlines()[-1]
        .startswith("2 reports stored, 0 duplicates, 2 failed · 3 records")
    )
    with Store(db) as s:
        assert (s.totals().aggregate_reports, s.totals().messages) == (2, 19)


@pytest.mark.usefixtures("reader_ready")
def test_ingest_twice_changes_nothing_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    inbox = _inbox(tmp_path)
    (inbox / "broken.xml").unlink()
    (inbox / "notes.txt").unlink()
    first = run_reports("ingest", "--db", str(db), str(inbox), "--format", "json")
    assert first.code == 0, first.err
    with Store(db) as s:
        totals = s.totals()
    second = run_reports("ingest", "--db", str(db), str(inbox), "-v")
    assert second.code == 0, second.err
    assert "already stored" in second.err
    assert (
        second.err.strip()
        .splitlines()[-1]
        .startswith("0 reports stored, 2 duplicates, 0 failed · 0 records")
    )
    with Store(db) as s:
        assert s.totals() == totals
    doc = first.json()
    assert doc["totals"]["stored"] == 2 and doc["totals"]["records"] == 3
    assert {f["status"] for f in doc["files"]} == {"ingested"}


@pytest.mark.usefixtures("reader_ready")
def test_ingest_stdin_and_archive(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    run = run_reports(
        "ingest", "--db", str(db), "-", stdin=aggregate_xml("s1", [(OWN, 4, "pass", "pass")])
    )
    assert run.code == 0, run.err
    inbox = _inbox(tmp_path)
    run = run_reports("ingest", "--db", str(db), "--archive", str(tmp_path / "done"), str(inbox))
    assert run.code == 1
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a.xml", "b.xml.gz"]
    assert sorted(p.name for p in inbox.iterdir()) == ["broken.xml", "notes.txt"]
    with Store(db) as s:
        assert s.totals().aggregate_reports == 3
