"""ZoneLineIndex: the file and line of each record in master files and YAML zone data."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmarc_audit.catalog import finding
from dmarc_audit.dns.zonefile import ZoneFileSource
from dmarc_audit.dns.zonelines import Location, ZoneLineIndex
from dmarc_audit.errors import InputError
from dmarc_audit.findings import Status

ROOT = Path(__file__).resolve().parent.parent

ZONE = """\
; a comment with "quotes" and ( a parenthesis
$ORIGIN example.test.
$TTL 1h
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        3600 600 86400 300 )
    IN NS ns1
    IN TXT "google-site-verification=x; not a comment"
    IN TXT "v=spf1 include:_spf.example.test -all"   ; the SPF record
ns1 300 IN A 192.0.2.1
mail IN 300 A 192.0.2.2

_dmarc IN TXT ( "v=DMARC1; p=none; "
                "rua=mailto:d@example.test" )
s1._domainkey TXT "v=DKIM1; k=rsa; p=abc\\"def" "ghi"
s2._domainkey CNAME s2.provider.example.
_spf 3600 TXT "v=spf1 ip4:192.0.2.0/24 -all"
absolute.other.test. IN TXT "elsewhere"
@   IN MX 10 mail
dangling CNAME nowhere
$ORIGIN sub.example.test.
www A 192.0.2.3
@ TXT "v=spf1 -all"
"""


@pytest.fixture
def index(tmp_path: Path) -> ZoneLineIndex:
    path = tmp_path / "example.test.zone"
    path.write_text(ZONE)
    built = ZoneLineIndex()
    built.add_file(path)
    return built


def at(index: ZoneLineIndex, name: str, rdtype: str | None = None) -> tuple[int, int | None]:
    location = index.locate(name, rdtype)
    assert location is not None, (name, rdtype)
    return location.line, location.end_line


def test_owners_types_and_lines(index: ZoneLineIndex) -> None:
    assert at(index, "example.test", "SOA") == (4, 6)  # parentheses over three lines
    assert at(index, "example.test", "NS") == (7, None)  # blank owner: the previous one
    assert [loc.line for loc in index.locate_all("example.test", "TXT")] == [8, 9]
    assert at(index, "ns1.example.test", "A") == (10, None)  # TTL before class
    assert at(index, "mail.example.test", "A") == (11, None)  # class before TTL
    assert at(index, "_dmarc.example.test", "TXT") == (13, 14)
    assert at(index, "s1._domainkey.example.test", "TXT") == (15, None)
    assert at(index, "s2._domainkey.example.test") == (16, None)
    assert at(index, "_spf.example.test", "TXT") == (17, None)  # TTL without class
    assert at(index, "absolute.other.test", "TXT") == (18, None)
    assert at(index, "example.test", "MX") == (19, None)
    assert at(index, "www.sub.example.test", "A") == (22, None)  # after a second $ORIGIN
    assert at(index, "sub.example.test", "TXT") == (23, None)


def test_lookups_ignore_case_and_trailing_dot(index: ZoneLineIndex) -> None:
    assert at(index, "EXAMPLE.Test.", "txt") == (8, None)
    assert index.locate("example.test", "AAAA") is None
    assert index.locate("nothere.example.test") is None
    location = index.locate("example.test", "MX")
    assert location == Location(location.path, 19) and location.path.endswith("example.test.zone")


def test_spf_finding_picks_the_spf_line(index: ZoneLineIndex) -> None:
    by_text = finding(
        "spf.weak-all", "example.test", "m", record="v=spf1 include:_spf.example.test -all"
    )
    assert index.locate_finding(by_text).line == 9
    without_record = finding("spf.lookups-near-limit", "example.test", "m")
    assert index.locate_finding(without_record).line == 9  # not the verification TXT
    included = finding(
        "spf.overly-broad", "_spf.example.test", "m", record="v=spf1 ip4:192.0.2.0/24 -all"
    )
    assert index.locate_finding(included).line == 17


def test_record_text_joins_strings_and_unescapes(index: ZoneLineIndex) -> None:
    dmarc = finding(
        "dmarc.policy-none",
        "_dmarc.example.test",
        "m",
        record="v=DMARC1; p=none; rua=mailto:d@example.test",
    )
    assert index.locate_finding(dmarc) == Location(index.locate("example.test").path, 13, 14)
    dkim = finding(
        "dkim.rsa-1024", "s1._domainkey.example.test", "m", record='v=DKIM1; k=rsa; p=abc"defghi'
    )
    assert index.locate_finding(dkim).line == 15


def test_failed_lookup_points_at_the_record_that_asked(index: ZoneLineIndex) -> None:
    failed = finding(
        "dns.lookup-failed",
        "spf.flaky.example",
        "timeout",
        status=Status.UNKNOWN,
        record="v=spf1 include:_spf.example.test -all",
    )
    assert index.locate_finding(failed).line == 9
    unknown_text = finding(
        "dns.lookup-failed", "spf.flaky.example", "timeout", record="v=spf1 include:elsewhere -all"
    )
    assert index.locate_finding(unknown_text) is None  # outside every zone


def test_missing_records_point_at_the_soa(index: ZoneLineIndex) -> None:
    for check_id, subject in (
        ("dmarc.missing", "example.test"),
        ("mtasts.missing", "_mta-sts.example.test"),
        ("dkim.no-key-found", "example.test"),
        ("spf.missing", "sub.example.test"),
    ):
        assert index.locate_finding(finding(check_id, subject, "m")).line == 4, check_id


def test_findings_by_record_type(index: ZoneLineIndex) -> None:
    assert index.locate_finding(finding("mx.target-invalid", "example.test", "m")).line == 19
    assert (
        index.locate_finding(finding("dns.dangling-cname", "dangling.example.test", "m")).line == 20
    )
    delegated = finding("dkim.key-invalid", "s2._domainkey.example.test", "m")
    assert index.locate_finding(delegated).line == 16  # the selector's CNAME
    # a DMARC finding about the domain itself has no record of its own at the apex
    psl = finding("dmarc.tree-walk-vs-psl", "example.test", "m")
    assert index.locate_finding(psl).line == 4


def test_several_identical_records_are_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "twice.zone"
    path.write_text('$ORIGIN t.\n@ SOA ns h 1 2 3 4 5\na TXT "v=spf1 -all"\nb TXT "v=spf1 -all"\n')
    index = ZoneLineIndex()
    index.add_file(path)
    here = finding("spf.weak-all", "b.t", "m", record="v=spf1 -all")
    assert index.locate_finding(here).line == 4
    elsewhere = finding("dns.lookup-failed", "x.other", "m", record="v=spf1 -all")
    assert index.locate_finding(elsewhere) is None


def test_origin_from_argument_and_from_soa(tmp_path: Path) -> None:
    relative = tmp_path / "relative.zone"
    relative.write_text('@ 300 IN TXT "v=spf1 -all"\nmail 300 IN A 192.0.2.8\n')
    soa = tmp_path / "soa.zone"
    soa.write_text("soa.test. 300 IN SOA ns h 1 2 3 4 5\nwww 300 IN A 192.0.2.7\n")
    index = ZoneLineIndex.from_zone_args([f"{relative}@Example.NET.", str(soa)])
    assert at(index, "mail.example.net", "A") == (2, None)
    assert at(index, "example.net", "TXT") == (1, None)
    assert at(index, "www.soa.test", "A") == (2, None)
    assert index.zone_for("_dmarc.soa.test") == Location(str(soa), 1)
    # no origin at all: relative names cannot be placed, and nothing breaks
    lost = ZoneLineIndex()
    lost.add_file(relative)
    assert lost.locate("mail") is None and lost.zone_for("example.net") is None


def test_yaml_zone_data(tmp_path: Path) -> None:
    path = tmp_path / "zone.yaml"
    path.write_text(
        "# comment\n"
        "zonedata:\n"
        "  example.test:\n"
        "    - TXT: v=spf1 include:flaky.test -all\n"
        "    - MX: [10, mail.example.test]\n"
        "  flaky.test:\n"
        "    - TIMEOUT\n"
        "  split.test:\n"
        "    - TXT:\n"
        "        - 'v=spf1 '\n"
        "        - '-all'\n"
        "  legacy.test:\n"
        "    - SPF: v=spf1 -all\n"
    )
    index = ZoneLineIndex.from_zone_args([str(path)])
    assert at(index, "example.test", "TXT") == (4, None)
    assert at(index, "example.test", "MX") == (5, None)
    assert index.locate("flaky.test") is None
    assert at(index, "split.test", "TXT") == (9, 11)
    assert (
        index.locate_finding(finding("spf.weak-all", "split.test", "m", record="v=spf1 -all")).line
        == 9
    )
    assert index.locate_finding(finding("spf.type99", "legacy.test", "m")).line == 13
    assert index.zone_for("example.test") is None  # YAML data has no SOA to point at


def test_bare_yaml_mapping_and_broken_yaml(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yml"
    bare.write_text("a.test:\n  - A: 192.0.2.1\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a.test: [\n")
    index = ZoneLineIndex.from_zone_args([str(bare), str(broken)])
    assert at(index, "a.test", "A") == (2, None)


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read zone file"):
        ZoneLineIndex.from_zone_args([str(tmp_path / "missing.zone")])


@pytest.mark.parametrize("spec", ["fixtures/demo", "tests/data/zones"])
def test_every_record_dnspython_loads_has_a_line(spec: str) -> None:
    """Against dnspython's reading of the same files: the same (name, type) pairs."""
    directory = ROOT / spec
    for path in sorted(directory.glob("*.zone")):
        origin = "example.net" if path.name == "relative.zone" else None
        try:
            source = ZoneFileSource(path, origin)
        except InputError:
            continue  # a fixture that is malformed on purpose
        index = ZoneLineIndex()
        index.add_file(path, origin)
        for name, per_type in source._names.items():
            for rdtype in per_type:
                location = index.locate(name, rdtype)
                assert location is not None, (path.name, name, rdtype)
                line = path.read_text(encoding="utf-8").splitlines()[location.line - 1]
                assert rdtype in line.upper() or location.end_line, (path.name, name, line)


def test_directory_argument_indexes_every_zone_file() -> None:
    index = ZoneLineIndex.from_zone_args([str(ROOT / "fixtures/demo")])
    assert index.locate("northwind.example", "MX") is not None
    assert index.locate("spf.flaky-provider.example") is None  # TIMEOUT only
    assert index.zone_for("_dmarc.crm.example").path.endswith("crm.example.zone")
