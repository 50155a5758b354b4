"""spf.helo-missing: fires on a HELO name without SPF, stays quiet otherwise, unknown on failure."""

from __future__ import annotations

import asyncio

from dmarc_audit.audit import audit_helo
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from tests.cli_helpers import DEMO, run_cli

ZONE = {
    "mail.example.com": [{"A": "192.0.2.1"}, {"TXT": "v=spf1 a -all"}],
    "bare.example.com": [{"A": "192.0.2.2"}],
    "slow.example.com": [{"A": "192.0.2.3"}, "TIMEOUT"],
}


def run(helo: str):
    resolver = LocalRouter([YamlZoneSource(ZONE)], closed_world=True)
    return asyncio.run(audit_helo(resolver, helo))


def test_fires_without_spf() -> None:
    [finding] = run("bare.example.com")
    assert finding.id == "spf.helo-missing"
    assert finding.severity.value == "info" and finding.status.value == "fail"
    assert finding.suggested_record == "v=spf1 a -all"


def test_quiet_with_spf_or_when_not_a_host_name() -> None:
    assert run("mail.example.com") == []
    assert run("[192.0.2.1]") == []
    assert run("localhost") == []


def test_unknown_when_the_lookup_fails() -> None:
    [finding] = run("slow.example.com")
    assert finding.id == "dns.lookup-failed" and finding.status.value == "unknown"


def test_spf_command_reports_it_without_changing_the_exit_code() -> None:
    result = run_cli(
        "spf",
        "--zone",
        str(DEMO),
        "northwind.example",
        "--ip",
        "192.0.2.25",
        "--helo",
        "mx1.northwind.example",
        "--format",
        "json",
    )
    assert result.code == 0
    # the demo zones have no reverse DNS, so mx.sender-ptr fires too (also exit 0)
    assert [f["id"] for f in result.json()["findings"]] == ["mx.sender-ptr", "spf.helo-missing"]
