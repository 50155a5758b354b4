"""Fault injection (issue 12): a DNS fault is "could not check", never a verdict.

A loopback DNS server (tests/dnsserver.py) serves clean domains; then one name each
answers SERVFAIL, REFUSED, nothing, garbage, a spoofed answer, a truncated answer whose
TCP retry is cut off, or FORMERR. ``check``, ``spf``, ``message`` and ``digest`` must
report each fault as unknown: no finding claims absence or invalidity that the clean
run did not, and no exit status says "fail".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnsserver import FAULT_MODES, DnsServer

from dmarc_audit.dns.types import MAX_CNAME_CHAIN

ROOT = Path(__file__).resolve().parent.parent
ZONES = ROOT / "tests" / "data" / "zones"
MODES = sorted(FAULT_MODES)
TIMEOUT = "1"  # generous: a loaded machine must not turn a slow answer into a fault

# domain -> the name whose answers are faulted (ok.faults.test is never faulted)
TARGETS = {
    "spf.faults.test": "spf.faults.test",
    "include.faults.test": "_spf.include.faults.test",
    "dmarc.faults.test": "_dmarc.dmarc.faults.test",
    "mxhost.faults.test": "mx1.mxhost.faults.test",
    "dkim.faults.test": "s1._domainkey.dkim.faults.test",
}
DOMAINS = [*TARGETS, "ok.faults.test"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "dmarc_audit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def module_server() -> Iterator[DnsServer]:
    zones = ("faults.test.zone", "shop.example.zone", "2.0.192.in-addr.arpa.zone")
    with DnsServer([ZONES / z for z in zones], outside="nxdomain") as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def server(module_server: DnsServer) -> Iterator[DnsServer]:
    """The module's server, with no faults at the start of each test."""
    module_server.faults.clear()
    yield module_server
    module_server.faults.clear()


def verdicts(doc: dict) -> dict[str, set[str]]:
    """Per domain, the ids of findings that claim something (status fail)."""
    return {
        d["domain"]: {f["id"] for f in d["findings"] if f["status"] == "fail"}
        for d in doc["domains"]
    }


def unknowns(doc: dict) -> dict[str, set[str]]:
    return {
        d["domain"]: {f["id"] for f in d["findings"] if f["status"] == "unknown"}
        for d in doc["domains"]
    }


