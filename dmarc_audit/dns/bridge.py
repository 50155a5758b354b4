"""Call the async resolver from synchronous library code (pyspf, dkimpy).

The library runs in a worker thread (``asyncio.to_thread``); each DNS call it makes
is scheduled on the event loop with ``run_coroutine_threadsafe`` and waited for in
that worker thread, so the loop never blocks and never deadlocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from dmarc_audit.dns.types import Answer, Resolver


class SyncBridge:
    """A blocking ``query(name, rdtype)`` usable only from threads other than the loop's."""

    def __init__(self, resolver: Resolver, loop: asyncio.AbstractEventLoop) -> None:
        self.resolver = resolver
        self.loop = loop

    def query(self, name: str, rdtype: str, timeout: float | None = 60.0) -> Answer:
        """Wait for the answer; on ``timeout`` the lookup is cancelled and TimeoutError raised."""
        if self._on_loop_thread():
            raise RuntimeError(
                "SyncBridge.query called on the event loop thread; "
                "run the caller with asyncio.to_thread"
            )
        future = asyncio.run_coroutine_threadsafe(self.resolver.query(name, rdtype), self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _on_loop_thread(self) -> bool:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        thread_id = getattr(self.loop, "_thread_id", None)
        return running is self.loop or thread_id == threading.get_ident()

    @classmethod
    def for_running_loop(cls, resolver: Resolver) -> SyncBridge:
        return cls(resolver, asyncio.get_running_loop())
