"""A DNS server on loopback that answers from RFC 1035 master files, for tests and benchmarks.

It answers like a recursive resolver would for the zones it holds: records, NODATA,
NXDOMAIN, CNAME chains followed inside its data (the answer section carries the chain),
wildcards (RFC 4592), REFUSED for names outside its zones, SERVFAIL for chosen names and
silence for others (or for everything). ``faults`` injects one fault per name (see
:data:`FAULT_MODES`): SERVFAIL, REFUSED, silence, garbage, a truncated UDP answer whose
TCP retry is cut off, or a partial CNAME chain. UDP and TCP share one port on 127.0.0.1; a UDP
answer larger than 512 octets, or than the client's EDNS payload, is sent truncated (TC)
so the client has to ask again over TCP.

The zone data is read with ``dns.zone`` and the wire format is dnslib's; none of
``dmarc_audit.dns`` is used, so tests can compare the two implementations.

Use it from Python::

    with DnsServer(["tests/data/zones/example.com.zone"], delay_ms=20) as server:
        ...  # ask server.nameserver ("127.0.0.1:PORT"); read server.log

or from a shell::

    python tests/dnsserver.py --zone tests/data/zones/example.com.zone --port 5353 --delay-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import struct
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone
from dnslib import EDNS0, QTYPE, RCODE, RD, RR, DNSError, DNSHeader, DNSLabel, DNSRecord

OUTSIDE_RCODES = {"refused": RCODE.REFUSED, "nxdomain": RCODE.NXDOMAIN, "servfail": RCODE.SERVFAIL}
SERVER_PAYLOAD = 1232
MAX_CHAIN = 32

FAULT_MODES = {
    "servfail": "answer SERVFAIL",
    "refused": "answer REFUSED",
    "timeout": "never answer",
    "garbage": "answer with the question's ID and undecodable octets, then nothing",
    "spoofed": "answer another question with the right ID, then nothing",
    "truncated": "set TC over UDP, close the TCP connection without answering",
    "formerr": "answer FORMERR",
}
"""The faults ``DnsServer(faults={name: mode})`` injects, each for one name (every type)."""

DROP = b""
"""What :meth:`DnsServer._respond` returns to close a TCP connection without answering."""


class QueryLogEntry(NamedTuple):
    """One question the server received."""

    name: str
    """Lower case, no trailing dot."""
    rdtype: str
    transport: str
    """``udp`` or ``tcp``."""


class ServedZone:
    """One master file: its origin, its nodes and every name that exists in it."""

    def __init__(self, spec: str | os.PathLike[str] | dns.zone.Zone) -> None:
        if isinstance(spec, dns.zone.Zone):  # made (and signed) in the test
            zone = spec
        else:
            path, origin = _split_spec(spec)
            zone = dns.zone.from_file(
                str(path), origin=origin, relativize=False, check_origin=False
            )
        self.origin: dns.name.Name = zone.origin
        self.nodes = dict(zone.nodes)
        self.existing: set[dns.name.Name] = {self.origin}
        for owner in self.nodes:
            while owner != self.origin and owner.is_subdomain(self.origin):
                self.existing.add(owner)
                owner = owner.parent()
        soa = zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        self.soa = soa

    def covers(self, name: dns.name.Name) -> bool:
        return name.is_subdomain(self.origin)

    def signed(self, owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> list:
        """``(owner, rdataset)`` and, when the zone is signed, the RRSIGs covering it."""
        out = [(owner, rdataset)]
        node = self.nodes.get(owner)
        if node is not None:
            sigs = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, rdataset.rdtype)
            if sigs is not None:
                out.append((owner, sigs))
        return out

    def denial(self, name: dns.name.Name, exists: bool) -> list:
        """The NSEC record (with RRSIG) proving NODATA at ``name`` or covering its absence."""
        owner = name
        if not exists or name not in self.nodes:
            below = [n for n in self.nodes if n < name]
            owner = max(below) if below else self.origin
        node = self.nodes.get(owner)
        nsec = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC) if node else None
        return self.signed(owner, nsec) if nsec is not None else []

    def find(self, name: dns.name.Name) -> tuple[object | None, bool]:
        """The node for ``name`` (possibly a wildcard's) and whether the name exists."""
        node = self.nodes.get(name)
        if node is not None:
            return node, True
        if name in self.existing:
            return None, True  # empty non-terminal
        encloser = name.parent()
        while encloser not in self.existing:
            encloser = encloser.parent()
        wildcard = self.nodes.get(dns.name.Name((b"*", *encloser.labels)))
        return wildcard, wildcard is not None


class DnsServer:
    """A threaded asyncio DNS server; start with :meth:`start` or ``with``.

    ``servfail`` and ``blackhole`` are sets of names (lower case, no trailing dot) that
    may be changed while the server runs (a ``blackhole`` entry ``"NAME TYPE"`` drops
    only that type), as may ``silent`` (never answer at all) and
    ``delay_ms`` (wait before each answer). ``outside`` is the rcode for names outside
    every zone: ``refused`` (default), ``nxdomain`` or ``servfail``. ``faults`` maps a
    name to one of :data:`FAULT_MODES` (also changeable while running). ``max_chain`` is
    how many CNAMEs the server follows before it returns the chain so far (NOERROR, no
    SOA), as a resolver that gives up does.
    """

    def __init__(
        self,
        zones: Iterable[str | os.PathLike[str]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0.0,
        servfail: Iterable[str] = (),
        blackhole: Iterable[str] = (),
        silent: bool = False,
        outside: str = "refused",
        udp_limit: int | None = None,
        faults: dict[str, str] | None = None,
        max_chain: int = MAX_CHAIN,
        signed_zones: Iterable[dns.zone.Zone] = (),
    ) -> None:
        if outside not in OUTSIDE_RCODES:
            raise ValueError(f"outside must be one of {sorted(OUTSIDE_RCODES)}")
        unknown = {mode for mode in (faults or {}).values()} - set(FAULT_MODES)
        if unknown:
            raise ValueError(f"unknown fault modes {sorted(unknown)}; known: {sorted(FAULT_MODES)}")
        self.faults = {_plain_text(n): mode for n, mode in (faults or {}).items()}
        self.max_chain = max_chain
        self.zones = [ServedZone(spec) for spec in (*zones, *signed_zones)]
        self.host = host
        self.port = port
        self.delay_ms = delay_ms
        self.servfail = {_plain_text(n) for n in servfail}
        self.blackhole = {_plain_text(n) for n in blackhole}
        self.silent = silent
        self.outside = outside
        self.udp_limit = udp_limit
        self._log: list[QueryLogEntry] = []
        self.errors: list[str] = []
        """Exceptions raised while answering (each answered SERVFAIL); empty if all is well."""
        self._log_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ---------------------------------------------------------------

    @property
    def nameserver(self) -> str:
        """``IP:PORT`` as ``--nameserver`` takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> DnsServer:
        """Bind UDP and TCP on one port and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        udp, tcp = self._bind()
        self._thread = threading.Thread(
            target=self._run, args=(udp, tcp), daemon=True, name=f"dnsserver {self.nameserver}"
        )
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            self.stop()
            raise RuntimeError(f"DNS server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets; safe to call twice."""
        loop, event, thread = self._loop, self._stop_event, self._thread
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(event.set)
        if thread is not None:
            thread.join(10)
            if thread.is_alive():
                raise RuntimeError("DNS server thread did not stop")

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- query log -----------------------------------------------------------------

    @property
    def log(self) -> list[QueryLogEntry]:
        """A copy of the questions received so far, in order."""
        with self._log_lock:
            return list(self._log)

    def count(
        self, name: str | None = None, rdtype: str | None = None, transport: str | None = None
    ) -> int:
        """How many questions matched (``None`` matches anything)."""
        name = _plain_text(name) if name is not None else None
        return sum(
            1
            for e in self.log
            if (name is None or e.name == name)
            and (rdtype is None or e.rdtype == rdtype.upper())
            and (transport is None or e.transport == transport)
        )

    @property
    def query_count(self) -> int:
        return len(self.log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- answering -----------------------------------------------------------------

    def resolve(
        self, qname: dns.name.Name, qtype: int, dnssec: bool = False
    ) -> tuple[int, list, list]:
        """``(rcode, answer, authority)`` as lists of ``(owner, rdataset)``.

        With ``dnssec`` (the client set DO), RRSIGs follow each RRset, and negative
        answers carry the zone's NSEC proof.
        """
        chain: list[tuple[dns.name.Name, dns.rdataset.Rdataset]] = []
        seen: set[dns.name.Name] = set()
        name = qname
        while True:
            zone = self._zone_for(name, qtype)
            if zone is None:  # outside our data: refuse, or return the chain so far
                return (
                    (RCODE.NOERROR, chain, []) if chain else (OUTSIDE_RCODES[self.outside], [], [])
                )
            if name in seen or len(chain) >= self.max_chain:  # loop or too long: client sees it
                return RCODE.NOERROR, chain, []
            seen.add(name)
            negative = [(zone.origin, zone.soa)] if zone.soa is not None else []
            if dnssec and negative:
                negative = zone.signed(zone.origin, zone.soa)
            node, exists = zone.find(name)
            if node is None:
                if dnssec:
                    negative += zone.denial(name, exists)
                return (RCODE.NOERROR if exists else RCODE.NXDOMAIN), chain, negative
            rdataset = node.get_rdataset(dns.rdataclass.IN, qtype)
            if rdataset is not None:
                chain.extend(zone.signed(name, rdataset) if dnssec else [(name, rdataset)])
                return RCODE.NOERROR, chain, []
            alias = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if alias is None or qtype == dns.rdatatype.CNAME:
                if dnssec:
                    negative += zone.denial(name, True)
                return RCODE.NOERROR, chain, negative
            chain.extend(zone.signed(name, alias) if dnssec else [(name, alias)])
            name = alias[0].target

    def _zone_for(self, name: dns.name.Name, qtype: int = 0) -> ServedZone | None:
        best = None
        for zone in self.zones:
            if qtype == dns.rdatatype.DS and zone.origin == name and name != dns.name.root:
                continue  # a DS lives in the parent zone (RFC 4034 §5)
            if zone.covers(name) and (best is None or len(zone.origin) > len(best.origin)):
                best = zone
        return best

    def _respond(self, data: bytes, transport: str) -> bytes | None:
        """The reply to one query, or ``None`` to stay silent."""
        try:
            request = DNSRecord.parse(data)
        except DNSError:
            return _header_only(data, RCODE.FORMERR)
        if len(request.questions) != 1 or request.header.qr:
            return _header_only(data, RCODE.FORMERR)
        question = request.q
        qname = dns.name.Name((*question.qname.label, b""))
        plain = _plain(qname)
        with self._log_lock:
            self._log.append(QueryLogEntry(plain, dns.rdatatype.to_text(question.qtype), transport))
        fault = self.faults.get(plain)
        typed = f"{plain} {dns.rdatatype.to_text(question.qtype).lower()}"
        if self.silent or plain in self.blackhole or typed in self.blackhole or fault == "timeout":
            return None
        if fault is not None and fault not in ("servfail", "refused", "formerr"):
            return _faulty(request, fault, transport)
        reply = request.reply(ra=1, aa=0)
        client_edns = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        dnssec_ok = bool(client_edns) and bool(client_edns[0].ttl & 0x8000)
        if client_edns:
            reply.add_ar(EDNS0(udp_len=SERVER_PAYLOAD, flags="do" if dnssec_ok else ""))
        if request.header.opcode != 0:
            reply.header.rcode = RCODE.NOTIMP
        elif plain in self.servfail or fault == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif fault == "refused":
            reply.header.rcode = RCODE.REFUSED
        elif fault == "formerr":
            reply.header.rcode = RCODE.FORMERR
        elif question.qclass != dns.rdataclass.IN:
            reply.header.rcode = RCODE.REFUSED
        else:
            rcode, answer, authority = self.resolve(qname, question.qtype, dnssec_ok)
            reply.header.rcode = rcode
            first = answer[0][0] if answer else None
            for owner, rdataset in answer:  # the question's name (case, wildcards) first
                reply.add_answer(*_to_rrs(qname if owner == first else owner, rdataset))
            for owner, rdataset in authority:
                reply.add_auth(*_to_rrs(owner, rdataset))
        wire = reply.pack()
        if transport == "udp":
            limit = max(512, client_edns[0].edns_len) if client_edns else 512
            if self.udp_limit is not None:
                limit = min(limit, self.udp_limit)
            if len(wire) > limit:
                truncated = DNSRecord(
                    DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, q=1), q=question
                )
                truncated.header.tc = 1
                truncated.header.rcode = reply.header.rcode
                if client_edns:
                    truncated.add_ar(EDNS0(udp_len=SERVER_PAYLOAD))
                wire = truncated.pack()
        return wire

    async def _answer(self, data: bytes, transport: str) -> bytes | None:
        try:
            wire = self._respond(data, transport)
        except Exception as exc:  # a server bug: answer SERVFAIL, keep serving, remember it
            self.errors.append(f"{type(exc).__name__}: {exc}")
            wire = _header_only(data, RCODE.SERVFAIL)
        if wire is not None and self.delay_ms > 0:
            await asyncio.sleep(self.delay_ms / 1000.0)
        return wire

    # -- sockets -------------------------------------------------------------------

    def _bind(self) -> tuple[socket.socket, socket.socket]:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _attempt in range(50):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                udp.bind((self.host, self.port))
                port = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self.host, port))
                tcp.listen(128)
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            udp.setblocking(False)
            tcp.setblocking(False)
            self.port = port
            return udp, tcp
        raise OSError(f"no port on {self.host} free for both UDP and TCP")

    def _run(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(udp, tcp))
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            udp.close()
            tcp.close()
            loop.close()

    async def _serve(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=udp)
        server = await asyncio.start_server(self._tcp_client, sock=tcp)
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            transport.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _udp_query(
        self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple
    ) -> None:
        wire = await self._answer(data, "udp")
        if wire is not None and not transport.is_closing():
            transport.sendto(wire, addr)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                wire = await self._answer(await reader.readexactly(length), "tcp")
                if wire == DROP:
                    break
                if wire is not None:
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        assert self.transport is not None
        self.server._spawn(self.server._udp_query(self.transport, data, addr))

    def error_received(self, exc: Exception) -> None:
        pass  # e.g. ICMP port unreachable after a client gave up


def _faulty(request: DNSRecord, fault: str, transport: str) -> bytes | None:
    """The octets one of the wire-level :data:`FAULT_MODES` sends (``None``: nothing)."""
    if fault == "truncated":
        if transport == "tcp":
            return DROP
        reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, ra=1, rd=1, tc=1), q=request.q)
        return reply.pack()
    if fault == "garbage":
        header = struct.pack("!HHHHHH", request.header.id, 0x8180, 1, 3, 0, 0)
        return header + b"\xc0\xff\x07junk" + b"\xff" * 19
    if fault == "spoofed":
        other = DNSRecord.question("spoofed.invalid", "TXT")
        other.header.id = request.header.id
        reply = other.reply(ra=1, aa=0)
        reply.add_answer(*RR.fromZone('spoofed.invalid. 60 IN TXT "v=spf1 -all"'))
        return reply.pack()
    raise ValueError(f"unknown fault {fault!r}")


