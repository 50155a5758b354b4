"""Issue 15 §4: nothing lost on odd input, from real reports (tests/data/reports/corpus).

Each defect found in real reports has a regression test here: a damaged member of a
container, element names in another case, the ``<data_range>`` misspelling, and the
warnings nobody should have to read (elements every large reporter leaves out).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from dmarc_audit.reports.model import AggregateReport, ReportError
from dmarc_audit.reports.read import read_report_bytes
from dmarc_audit.reports.store import Store
from tests.cli_helpers import ROOT, run_cli

CORPUS = ROOT / "tests" / "data" / "reports" / "corpus" / "aggregate"
USSSA = CORPUS / "usssa.com!example.com!1538784000!1538870399.xml"  # 2 records
VEEAM = CORPUS / "veeam.com!example.com!1530133200!1530219600.xml"  # 1 record
OUTLOOK = CORPUS / "protection.outlook.com!example.com!1711756800!1711843200.xml"
ZOHO = CORPUS.parent / "historical" / "zoho.com!example.com!1581753600!1581840000.xml"
REAL_ZIP = CORPUS / "estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip"


def outcomes(data: bytes, source: str = "m") -> list[tuple[str, str, int]]:
    """(kind, source, records or message) for each item the reader yields, read through."""
    found: list[tuple[str, str, int]] = []
    for item in read_report_bytes(data, source):
        if isinstance(item, ReportError):
            found.append(("error", item.source, 0))
            continue
        assert isinstance(item, AggregateReport)
        try:
            found.append(("report", item.source, sum(1 for _ in item.records)))
        except ReportError as exc:
            found.append(("error", exc.source, 0))
    return found


def errors_of(data: bytes, source: str = "m") -> list[str]:
    out = []
    for item in read_report_bytes(data, source):
        if isinstance(item, ReportError):
            out.append(item.message)
        else:
            try:
                for _ in item.records:  # type: ignore[union-attr]
                    pass
            except ReportError as exc:
                out.append(exc.message)
    return out


def two_member_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("veeam.xml", VEEAM.read_bytes())
        zf.writestr("usssa.xml", USSSA.read_bytes())
    return buf.getvalue()


def with_bad_central_directory_offset(archive: bytes) -> bytes:
    """The end record's central-directory offset pushed past the file: the standard
    library's zipfile then raises ``ValueError: negative seek value`` (seen in the wild)."""
    data = bytearray(archive)
    end = data.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, offset | 0xB9_0000)
    return bytes(data)


