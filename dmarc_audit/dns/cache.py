"""One cache and one trace per run, shared by every check and every domain.

Concurrent askers of the same question wait for the one query in flight, so an
include used by 500 domains is fetched once.
"""

from __future__ import annotations

import asyncio
import time

from dmarc_audit.dns.types import Answer, Resolver, Trace, TraceEntry


class CachingResolver:
    """Wrap a resolver with a per-run cache, in-flight de-duplication and a trace."""

    def __init__(self, inner: Resolver, trace: Trace | None = None) -> None:
        self.inner = inner
        self.trace = trace if trace is not None else Trace()
        self._answers: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        self.hits = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (name.lower().rstrip("."), rdtype.upper())
        pending = self._answers.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        started = time.perf_counter()
        try:
            answer = await self.inner.query(key[0], key[1])
        except BaseException as exc:
            del self._answers[key]
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise
        self.trace.add(TraceEntry(
            name=key[0],
            rdtype=key[1],
            outcome=answer.outcome,
            records=len(answer.records),
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            source=answer.source,
            detail=answer.detail,
        ))
        future.set_result(answer)
        return answer

    @property
    def queries(self) -> int:
        """Questions actually sent to the sources (cache misses)."""
        return len(self.trace)