def check(server: DnsServer, *domains: str) -> tuple[int, dict]:
    proc = run(
        "check",
        *domains,
        "-s",
        "s1",
        "-n",
        server.nameserver,
        "--timeout",
        TIMEOUT,
        "-f",
        "json",
        "--no-dnssec",  # the loopback server serves no signed root
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


# -- check ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(module_server: DnsServer) -> dict[str, set[str]]:
    """What the check says of the domains without faults (once per module)."""
    module_server.faults.clear()
    code, doc = check(module_server, *DOMAINS)
    assert code == 0, doc
    claims = verdicts(doc)
    assert not unknowns(doc)[DOMAINS[0]] and claims[DOMAINS[0]] <= {
        "mtasts.missing",
        "tlsrpt.missing",
    }
    assert len(set(map(frozenset, claims.values()))) == 1  # the domains are alike
    return claims


@pytest.mark.parametrize("mode", MODES)
def test_check_reports_every_fault_as_could_not_check(server, clean, mode: str) -> None:
    server.faults.update({name: mode for name in TARGETS.values()})
    code, doc = check(server, *DOMAINS)
    assert code == 0, doc  # nothing new is definite, so nothing fails the gate
    claims, unknown = verdicts(doc), unknowns(doc)
    for domain in TARGETS:
        assert claims[domain] <= clean[domain], (domain, claims[domain] - clean[domain])
        assert unknown[domain], f"{domain}: the fault at {TARGETS[domain]} went unnoticed"
    assert claims["ok.faults.test"] == clean["ok.faults.test"]
    assert not unknown["ok.faults.test"]


def test_check_long_chain_and_mx_loop_are_could_not_check(server, clean) -> None:
    code, doc = check(server, "at16.faults.test", "at17.faults.test", "loopmx.faults.test")
    claims, unknown = verdicts(doc), unknowns(doc)
    baseline = clean["ok.faults.test"] | {"dkim.selector-missing"}  # no s1 key there
    assert claims["at16.faults.test"] <= baseline and not unknown["at16.faults.test"]
    assert claims["at17.faults.test"] <= baseline
    assert {"spf.temperror", "dns.lookup-failed"} <= unknown["at17.faults.test"]
    assert claims["loopmx.faults.test"] <= baseline, claims["loopmx.faults.test"]
    loop = next(d for d in doc["domains"] if d["domain"] == "loopmx.faults.test")
    failed = [f for f in loop["findings"] if f["id"] == "dns.lookup-failed"]
    assert failed and "CNAME loop" in failed[0]["message"]
    at17 = next(d for d in doc["domains"] if d["domain"] == "at17.faults.test")
    limit = f"CNAME chain longer than {MAX_CNAME_CHAIN} aliases"
    assert any(limit in f["message"] for f in at17["findings"]), at17["findings"]
    assert code == 1  # dkim.selector-missing: those domains publish no s1 key


# -- spf ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_spf_tree_and_check_host_on_faults(server, mode: str) -> None:
    server.faults.update({"spf.faults.test": mode, "_spf.include.faults.test": mode})
    for domain in ("spf.faults.test", "include.faults.test"):
        tree = run("spf", domain, "-n", server.nameserver, "--timeout", TIMEOUT, "-f", "json")
        assert tree.returncode == 0, tree.stdout + tree.stderr
        doc = json.loads(tree.stdout)
        assert [f["status"] for f in doc["findings"]] and {
            f["status"] for f in doc["findings"]
        } == {"unknown"}, doc["findings"]
        ip = run(
            "spf", domain, "--ip", "192.0.2.7", "-n", server.nameserver, "--timeout", TIMEOUT,
            "-f", "json",
        )  # fmt: skip
        doc = json.loads(ip.stdout)
        assert doc["spf"]["result"] == "temperror", doc["spf"]
        assert ip.returncode == 3, ip.stderr
        assert not [f for f in doc["findings"] if f["status"] == "fail"], doc["findings"]


def test_spf_at_the_end_of_a_long_chain(server) -> None:
    at16 = run("spf", "at16.faults.test", "--ip", "192.0.2.7", "-n", server.nameserver)
    assert at16.returncode == 0 and at16.stdout.startswith("pass"), at16.stdout
    at17 = run("spf", "at17.faults.test", "--ip", "192.0.2.7", "-n", server.nameserver)
    assert at17.returncode == 3 and at17.stdout.startswith("temperror"), at17.stdout
    assert f"CNAME chain longer than {MAX_CNAME_CHAIN} aliases" in at17.stdout


# -- message ------------------------------------------------------------------------------------


def message(server: DnsServer) -> tuple[int, dict]:
    proc = run(
        "message", "fixtures/messages/aligned-pass.eml", "-n", server.nameserver,
        "--timeout", TIMEOUT, "-f", "json",
    )  # fmt: skip
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_message_is_clean_without_faults(server) -> None:
    code, doc = message(server)
    assert code == 0 and doc["findings"] == [], doc["findings"]
    assert doc["bulk"]["signed_by"] == ["shop.example"]


@pytest.mark.parametrize("mode", MODES)
def test_message_dkim_key_fault_makes_one_click_unknown(server, mode: str) -> None:
    server.faults["s1._domainkey.shop.example"] = mode
    code, doc = message(server)
    assert [v["result"] for v in doc["dkim"]] == ["temperror"]
    assert not [f for f in doc["findings"] if f["status"] == "fail"], doc["findings"]
    one_click = [f for f in doc["findings"] if f["id"] == "bulk.one-click-unsubscribe"]
    assert [f["status"] for f in one_click] == ["unknown"]
    assert code == 0  # DMARC passes by aligned SPF all the same


@pytest.mark.parametrize("mode", MODES)
def test_message_spf_fault_is_temperror_with_status_unknown(server, mode: str) -> None:
    server.faults["shop.example"] = mode
    code, doc = message(server)
    assert doc["spf"]["result"] == "temperror", doc["spf"]
    temperror = [f for f in doc["findings"] if f["id"] == "spf.temperror"]
    assert [f["status"] for f in temperror] == ["unknown"]
    assert not [f for f in doc["findings"] if f["status"] == "fail"], doc["findings"]
    assert code == 0  # DMARC passes by aligned DKIM


@pytest.mark.parametrize("mode", MODES)
def test_message_dmarc_fault_is_temperror_not_missing(server, mode: str) -> None:
    server.faults["_dmarc.shop.example"] = mode
    code, doc = message(server)
    assert doc["dmarc"]["result"] == "temperror", doc["dmarc"]
    assert not [f for f in doc["findings"] if f["status"] == "fail"], doc["findings"]
    assert code == 3