def message(*attachments: tuple[str, str, bytes]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "dmarc@reporter.example"
    msg["To"] = "dmarc@example.com"
    msg["Subject"] = "Report domain: example.com"
    msg.set_content("Reports attached.\n")
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


# --- a damaged part never ends the rest -------------------------------------------


def test_the_damage_is_the_one_the_standard_library_raises_value_error_on() -> None:
    damaged = io.BytesIO(with_bad_central_directory_offset(two_member_zip()))
    with pytest.raises(ValueError, match="negative seek"), zipfile.ZipFile(damaged) as zf:
        zf.read("veeam.xml")


def test_a_report_after_a_zip_that_raises_value_error_is_still_read() -> None:
    data = message(
        ("r.zip", "application/zip", with_bad_central_directory_offset(two_member_zip())),
        ("usssa.xml", "text/xml", USSSA.read_bytes()),
    )
    found = outcomes(data)
    assert found[-1] == ("report", "m!usssa.xml", 2)
    assert found[:2] == [("error", "m!r.zip!veeam.xml", 0), ("error", "m!r.zip!usssa.xml", 0)]
    first, second = errors_of(data)
    assert first.startswith("zip member 1 of 2 cannot be opened: negative seek value")
    assert second.startswith("zip member 2 of 2 cannot be opened: negative seek value")


def test_a_damaged_zip_member_is_named_by_position_and_its_sibling_read() -> None:
    archive = bytearray(two_member_zip())
    start = archive.find(b"veeam.xml") + len("veeam.xml") + 40
    archive[start : start + 40] = bytes(40)  # inside the first member's deflate data
    data = message(
        ("r.zip", "application/zip", bytes(archive)),
        ("zoho.xml", "text/xml", ZOHO.read_bytes()),
    )
    found = outcomes(data)
    assert ("report", "m!r.zip!usssa.xml", 2) in found
    assert ("report", "m!zoho.xml", 8) in found
    assert ("error", "m!r.zip!veeam.xml", 0) in found
    assert any("zip member 1 of 2" in e for e in errors_of(data))


def test_a_cut_off_real_zip_next_to_a_good_report(tmp_path: Path) -> None:
    cut = REAL_ZIP.read_bytes()[:-40]
    path = tmp_path / "mail.eml"
    path.write_bytes(
        message(("cut.zip", "application/zip", cut), ("usssa.xml", "text/xml", USSSA.read_bytes()))
    )
    db = tmp_path / "r.sqlite3"
    run = run_cli("reports", "ingest", "--db", str(db), str(path))
    assert run.code == 1, run.err  # the damaged part failed: the message is retried
    assert f"failed: {path}!cut.zip" in run.err and "Traceback" not in run.err
    with Store(db, create=False) as store:
        assert store.totals().aggregate_reports == 1


# --- element names in another case, and a known misspelling -----------------------


def recased(text: str, *names: str) -> bytes:
    for name in names:
        text = text.replace(f"<{name}>", f"<{name.title()}>")
        text = text.replace(f"</{name}>", f"</{name.title()}>")
    return text.encode()


def read_one(data: bytes) -> tuple[AggregateReport, int]:
    [item] = list(read_report_bytes(data, "r.xml"))
    assert isinstance(item, AggregateReport), item
    return item, sum(1 for _ in item.records)


def test_record_in_another_case_is_read_with_a_warning() -> None:
    item, records = read_one(recased(USSSA.read_text(), "record", "source_ip"))
    assert records == 2
    messages = [w.message for w in item.warnings]
    assert "element <Record> read as <record> (element names are case-sensitive)" in messages
    assert "element <Source_Ip> read as <source_ip> (element names are case-sensitive)" in messages


def test_a_whole_report_in_another_case_is_read() -> None:
    text = OUTLOOK.read_text()
    shouting = re.sub(r"</?[a-z_]+", lambda tag: tag.group(0).upper(), text)
    assert "<RECORD>" in shouting and "<FEEDBACK" in shouting
    _, records = read_one(shouting.encode())
    _, expected = read_one(text.encode())
    assert records == expected > 0


def test_an_element_the_reader_cannot_place_is_never_a_report_with_no_records() -> None:
    data = USSSA.read_text().replace("<record>", "<rec>").replace("</record>", "</rec>")
    [error] = errors_of(data.encode())
    assert "no <record> read" in error and "<rec> in <feedback>" in error


def test_data_range_is_read_as_date_range_and_the_warning_says_so() -> None:
    text = ZOHO.read_text().replace("date_range>", "data_range>")
    item, records = read_one(text.encode())
    _, expected = read_one(ZOHO.read_bytes())
    assert records == expected
    assert item.meta.begin.timestamp() == 1581753600
    messages = [w.message for w in item.warnings]
    assert "<data_range> read as <date_range> (a misspelling some reporters send)" in messages
    assert not any("unknown element" in m for m in messages)


# --- what every large reporter leaves out is counted, not warned about ---------------


def test_omitted_optional_elements_are_one_summary_line_not_warnings(tmp_path: Path) -> None:
    # zoho: no <sp> (draft schema); usssa: empty <envelope_from>
    for path in (ZOHO, USSSA):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    run = run_cli("reports", "ingest", "--db", str(tmp_path / "r.sqlite3"), str(tmp_path))
    assert run.code == 0, run.err
    assert "warning" not in run.err, run.err
    lines = run.err.strip().splitlines()
    assert lines[-2] == (
        "2 reports leave out elements most reporters omit (not a problem): "
        "<envelope_from> 1, <sp> 1"
    )
    assert lines[-1].startswith("2 reports stored")


def test_real_problems_stay_warnings(tmp_path: Path) -> None:
    path = CORPUS / "invalid_xml.xml"
    run = run_cli("reports", "ingest", "--db", str(tmp_path / "r.sqlite3"), str(path))
    assert run.code == 0, run.err
    assert "warning: " in run.err and "not well-formed XML repaired" in run.err
