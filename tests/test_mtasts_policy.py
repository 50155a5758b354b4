"""MTA-STS policies: the parser, the HTTPS fetch through our resolver, and the rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from httpsserver import HttpsServer, Route
from pki import CertAuthority

from dmarc_audit.checks.mtasts import policy_findings
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.fetch.facts import FetchOutcome
from dmarc_audit.fetch.https import FetchOptions, HttpsFetcher
from dmarc_audit.findings import Severity, Status
from dmarc_audit.mtasts.collect import collect_policy
from dmarc_audit.records.mtasts_policy import PolicyMode, mx_matches, parse_policy

GOOD = (
    b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
    b"mx: *.mail.example.com\r\nmax_age: 1209600\r\n"
)
PATH = "/.well-known/mta-sts.txt"
HOST = "mta-sts.example.com"


def zone(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "example.com.zone"
    path.write_text(
        "$ORIGIN example.com.\n$TTL 300\n"
        "@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n"
        "mta-sts A 127.0.0.1\nnoaddr TXT x\n" + extra
    )
    return str(path)


# -- parser -----------------------------------------------------------------------


def test_valid_policy_parses() -> None:
    policy = parse_policy(GOOD.decode())
    assert policy.valid, policy.problems
    assert policy.mode is PolicyMode.ENFORCE
    assert policy.max_age == 1209600
    assert policy.mx == ("mx1.example.com", "*.mail.example.com")


def test_lf_line_endings_and_trailing_blank_are_fine() -> None:
    assert parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n\n").valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mode: enforce\nmx: a.example\nmax_age: 86400\n", "no 'version: STSv1' line"),
        ("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 86400\n", "version must be"),
        ("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 86400\n", "mode must be"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999999\n", "1-10 digits"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "is over 31557600"),
        ("version: STSv1\nmode: enforce\nmx: a.example\n", "no 'max_age' line"),
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no 'mx' line"),
        ("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 86400\n", "invalid mx"),
        ("version: STSv1\nmode enforce\nmx: a.example\nmax_age: 86400\n", "not 'key: value'"),
        ("version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 86400\n", "case-sensitive"),
        ("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n", "given twice"),
    ],
)
def test_malformed_policies_say_what_and_where(text: str, expected: str) -> None:
    policy = parse_policy(text)
    assert not policy.valid
    assert any(expected in str(p) for p in policy.problems), policy.problems


def test_mode_none_needs_no_mx() -> None:
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").valid


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mx1.example.com", "MX1.example.com.", True),
        ("*.example.com", "mx1.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("mx1.example.com", "mx2.example.com", False),
    ],
)
def test_mx_patterns_follow_rfc8461_4_1(pattern: str, host: str, matches: bool) -> None:
    assert mx_matches(pattern, host) is matches


# -- fetch over real HTTPS --------------------------------------------------------


@pytest.fixture
def pki(tmp_path: Path) -> CertAuthority:
    return CertAuthority(tmp_path)


def fetch(dns_server, tmp_path: Path, server: HttpsServer, ca: CertAuthority | None, **kw):  # type: ignore[no-untyped-def]
    dns = dns_server(zone(tmp_path))
    resolver = build_resolver(DnsOptions(nameservers=(dns.nameserver,), timeout=1.0))
    options = FetchOptions(
        ca_file=str(ca.ca_file) if ca else None, port=server.port, timeout=kw.pop("timeout", 3.0)
    )
    fetcher = HttpsFetcher(resolver, options)
    return asyncio.run(collect_policy(fetcher, kw.pop("domain", "example.com")))


def test_clean_policy_gives_no_finding(dns_server, tmp_path: Path, pki: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD)
        facts = fetch(dns_server, tmp_path, server, pki)
    assert facts.fetch.outcome is FetchOutcome.OK, facts.fetch
    assert facts.fetch.address == "127.0.0.1"
    assert facts.policy is not None and facts.policy.valid
    assert policy_findings(facts, ["mx1.example.com", "in.mail.example.com"]) == []


def test_chunked_body_is_read(dns_server, tmp_path: Path, pki: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD * 3, chunked=True)
        facts = fetch(dns_server, tmp_path, server, pki)
    assert facts.fetch.body == GOOD * 3


def test_untrusted_certificate_is_a_real_error(
    dns_server, tmp_path: Path, pki: CertAuthority
) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    other = CertAuthority(tmp_path, "another root")
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD)
        facts = fetch(dns_server, tmp_path, server, other)
    assert facts.fetch.outcome is FetchOutcome.TLS_ERROR
    [f] = policy_findings(facts, [])
    assert f.id == "mtasts.policy-invalid" and f.status is Status.FAIL
    assert "certificate" in f.message


def test_certificate_for_another_name_is_a_real_error(
    dns_server, tmp_path: Path, pki: CertAuthority
) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue("www.example.com")
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD)
        facts = fetch(dns_server, tmp_path, server, pki)
    assert facts.fetch.outcome is FetchOutcome.TLS_ERROR
    assert "mta-sts.example.com" in facts.fetch.detail


def test_expired_certificate_is_a_real_error(
    dns_server, tmp_path: Path, pki: CertAuthority
) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST, days=-1, not_before_days=-30)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD)
        facts = fetch(dns_server, tmp_path, server, pki)
    assert facts.fetch.outcome is FetchOutcome.TLS_ERROR
    assert "expired" in facts.fetch.detail


@pytest.mark.parametrize(
    ("route", "outcome", "status", "words"),
    [
        (Route(b"nope", status=404), FetchOutcome.HTTP_ERROR, Status.FAIL, "error status"),
        (
            Route(b"", status=301, headers={"Location": "https://example.com/"}),
            FetchOutcome.REDIRECT,
            Status.FAIL,
            "redirect",
        ),
        (Route(b"x" * 70000), FetchOutcome.TOO_LARGE, Status.FAIL, "64 KiB"),
        (Route(b"oops", status=503), FetchOutcome.SERVER_ERROR, Status.UNKNOWN, "Could not check"),
    ],
)
def test_fetch_failures_are_told_apart(  # type: ignore[no-untyped-def]
    dns_server, tmp_path: Path, pki: CertAuthority, route: Route, outcome, status, words
) -> None:
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = route
        facts = fetch(dns_server, tmp_path, server, pki)
    assert facts.fetch.outcome is outcome
    [f] = policy_findings(facts, [])
    assert f.id == "mtasts.policy-invalid"
    assert f.status is status
    assert words in f.message


def test_timeout_is_could_not_check(dns_server, tmp_path: Path, pki: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(GOOD, delay=1.5)
        facts = fetch(dns_server, tmp_path, server, pki, timeout=0.5)
    assert facts.fetch.outcome is FetchOutcome.TIMEOUT
    [f] = policy_findings(facts, [])
    assert f.status is Status.UNKNOWN


def test_refused_port_and_missing_host(dns_server, tmp_path: Path, pki: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        port = server.port
    # the server is gone: its port refuses
    dns = dns_server(zone(tmp_path))
    resolver = build_resolver(DnsOptions(nameservers=(dns.nameserver,), timeout=1.0))
    fetcher = HttpsFetcher(resolver, FetchOptions(ca_file=str(pki.ca_file), port=port))
    refused = asyncio.run(collect_policy(fetcher, "example.com"))
    assert refused.fetch.outcome is FetchOutcome.REFUSED
    [f] = policy_findings(refused, [])  # a firewall here, maybe: could not check
    assert f.status is Status.UNKNOWN and "blocked from here" in f.message
    missing = asyncio.run(collect_policy(fetcher, "noaddr.example.com"))
    assert missing.fetch.outcome is FetchOutcome.NO_ADDRESS
    assert policy_findings(missing, [])[0].status is Status.FAIL


def test_dns_failure_is_could_not_check(dns_server, tmp_path: Path, pki: CertAuthority) -> None:  # type: ignore[no-untyped-def]
    dns = dns_server(zone(tmp_path), servfail=[HOST])
    resolver = build_resolver(DnsOptions(nameservers=(dns.nameserver,), timeout=1.0, retries=0))
    fetcher = HttpsFetcher(resolver, FetchOptions(ca_file=str(pki.ca_file), port=9))
    facts = asyncio.run(collect_policy(fetcher, "example.com"))
    assert facts.fetch.outcome is FetchOutcome.DNS_FAILED
    assert policy_findings(facts, [])[0].status is Status.UNKNOWN


def test_no_fetch_fetches_nothing(dns_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dns = dns_server(zone(tmp_path))
    resolver = build_resolver(DnsOptions(nameservers=(dns.nameserver,)))
    fetcher = HttpsFetcher(resolver, FetchOptions(enabled=False))
    facts = asyncio.run(collect_policy(fetcher, "example.com"))
    assert facts.fetch.outcome is FetchOutcome.NOT_FETCHED
    assert dns.query_count == 0
    assert policy_findings(facts, ["mx.example.com"]) == []


def test_wrong_media_type_and_malformed_policy(
    dns_server, tmp_path: Path, pki: CertAuthority
) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(
            b"version: STSv1\nmode: enforce\nmax_age: 86400\n", content_type="text/html"
        )
        facts = fetch(dns_server, tmp_path, server, pki)
    messages = [f.message for f in policy_findings(facts, ["mx1.example.com"])]
    assert any("'text/html', not text/plain" in m for m in messages)
    assert any("no 'mx' line" in m for m in messages)


def test_testing_mode_short_max_age_and_mx_mismatch(
    dns_server, tmp_path: Path, pki: CertAuthority
) -> None:  # type: ignore[no-untyped-def]
    leaf = pki.issue(HOST)
    testing = b"version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n"
    short = b"version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 3600\n"
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        server.routes[(HOST, PATH)] = Route(testing)
        facts = fetch(dns_server, tmp_path, server, pki)
        found = policy_findings(facts, ["mx1.example.com", "backup.example.net"])
        assert [f.id for f in found] == ["mtasts.mode-testing", "mtasts.mx-mismatch"]
        assert found[0].severity is Severity.INFO
        assert found[1].subject == "backup.example.net"
        assert found[1].severity is Severity.WARNING  # testing: reported, still delivered
        server.routes[(HOST, PATH)] = Route(short)
        facts = fetch(dns_server, tmp_path, server, pki, domain="example.com")
    found = policy_findings(facts, ["backup.example.net"])
    assert [f.id for f in found] == ["mtasts.mode-testing", "mtasts.mx-mismatch"]
    assert found[0].severity is Severity.WARNING and "under a day" in found[0].message
    assert found[1].severity is Severity.ERROR
