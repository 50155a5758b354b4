"""UDP transport shared by every question of a run.

dnspython's ``udp_with_fallback`` opens a socket and an asyncio transport per
question, which costs more CPU than parsing the answer. A bulk audit asks thousands of
questions, so each nameserver gets a small pool of connected UDP sockets for the run;
answers are matched to questions by message ID *and* question section, so a stray or
spoofed datagram is ignored. Query IDs come from :mod:`secrets`, and several sockets
keep several source ports in use.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdataclass

SOCKETS_PER_SERVER = 4


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket and the questions waiting on it."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[asyncio.Future[dns.message.Message],
                                      dns.message.Message]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        waiting = self.pending.get(int.from_bytes(data[:2], "big"))
        if waiting is None:
            return
        future, request = waiting
        try:
            response = dns.message.from_wire(data, ignore_trailing=True)
        except dns.message.Truncated:
            response = dns.message.from_wire(data, ignore_trailing=True,
                                             raise_on_truncation=False)
        except dns.exception.DNSException:
            return  # garbage: keep waiting for the real answer
        if not request.is_response(response):
            return  # same ID, other question: not ours
        if not future.done():
            future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable) cannot be tied to one question: fail them all
        for future, _ in list(self.pending.values()):
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionError("socket closed"))


class UdpPool:
    """Connected UDP sockets to one nameserver, opened on first use."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._endpoints: list[_Endpoint] = []
        self._opening: asyncio.Lock | None = None
        self._next = itertools.cycle(range(SOCKETS_PER_SERVER))

    async def _endpoint(self) -> _Endpoint:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self._endpoints:
                loop = asyncio.get_running_loop()
                for _ in range(SOCKETS_PER_SERVER):
                    _, protocol = await loop.create_datagram_endpoint(
                        _Endpoint, remote_addr=(self.address, self.port))
                    self._endpoints.append(protocol)
        return self._endpoints[next(self._next)]

    async def ask(self, request: dns.message.Message, timeout: float) -> dns.message.Message:
        """Send ``request`` and wait for its answer; raises ``dns.exception.Timeout``.

        A truncated answer is returned as is (TC set): the caller retries over TCP.
        """
        endpoint = await self._endpoint()
        while True:
            query_id = secrets.randbelow(65536)
            if query_id not in endpoint.pending:
                break
        request.id = query_id
        future: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()
        endpoint.pending[query_id] = (future, request)
        try:
            assert endpoint.transport is not None
            endpoint.transport.sendto(request.to_wire())
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None
        finally:
            endpoint.pending.pop(query_id, None)

    def close(self) -> None:
        for endpoint in self._endpoints:
            if endpoint.transport is not None:
                endpoint.transport.close()
        self._endpoints.clear()


def make_request(name: str, rdtype: int) -> dns.message.Message:
    """A recursive query with EDNS (1232-octet payload, the DNS flag day value)."""
    request = dns.message.make_query(dns.name.from_text(name), rdtype,
                                     rdclass=dns.rdataclass.IN, use_edns=0, payload=1232)
    request.flags |= dns.flags.RD
    return request
