"""MX posture (RFC 5321 §5.1, RFC 7505): mx.missing, mx.target-invalid, mx.null-mx-mixed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dmarc_audit.audit import audit_mx
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mx.facts import MxHost, MxPosture, MxStatus


class Recorder:
    """A resolver over YAML zone data that logs questions and peak concurrency."""

    def __init__(self, zonedata: dict[str, Any]) -> None:
        self.inner = LocalRouter([YamlZoneSource(zonedata)], closed_world=True)
        self.asked: list[tuple[str, str]] = []
        self.in_flight = 0
        self.peak = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        self.asked.append((name, rdtype))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)
        try:
            return await self.inner.query(name, rdtype)
        finally:
            self.in_flight -= 1


def run(zonedata: dict[str, Any], domain: str = "example.com") -> MxPosture:
    return asyncio.run(audit_mx(Recorder(zonedata), parse_domain(domain)))


def ids(findings: tuple[Finding, ...] | list[Finding]) -> list[str]:
    return [f.id for f in findings]


GOOD = {
    "example.com": [{"MX": [20, "mx2.example.com"]}, {"MX": [10, "mx1.example.com"]}],
    "mx1.example.com": [{"A": "192.0.2.1"}, {"AAAA": "2001:db8::1"}],
    "mx2.example.com": [{"A": "192.0.2.2"}],
}


# --- clean configuration -------------------------------------------------------------


def test_well_configured_domain_has_no_findings() -> None:
    posture = run(GOOD)
    assert posture.findings == ()
    assert posture.status == MxStatus.OK == "ok"
    assert posture.accepts_mail
    assert not posture.null_mx
    assert posture.hosts == (
        MxHost(10, "mx1.example.com", ("192.0.2.1", "2001:db8::1"), None),
        MxHost(20, "mx2.example.com", ("192.0.2.2",), None),
    )


def test_to_json_shape() -> None:
    assert run(GOOD).to_json() == {
        "status": "ok",
        "null_mx": False,
        "hosts": [
            {
                "preference": 10,
                "exchange": "mx1.example.com",
                "addresses": ["192.0.2.1", "2001:db8::1"],
                "problem": None,
            },
            {
                "preference": 20,
                "exchange": "mx2.example.com",
                "addresses": ["192.0.2.2"],
                "problem": None,
            },
        ],
    }


def test_queries_mx_then_addresses_of_every_exchange_concurrently() -> None:
    resolver = Recorder(GOOD)
    asyncio.run(audit_mx(resolver, parse_domain("Example.COM.")))
    assert resolver.asked[0] == ("example.com", "MX")
    assert sorted(resolver.asked[1:]) == [
        ("mx1.example.com", "A"),
        ("mx1.example.com", "AAAA"),
        ("mx2.example.com", "A"),
        ("mx2.example.com", "AAAA"),
    ]
    assert resolver.peak == 4


def test_ipv6_only_exchange_is_fine() -> None:
    posture = run(
        {
            "example.com": [{"MX": [10, "mx.example.com"]}],
            "mx.example.com": [{"AAAA": "2001:db8::25"}],
        }
    )
    assert posture.findings == () and posture.status == "ok"


# --- mx.missing --------------------------------------------------------------------------


def test_missing_mx_falls_back_to_domain_address() -> None:
    posture = run({"example.com": [{"A": "192.0.2.80"}]})
    assert ids(posture.findings) == ["mx.missing"]
    missing = posture.findings[0]
    assert missing.severity is Severity.WARNING and missing.status is Status.FAIL
    assert "implicit MX" in missing.message and "192.0.2.80" in missing.message
    assert posture.status == "none" and not posture.accepts_mail and posture.hosts == ()


def test_missing_mx_and_no_address_is_undeliverable() -> None:
    posture = run({"example.com": [{"TXT": "v=spf1 -all"}]})
    assert ids(posture.findings) == ["mx.missing"]
    assert "undeliverable" in posture.findings[0].message


def test_missing_mx_on_nonexistent_domain_asks_nothing_more() -> None:
    resolver = Recorder({})
    posture = asyncio.run(audit_mx(resolver, parse_domain("gone.example")))
    assert ids(posture.findings) == ["mx.missing"]
    assert "NXDOMAIN" in posture.findings[0].message
    assert resolver.asked == [("gone.example", "MX")]


def test_null_mx_is_not_missing() -> None:
    posture = run({"example.com": [{"MX": [0, "."]}]})
    assert posture.findings == ()
    assert posture.status == "null" and posture.null_mx and not posture.accepts_mail
    assert posture.to_json() == {
        "status": "null",
        "null_mx": True,
        "hosts": [{"preference": 0, "exchange": ".", "addresses": [], "problem": None}],
    }


def test_mx_lookup_timeout_is_unknown_not_missing() -> None:
    posture = run({"example.com": ["TIMEOUT"]})
    assert ids(posture.findings) == ["dns.lookup-failed"]
    assert posture.findings[0].status is Status.UNKNOWN
    assert posture.findings[0].subject == "example.com"
    assert posture.status == "unknown" and not posture.null_mx and posture.hosts == ()


# --- mx.target-invalid ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ({}, "has no A/AAAA records (NXDOMAIN)"),
        ({"mx.example.com": [{"TXT": "hello"}]}, "has no A/AAAA records (NODATA)"),
        (
            {
                "mx.example.com": [{"CNAME": "real.example.net"}],
                "real.example.net": [{"A": "192.0.2.9"}],
            },
            "is an alias (CNAME to real.example.net); MX must name the host itself",
        ),
        (
            {"mx.example.com": [{"CNAME": "gone.example.net"}]},
            "is an alias (CNAME to gone.example.net); MX must name the host itself, "
            "and has no A/AAAA records",
        ),
    ],
)
def test_target_invalid(hosts: dict[str, Any], problem: str) -> None:
    posture = run({"example.com": [{"MX": [10, "mx.example.com"]}], **hosts})
    assert ids(posture.findings) == ["mx.target-invalid"]
    found = posture.findings[0]
    assert found.severity is Severity.ERROR and found.status is Status.FAIL
    assert found.message == f"MX host mx.example.com {problem}"
    assert found.record == "example.com. MX 10 mx.example.com."
    assert posture.hosts[0].problem == problem
    assert posture.status == "invalid" and not posture.accepts_mail


def test_target_written_as_ip_address_is_not_queried() -> None:
    resolver = Recorder({"example.com": [{"MX": [10, "192.0.2.25"]}]})
    posture = asyncio.run(audit_mx(resolver, parse_domain("example.com")))
    assert ids(posture.findings) == ["mx.target-invalid"]
    assert "written as an IP address" in posture.findings[0].message
    assert resolver.asked == [("example.com", "MX")]


def test_one_bad_host_among_good_ones_is_reported_but_status_ok() -> None:
    zone = {**GOOD, "mx2.example.com": [{"CNAME": "mx1.example.com"}]}
    posture = run(zone)
    assert ids(posture.findings) == ["mx.target-invalid"]
    assert "mx2.example.com" in posture.findings[0].message
    assert posture.status == "ok" and posture.accepts_mail
    assert posture.hosts[1].addresses == ("192.0.2.1", "2001:db8::1")


def test_exchange_lookup_timeout_is_unknown_not_invalid() -> None:
    posture = run({"example.com": [{"MX": [10, "mx.example.com"]}], "mx.example.com": ["TIMEOUT"]})
    assert ids(posture.findings) == ["dns.lookup-failed"]
    found = posture.findings[0]
    assert found.status is Status.UNKNOWN and found.subject == "mx.example.com"
    assert found.message.startswith("A and AAAA lookups for mx.example.com failed: timeout")
    assert posture.status == "unknown"
    assert posture.hosts[0].problem is not None and "timeout" in posture.hosts[0].problem


def test_cname_loop_at_an_exchange_cannot_complete_it_is_not_an_alias() -> None:
    posture = run(
        {
            "example.com": [{"MX": [10, "mx.example.com"]}],
            "mx.example.com": [{"CNAME": "mx2.example.com"}],
            "mx2.example.com": [{"CNAME": "mx.example.com"}],
        }
    )
    assert ids(posture.findings) == ["dns.lookup-failed"]
    assert posture.findings[0].status is Status.UNKNOWN and posture.status == "unknown"
    problem = posture.hosts[0].problem or ""
    assert problem.startswith("address lookup cannot complete: SERVFAIL (CNAME loop)")
    assert "mx.example.com → mx2.example.com → mx.example.com" in problem


def test_partial_lookup_failure_with_addresses_is_fine() -> None:
    posture = run(
        {
            "example.com": [{"MX": [10, "mx.example.com"]}],
            "mx.example.com": [{"A": "192.0.2.1"}, "TIMEOUT"],
        }
    )
    assert posture.findings == () and posture.status == "ok"


def test_alias_is_known_even_when_one_lookup_fails() -> None:
    posture = run(
        {
            "example.com": [{"MX": [10, "mx.example.com"]}],
            "mx.example.com": [{"CNAME": "real.example.net"}],
            "real.example.net": ["TIMEOUT"],
        }
    )
    assert ids(posture.findings) == ["mx.target-invalid"]


# --- mx.null-mx-mixed -------------------------------------------------------------------


def test_null_mx_mixed_with_other_records() -> None:
    posture = run(
        {
            "example.com": [{"MX": [0, "."]}, {"MX": [10, "mx.example.com"]}],
            "mx.example.com": [{"A": "192.0.2.1"}],
        }
    )
    assert ids(posture.findings) == ["mx.null-mx-mixed"]
    found = posture.findings[0]
    assert found.severity is Severity.ERROR
    assert found.record == "example.com. MX 0 .\nexample.com. MX 10 mx.example.com."
    assert posture.status == "invalid" and posture.null_mx
    assert posture.accepts_mail


def test_null_mx_with_nonzero_preference() -> None:
    posture = run({"example.com": [{"MX": [10, "."]}]})
    assert ids(posture.findings) == ["mx.target-invalid"]
    assert posture.findings[0].severity is Severity.WARNING
    assert posture.findings[0].suggested_record == "example.com. MX 0 ."
    assert posture.status == "null" and posture.null_mx
