"""DNSSEC validation against signed zones served on loopback, from a test root.

The zones are made and signed here (tests/signedzones.py): a root, ``test.`` and one
child zone per case, each breaking one link. The audit trusts the test root through
``--trust-anchor`` (or :func:`load_anchor` with the file), exactly as a lab would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import pytest
from dnsserver import DnsServer
from signedzones import Hierarchy, Signer

from dmarc_audit.checks.dnssec import judge
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.dnssec.anchor import load_anchor
from dmarc_audit.dnssec.collect import collect_dnssec
from dmarc_audit.dnssec.facts import DnssecFacts, DnssecStatus
from dmarc_audit.dnssec.validate import Validator
from dmarc_audit.errors import InputError
from tests.cli_helpers import run_cli

MAIL = (
    '@ MX 10 mx\nmx A 192.0.2.25\n@ TXT "v=spf1 -all"\n'
    '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@{o}"\n'
)
DS_TIMEOUT = "dstimeout.test"


def mail(origin: str) -> str:
    return MAIL.format(o=origin.rstrip("."))


def _tamper_txt(zone: dns.zone.Zone) -> None:
    """Change the apex TXT after signing: its RRSIG no longer matches."""
    node = zone.nodes[zone.origin]
    txt = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    txt.clear()
    txt.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [b"v=spf1 +all"]))


def _drop_dnskey(zone: dns.zone.Zone) -> None:
    zone.delete_rdataset(zone.origin, dns.rdatatype.DNSKEY)
    zone.delete_rdataset(zone.origin, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DnsServer, Path]]:
    directory = tmp_path_factory.mktemp("signed")
    h = Hierarchy(directory)
    h.child("good.test.", mail("good.test.") + '_mta-sts TXT "v=STSv1; id=1"\n')
    h.child("unsigned.test.", mail("unsigned.test."), signed=False)
    h.child("expired.test.", mail("expired.test."), expired=True)
    h.child("dsmismatch.test.", mail("dsmismatch.test."), ds=Signer("dsmismatch.test.").ds())
    h.child("nokey.test.", mail("nokey.test."))
    _drop_dnskey(h.zones[-1])
    h.child("badsig.test.", mail("badsig.test."))
    _tamper_txt(h.zones[-1])
    h.child(DS_TIMEOUT + ".", mail(DS_TIMEOUT + "."))
    h.child(
        "mxelsewhere.test.",
        '@ MX 10 mx.unsigned.test.\n@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n',
    )
    server = DnsServer(signed_zones=h.build(), blackhole=(f"{DS_TIMEOUT} DS",))
    server.start()
    try:
        yield server, h.anchor_file
    finally:
        server.stop()
        assert not server.errors, server.errors


def facts_for(
    server: DnsServer, anchor: Path, domain: str, mx: tuple[str, ...] = ()
) -> tuple[DnssecFacts, int]:
    async def run() -> tuple[DnssecFacts, int]:
        resolver = build_resolver(
            DnsOptions(nameservers=(server.nameserver,), timeout=0.5, retries=0)
        )
        validator = Validator(resolver, load_anchor(anchor))
        facts = await collect_dnssec(validator, domain, mx_hosts=mx)
        return facts, resolver.queries

    return asyncio.run(run())


def ids(facts: DnssecFacts) -> dict[str, tuple[str, str]]:
    return {f.id: (f.severity.value, f.status.value) for f in judge(facts)}


def test_clean_signed_domain_is_secure_with_no_finding(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed
    facts, _ = facts_for(server, anchor, "good.test", ("mx.good.test",))
    assert facts.status is DnssecStatus.SECURE, facts.to_json()
    assert facts.chain.zone == "good.test"
    assert all(r.status is DnssecStatus.SECURE for r in facts.rrsets), facts.to_json()
    # the NXDOMAIN for _smtp._tls.good.test is proven by a signed NSEC
    tlsrpt = next(r for r in facts.rrsets if r.name == "_smtp._tls.good.test")
    assert "proven" in tlsrpt.reason
    assert [c.status for c in facts.mx_chains] == [DnssecStatus.SECURE]
    assert judge(facts) == []


def test_unsigned_zone_is_info(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed
    facts, _ = facts_for(server, anchor, "unsigned.test", ("mx.unsigned.test",))
    assert facts.status is DnssecStatus.INSECURE
    found = judge(facts)
    assert [(f.id, f.severity.value, f.subject) for f in found] == [
        ("dnssec.unsigned", "info", "unsigned.test")
    ], "the MX host in the same unsigned zone is not reported twice"
    assert "no DS record in test" in found[0].message


def test_mx_host_in_an_unsigned_zone(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed
    facts, _ = facts_for(server, anchor, "mxelsewhere.test", ("mx.unsigned.test",))
    assert facts.status is DnssecStatus.SECURE
    found = judge(facts)
    assert [(f.id, f.subject) for f in found] == [("dnssec.unsigned", "mx.unsigned.test")]
    assert "MX host mx.unsigned.test" in found[0].message


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("expired.test", "RRSIG expired on"),
        ("dsmismatch.test", "no key matches the DS in test"),
        ("nokey.test", "DNSKEY nokey.test: missing"),
        ("badsig.test", "bad signature"),
    ],
)
def test_bogus_zone_is_an_error_with_the_reason(
    signed: tuple[DnsServer, Path], domain: str, reason: str
) -> None:
    server, anchor = signed
    facts, _ = facts_for(server, anchor, domain)
    assert facts.status is DnssecStatus.BOGUS, facts.to_json()
    found = judge(facts)
    assert {f.id for f in found} == {"dnssec.bogus"}
    assert all(f.severity.value == "error" and f.status.value == "fail" for f in found)
    assert any(reason in f.message for f in found), [f.message for f in found]


def test_ds_lookup_timeout_is_could_not_check(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed
    facts, _ = facts_for(server, anchor, DS_TIMEOUT)
    assert facts.status is DnssecStatus.UNKNOWN
    found = judge(facts)
    assert {(f.id, f.status.value) for f in found} == {("dns.lookup-failed", "unknown")}
    assert "DS dstimeout.test lookup failed: timeout" in found[0].message
    assert not any(f.id == "dnssec.bogus" for f in found), "a timeout is never bogus"


def test_zone_keys_are_fetched_once_per_run(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed

    async def run() -> None:
        resolver = build_resolver(DnsOptions(nameservers=(server.nameserver,)))
        validator = Validator(resolver, load_anchor(anchor))
        server.clear_log()
        await asyncio.gather(
            *(collect_dnssec(validator, d, mx_hosts=("mx.good.test",)) for d in ("good.test",) * 3),
            collect_dnssec(validator, "unsigned.test"),
        )

    asyncio.run(run())
    assert server.count(".", "DNSKEY") == 1
    assert server.count("test", "DNSKEY") == 1
    assert server.count("good.test", "DNSKEY") == 1
    assert server.count("good.test", "DS") == 1


def test_offline_zone_data_is_not_checked(tmp_path: Path) -> None:
    zone = tmp_path / "example.com.zone"
    zone.write_text("$ORIGIN example.com.\n@ 300 SOA ns h 1 1 1 1 1\n@ 300 MX 10 mx\n")

    async def run() -> DnssecFacts:
        resolver = build_resolver(DnsOptions(zones=(str(zone),), offline=True))
        validator = Validator(resolver, load_anchor())
        return await collect_dnssec(validator, "example.com", mx_hosts=("mx.example.com",))

    facts = asyncio.run(run())
    assert facts.status is DnssecStatus.NOT_CHECKED
    assert "not checked offline" in facts.chain.reason
    assert judge(facts) == []


def test_shipped_root_anchor_is_the_iana_ksks() -> None:
    anchor = load_anchor()
    assert anchor.zone_text == "."
    assert anchor.ds is not None
    assert sorted(ds.key_tag for ds in anchor.ds) == [20326, 38696]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "No such file"),
        ("example.com. IN A 192.0.2.1\n", "only DS and DNSKEY records belong here"),
        ("; nothing\n", "no DS or DNSKEY records"),
        (". IN DS 1 8 2 zz\n", "not DS/DNSKEY records in zone-file syntax"),
    ],
)
def test_bad_trust_anchor_file_is_one_clear_line(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "anchor.txt"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_anchor(path)
    run = run_cli("check", "example.com", "--offline", "--trust-anchor", str(path))
    assert run.code == 2, run.err
    assert "--trust-anchor" in run.err and "Traceback" not in run.err


def test_check_shows_dnssec_in_header_and_json(signed: tuple[DnsServer, Path]) -> None:
    server, anchor = signed
    common = ("--nameserver", server.nameserver, "--trust-anchor", str(anchor), "-s", "s1")
    text = run_cli("check", "good.test", "expired.test", "unsigned.test", *common)
    lines = {line.split()[0]: line for line in text.out.splitlines() if line and line[0] != " "}
    assert "DNSSEC ✓" in lines["good.test"], text.out
    assert "DNSSEC ✗ bogus" in lines["expired.test"], text.out
    assert "DNSSEC unsigned" in lines["unsigned.test"], text.out
    run = run_cli("check", "good.test", "expired.test", *common, "--format", "json")
    doc = run.json()
    by_domain = {d["domain"]: d for d in doc["domains"]}
    assert by_domain["good.test"]["dnssec"]["status"] == "secure"
    assert by_domain["expired.test"]["dnssec"]["status"] == "bogus"
    assert "dnssec.bogus" in {f["id"] for f in by_domain["expired.test"]["findings"]}
    assert run.code == 1  # a bogus zone is an error
    traced = {(e["name"], e["type"]) for e in doc["dns"]["trace"]}
    assert (".", "DNSKEY") in traced and ("good.test", "DS") in traced
    off = run_cli("check", "good.test", *common, "--no-dnssec", "--format", "json")
    assert off.json()["domains"][0]["dnssec"] is None
