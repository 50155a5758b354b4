"""One cache and one trace per run, shared by every check and every domain.

Concurrent askers of the same question wait for the one query in flight, so an
include used by 500 domains is fetched once.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from dmarc_audit.dns.types import Answer, Resolver, Trace, TraceEntry

if TYPE_CHECKING:
    from dmarc_audit.dns.dnssec_query import RawAnswer


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
        self._raw: dict[tuple[str, str], asyncio.Future[RawAnswer]] = {}
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

    async def query_dnssec(self, name: str, rdtype: str) -> RawAnswer:
        """The whole DO answer to ``(name, rdtype)``, RRSIGs included (DNSSEC validation).

        Cached and traced like :meth:`query`, apart from it (the answer differs). A
        source that cannot give signed answers (``--offline``, zone files) says so with
        :attr:`~dmarc_audit.dns.types.Outcome.OFFLINE`.
        """
        key = (name.lower().rstrip(".") or ".", rdtype.upper())
        pending = self._raw.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch_dnssec(key))
            pending.add_done_callback(_retrieve)
            self._raw[key] = pending
        else:
            self.hits += 1
        return await asyncio.shield(pending)

    async def _fetch_dnssec(self, key: tuple[str, str]) -> RawAnswer:
        from dmarc_audit.dns.dnssec_query import not_checked

        started = time.perf_counter()
        ask = getattr(self.inner, "query_dnssec", None)
        if ask is None:
            return not_checked(key[0], key[1], "no live DNS to ask")
        try:
            answer: RawAnswer = await ask(key[0], key[1])
        except BaseException:
            self._raw.pop(key, None)
            raise
        if answer.source != "offline":
            self.trace.add(
                TraceEntry(
                    name=key[0],
                    rdtype=key[1],
                    outcome=answer.outcome,
                    records=answer.records,
                    elapsed_ms=(time.perf_counter() - started) * 1000.0,
                    source=answer.source,
                    detail=answer.detail,
                )
            )
        return answer

    @property
    def queries(self) -> int:
        """Questions actually sent to the sources (cache misses)."""
        return len(self.trace)


def _retrieve(future: asyncio.Future[Answer] | asyncio.Future[RawAnswer]) -> None:
    """Mark an exception as seen even when every asker was cancelled."""
    if not future.cancelled():
        future.exception()
