"""Every real-world sample in tests/data/reports/corpus reads correctly.

Aggregate files are checked against ``aggregate.expected.json`` (parsedmarc 11.1.0's
output plus an independent lxml count of ``<record>`` elements, see the corpus README).
parsedmarc splits reports that span more than a day into per-day records, so the
record count compared here is ``raw_crosscheck.records_raw``.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dmarc_audit.reports.aggregate import read_aggregate
from dmarc_audit.reports.model import (
    AggregateReport,
    AggregateSchema,
    FailureReport,
    ReportError,
    TlsReport,
)
from dmarc_audit.reports.read import read_report_bytes, read_reports

CORPUS = Path(__file__).parent / "data" / "reports" / "corpus"
EXPECTED = json.loads((CORPUS / "aggregate.expected.json").read_text())
CASES = sorted(key for key in EXPECTED if key != "_meta")
NS_DMARC_2 = "urn:ietf:params:xml:ns:dmarc-2.0"


def test_every_expected_entry_is_a_case() -> None:
    assert len(CASES) == 26
    on_disk = sorted(
        str(p.relative_to(CORPUS))
        for folder in ("aggregate", "aggregate_invalid", "extract_report", "historical", "misc")
        for p in (CORPUS / folder).iterdir()
    )
    assert on_disk == CASES


def read_all(path: Path) -> list:
    return list(read_reports([str(path)]))


@pytest.mark.parametrize("name", CASES)
def test_aggregate_sample(name: str) -> None:
    expected = EXPECTED[name]
    items = read_all(CORPUS / name)
    assert len(items) == 1, items
    item = items[0]
    if expected["parsedmarc_status"] == "error":
        assert isinstance(item, ReportError)
        assert item.source == str(CORPUS / name) and "empty" in item.message
        return
    assert isinstance(item, AggregateReport), item
    raw = expected["raw_crosscheck"]
    records = list(item.records)
    assert len(records) == raw["records_raw"]
    assert sum(r.count for r in records) == expected["total_count"] == raw["total_count_raw"]
    assert item.skipped_records == 0
    meta = item.meta
    assert meta.report_id == raw["report_id_raw"].strip()
    assert meta.org_name == (
        raw["org_name_raw"].strip() or meta.email.rpartition("@")[2]
    )  # fallback, with a warning
    assert meta.begin == datetime.fromtimestamp(int(raw["begin_epoch"]), UTC)
    assert meta.end == datetime.fromtimestamp(int(raw["end_epoch"]), UTC)
    policy = meta.policy
    assert policy.domain == expected["policy_domain"]
    # We keep what was published; parsedmarc fills in the RFC defaults for absent tags.
    defaults = {"sp": policy.p, "adkim": "r", "aspf": "r", "pct": 100}
    for field in ("p", "sp", "np", "adkim", "aspf", "pct"):
        want = expected[field]
        if want is None:
            continue
        got = getattr(policy, field)
        assert (got if got is not None else defaults[field]) == (
            int(want) if field == "pct" else want
        ), field
    assert meta.schema is _schema(expected)
    for record in records:
        assert record.disposition in ("none", "quarantine", "reject", "pass")
        assert record.dkim_aligned in ("pass", "fail") and record.spf_aligned in ("pass", "fail")


def _schema(expected: dict) -> AggregateSchema:
    if expected["raw_crosscheck"]["root_namespace"] == NS_DMARC_2:
        return AggregateSchema.RFC9990
    return {
        "draft": AggregateSchema.DRAFT,
        "1.0": AggregateSchema.RFC7489,
        "2.0": AggregateSchema.RFC9990,
    }[expected["xml_schema"]]


@pytest.mark.parametrize(
    "name",
    [c for c in CASES if c.endswith(".xml") and EXPECTED[c]["parsedmarc_status"] == "parsed"],
)
def test_fast_and_careful_readers_agree(name: str) -> None:
    data = (CORPUS / name).read_bytes()

    def opener(_warn: object) -> io.BytesIO:
        return io.BytesIO(data)

    fast = read_aggregate(name, opener)
    careful = read_aggregate(name, opener, fast=False)
    assert isinstance(fast, AggregateReport) and isinstance(careful, AggregateReport)
    assert fast.meta == careful.meta
    assert list(fast.records) == list(careful.records)
    assert sorted(map(str, fast.warnings)) == sorted(map(str, careful.warnings))


QUIRK_WARNINGS = {
    "aggregate/ikea.com!example.de!1538690400!1538776800.xml": [
        "wrapped in <xs:schema>",
        "<xs:schema>, which is never closed",
    ],
    "aggregate/invalid_xml.xml": [
        "unescaped '<' read as text in <email>",
        "unescaped '<' read as text in <header_from>",
    ],
    "aggregate/invalid_utf_8.xml": ["not valid UTF-8"],
    "aggregate_invalid/report_with_upper_cased_pass.xml": [
        "upper-case value 'Pass'",
        "upper-case value 'None'",
    ],
    "aggregate/example.net!example.com!1529366400!1529452799.xml": [
        "stray text '11' in <policy_published>"
    ],
    "aggregate/mimecast-weird-gzip.eml": ["bytes after the end of the gzip data"],
    "aggregate/!example.com!1538204542!1538463818.xml": ["empty <org_name>"],
    "aggregate/empty_reason.xml": ["a <reason> without a <type> ignored"],
}


@pytest.mark.parametrize("name", sorted(QUIRK_WARNINGS))
def test_quirks_are_reported_as_warnings(name: str) -> None:
    [item] = read_all(CORPUS / name)
    list(item.records)
    text = "\n".join(map(str, item.warnings))
    for expected in QUIRK_WARNINGS[name]:
        assert expected in text


def test_repaired_values_keep_the_literal_characters() -> None:
    [item] = read_all(CORPUS / "aggregate/invalid_xml.xml")
    assert item.meta.email == "<bad-xml@bad-xml.net>"
    assert next(item.records).header_from == "bad<xml.net"
    [utf8] = read_all(CORPUS / "aggregate/invalid_utf_8.xml")
    assert next(utf8.records).header_from == "bad_byte\ufffd"


def test_rfc9990_fields() -> None:
    name = "aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml"
    [item] = read_all(CORPUS / name)
    policy = item.meta.policy
    assert (policy.np, policy.testing, policy.discovery_method) == ("reject", "y", "treewalk")
    records = list(item.records)
    assert records[1].reasons == (("other", "sender not authorized"),)
    [sample] = read_all(CORPUS / "aggregate/rfc9990-sample.xml")
    assert sample.meta.generator == "Example DMARC Aggregate Reporter v1.2"
    assert next(sample.records).disposition == "pass"


def test_email_sources_name_the_attachment() -> None:
    [item] = read_all(CORPUS / "aggregate/twilight.eml")
    assert item.source.endswith(
        "twilight.eml!google.com!twlnet.com!1549756800!1549843199.zip"
        "!google.com!twlnet.com!1549756800!1549843199.xml"
    )


FAILURES = {
    "forensic/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, "
    "ip=10.10.10.10).eml": dict(
        reported_domain="domain.de",
        source_ip="10.10.10.10",
        auth_failure="dmarc",
        original_mail_from="sharepoint@domain.de",
        original_rcpt_to="peter.pan@domain.de",
        delivery_result="smg-policy-action",
        header_from="domain.de",
        subject="Subject",
        arrival_date=datetime(2018, 10, 1, 9, 20, 27, tzinfo=UTC),
    ),
    "forensic/[Netease DMARC Failure Report] Rent Reminder.eml": dict(
        reported_domain="cardinal.com",
        source_ip="167.89.69.24",
        dkim_domain="entrata.com",
        delivery_result="delivered",
        subject="Rent Reminder",
        header_from="cardinal.com",
        arrival_date=datetime(2018, 9, 28, 8, 48, 42, tzinfo=UTC),
    ),
    "forensic/dmarc_ruf_report_linkedin.eml": dict(
        reported_domain="example.com",
        source_ip="10.10.10.10",
        auth_failure="dmarc",
        original_mail_from=None,
        original_rcpt_to="recipient@linkedin.com",
        delivery_result="delivered",
        reporter="dmarc-noreply@linkedin.com",
        subject="Subject line, could be UTF8 encoded",
        header_from="example.com",
    ),
    "forensic/dmarc_ruf_report_linkedin.crlf.eml": dict(
        reported_domain="example.com", source_ip="10.10.10.10", delivery_result="delivered"
    ),
    "forensic/exim_plain_text_only_no_arf_part.eml": dict(
        reported_domain="example.com",
        source_ip="203.0.113.68",
        auth_failure="dmarc",
        subject="Payment from your account.",
        header_from="example.com",
        arrival_date=datetime(2025, 4, 7, 21, 16, 9, tzinfo=UTC),
    ),
}


def test_every_failure_sample_is_a_case() -> None:
    assert sorted(FAILURES) == sorted(
        str(p.relative_to(CORPUS)) for p in (CORPUS / "forensic").iterdir()
    )


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_failure_sample(name: str) -> None:
    [item] = read_all(CORPUS / name)
    assert isinstance(item, FailureReport), item
    assert item.feedback_type == "auth-failure"
    assert item.source == str(CORPUS / name)
    for field, value in FAILURES[name].items():
        assert getattr(item, field) == value, field
    plain = name.startswith("forensic/exim")
    assert any("no message/feedback-report part" in str(w) for w in item.warnings) == plain


TLS = {
    "smtp_tls/rfc8460.json": (
        "Company-X",
        "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
        [("sts", "company-y.example", 5326, 303, 3)],
    ),
    "smtp_tls/mail.ru.json": (
        "Mail.ru",
        "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru",
        [("sts", "example.com", 0, 1, 2)],
    ),
    "smtp_tls/smtp_tls.json": (
        "Example Inc.",
        "2024-01-09T00:00:00Z_example.com",
        [("sts", "example.com", 0, 3, 2)],
    ),
    "smtp_tls/google.com_smtp_tls_report.eml": (
        "Google Inc.",
        "2024-09-03T00:00:00Z_cardinalhealth.ca",
        [("no-policy-found", "cardinalhealth.ca", 48, 0, 0)],
    ),
}


def test_every_tls_sample_is_a_case() -> None:
    assert sorted(TLS) == sorted(
        str(p.relative_to(CORPUS)) for p in (CORPUS / "smtp_tls").iterdir()
    )


@pytest.mark.parametrize("name", sorted(TLS))
def test_tls_sample(name: str) -> None:
    [item] = read_all(CORPUS / name)
    assert isinstance(item, TlsReport), item
    org, report_id, policies = TLS[name]
    assert (item.org_name, item.report_id) == (org, report_id)
    assert [
        (p.policy_type, p.policy_domain, p.successful, p.failed, len(p.failure_details))
        for p in item.policies
    ] == policies
    assert item.begin < item.end and item.begin.tzinfo is UTC
    assert item.warnings == ()


def test_the_whole_corpus_as_one_directory() -> None:
    kinds: dict[str, int] = {}
    for item in read_reports([str(CORPUS)]):
        kinds[type(item).__name__] = kinds.get(type(item).__name__, 0) + 1
        if isinstance(item, AggregateReport):
            list(item.records)
    # aggregate.expected.json and misc/empty.xml are not reports (README.md is not even
    # read: directory walks skip documentation files).
    assert kinds == {"AggregateReport": 25, "FailureReport": 5, "TlsReport": 4, "ReportError": 2}


def test_failure_source_ip_with_a_comment_reads_the_address() -> None:
    """RFC 5965's Source-IP may carry a comment (CFWS): the address is read, no warning."""
    sample = CORPUS / "forensic" / "dmarc_ruf_report_linkedin.eml"
    data = sample.read_bytes().replace(
        b"Source-IP: 10.10.10.10", b"Source-IP: 192.0.2.1 (mail.host.example)"
    )
    [item] = list(read_report_bytes(data, "linkedin-comment.eml"))
    assert isinstance(item, FailureReport), item
    assert item.source_ip == "192.0.2.1"
    assert not [w for w in item.warnings if "Source-IP" in w.message]
