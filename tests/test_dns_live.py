"""LiveResolver against a real DNS server on loopback, and the server itself."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from dnsserver import DnsServer

from dmarc_audit.dns.live import LiveResolver, Nameserver, parse_nameserver
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.dns.types import (
    MAX_CNAME_CHAIN,
    AddressRecord,
    MxRecord,
    NameRecord,
    Outcome,
    TxtRecord,
)
from dmarc_audit.errors import InputError

FAST = 0.2


def live(*servers: DnsServer, timeout: float = FAST, retries: int = 1) -> LiveResolver:
    return LiveResolver(
        [parse_nameserver(s.nameserver) for s in servers], timeout=timeout, retries=retries
    )


def ask(resolver: object, name: str, rdtype: str):
    return asyncio.run(resolver.query(name, rdtype))  # type: ignore[attr-defined]


@pytest.fixture
def server(dns_server) -> DnsServer:
    return dns_server(
        "example.com.zone",
        "example.org.zone",
        servfail={"sf.example.com"},
        blackhole={"hole.example.com"},
    )


# -- answers --------------------------------------------------------------------------


def test_address_records(server: DnsServer) -> None:
    answer = ask(live(server), "www.example.com", "A")
    assert answer.outcome is Outcome.RECORDS
    assert sorted(answer.addresses) == ["192.0.2.80", "192.0.2.81"]
    assert answer.cnames == ()
    assert answer.source == f"live {server.nameserver}"
    assert ask(live(server), "mx1.example.com", "AAAA").records == (AddressRecord("2001:db8::25"),)


def test_txt_strings_kept_apart_and_joined(server: DnsServer) -> None:
    answer = ask(live(server), "_dmarc.example.com", "TXT")
    assert answer.txt == [TxtRecord((b"v=DMARC1; p=reject; ", b"rua=mailto:dmarc@example.com"))]
    assert answer.texts == ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"]
    assert ask(live(server), "empty.example.com", "TXT").txt == [TxtRecord((b"",))]


def test_mx_and_null_mx(server: DnsServer) -> None:
    answer = ask(live(server), "example.com", "MX")
    assert sorted(answer.mx, key=lambda r: r.preference) == [
        MxRecord(10, "mx1.example.com"),
        MxRecord(20, "mx2.example.net"),
    ]
    assert ask(live(server), "nullmx.example.com", "MX").mx == [MxRecord(0, "")]


def test_nodata_and_nxdomain(server: DnsServer) -> None:
    nodata = ask(live(server), "www.example.com", "TXT")
    assert (nodata.outcome, nodata.records, nodata.failed) == (Outcome.NODATA, (), False)
    assert nodata.outcome.is_void
    nx = ask(live(server), "nope.example.com", "TXT")
    assert nx.outcome is Outcome.NXDOMAIN and nx.outcome.is_void
    assert ask(live(server), "ent.example.com", "A").outcome is Outcome.NODATA
    assert server.count("nope.example.com") == 1  # definite answers are not retried


def test_names_are_case_insensitive(server: DnsServer) -> None:
    answer = ask(live(server), "WWW.Example.COM.", "a")
    assert answer.outcome is Outcome.RECORDS and len(answer.records) == 2


def test_wildcard_is_synthesised(server: DnsServer) -> None:
    answer = ask(live(server), "anything.wild.example.com", "TXT")
    assert answer.texts == ["wildcard text"]
    assert ask(live(server), "host.wild.example.com", "TXT").outcome is Outcome.NODATA


# -- failures and retries ---------------------------------------------------------------


def test_servfail_is_retried_then_reported(server: DnsServer) -> None:
    answer = ask(live(server, retries=2), "sf.example.com", "TXT")
    assert answer.outcome is Outcome.SERVFAIL and answer.failed
    assert answer.detail == "SERVFAIL"
    assert server.count("sf.example.com") == 3


def test_refused_is_not_retried(server: DnsServer, dns_server) -> None:
    other = dns_server("example.org.zone")
    answer = ask(live(server, other, retries=3), "www.elsewhere.test", "A")
    assert answer.outcome is Outcome.REFUSED and answer.failed
    assert server.count("www.elsewhere.test") == 1
    assert other.count("www.elsewhere.test") == 1


def test_refused_moves_on_to_the_next_server(dns_server) -> None:
    org_only = dns_server("example.org.zone")
    com_only = dns_server("example.com.zone")
    answer = ask(live(org_only, com_only), "www.example.com", "A")
    assert answer.outcome is Outcome.RECORDS
    assert answer.source == f"live {com_only.nameserver}"


def test_other_outside_rcodes(dns_server) -> None:
    nx = dns_server("example.com.zone", outside="nxdomain")
    assert ask(live(nx), "www.elsewhere.test", "A").outcome is Outcome.NXDOMAIN
    sf = dns_server("example.com.zone", outside="servfail")
    assert ask(live(sf, retries=0), "www.elsewhere.test", "A").outcome is Outcome.SERVFAIL


def test_timeout_against_a_server_that_never_answers(dns_server) -> None:
    silent = dns_server("example.com.zone", silent=True)
    started = time.perf_counter()
    answer = ask(live(silent, timeout=FAST, retries=1), "www.example.com", "A")
    elapsed = time.perf_counter() - started
    assert answer.outcome is Outcome.TIMEOUT and answer.failed
    assert answer.detail == f"no answer from {silent.nameserver} in 0.2s"
    assert silent.count("www.example.com", "A", "udp") == 2  # one try, one retry
    assert 2 * FAST <= elapsed < 2 * FAST + 1.0


def test_blackholed_name_times_out_while_others_answer(server: DnsServer) -> None:
    resolver = live(server, retries=0)

    async def both():
        return await asyncio.gather(
            resolver.query("hole.example.com", "A"), resolver.query("www.example.com", "A")
        )

    hole, www = asyncio.run(both())
    assert hole.outcome is Outcome.TIMEOUT
    assert www.outcome is Outcome.RECORDS


def test_first_nameserver_times_out_second_answers(dns_server) -> None:
    dead = dns_server("example.com.zone", silent=True)
    alive = dns_server("example.com.zone")
    answer = ask(live(dead, alive, retries=1), "www.example.com", "A")
    assert answer.outcome is Outcome.RECORDS
    assert answer.source == f"live {alive.nameserver}"
    assert (dead.query_count, alive.query_count) == (1, 1)


def test_timeout_through_build_resolver(dns_server) -> None:
    silent = dns_server(silent=True)
    resolver = build_resolver(DnsOptions(nameservers=(silent.nameserver,), timeout=FAST, retries=0))
    answer = ask(resolver, "example.com", "TXT")
    assert answer.outcome is Outcome.TIMEOUT
    assert [e.outcome for e in resolver.trace.entries] == [Outcome.TIMEOUT]


@pytest.mark.parametrize("options", [{"timeout": 0}, {"timeout": -1.0}, {"retries": -1}])
def test_build_resolver_rejects_bad_timeout_and_retries(options) -> None:
    with pytest.raises(InputError, match=r"^--(timeout|retries) "):
        build_resolver(DnsOptions(nameservers=("127.0.0.1",), **options))


def test_no_nameserver_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no DNS resolver"):
        LiveResolver([])


def test_connection_refused_is_a_failure_not_an_absence(dns_server) -> None:
    server = dns_server()
    port = server.port
    server.stop()
    resolver = LiveResolver([Nameserver("127.0.0.1", port)], timeout=FAST, retries=0)
    answer = ask(resolver, "www.example.com", "A")
    assert answer.failed, answer


def test_invalid_name_is_not_sent(server: DnsServer) -> None:
    answer = ask(live(server), "a" * 64 + ".example.com", "TXT")
    assert answer.outcome is Outcome.NXDOMAIN
    assert "not a valid DNS name" in answer.detail
    assert server.query_count == 0


# -- TCP, CNAMEs --------------------------------------------------------------------------


def test_truncated_answer_is_fetched_over_tcp_whole(server: DnsServer) -> None:
    answer = ask(live(server), "big.example.com", "TXT")
    assert answer.outcome is Outcome.RECORDS
    assert sorted(answer.texts) == [f"{i:02d} " + "x" * 200 for i in range(8)]
    assert [(e.transport) for e in server.log] == ["udp", "tcp"]


def test_edns_payload_avoids_truncation_for_mid_sized_answers(server: DnsServer) -> None:
    answer = ask(live(server), "mid.example.com", "TXT")
    assert answer.txt == [TxtRecord((b"m" * 240, b"n" * 240))]
    assert server.count(transport="tcp") == 0


def test_server_truncates_at_512_without_edns(server: DnsServer) -> None:
    plain = dns.message.make_query("mid.example.com", "TXT", use_edns=False)
    reply = dns.query.udp(plain, "127.0.0.1", port=server.port, timeout=1)
    assert reply.flags & dns.flags.TC and not reply.answer
    assert reply.question == plain.question
    edns = dns.message.make_query("mid.example.com", "TXT", use_edns=0, payload=1232)
    reply = dns.query.udp(edns, "127.0.0.1", port=server.port, timeout=1)
    assert not reply.flags & dns.flags.TC and reply.answer
    over_tcp = dns.query.tcp(plain, "127.0.0.1", port=server.port, timeout=1)
    assert len(over_tcp.answer[0]) == 1 and not over_tcp.flags & dns.flags.TC


def test_udp_limit_forces_tcp(dns_server) -> None:
    server = dns_server("example.com.zone", udp_limit=100)
    answer = ask(live(server), "_dmarc.example.com", "TXT")
    assert answer.ok
    assert server.count(transport="tcp") == 1


def test_cname_chain(server: DnsServer) -> None:
    answer = ask(live(server), "alias1.example.com", "A")
    assert answer.outcome is Outcome.RECORDS
    assert sorted(answer.addresses) == ["192.0.2.80", "192.0.2.81"]
    assert answer.cnames == (
        ("alias1.example.com", "alias2.example.com"),
        ("alias2.example.com", "www.example.com"),
    )


def test_cname_chain_across_zones_and_to_nowhere(server: DnsServer) -> None:
    cross = ask(live(server), "cross.example.com", "A")
    assert cross.addresses == ["198.51.100.1"]
    assert cross.cnames == (("cross.example.com", "www.example.org"),)
    dangling = ask(live(server), "dangling.example.com", "TXT")
    assert dangling.outcome is Outcome.NXDOMAIN
    assert dangling.cnames == (("dangling.example.com", "nothere.example.com"),)
    nodata = ask(live(server), "alias1.example.com", "MX")
    assert nodata.outcome is Outcome.NODATA and len(nodata.cnames) == 2


def test_cname_question_is_not_followed(server: DnsServer) -> None:
    answer = ask(live(server), "alias1.example.com", "CNAME")
    assert answer.records == (NameRecord("alias2.example.com"),)
    assert answer.cnames == ()


@pytest.mark.parametrize("name", ["loop1.example.com", "self.example.com"])
def test_cname_loop_is_a_failure(server: DnsServer, name: str) -> None:
    answer = ask(live(server), name, "TXT")
    assert answer.outcome is Outcome.SERVFAIL and answer.detail == "CNAME loop"
    assert server.count(name) == 1


# -- nameserver parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address", "port", "shown"),
    [
        ("192.0.2.1", "192.0.2.1", 53, "192.0.2.1:53"),
        (" 192.0.2.1:5353 ", "192.0.2.1", 5353, "192.0.2.1:5353"),
        ("::1", "::1", 53, "[::1]:53"),
        ("2001:db8::53", "2001:db8::53", 53, "[2001:db8::53]:53"),
        ("[2001:db8::53]", "2001:db8::53", 53, "[2001:db8::53]:53"),
        ("[::1]:5353", "::1", 5353, "[::1]:5353"),
        ("fe80::1%lo", "fe80::1%lo", 53, "[fe80::1%lo]:53"),
    ],
)
def test_parse_nameserver(text: str, address: str, port: int, shown: str) -> None:
    server = parse_nameserver(text)
    assert server == Nameserver(address, port)
    assert str(server) == shown


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not an IP address"),
        ("dns.example", "not an IP address"),
        ("192.0.2.1:", "port must be"),
        ("192.0.2.1:0", "port must be"),
        ("192.0.2.1:65536", "port must be"),
        ("192.0.2.1:５３", "port must be"),
        ("192.0.2.1:²", "port must be"),
        ("[::1", "missing ']'"),
        ("[::1]53", "expected ':PORT'"),
        ("[::1]:x", "port must be"),
        ("2001:db8::zz", "not an IP address"),
        ("256.0.0.1", "not an IP address"),
    ],
)
def test_parse_nameserver_rejects(text: str, why: str) -> None:
    with pytest.raises(InputError, match=r"^--nameserver ") as info:
        parse_nameserver(text)
    assert why in str(info.value)


# -- the server itself ----------------------------------------------------------------------


def test_server_delay_is_per_answer_and_concurrent(dns_server) -> None:
    server = dns_server("example.com.zone", delay_ms=50)
    resolver = live(server, timeout=2.0)

    async def many():
        return await asyncio.gather(*(resolver.query(f"n{i}.example.com", "A") for i in range(20)))

    started = time.perf_counter()
    answers = asyncio.run(many())
    elapsed = time.perf_counter() - started
    assert {a.outcome for a in answers} == {Outcome.NXDOMAIN}
    assert 0.05 <= elapsed < 0.5  # twenty 50 ms answers overlap
    assert server.query_count == 20
    slow = live(server, timeout=0.01, retries=0)
    assert ask(slow, "www.example.com", "A").outcome is Outcome.TIMEOUT


def test_server_log_and_counters(server: DnsServer) -> None:
    ask(live(server), "www.example.com", "A")
    ask(live(server), "www.example.com", "TXT")
    assert server.log[0] == ("www.example.com", "A", "udp")
    assert server.count("WWW.example.com.") == 2
    assert server.count(rdtype="txt") == 1
    server.clear_log()
    assert server.query_count == 0


def test_server_settings_change_while_running(server: DnsServer) -> None:
    resolver = live(server, retries=0)
    assert ask(resolver, "www.example.com", "A").ok
    server.servfail.add("www.example.com")
    assert ask(resolver, "www.example.com", "A").outcome is Outcome.SERVFAIL
    server.servfail.clear()
    server.silent = True
    assert ask(resolver, "www.example.com", "A").outcome is Outcome.TIMEOUT


def test_server_answers_formerr_to_garbage(server: DnsServer) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x12\x34" + b"\x00" * 10 + b"\xff", ("127.0.0.1", server.port))
        reply = dns.message.from_wire(sock.recv(512), question_only=True)
    assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR


def test_server_stops_with_a_tcp_client_waiting(dns_server) -> None:
    server = dns_server("example.com.zone", blackhole={"www.example.com"})
    query = dns.message.make_query("www.example.com", "A")

    async def ask_tcp():
        import dns.asyncquery

        return await dns.asyncquery.tcp(query, "127.0.0.1", port=server.port, timeout=5)

    async def scenario():
        pending = asyncio.ensure_future(ask_tcp())
        while server.query_count == 0:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.stop)
        with pytest.raises((EOFError, ConnectionError, dns.exception.Timeout)):
            await pending

    started = time.perf_counter()
    asyncio.run(scenario())
    assert time.perf_counter() - started < 2


def test_server_as_a_script(zones_dir: Path) -> None:
    script = Path(__file__).parent / "dnsserver.py"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--zone",
            str(zones_dir / "example.com.zone"),
            "--delay-ms",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        ns = parse_nameserver(line.split()[-1])
        answer = ask(LiveResolver([ns], timeout=2.0), "www.example.com", "A")
        assert answer.ok
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "1 queries" in err


# -- long chains (issue 12): more than MAX_CNAME_CHAIN aliases cannot be checked ------------


@pytest.mark.parametrize("max_chain", [32, 5, 1])
def test_chain_at_the_limit_resolves_however_the_server_splits_it(dns_server, max_chain) -> None:
    server = dns_server("faults.test.zone", max_chain=max_chain)
    answer = ask(live(server), "_dmarc.at16.faults.test", "TXT")
    assert answer.outcome is Outcome.RECORDS and answer.texts[0].startswith("v=DMARC1")
    assert len(answer.cnames) == MAX_CNAME_CHAIN
    assert answer.cnames[0][0] == "_dmarc.at16.faults.test"
    # the chain in each answer is followed before asking again from where it stopped
    assert server.count(rdtype="TXT") == MAX_CNAME_CHAIN // max_chain + 1


@pytest.mark.parametrize("max_chain", [32, 5])
def test_chain_over_the_limit_is_a_failure_naming_it(dns_server, max_chain) -> None:
    server = dns_server("faults.test.zone", max_chain=max_chain)
    for rdtype in ("TXT", "MX"):
        answer = ask(live(server), "at17.faults.test", rdtype)
        assert answer.outcome is Outcome.SERVFAIL and answer.failed
        assert answer.detail == f"CNAME chain longer than {MAX_CNAME_CHAIN} aliases"
        assert answer.records == ()
    assert server.count("at17.faults.test") == 2  # not retried: asking again cannot help


def test_chain_stopping_at_an_unanswerable_name_is_not_nodata(server: DnsServer) -> None:
    answer = ask(live(server), "outward.example.com", "A")  # the target's zone is REFUSED
    assert answer.outcome is Outcome.REFUSED
    assert answer.cnames == (("outward.example.com", "host.elsewhere.test"),)
