"""read_reports / read_report_bytes: the API, the containers, and every tolerated quirk."""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from dmarc_audit.reports.aggregate import read_aggregate
from dmarc_audit.reports.model import (
    AggregateReport,
    AggregateSchema,
    AuthResult,
    FailureReport,
    ReportError,
    TlsReport,
)
from dmarc_audit.reports.read import ReadOptions, read_report_bytes, read_reports
from dmarc_audit.reports.sources import Format, sniff

# --- building reports --------------------------------------------------------

META = """  <report_metadata>
    <org_name>Reporter Inc.</org_name>
    <email>dmarc@reporter.example</email>
    <report_id>r-1</report_id>
    <date_range>
      <begin>1700000000</begin>
      <end>1700086399</end>
    </date_range>
  </report_metadata>
"""
POLICY = """  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>quarantine</sp>
    <pct>100</pct>
    <fo>0</fo>
  </policy_published>
"""


def rec(
    ip: str = "192.0.2.1",
    count: str = "1",
    dkim: str = "pass",
    spf: str = "pass",
    disposition: str = "none",
    extra: str = "",
) -> str:
    return f"""  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated>
        <disposition>{disposition}</disposition>
        <dkim>{dkim}</dkim>
        <spf>{spf}</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from>bounce.example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s1</selector>
        <result>{dkim}</result>
      </dkim>
      <spf>
        <domain>bounce.example.com</domain>
        <scope>mfrom</scope>
        <result>{spf}</result>
      </spf>
    </auth_results>{extra}
  </record>
"""


def report(
    *records: str,
    meta: str = META,
    policy: str = POLICY,
    head: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
    open_tag: str = "<feedback>",
    close_tag: str = "</feedback>",
) -> str:
    body = "".join(records) if records else rec()
    return f"{head}{open_tag}\n  <version>1.0</version>\n{meta}{policy}{body}{close_tag}\n"


def read_one(data: bytes | str, source: str = "test.xml", **kw: int) -> AggregateReport:
    items = list(
        read_report_bytes(
            data.encode() if isinstance(data, str) else data, source, ReadOptions(**kw)
        )
    )
    assert len(items) == 1, items
    item = items[0]
    assert isinstance(item, AggregateReport), item
    return item


def records_of(item: AggregateReport) -> list:
    return list(item.records)


def warned(item: AggregateReport | FailureReport | TlsReport, text: str) -> bool:
    return any(text in str(w) for w in item.warnings)


def only_error(data: bytes | str, source: str = "test.xml", **kw: int) -> ReportError:
    items = list(
        read_report_bytes(
            data.encode() if isinstance(data, str) else data, source, ReadOptions(**kw)
        )
    )
    assert len(items) == 1 and isinstance(items[0], ReportError), items
    return items[0]


def gz(data: str | bytes) -> bytes:
    return gzip.compress(data.encode() if isinstance(data, str) else data)


