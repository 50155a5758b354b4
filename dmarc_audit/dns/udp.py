"""UDP transport shared by every question of a run.

dnspython's ``udp_with_fallback`` opens a socket and an asyncio transport per
question, which costs more CPU than parsing the answer. A bulk audit asks thousands of
questions, so each nameserver gets a small pool of connected UDP sockets for the run;
answers are matched to questions by message ID *and* question section, so a stray or
spoofed datagram is ignored. Query IDs come from :mod:`secrets`, and several sockets
keep several source ports in use.

Questions go out as :class:`~dmarc_audit.dns.wire.Query` (:meth:`UdpPool.ask_query`),
answers are read by :func:`dmarc_audit.dns.wire.decode`, and by dnspython when that
declines; :meth:`UdpPool.ask` takes and returns dnspython messages.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dns.exception

from dmarc_audit.dns import wire

if TYPE_CHECKING:
    import dns.message

SOCKETS_PER_SERVER = 4

Accept = Callable[[bytes], Any]
"""Reads a datagram that carries the question's ID: the response, or ``None`` to ignore it."""


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket and the questions waiting on it."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[asyncio.Future[Any], Accept]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        waiting = self.pending.get((data[0] << 8) | data[1])
        if waiting is None:
            return
        future, accept = waiting
        response = accept(data)
        if response is not None and not future.done():
            future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable) cannot be tied to one question: fail them all
        for future, _ in list(self.pending.values()):
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionError("socket closed"))


def _accept_message(request: dns.message.Message) -> Accept:
    """dnspython reads the datagram; it must answer ``request`` (``is_response``)."""

    def accept(data: bytes) -> dns.message.Message | None:
        import dns.message

        try:
            response = dns.message.from_wire(data, ignore_trailing=True)
        except dns.exception.DNSException:
            return None  # garbage: keep waiting for the real answer
        return response if request.is_response(response) else None  # else: not ours

    return accept


def _accept_query(query: wire.Query, query_id: int) -> Accept:
    """:func:`wire.decode` reads the datagram; dnspython when it declines."""

    def accept(data: bytes) -> wire.Reply | dns.message.Message | None:
        reply = wire.decode(data, query)
        if reply is not wire.FALLBACK:
            return reply  # type: ignore[return-value]
        request = make_request(query.name, query.qtype)
        request.id = query_id
        return _accept_message(request)(data)

    return accept


def _time_out(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class UdpPool:
    """Connected UDP sockets to one nameserver, opened on first use."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._endpoints: list[_Endpoint] = []
        self._opening: asyncio.Lock | None = None
        self._next = itertools.cycle(range(SOCKETS_PER_SERVER))

    async def _endpoint(self) -> _Endpoint:
        if not self._endpoints:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if not self._endpoints:
                    loop = asyncio.get_running_loop()
                    for _ in range(SOCKETS_PER_SERVER):
                        _, protocol = await loop.create_datagram_endpoint(
                            _Endpoint, remote_addr=(self.address, self.port)
                        )
                        self._endpoints.append(protocol)
        return self._endpoints[next(self._next)]

    async def ask_query(
        self, query: wire.Query, timeout: float
    ) -> wire.Reply | dns.message.Message:
        """Send ``query``; its answer as a :class:`wire.Reply`, or as a dnspython message
        when :func:`wire.decode` left it to dnspython. Raises ``dns.exception.Timeout``.

        A truncated answer is returned as is (TC set): the caller retries over TCP.
        """
        return await self._exchange(query.wire, lambda qid: _accept_query(query, qid), timeout)

    async def ask(self, request: dns.message.Message, timeout: float) -> dns.message.Message:
        """Send ``request`` and wait for its answer; raises ``dns.exception.Timeout``.

        A truncated answer is returned as is (TC set): the caller retries over TCP.
        """

        def encode(query_id: int) -> bytes:
            request.id = query_id
            return request.to_wire()

        return await self._exchange(encode, lambda _qid: _accept_message(request), timeout)

    async def _exchange(
        self,
        encode: Callable[[int], bytes],
        acceptor: Callable[[int], Accept],
        timeout: float | None,
    ) -> Any:
        endpoint = await self._endpoint()
        pending = endpoint.pending
        while True:
            query_id = int.from_bytes(secrets.token_bytes(2), "big")
            if query_id not in pending:
                break
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pending[query_id] = (future, acceptor(query_id))
        timer = None if timeout is None else loop.call_later(timeout, _time_out, future)
        try:
            assert endpoint.transport is not None
            endpoint.transport.sendto(encode(query_id))
            return await future
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None
        finally:
            if timer is not None:
                timer.cancel()
            pending.pop(query_id, None)

    def close(self) -> None:
        for endpoint in self._endpoints:
            if endpoint.transport is not None:
                endpoint.transport.close()
        self._endpoints.clear()


def make_request(name: str, rdtype: int) -> dns.message.Message:
    """A recursive query with EDNS (1232-octet payload, the DNS flag day value)."""
    import dns.flags
    import dns.message
    import dns.name
    import dns.rdataclass
    import dns.rdatatype

    request = dns.message.make_query(
        dns.name.from_text(name),
        dns.rdatatype.RdataType(rdtype),
        rdclass=dns.rdataclass.IN,
        use_edns=0,
        payload=1232,
    )
    request.flags |= dns.flags.RD
    return request
