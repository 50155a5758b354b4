"""Hostile input: entity tricks, bombs, lies in archives, broken bytes, cut-off XML.

Every case must end in a ReportError (or a report with warnings) that says why;
nothing may raise out of read_reports, read a local file, or blow up memory.
Big inputs are generated here, compressed, so nothing large is committed.
"""

from __future__ import annotations

import bz2
import gzip
import io
import struct
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from dmarc_audit.reports.model import AggregateReport, ReportError
from dmarc_audit.reports.read import ReadOptions, read_report_bytes, read_reports

HOSTILE = Path(__file__).parent / "data" / "reports" / "hostile"
MiB = 1 << 20

RECORD = (
    "<record><row><source_ip>192.0.2.{n}</source_ip><count>1</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
    "</row><identifiers><header_from>example.com</header_from></identifiers>"
    "<auth_results><spf><domain>example.com</domain><result>pass</result></spf>"
    "</auth_results></record>\n"
)


def report(records: int = 1, org: str = "Reporter", same: bool = False) -> str:
    return (
        '<?xml version="1.0"?>\n<feedback><report_metadata>'
        f"<org_name>{org}</org_name><email>r@reporter.example</email>"
        "<report_id>id</report_id><date_range><begin>1700000000</begin>"
        "<end>1700086399</end></date_range></report_metadata><policy_published>"
        "<domain>example.com</domain><p>none</p></policy_published>\n"
        + "".join(RECORD.format(n=1 if same else n % 250 + 1) for n in range(records))
        + "</feedback>\n"
    )


def items(data: bytes, source: str = "input", cap: int = 1 << 30) -> list:
    return list(read_report_bytes(data, source, ReadOptions(max_decompressed_bytes=cap)))


def consume(found: list) -> list[str]:
    """Read every report through; the outcome of each as a short string."""
    outcomes = []
    for item in found:
        if isinstance(item, ReportError):
            outcomes.append(f"error {item.source}: {item.message}")
            continue
        try:
            count = sum(1 for _ in item.records) if isinstance(item, AggregateReport) else 0
        except ReportError as exc:
            outcomes.append(f"late error {exc.source}: {exc.message}")
        else:
            outcomes.append(f"ok {item.source}: {count}")
    return outcomes