def _header_only(data: bytes, rcode: int) -> bytes | None:
    """A reply with no sections, for queries too broken to answer properly."""
    if len(data) < 12:
        return None
    return DNSRecord(DNSHeader(id=struct.unpack("!H", data[:2])[0], qr=1, rcode=rcode)).pack()


def _to_rrs(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> list[RR]:
    label = DNSLabel(list(owner.labels[:-1]))
    return [
        RR(label, rdataset.rdtype, dns.rdataclass.IN, rdataset.ttl, RD(rd.to_wire()))
        for rd in rdataset
    ]


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _plain_text(name: str) -> str:
    return name.lower().rstrip(".") or "."


def _split_spec(spec: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE@origin`` (origin may be omitted when the file has $ORIGIN)."""
    if isinstance(spec, str) and "@" in spec:
        path, _, origin = spec.rpartition("@")
        if path and origin and "/" not in origin:
            return Path(path), origin if origin.endswith(".") else origin + "."
    return Path(spec), None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="FILE[@ORIGIN]",
        help="master file to serve (repeatable)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before each answer")
    parser.add_argument("--servfail", action="append", default=[], metavar="NAME")
    parser.add_argument("--blackhole", action="append", default=[], metavar="NAME")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=MODE",
        help="inject a fault for NAME: " + ", ".join(sorted(FAULT_MODES)),
    )
    parser.add_argument("--silent", action="store_true", help="never answer anything")
    parser.add_argument("--outside", choices=sorted(OUTSIDE_RCODES), default="refused")
    args = parser.parse_args(argv)
    server = DnsServer(
        args.zone,
        host=args.host,
        port=args.port,
        delay_ms=args.delay_ms,
        servfail=args.servfail,
        blackhole=args.blackhole,
        silent=args.silent,
        outside=args.outside,
        faults=dict(spec.partition("=")[::2] for spec in args.fault),
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        print(f"listening on {server.nameserver}", flush=True)
        while not stop.wait(0.5):
            pass
    print(f"{server.query_count} queries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
