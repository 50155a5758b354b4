"""Live DNS: our own questions over UDP, TCP (dnspython's) when an answer is truncated.

We drive the questions ourselves rather than through ``dns.asyncresolver`` so that
each answer reports exactly how it ended (NXDOMAIN vs NODATA vs SERVFAIL vs
REFUSED vs timeout), retries happen only on timeout and SERVFAIL, and a truncated
UDP answer is retried over TCP. Queries are encoded and answers decoded by
:mod:`dmarc_audit.dns.wire`; dnspython reads what that module leaves to it, and the
two give the same :class:`Answer` (:func:`reply_to_answer`, :func:`response_to_answer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import dns.exception

from dmarc_audit.dns import wire
from dmarc_audit.dns.types import (
    CNAME_LOOP,
    MAX_CNAME_CHAIN,
    Answer,
    Outcome,
    Record,
    chain_too_long,
)
from dmarc_audit.dns.udp import UdpPool, make_request
from dmarc_audit.errors import InputError

if TYPE_CHECKING:
    import dns.message
    import dns.name

    from dmarc_audit.dns.dnssec_query import RawAnswer

CHAIN_STOPPED = "the answer stops at a CNAME target it does not resolve"
"""Detail of a NOERROR answer whose chain ends at an alias with nothing after it and
no SOA: the resolver stopped following; :meth:`LiveResolver.query` asks again there."""
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5


@dataclass(frozen=True, slots=True)
class Nameserver:
    """A recursive resolver to ask: address and port."""

    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """Parse ``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address."""
    import ipaddress

    text = text.strip()
    address, port = text, 53
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError(f"--nameserver {text!r}: missing ']'")
        address, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"--nameserver {text!r}: expected ':PORT' after ']'")
            port = _parse_port(text, rest[1:])
    elif text.count(":") == 1:
        address, port_text = text.split(":")
        port = _parse_port(text, port_text)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise InputError(f"--nameserver {text!r}: not an IP address") from None
    return Nameserver(address, port)


def _parse_port(text: str, port_text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise InputError(f"--nameserver {text!r}: port must be 1-65535")
    return int(port_text)


def system_nameservers() -> list[Nameserver]:
    """The resolvers from the system configuration (``/etc/resolv.conf``)."""
    import dns.resolver

    try:
        configured = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        return []
    return [Nameserver(str(ns), int(configured.port)) for ns in configured.nameservers]


class LiveResolver:
    """Ask recursive resolvers over UDP, falling back to TCP on truncation.

    ``timeout`` bounds each attempt at one server; ``retries`` is how many extra
    rounds over all servers follow a round that ended only in timeouts or SERVFAIL.
    REFUSED (and a CNAME loop in the answer) moves on to the next server but does not
    trigger another round. A CNAME chain is followed as far as each answer carries it,
    then asked again from where the answer stopped, up to :data:`MAX_CNAME_CHAIN`
    aliases in all; a longer chain or a loop is SERVFAIL (could not check), never NODATA.
    """

    def __init__(
        self,
        nameservers: list[Nameserver],
        timeout: float = 2.0,
        retries: int = 1,
        max_in_flight: int = 64,
    ) -> None:
        if not nameservers:
            raise InputError("no DNS resolver configured; give --nameserver IP")
        self.nameservers = list(nameservers)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.max_in_flight = max(1, max_in_flight)
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None
        self._pools: dict[Nameserver, UdpPool] = {}
        self._pools_loop: asyncio.AbstractEventLoop | None = None

    def _pool(self, server: Nameserver) -> UdpPool:
        """The run's UDP sockets to ``server`` (one pool per event loop)."""
        loop = asyncio.get_running_loop()
        if self._pools_loop is not loop:
            self._pools, self._pools_loop = {}, loop
        pool = self._pools.get(server)
        if pool is None:
            pool = self._pools[server] = UdpPool(server.address, server.port)
        return pool

    def _in_flight_gate(self) -> asyncio.Semaphore:
        """At most ``max_in_flight`` questions on the wire: a bulk run must not flood
        the resolver into dropping answers (which would read as timeouts)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self.max_in_flight), loop
        return self._gate

    async def query(self, name: str, rdtype: str) -> Answer:
        answer = await self._query_name(name, rdtype)
        seen = {name.lower().rstrip(".")}
        while answer.detail == CHAIN_STOPPED:  # continue the chain from where it stopped
            seen.update(owner for owner, _ in answer.cnames)
            target = answer.cnames[-1][1]
            if target in seen:
                return _chain_failure(answer, CNAME_LOOP)
            rest = await self._query_name(target, rdtype)
            answer = replace(rest, name=answer.name, cnames=answer.cnames + rest.cnames)
            if len(answer.cnames) > MAX_CNAME_CHAIN:
                return _chain_failure(answer, chain_too_long())
        return answer

    async def _query_name(self, name: str, rdtype: str) -> Answer:
        try:
            qname = wire.encode_name(name)
        except (dns.exception.DNSException, UnicodeError) as exc:
            return Answer(
                name, rdtype, Outcome.NXDOMAIN, detail=f"not a valid DNS name: {exc}", source="live"
            )
        query = wire.encode_query(name, qname, wire.rdtype_code(rdtype))
        last_failure: Answer | None = None
        for _round in range(self.retries + 1):
            retry_worthy = False
            for server in self.nameservers:
                async with self._in_flight_gate():
                    answer = await self._ask(name, rdtype, query, server)
                if not answer.failed:
                    return answer
                last_failure = answer
                if answer.outcome is Outcome.TIMEOUT or (
                    answer.outcome is Outcome.SERVFAIL
                    and answer.detail not in (CNAME_LOOP, chain_too_long())
                ):
                    retry_worthy = True
            if not retry_worthy:
                break
        assert last_failure is not None
        return last_failure

    async def query_dnssec(self, name: str, rdtype: str) -> RawAnswer:
        """The whole answer with DO and CD set, RRSIGs kept (see :mod:`dmarc_audit.dnssec`)."""
        from dmarc_audit.dns.dnssec_query import ask_servers

        async with self._in_flight_gate():
            return await ask_servers(self.nameservers, name, rdtype, self.timeout, self.retries)

    async def _ask(self, name: str, rdtype: str, query: wire.Query, server: Nameserver) -> Answer:
        source = f"live {server}"
        try:
            response = await self._pool(server).ask_query(query, self.timeout)
            if response.flags & wire.TC:  # too large for UDP: ask again over TCP
                response = await _tcp(query, server, self.timeout)
        except dns.exception.Timeout:
            return Answer(
                name,
                rdtype,
                Outcome.TIMEOUT,
                detail=f"no answer from {server} in {self.timeout:g}s",
                source=source,
            )
        except (OSError, dns.exception.DNSException, EOFError) as exc:
            return Answer(
                name,
                rdtype,
                Outcome.SERVFAIL,
                detail=f"{server}: {type(exc).__name__}: {exc}",
                source=source,
            )
        if isinstance(response, wire.Reply):
            return reply_to_answer(name, rdtype, query.qtype, response, source)
        return response_to_answer(name, rdtype, response, source)


def _chain_failure(answer: Answer, detail: str) -> Answer:
    """``answer`` turned into the SERVFAIL of a chain that cannot be completed."""
    return replace(answer, outcome=Outcome.SERVFAIL, records=(), detail=detail)


async def _tcp(query: wire.Query, server: Nameserver, timeout: float) -> dns.message.Message:
    import dns.asyncquery

    return await dns.asyncquery.tcp(
        make_request(query.name, query.qtype), server.address, timeout=timeout, port=server.port
    )


def reply_to_answer(name: str, rdtype: str, qtype: int, reply: wire.Reply, source: str) -> Answer:
    """:func:`response_to_answer` for an answer read by :func:`wire.decode`."""
    failure = _rcode_failure(name, rdtype, reply.rcode, source)
    if failure is not None:
        return failure
    rrsets = reply.rrsets
    return _follow(
        name,
        rdtype,
        reply.rcode,
        qtype,
        reply.qname,
        lambda owner: rrsets.get((owner, qtype)),
        reply.aliases.get,
        wire.plain,
        source,
        reply.negative,
    )


def response_to_answer(
    name: str, rdtype: str, response: dns.message.Message, source: str
) -> Answer:
    """Classify a DNS response and pull out the records for the question."""
    rcode = response.rcode()
    failure = _rcode_failure(name, rdtype, rcode, source)
    if failure is not None:
        return failure
    import dns.name
    import dns.rdataclass
    import dns.rdatatype

    from dmarc_audit.dns.convert import rdata_to_record

    qtype = dns.rdatatype.from_text(rdtype)

    def rrset(owner: dns.name.Name) -> list[Record] | None:
        found = response.get_rrset(response.answer, owner, dns.rdataclass.IN, qtype)
        return None if found is None else [rdata_to_record(rd) for rd in found]

    def alias(owner: dns.name.Name) -> dns.name.Name | None:
        found = response.get_rrset(response.answer, owner, dns.rdataclass.IN, dns.rdatatype.CNAME)
        return None if found is None else found[0].target  # type: ignore[attr-defined]

    start = response.question[0].name if response.question else dns.name.from_text(name)
    negative = any(found.rdtype == dns.rdatatype.SOA for found in response.authority)
    return _follow(name, rdtype, rcode, qtype, start, rrset, alias, _plain, source, negative)


def _rcode_failure(name: str, rdtype: str, rcode: int, source: str) -> Answer | None:
    """The failed answer an RCODE other than NOERROR and NXDOMAIN means."""
    if rcode == SERVFAIL:
        return Answer(name, rdtype, Outcome.SERVFAIL, detail="SERVFAIL", source=source)
    if rcode == REFUSED:
        return Answer(name, rdtype, Outcome.REFUSED, detail="REFUSED", source=source)
    if rcode not in (NOERROR, NXDOMAIN):
        import dns.rcode

        return Answer(
            name, rdtype, Outcome.SERVFAIL, detail=dns.rcode.to_text(rcode), source=source
        )
    return None


def _follow(
    name: str,
    rdtype: str,
    rcode: int,
    qtype: int,
    start: Hashable,
    rrset: Callable[[Hashable], list[Record] | None],
    alias: Callable[[Hashable], Hashable | None],
    plain: Callable[[Hashable], str],
    source: str,
    negative: bool = True,
) -> Answer:
    """The records at the end of the CNAME chain from ``start`` in the answer section.

    Owner names are whatever ``rrset`` (the question type's records), ``alias`` (the
    CNAME target) and ``plain`` (the text) take, compared ignoring ASCII case.
    A chain longer than :data:`MAX_CNAME_CHAIN` or a loop is SERVFAIL; a NOERROR chain
    that stops at an alias without an SOA (``negative`` false) is NODATA with detail
    :data:`CHAIN_STOPPED`, for the caller to ask again from its end.
    """
    cnames: list[tuple[str, str]] = []
    current = start
    seen = {current}
    records: list[Record] = []
    for _hop in range(MAX_CNAME_CHAIN + 1):
        found = rrset(current)
        if found is not None:
            records = found
            break
        if qtype == wire.CNAME:
            break
        target = alias(current)
        if target is None:
            break
        cnames.append((plain(current), plain(target)))
        if target in seen:
            return Answer(
                name,
                rdtype,
                Outcome.SERVFAIL,
                cnames=tuple(cnames),
                detail=CNAME_LOOP,
                source=source,
            )
        if len(cnames) > MAX_CNAME_CHAIN:
            return Answer(
                name,
                rdtype,
                Outcome.SERVFAIL,
                cnames=tuple(cnames),
                detail=chain_too_long(),
                source=source,
            )
        seen.add(target)
        current = target
    if records:
        return Answer(name, rdtype, Outcome.RECORDS, tuple(records), tuple(cnames), source=source)
    if rcode == NXDOMAIN:
        return Answer(name, rdtype, Outcome.NXDOMAIN, cnames=tuple(cnames), source=source)
    stopped = CHAIN_STOPPED if cnames and not negative else ""
    return Answer(name, rdtype, Outcome.NODATA, cnames=tuple(cnames), detail=stopped, source=source)


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