def zipped(*members: tuple[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def patch_zip(data: bytes, *, flags: int | None = None, size: int | None = None) -> bytes:
    """Rewrite the first entry's flags or uncompressed size in both headers."""
    buf = bytearray(data)
    local, central = buf.find(b"PK\x03\x04"), buf.find(b"PK\x01\x02")
    if flags is not None:
        struct.pack_into("<H", buf, local + 6, flags)
        struct.pack_into("<H", buf, central + 8, flags)
    if size is not None:
        struct.pack_into("<I", buf, local + 22, size)
        struct.pack_into("<I", buf, central + 24, size)
    return bytes(buf)


def only_error(found: list) -> ReportError:
    assert len(found) == 1 and isinstance(found[0], ReportError), found
    return found[0]


# --- entities and DTDs ---------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["billion_laughs.xml", "xxe_file.xml", "xxe_parameter_entity.xml", "external_dtd.xml"]
)
def test_doctype_is_refused(name: str) -> None:
    [error] = read_reports([str(HOSTILE / name)])
    assert isinstance(error, ReportError)
    assert "DOCTYPE declaration is not allowed" in error.message
    assert "root:" not in error.message


def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = (
        f'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file://{secret}">'
        f"]>{report(org='&x;').split('?>', 1)[1]}"
    )
    for data in (document.encode(), gzip.compress(document.encode()), zipped(("r.xml", document))):
        found = items(data)
        outcomes = consume(found)
        assert len(outcomes) == 1 and "DOCTYPE declaration is not allowed" in outcomes[0]
        assert "TOP-SECRET" not in repr(found)


def test_undeclared_entity_is_read_as_text_not_resolved() -> None:
    found = items(report(org="&xxe;").encode())
    [item] = found
    assert item.meta.org_name == "&xxe;"
    assert any("unescaped '&'" in str(w) for w in item.warnings)


# --- zip ----------------------------------------------------------------------


def test_zip_member_declaring_more_than_the_default_cap_is_not_inflated() -> None:
    data = patch_zip(zipped(("r.xml", report())), size=2 << 30)
    error = only_error(items(data, "bomb.zip"))
    assert error.source == "bomb.zip!r.xml"
    assert "declares 2 GiB" in error.message and "cap of 1 GiB" in error.message


def test_zip_members_adding_up_past_the_cap() -> None:
    member = report() + " " * 400_000
    data = zipped(*[(f"r{n}.xml", member) for n in range(5)])
    outcomes = consume(items(data, "many.zip", cap=1 * MiB))
    assert outcomes[:2] == ["ok many.zip!r0.xml: 1", "ok many.zip!r1.xml: 1"]
    assert all("over the decompression cap" in o for o in outcomes[2:]) and len(outcomes) == 5


def test_nested_zip_bomb_trips_on_the_cap() -> None:
    inner = zipped(("r.xml", report() + " " * 300_000))
    middle = zipped(*[(f"{c}.zip", inner) for c in "abc"])
    outer = zipped(("1.zip", middle), ("2.zip", middle))
    outcomes = consume(items(outer, "42.zip", cap=1 * MiB))
    assert any(o.startswith("ok ") for o in outcomes)
    assert any("decompression cap" in o or "decompresses to more than" in o for o in outcomes)


def test_zip_member_larger_than_declared_is_damaged() -> None:
    data = patch_zip(zipped(("r.xml", report(200))), size=1000)
    error = only_error(items(data, "liar.zip"))
    assert "damaged" in error.message


def test_encrypted_and_bzip2_members_are_refused() -> None:
    encrypted = patch_zip(zipped(("r.xml", report())), flags=0x1)
    assert "encrypted" in only_error(items(encrypted)).message
    packed = zipped(("r.xml", report()), method=zipfile.ZIP_BZIP2)
    assert "compression method 12 is not allowed" in only_error(items(packed)).message


def test_zip_with_non_xml_members() -> None:
    data = zipped(
        ("report.xml", report(3)),
        ("setup.exe", b"MZ\x90\x00" + bytes(100)),
        ("notes.txt", "hello"),
        ("../../evil.xml", report()),
    )
    outcomes = consume(items(data, "mixed.zip"))
    assert outcomes[0] == "ok mixed.zip!report.xml: 3"
    assert outcomes[1].startswith("error mixed.zip!setup.exe: not a report")
    assert outcomes[2].startswith("error mixed.zip!notes.txt: not a report")
    assert outcomes[3] == "ok mixed.zip!../../evil.xml: 1", "names are labels, never paths"


def test_zip_with_too_many_entries() -> None:
    data = zipped(*[(f"{n}.xml", "") for n in range(1001)], method=zipfile.ZIP_STORED)
    assert "1001 entries" in only_error(items(data)).message


def test_broken_zip() -> None:
    data = zipped(("r.xml", report()))
    assert "not a readable zip archive" in only_error(items(data[: len(data) // 2])).message


def test_containers_nested_too_deep() -> None:
    data = report().encode()
    for _ in range(6):
        data = gzip.compress(data)
    assert "nested more than 4 deep" in only_error(items(data)).message


def test_nested_zip_in_an_email() -> None:
    inner = zipped(("report.xml", report(2)))
    outer = zipped(("inner.zip", inner))
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "r@reporter.example", "Report"
    msg.set_content("report attached")
    msg.add_attachment(outer, maintype="application", subtype="zip", filename="outer.zip")
    assert consume(items(msg.as_bytes(), "m.eml")) == ["ok m.eml!outer.zip!inner.zip!report.xml: 2"]


# --- gzip -----------------------------------------------------------------------


def test_gzip_bomb_of_records_trips_on_the_cap() -> None:
    data = gzip.compress(report(20_000).encode(), 9)  # ~6 MB of XML
    assert len(data) < 200_000
    [item] = items(data, "bomb.xml.gz", cap=1 * MiB)
    assert isinstance(item, AggregateReport), "the metadata fits under the cap"
    with pytest.raises(ReportError, match="decompresses to more than 1 MiB"):
        for _ in item.records:
            pass


def test_high_ratio_alone_is_not_a_bomb() -> None:
    xml = report(5_000, same=True).encode()
    data = gzip.compress(xml, 9)
    assert len(xml) / len(data) > 200
    assert consume(items(data, "fine.xml.gz", cap=8 * MiB)) == ["ok fine.xml.gz: 5000"]


def test_gzip_of_zeros_is_rejected_after_a_peek() -> None:
    data = gzip.compress(bytes(64 * MiB), 9)
    error = only_error(items(data, "zeros.gz"))
    assert "not a report" in error.message


def test_many_gzip_members_share_one_budget() -> None:
    member = gzip.compress(b" " * 100_000)
    data = gzip.compress(report().encode()) + member * 20
    outcomes = consume(items(data, "multi.gz", cap=1 * MiB))
    assert len(outcomes) == 1 and "multi.gz: decompresses to more than 1 MiB" in outcomes[0]


def test_gzip_cut_off_or_damaged() -> None:
    data = gzip.compress(report(50).encode())
    cut = consume(items(data[: len(data) // 2], "cut.gz"))
    assert len(cut) == 1 and "cut off" in cut[0]
    damaged = bytearray(data)
    damaged[40:60] = bytes(20)
    outcome = consume(items(bytes(damaged), "bad.gz"))
    assert len(outcome) == 1 and ("damaged" in outcome[0] or "cut off" in outcome[0])


def test_bzip2_is_not_a_container() -> None:
    assert "not a report" in only_error(items(bz2.compress(report().encode()))).message


# --- broken XML ----------------------------------------------------------------


def test_invalid_utf8_sequences_are_replaced() -> None:
    data = report(3).encode().replace(b"Reporter", b"Rep\xc3\x28\xed\xa0\x80\xff")
    [item] = items(data)
    assert item.meta.org_name.startswith("Rep\ufffd")
    assert len(list(item.records)) == 3
    assert any("not valid UTF-8" in str(w) for w in item.warnings)


def test_every_truncation_is_an_error_never_a_short_report() -> None:
    document = report(4).encode()
    complete = document.index(b"</feedback>") + len(b"</feedback>")
    for cut in range(1, complete, 7):
        outcomes = consume(items(document[:cut], "cut.xml"))
        assert len(outcomes) == 1
        assert "error" in outcomes[0], (cut, outcomes)


def test_deep_nesting_and_huge_tokens_are_refused() -> None:
    head = report().split("<record>")[0]
    deep = head + "<a>" * 10_000
    assert "nested more than 256 deep" in only_error(items(deep.encode())).message
    long_text = report(org="A" * (3 * MiB))
    assert "text is longer than 1 MiB" in only_error(items(long_text.encode())).message
    comment = head + "<!--" + "x" * (3 * MiB) + "-->"
    assert "longer than 1 MiB" in only_error(items(comment.encode())).message


def test_control_characters_and_nul_bytes() -> None:
    data = report(2).encode().replace(b"Reporter", b"Re\x00po\x1brter")
    [item] = items(data)
    assert item.meta.org_name == "Re\ufffdpo\ufffdrter"
    assert len(list(item.records)) == 2


def test_deeply_nested_mime_parts() -> None:
    text = "Content-Type: text/plain\n\nhello\n"
    for depth in range(60):
        text = (
            f'Content-Type: multipart/mixed; boundary="b{depth}"\n\n--b{depth}\n{text}'
            f"\n--b{depth}--\n"
        )
    data = ("From: x@example.com\nSubject: deep\nMIME-Version: 1.0\n" + text).encode()
    error = only_error(items(data, "deep.eml"))
    assert "nested" in error.message or "too complex" in error.message


def test_huge_compressed_json_is_bounded() -> None:
    document = b'{"policies": [], "pad": "' + b" " * (65 * MiB) + b'"}'
    data = gzip.compress(document, 6)
    assert "larger than 64 MiB" in only_error(items(data, "tls.json.gz")).message
