"""mx.sender-ptr: fires without FCrDNS, stays quiet with it, unknown when a lookup fails."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

from dmarc_audit.audit import audit_sender_ptr
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from tests.cli_helpers import run_cli

IPV6 = "2001:db8::25"
IPV6_REVERSE = "5.2.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.ip6.arpa"

ZONE = {
    # FCrDNS ok
    "4.3.2.1.in-addr.arpa": [{"PTR": "mail.example.com"}],
    "mail.example.com": [{"A": "1.2.3.4"}, {"AAAA": IPV6}],
    IPV6_REVERSE: [{"PTR": "mail.example.com"}],
    # PTR whose name resolves elsewhere
    "5.3.2.1.in-addr.arpa": [{"PTR": "generic.example.net"}],
    "generic.example.net": [{"A": "1.2.3.99"}],
    # two PTR names, the second one confirms
    "6.3.2.1.in-addr.arpa": [{"PTR": "stale.example.net"}, {"PTR": "ok.example.net"}],
    "stale.example.net": [{"A": "1.2.3.98"}],
    "ok.example.net": [{"A": "1.2.3.6"}],
    # the reverse lookup times out / the forward lookup times out
    "7.3.2.1.in-addr.arpa": ["TIMEOUT"],
    "8.3.2.1.in-addr.arpa": [{"PTR": "slow.example.net"}],
    "slow.example.net": ["TIMEOUT"],
}


def run(ip: str):
    resolver = LocalRouter([YamlZoneSource(ZONE)], closed_world=True)
    return asyncio.run(audit_sender_ptr(resolver, ip))


def test_fires_without_a_ptr() -> None:
    [finding] = run("192.0.2.1")
    assert finding.id == "mx.sender-ptr"
    assert finding.severity.value == "error" and finding.status.value == "fail"
    assert finding.subject == "192.0.2.1"
    assert "no PTR" in finding.message
    assert "1.2.0.192.in-addr.arpa" in finding.evidence[0]
    assert finding.remediation and "192.0.2.1" in finding.remediation


def test_fires_when_the_ptr_name_does_not_resolve_back() -> None:
    [finding] = run("1.2.3.5")
    assert finding.id == "mx.sender-ptr" and finding.status.value == "fail"
    assert "generic.example.net" in finding.message
    assert finding.evidence == (
        "PTR 5.3.2.1.in-addr.arpa: generic.example.net",
        "A generic.example.net: 1.2.3.99",
    )


def test_quiet_with_fcrdns_ipv4_and_ipv6() -> None:
    assert run("1.2.3.4") == []
    assert run(IPV6) == []
    assert run("2001:DB8:0:0::25") == []
    assert run("1.2.3.6") == []  # the second PTR name confirms


def test_ipv6_reverse_name_is_the_nibble_form() -> None:
    assert ipaddress.ip_address(IPV6).reverse_pointer == IPV6_REVERSE


def test_quiet_for_a_value_that_is_not_an_ip() -> None:
    assert run("not-an-ip") == []


def test_unknown_when_a_lookup_times_out() -> None:
    for ip in ("1.2.3.7", "1.2.3.8"):
        [finding] = run(ip)
        assert finding.id == "dns.lookup-failed", ip
        assert finding.status.value == "unknown"


def test_message_mode_reports_it_without_changing_the_verdict() -> None:
    from dmarc_audit.message.parse import parse_message
    from dmarc_audit.message.verdict import MessageOptions, analyze_message

    raw = (
        b"From: a@shop.example\r\nSubject: hi\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        b"\r\nHello.\r\n"
    )
    zone = {
        "shop.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
        "_dmarc.shop.example": [{"TXT": "v=DMARC1; p=reject"}],
    }
    resolver = LocalRouter([YamlZoneSource(zone)], closed_world=True)
    report = asyncio.run(
        analyze_message(
            resolver,
            parse_message(raw),
            MessageOptions(ip="192.0.2.10", mail_from="bounce@shop.example"),
        )
    )
    assert report.dmarc.result.value == "pass" and int(report.exit_status) == 0
    assert [f.id for f in report.findings] == ["mx.sender-ptr"]


def test_spf_command_reports_it_without_changing_the_exit_code(tmp_path: Path) -> None:
    zone = tmp_path / "zone.yaml"
    zone.write_text(
        'example.org:\n  - TXT: "v=spf1 ip4:192.0.2.0/24 -all"\n'
        "25.2.0.192.in-addr.arpa:\n  - PTR: mail.example.org\n"
        "mail.example.org:\n  - A: 192.0.2.99\n",
        encoding="utf-8",
    )
    result = run_cli(
        "spf", "--zone", str(zone), "example.org", "--ip", "192.0.2.25", "--format", "json"
    )
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["spf"]["result"] == "pass"
    assert [f["id"] for f in doc["findings"]] == ["mx.sender-ptr"]
    text = run_cli("spf", "--zone", str(zone), "example.org", "--ip", "192.0.2.25")
    assert text.code == 0
    assert "mx.sender-ptr" in text.out and "mail.example.org" in text.out


def test_internal_addresses_are_not_checked() -> None:
    import asyncio

    from dmarc_audit.audit import audit_sender_ptr
    from dmarc_audit.dns.local import LocalRouter
    from dmarc_audit.dns.yamlzone import YamlZoneSource

    resolver = LocalRouter([YamlZoneSource({})], closed_world=True)
    for ip in ("10.1.2.3", "192.168.0.9", "127.0.0.1", "fd00::1", "::1"):
        assert asyncio.run(audit_sender_ptr(resolver, ip)) == [], ip
