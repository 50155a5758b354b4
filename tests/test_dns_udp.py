"""The shared UDP transport: answers are matched by ID and question; strays are ignored."""

from __future__ import annotations

import asyncio
import socket

import dns.exception
import dns.message
import dns.rdatatype
import pytest

from dmarc_audit.dns.udp import UdpPool, make_request


class FakeServer(asyncio.DatagramProtocol):
    """Answers every query twice: first with a wrong question (same ID), then correctly."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        stray = dns.message.make_response(dns.message.make_query("other.example", "A"))
        stray.id = query.id
        self.transport.sendto(stray.to_wire(), addr)
        self.transport.sendto(b"\x00\x01garbage", addr)
        self.transport.sendto(dns.message.make_response(query).to_wire(), addr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stray_and_garbage_datagrams_are_ignored() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        port = free_port()
        transport, _ = await loop.create_datagram_endpoint(
            FakeServer, local_addr=("127.0.0.1", port)
        )
        pool = UdpPool("127.0.0.1", port)
        try:
            requests = [make_request(f"q{i}.example", dns.rdatatype.TXT) for i in range(50)]
            answers = await asyncio.gather(*(pool.ask(r, 2.0) for r in requests))
            return [a.question[0].name.to_text() for a in answers]
        finally:
            pool.close()
            transport.close()

    assert asyncio.run(main()) == [f"q{i}.example." for i in range(50)]


def test_silence_is_a_timeout() -> None:
    async def main() -> None:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", port))
            pool = UdpPool("127.0.0.1", port)
            try:
                await pool.ask(make_request("x.example", dns.rdatatype.A), 0.2)
            finally:
                pool.close()

    with pytest.raises(dns.exception.Timeout):
        asyncio.run(main())
