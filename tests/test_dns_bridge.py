"""SyncBridge: blocking DNS calls from worker threads onto the running event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest
from dnsserver import DnsServer

from dmarc_audit.dns.bridge import SyncBridge
from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.live import LiveResolver, parse_nameserver
from dmarc_audit.dns.types import Answer, Outcome, TxtRecord


class Slow:
    """Answers after ``delay`` seconds; remembers the threads it ran on and cancellations."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.threads: set[int] = set()
        self.cancelled = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        self.threads.add(threading.get_ident())
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return Answer(name, rdtype, Outcome.RECORDS, (TxtRecord((name.encode(),)),))


def test_worker_thread_calls_while_the_loop_keeps_running() -> None:
    resolver = Slow()
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    async def main() -> tuple[list[str], int]:
        bridge = SyncBridge.for_running_loop(resolver)
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))

        def library_code() -> list[str]:  # what pyspf / dkimpy do: blocking lookups
            return [bridge.query(f"n{i}.example", "TXT").texts[0] for i in range(5)]

        texts = await asyncio.to_thread(library_code)
        stop.set()
        await ticking
        return texts, threading.get_ident()

    texts, loop_thread = asyncio.run(main())
    assert texts == [f"n{i}.example" for i in range(5)]
    assert resolver.threads == {loop_thread}  # the coroutine ran on the loop, not the worker
    assert ticks >= 5  # the loop served other tasks during the five 20 ms lookups


def test_several_worker_threads_share_the_loop_and_the_cache() -> None:
    inner = Slow(delay=0.05)
    cache = CachingResolver(inner)

    async def main() -> list[Answer]:
        bridge = SyncBridge.for_running_loop(cache)
        return await asyncio.gather(
            *(asyncio.to_thread(bridge.query, "same.example", "TXT") for _ in range(4))
        )

    answers = asyncio.run(main())
    assert {a.texts[0] for a in answers} == {"same.example"}
    assert cache.queries == 1 and cache.hits == 3


def test_raises_when_called_on_the_loop_thread() -> None:
    async def main() -> None:
        bridge = SyncBridge.for_running_loop(Slow())
        with pytest.raises(RuntimeError, match="event loop thread"):
            bridge.query("x.example", "TXT")

    asyncio.run(main())


def test_timeout_cancels_the_lookup() -> None:
    resolver = Slow(delay=5.0)

    async def main() -> int:
        bridge = SyncBridge.for_running_loop(resolver)
        with pytest.raises((TimeoutError, concurrent.futures.TimeoutError)):
            await asyncio.to_thread(bridge.query, "x.example", "TXT", 0.05)
        for _ in range(50):
            if resolver.cancelled:
                break
            await asyncio.sleep(0.01)
        return resolver.cancelled  # counted before asyncio.run cancels what is left

    assert asyncio.run(main()) == 1


def test_bridge_to_live_resolver(dns_server) -> None:
    server: DnsServer = dns_server("example.com.zone")
    resolver = LiveResolver([parse_nameserver(server.nameserver)], timeout=1.0)

    async def main() -> Answer:
        bridge = SyncBridge.for_running_loop(resolver)
        return await asyncio.to_thread(bridge.query, "_dmarc.example.com", "TXT")

    answer = asyncio.run(main())
    assert answer.texts == ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"]
    assert server.log == [("_dmarc.example.com", "TXT", "udp")]


def test_bridge_from_a_plain_thread_with_the_loop_in_another() -> None:
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        bridge = SyncBridge(Slow(), loop)
        assert bridge.query("x.example", "TXT").texts == ["x.example"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()
