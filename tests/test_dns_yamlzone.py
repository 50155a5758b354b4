"""YamlZoneSource: zone data in the OpenSPF suite's shape (shared/conformance/spf/FORMAT.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import AddressRecord, Answer, MxRecord, NameRecord, Outcome, TxtRecord
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.errors import InputError

SUITE = Path(__file__).resolve().parent / "conformance" / "spf"


def ask(source: YamlZoneSource, name: str, rdtype: str) -> Answer:
    return asyncio.run(LocalRouter([source], closed_world=True).query(name, rdtype))


def load(text: str) -> YamlZoneSource:
    return YamlZoneSource(yaml.safe_load(text))


def test_timeout_semantics() -> None:
    source = load("""
        alltimeout.example.net: [TIMEOUT]
        spftimeout.example.net:
          - TXT: v=spf1 -all
          - TIMEOUT
        txttimeout.example.net:
          - SPF: v=spf1 -all
          - TXT: NONE
          - TIMEOUT
    """)
    for rdtype in ("TXT", "SPF", "A", "MX"):
        answer = ask(source, "alltimeout.example.net", rdtype)
        assert answer.outcome is Outcome.TIMEOUT and answer.failed
        assert answer.detail == "TIMEOUT in zone data"
    assert ask(source, "spftimeout.example.net", "TXT").texts == ["v=spf1 -all"]
    assert ask(source, "spftimeout.example.net", "A").outcome is Outcome.TIMEOUT
    assert ask(source, "txttimeout.example.net", "TXT").outcome is Outcome.TIMEOUT
    assert ask(source, "txttimeout.example.net", "SPF").texts == ["v=spf1 -all"]


def test_spf_records_are_mirrored_to_txt() -> None:
    source = load("""
        spfonly.example.net:
          - SPF: v=spf1 -all
        spfnotxt.example.net:
          - SPF: v=spf1 -all
          - TXT: NONE
        both.example.net:
          - TXT: v=spf1 +all
          - SPF: v=spf1 -all
    """)
    assert ask(source, "spfonly.example.net", "TXT").texts == ["v=spf1 -all"]
    assert ask(source, "spfonly.example.net", "SPF").texts == ["v=spf1 -all"]
    assert ask(source, "spfnotxt.example.net", "TXT").outcome is Outcome.NODATA
    assert ask(source, "both.example.net", "TXT").texts == ["v=spf1 +all"]


def test_type_none_is_nodata() -> None:
    source = load("e.example: [{TXT: NONE}, {A: 192.0.2.1}]")
    answer = ask(source, "e.example", "TXT")
    assert answer.outcome is Outcome.NODATA and answer.outcome.is_void
    assert ask(source, "e.example", "A").records == (AddressRecord("192.0.2.1"),)


def test_closed_world_nxdomain_and_nodata() -> None:
    source = load("a.example: [{A: 192.0.2.1}]")
    assert ask(source, "b.example", "A").outcome is Outcome.NXDOMAIN
    assert ask(source, "x.a.example", "A").outcome is Outcome.NXDOMAIN
    assert ask(source, "a.example", "MX").outcome is Outcome.NODATA
    assert ask(source, "A.EXAMPLE.", "A").ok


def test_xnn_escapes_are_octets() -> None:
    source = load(r"""
        e.example:
          - TXT: "v=spf1 exp=\xef\xbb\xbfa -all"
          - TXT: "caf\xe9 \u2603"
    """)
    records = ask(source, "e.example", "TXT").txt
    assert records[0].strings == (b"v=spf1 exp=\xef\xbb\xbfa -all",)
    assert records[1].strings == (b"caf\xe9 \xe2\x98\x83",)  # below 256: one octet; else UTF-8


def test_value_forms() -> None:
    source = load("""
        e.example:
          - TXT: ["part1", "part2"]
          - TXT: []
          - MX: [10, Mail.Example.]
          - MX: [0, "."]
          - AAAA: "2001:db8::1"
          - PTR: host.example
          - NS: ns.example
        alias.example: [{CNAME: E.example.}]
        1.2.0.192.in-addr.arpa: [{PTR: e.example}]
    """)
    txt = ask(source, "e.example", "TXT")
    assert txt.txt == [TxtRecord((b"part1", b"part2")), TxtRecord(())]
    assert txt.texts == ["part1part2", ""]
    assert ask(source, "e.example", "MX").mx == [MxRecord(10, "mail.example"), MxRecord(0, "")]
    assert ask(source, "e.example", "AAAA").addresses == ["2001:db8::1"]
    assert ask(source, "e.example", "PTR").records == (NameRecord("host.example"),)
    assert ask(source, "1.2.0.192.in-addr.arpa", "PTR").targets == ["e.example"]
    alias = ask(source, "alias.example", "MX")
    assert alias.cnames == (("alias.example", "e.example"),) and len(alias.mx) == 2
    assert ask(source, "alias.example", "CNAME").targets == ["e.example"]


def test_cname_loop_is_servfail() -> None:
    source = load("a.example: [{CNAME: b.example}]\nb.example: [{CNAME: a.example}]")
    answer = ask(source, "a.example", "TXT")
    assert answer.outcome is Outcome.SERVFAIL and answer.detail == "CNAME loop"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"e.example": "TXT: x"}, "must be a list"),
        ({"e.example": [{"TXT": "a", "A": "192.0.2.1"}]}, "one 'TYPE: value' pair"),
        ({"e.example": ["NOTHING"]}, "must be TIMEOUT or"),
        ({"e.example": [{"SRV": "x"}]}, "not supported"),
        ({"e.example": [{"MX": "10 mail.example"}]}, "bad MX value"),
        ({"e.example": [{"MX": [10]}]}, "bad MX value"),
    ],
)
def test_bad_zone_data(data: dict, why: str) -> None:
    with pytest.raises(InputError, match=why):
        YamlZoneSource(data)


def test_from_file_forms(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text("e.example:\n  - TXT: bare\n")
    assert YamlZoneSource.from_file(bare).label == f"yaml {bare}"
    assert ask(YamlZoneSource.from_file(bare), "e.example", "TXT").texts == ["bare"]
    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text(
        "zonedata:\n  a.example: [{TXT: one}]\n---\nzonedata:\n  b.example: [{TXT: two}]\n---\n"
    )
    source = YamlZoneSource.from_file(wrapped)
    assert ask(source, "a.example", "TXT").texts == ["one"]
    assert ask(source, "b.example", "TXT").texts == ["two"]


def test_from_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("e.example:\n  - TXT: ok\n  - [unclosed\n")
    with pytest.raises(InputError, match=rf"^{broken}:\d+: invalid YAML"):
        YamlZoneSource.from_file(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(InputError, match="must be a mapping"):
        YamlZoneSource.from_file(scalar)
    bad = tmp_path / "bad.yaml"
    bad.write_text("e.example:\n  - WHAT: x\n")
    with pytest.raises(InputError, match=rf"^{bad}:2: record type 'WHAT'"):
        YamlZoneSource.from_file(bad)
    with pytest.raises(InputError, match="cannot read"):
        YamlZoneSource.from_file(tmp_path / "missing.yaml")


def test_every_conformance_scenario_loads() -> None:
    scenarios = list(yaml.safe_load_all((SUITE / "rfc7208-tests.yml").read_text()))
    assert len(scenarios) == 16
    names = 0
    for scenario in scenarios:
        source = YamlZoneSource(scenario["zonedata"])
        names += len(source.nodes)
    assert names > 100