def zipped(*members: tuple[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def mail(
    *attachments: tuple[str, str, bytes],
    body: str = "An aggregate report.",
    subject: str = "Report domain: example.com",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "noreply-dmarc@reporter.example"
    msg["To"] = "dmarc@example.com"
    msg["Subject"] = subject
    msg.set_content(body)
    for ctype, name, data in attachments:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


# --- the API -----------------------------------------------------------------


def test_read_options_default_cap_is_one_gibibyte() -> None:
    assert ReadOptions().max_decompressed_bytes == 1 << 30
    with pytest.raises(ValueError):
        ReadOptions(max_decompressed_bytes=0)


def test_a_plain_report_reads_every_field() -> None:
    item = read_one(report(rec("192.0.2.1", "3"), rec("2001:DB8::0:1", "2", dkim="fail")))
    meta = item.meta
    assert (meta.org_name, meta.email, meta.report_id) == (
        "Reporter Inc.",
        "dmarc@reporter.example",
        "r-1",
    )
    assert meta.begin == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert meta.end == datetime.fromtimestamp(1700086399, UTC)
    assert meta.schema is AggregateSchema.RFC7489
    policy = meta.policy
    assert (policy.domain, policy.p, policy.sp, policy.adkim, policy.aspf, policy.pct) == (
        "example.com",
        "none",
        "quarantine",
        "r",
        "r",
        100,
    )
    assert policy.np is None and policy.fo == "0"
    first, second = records_of(item)
    assert first.source_ip == "192.0.2.1" and first.count == 3
    assert (first.disposition, first.dkim_aligned, first.spf_aligned) == ("none", "pass", "pass")
    assert first.header_from == "example.com" and first.envelope_from == "bounce.example.com"
    assert first.auth_results == (
        AuthResult("dkim", "example.com", "pass", selector="s1"),
        AuthResult("spf", "bounce.example.com", "pass", scope="mfrom"),
    )
    assert second.source_ip == "2001:db8::1", "IPv6 in canonical form"
    assert second.dkim_aligned == "fail" and second.dmarc_pass, "SPF alone passes DMARC"
    assert item.warnings == [] and item.skipped_records == 0
    assert item.source == "test.xml"


def test_records_are_lazy() -> None:
    item = read_one(report(rec(), rec()))
    assert iter(item.records) is item.records
    assert next(item.records).source_ip == "192.0.2.1"


def test_minified_and_pretty_reports_read_the_same() -> None:
    pretty = report(rec("192.0.2.1"), rec("192.0.2.2", "5", dkim="fail"))
    minified = "".join(line.strip() for line in pretty.splitlines())
    assert records_of(read_one(pretty)) == records_of(read_one(minified))


def test_fast_and_careful_readers_agree_on_quirky_input() -> None:
    document = report(
        rec(extra="\n    <extensions><x>1</x></extensions>"),
        rec("bad-ip"),
        rec(count="Pass"),
        rec(dkim="Pass"),
    )
    data = document.encode()

    def opener(_warn: object) -> io.BytesIO:
        return io.BytesIO(data)

    fast = read_aggregate("t", opener)
    careful = read_aggregate("t", opener, fast=False)
    assert isinstance(fast, AggregateReport) and isinstance(careful, AggregateReport)
    assert list(fast.records) == list(careful.records)
    assert fast.skipped_records == careful.skipped_records == 2


def test_source_names_the_member_inside_containers(tmp_path: Path) -> None:
    (tmp_path / "r.zip").write_bytes(zipped(("inner/report.xml", report())))
    (tmp_path / "r.xml.gz").write_bytes(gz(report()))
    sources = sorted(item.source for item in read_reports([str(tmp_path)]))
    assert sources == [f"{tmp_path}/r.xml.gz", f"{tmp_path}/r.zip!inner/report.xml"]


def test_one_bad_file_never_stops_the_batch(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(report())
    (tmp_path / "b.xml").write_bytes(b"\x00\x01garbage")
    (tmp_path / "c.xml").write_text(report())
    items = list(read_reports([str(tmp_path), str(tmp_path / "missing.xml")]))
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["AggregateReport", "ReportError", "AggregateReport", "ReportError"]
    assert items[1].source.endswith("b.xml") and "not a report" in items[1].message
    assert items[3].message == "no such file or directory"


def test_a_file_without_a_report_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Just some notes.\n")
    (tmp_path / "other.json").write_text('{"a": 1}')
    (tmp_path / "page.xml").write_text("<html><body>hi</body></html>")
    messages = [item.message for item in read_reports([str(tmp_path)])]
    assert len(messages) == 3
    assert "not a report" in messages[0]
    assert 'JSON without "policies"' in messages[1]
    assert "no <feedback> element" in messages[2] and "<html>" in messages[2]


def test_the_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_bytes(gz(report()))
    (tmp_path / "archive.xml").write_bytes(zipped(("a.bin", report())))
    items = list(read_reports([str(tmp_path)]))
    assert [type(i).__name__ for i in items] == ["AggregateReport", "AggregateReport"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", Format.EMPTY),
        (b"  \n", Format.EMPTY),
        (b"\x1f\x8b\x08", Format.GZIP),
        (b"PK\x03\x04", Format.ZIP),
        (b"\xef\xbb\xbf<?xml", Format.XML),
        (b"\xff\xfe<\x00", Format.XML),
        (b"\n  <feedback>", Format.XML),
        (b' {"policies": []}', Format.JSON),
        (b"From a@b.example Mon Jan  1 00:00:00 2024\nSubject: x\n", Format.MBOX),
        (b"Received: from x\nSubject: y\n\nbody", Format.EMAIL),
        (b"MZ\x90\x00", Format.UNKNOWN),
    ],
)
def test_sniff(head: bytes, expected: Format) -> None:
    assert sniff(head) is expected


def test_stdin_is_read_when_the_path_is_a_dash() -> None:
    items = list(read_reports(["-"], stdin=io.BytesIO(gz(report()))))
    assert len(items) == 1 and items[0].source == "<stdin>"
    assert len(records_of(items[0])) == 1


def test_zip_yields_every_xml_member() -> None:
    data = zipped(
        ("a.xml", report(rec("192.0.2.1"))),
        ("dir/", b""),
        ("b.xml.gz", gz(report(rec("192.0.2.2"), rec("192.0.2.3")))),
    )
    items = list(read_report_bytes(data, "x.zip"))
    assert [i.source for i in items] == ["x.zip!a.xml", "x.zip!b.xml.gz"]
    assert [len(records_of(i)) for i in items] == [1, 2]


# --- mail: messages, mbox, Maildir --------------------------------------------


def test_email_with_a_zipped_report() -> None:
    data = mail(("application/zip", "r.zip", zipped(("r.xml", report()))))
    [item] = read_report_bytes(data, "m.eml")
    assert item.source == "m.eml!r.zip!r.xml"
    assert len(records_of(item)) == 1


def test_email_with_an_inline_xml_part_and_quoted_printable() -> None:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "r@reporter.example", "Report"
    msg.set_content(report(), subtype="xml", cte="quoted-printable")
    [item] = read_report_bytes(msg.as_bytes(), "m.eml")
    assert isinstance(item, AggregateReport)


def test_single_part_message_whose_body_is_base64_gzip() -> None:
    payload = base64.encodebytes(gz(report()) + b"\r\n").decode()
    data = (
        "From: r@reporter.example\nSubject: Report\nContent-Type: application/gzip\n"
        "Content-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="r.xml.gz"\n\n' + payload
    ).encode()
    [item] = read_report_bytes(data, "m.eml")
    assert item.source == "m.eml!r.xml.gz"
    assert len(records_of(item)) == 1
    assert warned(item, "bytes after the end of the gzip data ignored")


def test_forwarded_report_inside_a_message() -> None:
    inner = mail(("application/gzip", "r.xml.gz", gz(report())))
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "me@example.com", "Fwd: report"
    outer.set_content("see attached")
    outer.add_attachment(inner, maintype="message", subtype="rfc822")
    [item] = read_report_bytes(outer.as_bytes(), "fwd.eml")
    assert isinstance(item, AggregateReport)
    assert item.source.startswith("fwd.eml!") and item.source.endswith("!r.xml.gz")


def test_message_without_a_report_is_an_error() -> None:
    error = only_error(mail(body="Hello, no report here."), "hello.eml")
    assert "no report found in the message" in error.message and "text/plain" in error.message


def test_mbox_with_several_messages(tmp_path: Path) -> None:
    one = mail(("application/gzip", "a.xml.gz", gz(report(rec("192.0.2.1")))))
    two = mail(("application/zip", "b.zip", zipped(("b.xml", report(rec("192.0.2.2"))))))
    box = b"".join(
        b"From dmarc@reporter.example Mon Jan  1 00:00:00 2024\n" + m + b"\n" for m in (one, two)
    )
    path = tmp_path / "reports.mbox"
    path.write_bytes(box)
    items = list(read_reports([str(path)]))
    assert [i.source for i in items] == [
        f"{path}!message 1!a.xml.gz",
        f"{path}!message 2!b.zip!b.xml",
    ]
    assert [r.source_ip for i in items for r in i.records] == ["192.0.2.1", "192.0.2.2"]


def test_maildir_reads_cur_and_new_and_skips_tmp(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Reports/cur", ".Reports/new", ".Reports/tmp"):
        (box / sub).mkdir(parents=True)
    message = mail(("application/gzip", "r.xml.gz", gz(report())))
    (box / "cur" / "1.host:2,S").write_bytes(message)
    (box / "new" / "2.host").write_bytes(message)
    (box / "tmp" / "3.host").write_bytes(b"half-written")
    (box / ".Reports" / "new" / "4.host").write_bytes(message)
    (box / "dovecot-uidlist").write_text("3 V1 N1\n")
    (box / ".hidden.xml").write_text(report())
    sources = [item.source for item in read_reports([str(box)])]
    assert [s.split("Maildir/")[1] for s in sources] == [
        ".Reports/new/4.host!r.xml.gz",
        "cur/1.host:2,S!r.xml.gz",
        "new/2.host!r.xml.gz",
    ]


# --- failure and TLS ----------------------------------------------------------


def test_plain_text_failure_report_is_read_with_a_warning() -> None:
    data = (
        b"From: no-reply@mx.example\nSubject: DMARC Forensic Report for example.com\n"
        b"Content-Type: multipart/report; boundary=B\nMIME-Version: 1.0\n\n--B\n"
        b"Content-Type: text/plain\n\n  Sender Domain: example.com\n"
        b"  Sender IP Address: 203.0.113.9\n--B--\n"
    )
    [item] = read_report_bytes(data, "f.eml")
    assert isinstance(item, FailureReport)
    assert (item.reported_domain, item.source_ip) == ("example.com", "203.0.113.9")
    assert warned(item, "no message/feedback-report part")


def test_tls_report_json_gzip_and_bad_counts() -> None:
    doc = (
        '{"organization-name": "Org", "report-id": "id-1", "contact-info": "a@b",'
        '"date-range": {"start-datetime": "2024-01-01T00:00:00Z",'
        '"end-datetime": "2024-01-01T23:59:59Z"},'
        '"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com"},'
        '"summary": {"total-successful-session-count": "7",'
        '"total-failure-session-count": -1}}]}'
    )
    [item] = read_report_bytes(gz(doc), "t.json.gz")
    assert isinstance(item, TlsReport)
    assert (item.org_name, item.report_id, item.contact) == ("Org", "id-1", "a@b")
    [policy] = item.policies
    assert (policy.policy_type, policy.policy_domain, policy.successful, policy.failed) == (
        "sts",
        "example.com",
        7,
        0,
    )
    assert warned(item, "is a string") and warned(item, "not a count")


def test_tls_report_without_dates_is_an_error() -> None:
    error = only_error('{"policies": [], "report-id": "x"}', "t.json")
    assert 'no "date-range"' in error.message


# --- quirks: each tolerated with a warning ------------------------------------


def test_byte_order_mark_and_leading_whitespace() -> None:
    item = read_one(b"\xef\xbb\xbf\n\n  " + report().encode())
    assert len(records_of(item)) == 1
    assert warned(item, "byte-order mark") and warned(item, "whitespace before the XML declaration")


def test_namespace_prefixes() -> None:
    document = report(
        open_tag='<d:feedback xmlns:d="urn:ietf:params:xml:ns:dmarc-2.0">',
        close_tag="</d:feedback>",
    )
    document = document.replace("<", "<d:").replace("<d:/", "</d:").replace("<d:?", "<?")
    document = document.replace("<d:d:", "<d:").replace("</d:d:", "</d:")
    item = read_one(document)
    assert item.meta.schema is AggregateSchema.RFC9990
    assert records_of(item)[0].auth_results[0].selector == "s1"
    assert warned(item, "namespace prefix 'd:'")


def test_rfc9990_default_namespace_and_new_fields() -> None:
    meta = META.replace("</date_range>", "</date_range>\n    <generator>Gen 1.2</generator>")
    policy = POLICY.replace(
        "<pct>100</pct>",
        "<np>reject</np><testing>n</testing><discovery_method>treewalk</discovery_method>",
    )
    extra = ""
    document = report(
        rec(extra=extra).replace(
            "<result>pass</result>\n      </dkim>",
            "<result>pass</result>\n        <human_result>2048-bit key</human_result>\n"
            "      </dkim>",
        ),
        meta=meta,
        policy=policy,
        open_tag='<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">',
    )
    item = read_one(document)
    assert item.meta.schema is AggregateSchema.RFC9990
    assert item.meta.generator == "Gen 1.2"
    policy_seen = item.meta.policy
    assert (policy_seen.np, policy_seen.testing, policy_seen.discovery_method, policy_seen.pct) == (
        "reject",
        "n",
        "treewalk",
        None,
    )
    assert records_of(item)[0].auth_results[0].human_result == "2048-bit key"
    assert item.warnings == []


def test_schema_from_version_or_its_absence() -> None:
    assert (
        read_one(report().replace("<version>1.0</version>", "")).meta.schema
        is AggregateSchema.DRAFT
    )
    assert (
        read_one(report().replace("1.0</version>", "2.0</version>")).meta.schema
        is AggregateSchema.RFC9990
    )


def test_upper_case_results_are_lower_cased() -> None:
    item = read_one(report(rec(dkim="Pass", spf="FAIL", disposition="None")))
    [record] = records_of(item)
    assert (record.disposition, record.dkim_aligned, record.spf_aligned) == ("none", "pass", "fail")
    assert [a.result for a in record.auth_results] == ["pass", "fail"]
    assert warned(item, "upper-case value 'Pass' in <dkim>")


def test_empty_and_missing_optional_fields() -> None:
    document = report(
        rec()
        .replace(
            "<envelope_from>bounce.example.com</envelope_from>", "<envelope_from></envelope_from>"
        )
        .replace("<selector>s1</selector>", "")
        .replace("<domain>bounce.example.com</domain>", "<domain/>"),
        policy=POLICY.replace("<sp>quarantine</sp>", "<sp></sp>").replace("<adkim>r</adkim>", ""),
    )
    item = read_one(document)
    [record] = records_of(item)
    assert record.envelope_from is None and record.auth_results[0].selector is None
    assert record.auth_results[1].domain == ""
    assert item.meta.policy.sp is None and item.meta.policy.adkim is None
    # issue 15 §4: what every large reporter leaves empty is counted, not warned about
    assert item.omitted == {"envelope_from", "sp"}
    assert not warned(item, "envelope_from") and not warned(item, "<sp>")
    assert warned(item, "empty <domain>")
    assert not warned(item, "adkim"), "a missing optional field is not a quirk"


@pytest.mark.parametrize(
    ("version", "drop", "expected", "omitted"),
    [
        # issue 15 §4: what every large reporter leaves out is counted, not warned about
        ("1.0", "<envelope_from>bounce.example.com</envelope_from>", None, {"envelope_from"}),
        ("", "<envelope_from>bounce.example.com</envelope_from>", None, set()),
        ("1.0", "<scope>mfrom</scope>", None, {"scope"}),
        ("2.0", "<scope>mfrom</scope>", None, set()),
        (
            "2.0",
            "<selector>s1</selector>",
            "a dkim auth result without <selector>, which the rfc9990",
            set(),
        ),
        ("1.0", "<fo>0</fo>", None, {"fo"}),
        ("", "<pct>100</pct>", None, {"pct"}),
    ],
)
def test_elements_the_schema_requires_but_reporters_leave_out(
    version: str, drop: str, expected: str | None, omitted: set[str]
) -> None:
    document = report(rec(), rec("192.0.2.2")).replace(drop, "")
    document = document.replace(
        "<version>1.0</version>", f"<version>{version}</version>" if version else ""
    )
    item = read_one(document)
    assert len(records_of(item)) == 2
    found = [str(w) for w in item.warnings]
    assert found == [] if expected is None else len(found) == 1 and expected in found[0], found
    assert item.omitted == omitted


def test_empty_org_name_falls_back_to_the_email_domain() -> None:
    item = read_one(report(meta=META.replace("Reporter Inc.", "")))
    assert item.meta.org_name == "reporter.example"
    assert warned(item, "empty <org_name>; using 'reporter.example'")


def test_a_second_policy_published_is_ignored() -> None:
    second = POLICY.replace("<p>none</p>", "<p>reject</p>")
    item = read_one(report(policy=POLICY + second))
    assert item.meta.policy.p == "none"
    assert warned(item, "a second <policy_published> ignored")


@pytest.mark.parametrize(
    ("begin", "expected", "warning"),
    [
        ("1538204542.0", 1538204542, "decimal timestamp"),
        (" 1538204542 ", 1538204542, None),
        ("2018-09-29T07:02:22Z", 1538204542, "is a date"),
    ],
)
def test_odd_dates(begin: str, expected: int, warning: str | None) -> None:
    item = read_one(
        report(
            meta=META.replace("<begin>1700000000", f"<begin>{begin}").replace(
                "<end>1700086399", "<end>1538290942"
            )
        )
    )
    assert item.meta.begin == datetime.fromtimestamp(expected, UTC)
    assert warned(item, warning) if warning else item.warnings == []


def test_an_unreadable_date_is_an_error() -> None:
    error = only_error(report(meta=META.replace("<begin>1700000000", "<begin>yesterday")))
    assert "<begin> 'yesterday' is not a timestamp" in error.message


@pytest.mark.parametrize("encoding", ["windows-1252", "iso-8859-2", "utf-16"])
def test_the_declared_encoding_is_honoured(encoding: str) -> None:
    document = report(
        meta=META.replace("Reporter Inc.", "Rép Ŕ"),
        head=f'<?xml version="1.0" encoding="{encoding}"?>\n',
    )
    if encoding == "windows-1252":
        document = document.replace("Ŕ", "€")
    item = read_one(document.encode(encoding))
    assert item.meta.org_name == ("Rép €" if encoding == "windows-1252" else "Rép Ŕ")
    assert item.warnings == []


def test_invalid_utf8_is_replaced_with_a_warning() -> None:
    data = report(meta=META.replace("Reporter Inc.", "Rep\x00")).encode()
    data = data.replace(b"Rep\x00", b"Rep\x91orter")
    item = read_one(data)
    assert item.meta.org_name == "Rep\ufffdorter"
    assert warned(item, "not valid UTF-8")


def test_bad_count_or_ip_skips_only_that_record() -> None:
    item = read_one(
        report(
            rec("192.0.2.1"),
            rec("192.0.2.300"),
            rec(count="-2"),
            rec(count="1.5"),
            rec("2001:db8::9", "4"),
        )
    )
    kept = records_of(item)
    assert [r.source_ip for r in kept] == ["192.0.2.1", "2001:db8::9"]
    assert item.skipped_records == 3
    assert warned(item, "'192.0.2.300' is not an IP address")
    assert warned(item, "count '-2' is not a whole number")


def test_warnings_stay_bounded_when_every_record_is_bad() -> None:
    item = read_one(report(*[rec(f"bad{n}") for n in range(500)]))
    assert records_of(item) == [] and item.skipped_records == 500
    assert len(item.warnings) == 101
    assert str(item.warnings[-1]) == "400 more warning(s) not listed"


def test_reasons_extensions_and_unknown_elements() -> None:
    reason = (
        "<reason><type>Forwarded</type><comment>list</comment></reason><reason><type/></reason>"
    )
    document = report(
        rec(extra="\n    <extensions><anything><x>1</x></anything></extensions>")
        .replace("</spf>\n      </policy_evaluated>", f"</spf>{reason}</policy_evaluated>")
        .replace("</identifiers>", "<mystery>?</mystery></identifiers>")
    )
    item = read_one(document)
    [record] = records_of(item)
    assert record.reasons == (("forwarded", "list"),)
    assert warned(item, "unknown element <mystery> in <identifiers>")
    assert warned(item, "a <reason> without a <type> ignored")
    assert not warned(item, "anything")


def test_stray_text_in_a_container() -> None:
    item = read_one(report(policy=POLICY.replace("</sp>", "</sp>11")))
    assert item.meta.policy.pct == 100
    assert warned(item, "stray text '11' in <policy_published>")


def test_report_without_records() -> None:
    item = read_one(report("", meta=META))
    assert records_of(item) == []


def test_unescaped_characters_are_repaired() -> None:
    document = report(
        meta=META.replace("Reporter Inc.", "AT&T <Mail>").replace(
            "dmarc@reporter.example", "<dmarc@reporter.example>"
        )
    )
    document = document.replace("<header_from>example.com", "<header_from>a<b.example")
    item = read_one(document)
    assert item.meta.org_name == "AT&T <Mail>"
    assert item.meta.email == "<dmarc@reporter.example>"
    assert records_of(item)[0].header_from == "a<b.example"
    assert warned(item, "unescaped '&'") and warned(item, "unescaped '<'")


def test_control_character_is_replaced() -> None:
    item = read_one(report(meta=META.replace("Reporter Inc.", "Rep\x07orter")))
    assert item.meta.org_name == "Rep\ufffdorter"
    assert warned(item, "control character")


def test_wrapper_element_never_closed() -> None:
    document = report(head='<?xml version="1.0"?> <xs:schema xmlns:xs="x">\n')
    item = read_one(document)
    assert len(records_of(item)) == 1
    assert warned(item, "wrapped in <xs:schema>") and warned(item, "never closed")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.replace("<report_id>r-1</report_id>", ""), "no <report_id>"),
        (lambda d: d.replace(POLICY, ""), "no <policy_published>"),
        (
            lambda d: d.replace("<domain>example.com</domain>\n    <adkim>", "<adkim>"),
            "no <domain> in <policy_published>",
        ),
        (lambda d: d.replace("<end>1700086399</end>", ""), "no <end>"),
    ],
)
def test_missing_metadata_is_an_error(change, message: str) -> None:
    assert message in only_error(change(report())).message


def test_report_cut_off_in_the_metadata_is_an_error() -> None:
    document = report()
    error = only_error(document[: document.index("<policy_published>") + 30])
    assert "cut off" in error.message


def test_report_cut_off_in_the_records_raises_from_records() -> None:
    document = report(rec("192.0.2.1"), rec("192.0.2.2"), rec("192.0.2.3"))
    item = read_one(document[: document.index("192.0.2.3")])
    seen = []
    with pytest.raises(ReportError, match="cut off") as caught:
        for record in item.records:
            seen.append(record.source_ip)
    assert caught.value.source == "test.xml"
    assert seen == ["192.0.2.1", "192.0.2.2"]


def test_xml_after_the_report_is_ignored_with_a_warning() -> None:
    item = read_one(report() + "<junk>")
    assert len(records_of(item)) == 1
    assert warned(item, "ignored")


def test_empty_input_is_an_error() -> None:
    assert "empty" in only_error(b"").message


def test_fast_reader_never_differs_from_the_careful_one() -> None:
    """Seeded mutations that keep the XML well-formed: text between tags, leaves
    dropped, emptied or doubled, in pretty and minified layout. The fast reader must
    give exactly what the careful one gives (or hand over to it)."""
    import random
    import re

    pretty = report(
        rec("192.0.2.1"),
        rec("192.0.2.2", "3", dkim="fail"),
        rec("2001:db8::1").replace(
            "</spf>\n      </policy_evaluated>",
            "</spf><reason><type>forwarded</type></reason></policy_evaluated>",
        ),
    )
    layouts = [pretty, "".join(line.strip() for line in pretty.splitlines())]
    leaf = re.compile(r"<(\w+)>[^<]*</\1>")
    rnd = random.Random(20240611)

    def outcome(text: str, fast: bool) -> object:
        data = text.encode()
        item = read_aggregate("t", lambda _w: io.BytesIO(data), fast=fast)
        if isinstance(item, ReportError):
            return "error"
        try:
            return list(item.records), item.skipped_records, sorted(map(str, item.warnings))
        except ReportError:
            return "late error"

    for case in range(400):
        text = layouts[case % 2]
        start = text.index("<record>")
        for _ in range(rnd.randint(1, 3)):
            leaves = list(leaf.finditer(text, start))
            pick = rnd.choice(leaves)
            action = rnd.randrange(4)
            if action == 0:  # text right before or after an element
                at = rnd.choice((pick.start(), pick.end()))
                text = text[:at] + rnd.choice(("7", "x", " y ", "\n z")) + text[at:]
            elif action == 1:
                text = text[: pick.start()] + text[pick.end() :]
            elif action == 2:
                text = (
                    text[: pick.start()]
                    + f"<{pick.group(1)}></{pick.group(1)}>"
                    + text[pick.end() :]
                )
            else:
                text = text[: pick.end()] + pick.group(0) + text[pick.end() :]
        assert outcome(text, True) == outcome(text, False), text


@pytest.mark.parametrize("shape", ["wrapper", "extension-record", "nested", "feedback-ext"])
def test_odd_nesting_reads_the_same_fast_or_careful(shape: str) -> None:
    one, two = rec("192.0.2.1"), rec("192.0.2.2")
    body = {
        "wrapper": f"<records>{one}{two}</records>",
        "extension-record": one.replace(
            "</auth_results>", f"</auth_results><extensions>{two}{two}</extensions>"
        ),
        "nested": one.replace("<identifiers>", f"{two}<identifiers>"),
        "feedback-ext": f"{one}<extensions>{two}{two}</extensions>{two}",
    }[shape]
    for layout in (report(body), "".join(line.strip() for line in report(body).splitlines())):
        data = layout.encode()
        fast = read_aggregate("t", lambda _w, d=data: io.BytesIO(d))
        careful = read_aggregate("t", lambda _w, d=data: io.BytesIO(d), fast=False)
        assert isinstance(fast, AggregateReport) and isinstance(careful, AggregateReport)
        got = list(fast.records)
        assert got == list(careful.records)
        assert fast.skipped_records == careful.skipped_records
        if shape == "wrapper":
            assert [r.source_ip for r in got] == ["192.0.2.1", "192.0.2.2"]
            assert warned(fast, "unknown element <records> in <feedback>")
        if shape in ("extension-record", "feedback-ext"):
            assert "192.0.2.2" not in [r.source_ip for r in got][:1]


def test_repairs_deep_in_a_large_report_keep_every_record_once() -> None:
    records = [rec(f"10.0.{n // 250}.{n % 250 + 1}", str(n + 1)) for n in range(3000)]
    records[1500] = records[1500].replace(
        "<header_from>example.com", "<header_from>a<b & c.example"
    )
    records[2900] = records[2900].replace("<envelope_from>bounce", "<envelope_from>x\x01y")
    item = read_one(report(*records))
    seen = records_of(item)
    assert [r.count for r in seen] == list(range(1, 3001))
    assert seen[1500].header_from == "a<b & c.example"
    assert seen[2900].envelope_from == "x\ufffdy.example.com"
    assert warned(item, "unescaped '<'") and warned(item, "unescaped '&'")
    assert warned(item, "control character")


def test_directory_walk_skips_readme_and_licence_files(tmp_path) -> None:
    from dmarc_audit.reports.sources import walk

    for name in ("README.md", "LICENSE", "NOTICE.txt", "notes.md", "report.xml"):
        (tmp_path / name).write_text("x")
    assert [p.rsplit("/", 1)[1] for p in walk(str(tmp_path))] == ["report.xml"]
