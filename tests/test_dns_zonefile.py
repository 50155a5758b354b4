"""ZoneFileSource (RFC 1035 master files), and the zone path against the live path."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dnsserver import DnsServer

from dmarc_audit.dns.live import LiveResolver, parse_nameserver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.dns.types import Answer, MxRecord, NameRecord, Outcome, TxtRecord
from dmarc_audit.dns.zonefile import ZoneFileSource, parse_zone_argument
from dmarc_audit.errors import InputError


def ask(resolver, name: str, rdtype: str) -> Answer:
    return asyncio.run(resolver.query(name, rdtype))


@pytest.fixture
def com(zones_dir: Path) -> ZoneFileSource:
    return ZoneFileSource(zones_dir / "example.com.zone")


def write(tmp_path: Path, text: str, name: str = "test.zone") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- origin ---------------------------------------------------------------------------


def test_origin_from_dollar_origin(com: ZoneFileSource, zones_dir: Path) -> None:
    assert com.origin == "example.com" and com.origin_depth == 2
    assert com.label == f"zone {zones_dir / 'example.com.zone'}"


def test_origin_from_soa_owner(zones_dir: Path) -> None:
    source = ZoneFileSource(zones_dir / "soa-origin.zone")
    assert source.origin == "soa-origin.test"
    assert source.lookup("www.soa-origin.test", "A").records[0].address == "192.0.2.7"
    assert source.lookup("soa-origin.test", "TXT").records == (TxtRecord((b"apex",)),)


def test_origin_from_the_command_line(zones_dir: Path) -> None:
    path, origin = parse_zone_argument(f"{zones_dir / 'relative.zone'}@Example.NET.")
    assert (path, origin) == (zones_dir / "relative.zone", "example.net")
    source = ZoneFileSource(path, origin)
    assert source.origin == "example.net"
    assert source.lookup("mail.example.net", "A").records[0].address == "192.0.2.8"
    assert ZoneFileSource(path, "example.net.").origin == "example.net"


def test_given_origin_wins_over_soa(zones_dir: Path) -> None:
    source = ZoneFileSource(zones_dir / "example.org.zone", "example.org")
    assert source.origin == "example.org"


def test_no_origin_is_an_input_error(zones_dir: Path) -> None:
    with pytest.raises(InputError, match=r"no \$ORIGIN or SOA; give the origin as --zone .*@"):
        ZoneFileSource(zones_dir / "relative.zone")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zones/a.zone", ("zones/a.zone", None)),
        ("a.zone@example.com", ("a.zone", "example.com")),
        ("a.zone@Example.COM.", ("a.zone", "example.com")),
        ("dir@x/a.zone", ("dir@x/a.zone", None)),
        ("a.zone@", ("a.zone@", None)),
        ("@example.com", ("@example.com", None)),
    ],
)
def test_parse_zone_argument(text: str, expected: tuple[str, str | None]) -> None:
    path, origin = parse_zone_argument(text)
    assert (str(path), origin) == expected


# -- lookups -------------------------------------------------------------------------------


def test_records_nodata_nxdomain(com: ZoneFileSource) -> None:
    assert sorted(r.address for r in com.lookup("www.example.com", "A").records) == [
        "192.0.2.80",
        "192.0.2.81",
    ]
    assert com.lookup("www.example.com", "a").outcome is Outcome.RECORDS
    assert com.lookup("www.example.com", "TXT").outcome is Outcome.NODATA
    assert com.lookup("nope.example.com", "TXT").outcome is Outcome.NXDOMAIN
    assert com.lookup("nullmx.example.com", "MX").records == (MxRecord(0, ""),)
    assert com.lookup("example.com", "NS").records == (NameRecord("ns1.example.com"),)


def test_cname_is_returned_for_the_router(com: ZoneFileSource) -> None:
    alias = com.lookup("alias1.example.com", "TXT")
    assert alias.cname == "alias2.example.com" and alias.records == ()
    direct = com.lookup("alias1.example.com", "CNAME")
    assert direct.records == (NameRecord("alias2.example.com"),) and direct.cname is None


def test_empty_non_terminals_are_nodata(com: ZoneFileSource) -> None:
    assert com.lookup("a.b.ent.example.com", "TXT").outcome is Outcome.RECORDS
    assert com.lookup("b.ent.example.com", "TXT").outcome is Outcome.NODATA
    assert com.lookup("ent.example.com", "A").outcome is Outcome.NODATA
    assert com.lookup("c.ent.example.com", "TXT").outcome is Outcome.NXDOMAIN
    assert com.lookup("x.a.b.ent.example.com", "TXT").outcome is Outcome.NXDOMAIN
    assert com.lookup("_domainkey.example.com", "TXT").outcome is Outcome.NODATA


def test_wildcards(com: ZoneFileSource) -> None:
    assert com.lookup("anything.wild.example.com", "TXT").records == (
        TxtRecord((b"wildcard text",)),
    )
    assert com.lookup("anything.wild.example.com", "MX").outcome is Outcome.NODATA
    # RFC 4592 §2.2.1: a wildcard covers one missing label and below, not existing names
    assert com.lookup("a.b.wild.example.com", "A").records[0].address == "192.0.2.99"
    assert com.lookup("host.wild.example.com", "A").outcome is Outcome.NODATA
    assert com.lookup("x.host.wild.example.com", "A").outcome is Outcome.NXDOMAIN
    assert com.lookup("wild.example.com", "TXT").outcome is Outcome.NODATA
    assert com.lookup("*.wild.example.com", "TXT").outcome is Outcome.RECORDS
    assert com.lookup("other.example.com", "TXT").outcome is Outcome.NXDOMAIN


def test_wildcard_cname(tmp_path: Path) -> None:
    source = ZoneFileSource(
        write(tmp_path, '$ORIGIN w.test.\n*.d 300 IN CNAME target\ntarget 300 IN TXT "t"\n')
    )
    assert source.lookup("x.d.w.test", "TXT").cname == "target.w.test"
    assert ask(LocalRouter([source]), "x.d.w.test", "TXT").texts == ["t"]


def test_covers(com: ZoneFileSource) -> None:
    assert com.covers("example.com") and com.covers("a.b.example.com")
    assert not com.covers("badexample.com") and not com.covers("com")


def test_outside_the_zone_falls_back_or_is_offline(com: ZoneFileSource, dns_server) -> None:
    assert ask(LocalRouter([com]), "www.example.org", "A").outcome is Outcome.OFFLINE
    server: DnsServer = dns_server("example.org.zone")
    resolver = build_resolver(
        DnsOptions(nameservers=(server.nameserver,), timeout=0.5, zones=(str(com.path),))
    )
    assert ask(resolver, "www.example.org", "A").addresses == ["198.51.100.1"]
    assert ask(resolver, "nope.example.com", "A").outcome is Outcome.NXDOMAIN
    assert server.log == [("www.example.org", "A", "udp")]  # the zone answered the rest


def test_out_of_zone_data_is_ignored(tmp_path: Path) -> None:
    source = ZoneFileSource(
        write(tmp_path, '$ORIGIN z.test.\n@ 300 IN TXT "in"\nwww.other.test. 300 IN A 192.0.2.1\n')
    )
    assert not source.covers("www.other.test")


# -- TXT strings ---------------------------------------------------------------------------


def test_txt_strings_over_255_octets_are_kept(zones_dir: Path) -> None:
    source = ZoneFileSource(zones_dir / "long-txt.zone")
    (record,) = source.lookup("long.test", "TXT").records
    assert isinstance(record, TxtRecord)
    assert len(record.strings) == 1 and len(record.strings[0]) == 381
    assert record.text.startswith("v=spf1 ip4:198.51.0.0/24 ") and record.text.endswith(" -all")
    (short,) = source.lookup("short.long.test", "TXT").records
    assert short.strings == (b"short", b"y" * 300)


def test_txt_escapes_and_multiple_strings(tmp_path: Path) -> None:
    text = (
        '$ORIGIN t.test.\n@ 300 IN TXT "a;b" "c\\"d" "\\065\\066" "caf\u00e9" ; comment "x"\n'
        'long 300 IN TXT "' + "\u00e9" * 200 + '" "\\255' + "z" * 255 + '"\n'
        'exact 300 IN TXT "' + "q" * 255 + '"\n'
    )
    source = ZoneFileSource(write(tmp_path, text))
    assert source.lookup("t.test", "TXT").records == (
        TxtRecord((b"a;b", b'c"d', b"AB", "caf\u00e9".encode())),
    )
    (long,) = source.lookup("long.t.test", "TXT").records
    assert long.strings == ("\u00e9".encode() * 200, b"\xff" + b"z" * 255)
    assert source.lookup("exact.t.test", "TXT").records[0].strings == (b"q" * 255,)


# -- errors ----------------------------------------------------------------------------------


def test_malformed_file_names_file_and_line(zones_dir: Path) -> None:
    path = zones_dir / "malformed.zone"
    with pytest.raises(InputError) as info:
        ZoneFileSource(path)
    assert str(info.value).startswith(f"{path}:5: ")


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ("www 300 IN BOGUS x\nok 300 IN A 192.0.2.1\n", 2, "unknown rdatatype"),
        ("www 300 IN A 192.0.2.300\nok 300 IN A 192.0.2.1\n", 2, "malformed"),
        ('www 300 IN TXT "open\nok 300 IN A 192.0.2.1\n', 2, "quoted string"),
        ("www 300 IN MX 10\nok 300 IN A 192.0.2.1\n", 2, "expecting"),
        ("ok 300 IN A 192.0.2.1\n\nwww 300 IN A 1.2.3\n", 4, "malformed"),
        ("ok 300 IN A 192.0.2.1\n" + "a" * 64 + " 300 IN A 192.0.2.2\n", 3, "63"),
        ("@ 300 IN SOA ns h (\n 1 2 3\n 4 x )\nok 300 IN A 192.0.2.1\n", 4, "TTL"),
        ("$INCLUDE /etc/hosts\n", 2, "not allowed"),
    ],
)
def test_syntax_errors_point_at_the_line(tmp_path: Path, body: str, line: int, what: str) -> None:
    path = write(tmp_path, "$ORIGIN e.test.\n" + body)
    with pytest.raises(InputError) as info:
        ZoneFileSource(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert what in message and "\n" not in message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read zone file"):
        ZoneFileSource(tmp_path / "missing.zone")


# -- the zone path and the live path agree --------------------------------------------------

QUESTIONS = [
    ("example.com", "A"),
    ("example.com", "MX"),
    ("example.com", "TXT"),
    ("example.com", "NS"),
    ("example.com", "AAAA"),
    ("www.example.com", "A"),
    ("www.example.com", "TXT"),
    ("WWW.EXAMPLE.COM", "A"),
    ("mx1.example.com", "AAAA"),
    ("_dmarc.example.com", "TXT"),
    ("split.example.com", "TXT"),
    ("empty.example.com", "TXT"),
    ("nullmx.example.com", "MX"),
    ("alias1.example.com", "A"),
    ("alias1.example.com", "TXT"),
    ("alias1.example.com", "CNAME"),
    ("alias2.example.com", "AAAA"),
    ("loop1.example.com", "A"),
    ("self.example.com", "TXT"),
    ("cross.example.com", "A"),
    ("cross.example.com", "AAAA"),
    ("cross.example.com", "MX"),
    ("back.example.org", "A"),
    ("dangling.example.com", "TXT"),
    ("x.wild.example.com", "TXT"),
    ("x.wild.example.com", "A"),
    ("x.wild.example.com", "MX"),
    ("a.b.wild.example.com", "A"),
    ("host.wild.example.com", "A"),
    ("host.wild.example.com", "AAAA"),
    ("wild.example.com", "TXT"),
    ("ent.example.com", "TXT"),
    ("b.ent.example.com", "TXT"),
    ("a.b.ent.example.com", "TXT"),
    ("c.ent.example.com", "TXT"),
    ("nope.example.com", "A"),
    ("deep.nope.example.com", "TXT"),
    ("s1._domainkey.example.com", "TXT"),
    ("_domainkey.example.com", "TXT"),
    ("mid.example.com", "TXT"),
    ("big.example.com", "TXT"),
    ("www.example.org", "AAAA"),
    ("_spf.example.org", "TXT"),
    ("example.org", "TXT"),
    ("none.example.org", "A"),
]


def _comparable(answer: Answer) -> tuple:
    return (answer.outcome, sorted(answer.records, key=repr), answer.cnames, answer.detail)


def test_live_and_zone_paths_agree(zones_dir: Path, dns_server) -> None:
    zones = ["example.com.zone", "example.org.zone"]
    server: DnsServer = dns_server(*zones)
    live = LiveResolver([parse_nameserver(server.nameserver)], timeout=1.0, retries=0)
    local = LocalRouter([ZoneFileSource(zones_dir / z) for z in zones])

    async def both() -> list[tuple[Answer, Answer]]:
        return [(await live.query(n, t), await local.query(n, t)) for n, t in QUESTIONS]

    outcomes = set()
    for (name, rdtype), (via_server, via_zone) in zip(QUESTIONS, asyncio.run(both()), strict=True):
        assert _comparable(via_server) == _comparable(via_zone), (name, rdtype)
        outcomes.add(via_zone.outcome)
    assert outcomes == {Outcome.RECORDS, Outcome.NODATA, Outcome.NXDOMAIN, Outcome.SERVFAIL}
    assert server.count(transport="tcp") == 1  # big.example.com
