"""One cache and one trace per run, shared by every check and every domain.

Concurrent askers of the same question wait for the one query in flight, so an
include used by 500 domains is fetched once.
"""

from __future__ import annotations

import asyncio
import time

from dmarc_audit.dns.types import Answer, Resolver, Trace, TraceEntry


class CachingResolver:
    """Wrap a resolver with a per-run cache, in-flight de-duplication and a trace.

    The upstream query runs as its own task: an asker that is cancelled leaves it
    running for the others. An exception reaches every waiter and is not cached.
    """

    def __init__(self, inner: Resolver, trace: Trace | None = None) -> None:
        self.inner = inner
        self.trace = trace if trace is not None else Trace()
        self._answers: dict[tuple[str, str], Answer] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        self.hits = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (name.lower().rstrip("."), rdtype.upper())
        answer = self._answers.get(key)
        if answer is not None:
            self.hits += 1
            return answer
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key))
            pending.add_done_callback(_retrieve)
            self._pending[key] = pending
        else:
            self.hits += 1
        return await asyncio.shield(pending)

    async def _fetch(self, key: tuple[str, str]) -> Answer:
        started = time.perf_counter()
        try:
            answer = await self.inner.query(key[0], key[1])
        finally:
            self._pending.pop(key, None)
        self.trace.add(
            TraceEntry(
                name=key[0],
                rdtype=key[1],
                outcome=answer.outcome,
                records=len(answer.records),
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
                source=answer.source,
                detail=answer.detail,
            )
        )
        self._answers[key] = answer
        return answer

    @property
    def queries(self) -> int:
        """Questions actually sent to the sources (cache misses)."""
        return len(self.trace)


def _retrieve(future: asyncio.Future[Answer]) -> None:
    """Mark an exception as seen even when every asker was cancelled."""
    if not future.cancelled():
        future.exception()
