"""LocalRouter (sources, CNAMEs, fallback) and CachingResolver (cache, dedupe, trace)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dnsserver import DnsServer

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.live import LiveResolver, parse_nameserver
from dmarc_audit.dns.local import MAX_CNAME_HOPS, LocalRouter
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.dns.types import Answer, Outcome, Resolver, Trace, TxtRecord
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.dns.zonefile import ZoneFileSource


class Counting:
    """A resolver that answers every TXT question with one record, slowly, and counts."""

    def __init__(self, delay: float = 0.02, outcome: Outcome = Outcome.RECORDS) -> None:
        self.delay = delay
        self.outcome = outcome
        self.calls: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> Answer:
        self.calls.append((name, rdtype))
        await asyncio.sleep(self.delay)
        records = (TxtRecord((name.encode(),)),) if self.outcome is Outcome.RECORDS else ()
        return Answer(
            name, rdtype, self.outcome, records, source="counting", detail="" if records else "boom"
        )


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        self.calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("resolver bug")


def test_protocol_is_satisfied() -> None:
    assert isinstance(Counting(), Resolver)
    assert isinstance(CachingResolver(Counting()), Resolver)
    assert isinstance(LocalRouter([]), Resolver)


# -- cache -------------------------------------------------------------------------------


def test_concurrent_identical_queries_make_one_upstream_query() -> None:
    inner = Counting()
    cache = CachingResolver(inner)

    async def many():
        return await asyncio.gather(
            *(
                cache.query(n, t)
                for n, t in [("Example.COM.", "txt")] * 5 + [("example.com", "TXT")] * 5
            )
        )

    answers = asyncio.run(many())
    assert inner.calls == [("example.com", "TXT")]
    assert {a.texts[0] for a in answers} == {"example.com"}
    assert cache.hits == 9 and cache.queries == 1 and len(cache.trace) == 1


def test_concurrent_identical_queries_reach_the_server_once(dns_server) -> None:
    server: DnsServer = dns_server("example.com.zone", delay_ms=30)
    cache = CachingResolver(LiveResolver([parse_nameserver(server.nameserver)], timeout=2.0))

    async def many():
        return await asyncio.gather(
            *(cache.query("www.example.com", "A") for _ in range(10)),
            cache.query("www.example.com", "AAAA"),
        )

    answers = asyncio.run(many())
    assert [a.outcome for a in answers] == [Outcome.RECORDS] * 10 + [Outcome.NODATA]
    assert server.count("www.example.com", "A") == 1
    assert server.count("www.example.com", "AAAA") == 1
    assert cache.queries == 2


def test_trace_entries() -> None:
    cache = CachingResolver(Counting(), trace=Trace())

    async def run():
        await cache.query("A.example.", "txt")
        await cache.query("b.example", "MX")
        await cache.query("a.example", "TXT")  # a hit: not traced again

    asyncio.run(run())
    first, second = cache.trace.entries
    assert (first.name, first.rdtype, first.outcome, first.records) == (
        "a.example",
        "TXT",
        Outcome.RECORDS,
        1,
    )
    assert first.source == "counting" and first.elapsed_ms >= 15
    assert (second.name, second.rdtype) == ("b.example", "MX")
    assert first.to_json() == {
        "name": "a.example",
        "type": "TXT",
        "outcome": "records",
        "records": 1,
        "elapsed_ms": round(first.elapsed_ms, 2),
        "source": "counting",
    }
    assert cache.hits == 1


def test_trace_carries_failures_and_cached_failures_are_not_retraced() -> None:
    inner = Counting(outcome=Outcome.TIMEOUT)
    shared = Trace()
    cache = CachingResolver(inner, trace=shared)

    async def run():
        return [await cache.query("slow.example", "TXT") for _ in range(3)]

    answers = asyncio.run(run())
    assert all(a.outcome is Outcome.TIMEOUT for a in answers)
    assert len(inner.calls) == 1 and len(shared) == 1
    assert shared.entries[0].to_json()["detail"] == "boom"


def test_cache_hit_returns_the_same_answer() -> None:
    cache = CachingResolver(Counting())

    async def run():
        return await cache.query("x.example", "TXT"), await cache.query("X.EXAMPLE.", "txt")

    first, second = asyncio.run(run())
    assert first == second


def test_exception_reaches_every_waiter_and_is_not_cached() -> None:
    inner = Failing()
    cache = CachingResolver(inner)

    async def run():
        results = await asyncio.gather(
            *(cache.query("x.example", "TXT") for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RuntimeError) for r in results)
        with pytest.raises(RuntimeError):
            await cache.query("x.example", "TXT")

    asyncio.run(run())
    assert inner.calls == 2
    assert len(cache.trace) == 0


def test_cancelling_the_first_asker_does_not_cancel_the_others() -> None:
    inner = Counting(delay=0.05)
    cache = CachingResolver(inner)

    async def run():
        first = asyncio.ensure_future(cache.query("x.example", "TXT"))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(cache.query("x.example", "TXT"))
        await asyncio.sleep(0.01)
        first.cancel()
        answer = await second
        assert first.cancelled()
        return answer

    answer = asyncio.run(run())
    assert answer.ok and inner.calls == [("x.example", "TXT")]


def test_cache_outlives_one_event_loop() -> None:
    inner = Counting()
    cache = CachingResolver(inner)
    first = asyncio.run(cache.query("x.example", "TXT"))
    second = asyncio.run(cache.query("x.example", "TXT"))
    assert first == second and len(inner.calls) == 1


# -- router -------------------------------------------------------------------------------


@pytest.fixture
def com(zones_dir: Path) -> ZoneFileSource:
    return ZoneFileSource(zones_dir / "example.com.zone")


@pytest.fixture
def org(zones_dir: Path) -> ZoneFileSource:
    return ZoneFileSource(zones_dir / "example.org.zone")


def ask(resolver, name: str, rdtype: str) -> Answer:
    return asyncio.run(resolver.query(name, rdtype))


def test_router_follows_cnames_across_sources(com, org) -> None:
    router = LocalRouter([com, org])
    answer = ask(router, "cross.example.com", "AAAA")
    assert answer.addresses == ["2001:db8:1::1"]
    assert answer.cnames == (("cross.example.com", "www.example.org"),)
    assert answer.source == org.label
    back = ask(router, "back.example.org", "A")
    assert sorted(back.addresses) == ["192.0.2.80", "192.0.2.81"]


def test_router_prefers_the_deepest_zone(zones_dir: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub.zone"
    sub.write_text('$ORIGIN sub.example.com.\n@ 300 IN TXT "from the sub zone"\n')
    router = LocalRouter([ZoneFileSource(sub), ZoneFileSource(zones_dir / "example.com.zone")])
    assert ask(router, "sub.example.com", "TXT").texts == ["from the sub zone"]
    assert ask(router, "www.sub.example.com", "TXT").outcome is Outcome.NXDOMAIN
    router = LocalRouter([ZoneFileSource(zones_dir / "example.com.zone"), ZoneFileSource(sub)])
    assert ask(router, "sub.example.com", "TXT").texts == ["from the sub zone"]


def test_router_detects_loops_and_long_chains(com, tmp_path: Path) -> None:
    router = LocalRouter([com])
    loop = ask(router, "loop1.example.com", "A")
    assert loop.outcome is Outcome.SERVFAIL and loop.detail == "CNAME loop"
    assert loop.cnames == (
        ("loop1.example.com", "loop2.example.com"),
        ("loop2.example.com", "loop1.example.com"),
    )
    chain = tmp_path / "chain.zone"
    chain.write_text(
        "$ORIGIN chain.test.\n"
        + "".join(f"c{i} 300 IN CNAME c{i + 1}\n" for i in range(MAX_CNAME_HOPS + 2))
    )
    long = ask(LocalRouter([ZoneFileSource(chain)]), "c0.chain.test", "A")
    assert long.outcome is Outcome.SERVFAIL
    assert long.detail == f"CNAME chain longer than {MAX_CNAME_HOPS} aliases"
    assert len(long.cnames) == MAX_CNAME_HOPS + 1
    chain.write_text(
        "$ORIGIN chain.test.\n"
        + "".join(f"c{i} 300 IN CNAME c{i + 1}\n" for i in range(MAX_CNAME_HOPS))
        + f"c{MAX_CNAME_HOPS} 300 IN A 192.0.2.1\n"
    )
    at_limit = ask(LocalRouter([ZoneFileSource(chain)]), "c0.chain.test", "A")
    assert at_limit.addresses == ["192.0.2.1"] and len(at_limit.cnames) == MAX_CNAME_HOPS


def test_router_outside_the_zones_is_offline_without_fallback(com) -> None:
    router = LocalRouter([com])
    answer = ask(router, "www.elsewhere.test", "A")
    assert answer.outcome is Outcome.OFFLINE and answer.failed
    assert "outside the loaded zones" in answer.detail
    via = ask(router, "outward.example.com", "A")
    assert via.outcome is Outcome.OFFLINE
    assert via.cnames == (("outward.example.com", "host.elsewhere.test"),)


def test_router_outside_the_zones_goes_to_the_fallback(com, dns_server) -> None:
    server: DnsServer = dns_server("example.org.zone")
    live = LiveResolver([parse_nameserver(server.nameserver)], timeout=0.5)
    router = LocalRouter([com], fallback=live)
    answer = ask(router, "cross.example.com", "A")  # alias in the zone, target asked live
    assert answer.addresses == ["198.51.100.1"]
    assert answer.cnames == (("cross.example.com", "www.example.org"),)
    assert answer.source == f"live {server.nameserver}"
    assert ask(router, "www.example.com", "A").source == com.label
    assert server.log == [("www.example.org", "A", "udp")]


def test_router_closed_world(com) -> None:
    router = LocalRouter([com], closed_world=True)
    answer = ask(router, "www.elsewhere.test", "A")
    assert answer.outcome is Outcome.NXDOMAIN and not answer.failed


def test_build_resolver_zone_file_then_live(zones_dir: Path, dns_server) -> None:
    server: DnsServer = dns_server("example.org.zone")
    resolver = build_resolver(
        DnsOptions(
            nameservers=(server.nameserver,),
            zones=(str(zones_dir / "example.com.zone"),),
            timeout=0.5,
        )
    )

    async def run():
        return [
            await resolver.query(n, "A")
            for n in ("www.example.com", "www.example.org", "www.example.com")
        ]

    local, remote, again = asyncio.run(run())
    assert local.ok and remote.ok and again == local
    assert [e.source.split()[0] for e in resolver.trace.entries] == ["zone", "live"]
    assert server.query_count == 1


def test_build_resolver_offline(zones_dir: Path) -> None:
    resolver = build_resolver(
        DnsOptions(zones=(str(zones_dir / "example.com.zone"),), offline=True)
    )
    assert ask(resolver, "www.example.org", "A").outcome is Outcome.OFFLINE
    nothing = build_resolver(DnsOptions(offline=True))
    assert ask(nothing, "example.com", "TXT").outcome is Outcome.OFFLINE


def test_build_resolver_yaml_is_a_closed_world(tmp_path: Path) -> None:
    data = tmp_path / "zone.yaml"
    data.write_text("example.com:\n  - TXT: v=spf1 -all\n")
    resolver = build_resolver(DnsOptions(zones=(str(data),), nameservers=("192.0.2.1",)))
    assert ask(resolver, "example.com", "TXT").texts == ["v=spf1 -all"]
    assert ask(resolver, "example.org", "TXT").outcome is Outcome.NXDOMAIN


def test_build_resolver_missing_zone_file(tmp_path: Path) -> None:
    from dmarc_audit.errors import InputError

    with pytest.raises(InputError, match="file not found"):
        build_resolver(DnsOptions(zones=(str(tmp_path / "nope.zone"),), offline=True))


def test_router_with_yaml_source() -> None:
    source = YamlZoneSource(
        {"a.example": [{"CNAME": "b.example"}], "b.example": [{"TXT": "hello"}]}
    )
    answer = ask(LocalRouter([source], closed_world=True), "A.Example.", "TXT")
    assert answer.texts == ["hello"] and answer.cnames == (("a.example", "b.example"),)
    assert answer.name == "A.Example."
