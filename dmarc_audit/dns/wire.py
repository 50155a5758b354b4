"""DNS wire format for the live resolver: the query encoded, the answer decoded by hand.

dnspython builds an object tree for every message it writes or reads, which costs more
CPU than the rest of a lookup. The auditor asks few record types, so :func:`encode_query`
writes the question directly and :func:`decode` reads an answer straight into our
record types. :func:`decode` follows dnspython's rules for what a valid message is
(``dns.message.from_wire``) and for which datagram answers a question
(``Message.is_response``); whatever it does not fully understand it reports as
:data:`FALLBACK`, and the caller hands the datagram to dnspython instead.
tests/test_dns_wire.py checks that both ways give the same result.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dmarc_audit.dns.types import AddressRecord, MxRecord, NameRecord, Record, TxtRecord

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, DNAME, OPT, SPF, TSIG = (
    1,
    2,
    5,
    6,
    12,
    15,
    16,
    28,
    39,
    41,
    99,
    250,
)
IN = 1
TC = 0x0200
FAST_TYPES = {
    "A": A,
    "NS": NS,
    "CNAME": CNAME,
    "PTR": PTR,
    "MX": MX,
    "TXT": TXT,
    "AAAA": AAAA,
    "SPF": SPF,
}
"""Question types whose answers :func:`decode` reads itself."""
_FAST_CODES = frozenset(FAST_TYPES.values())

# Flags RD; one question, no answer or authority RRs, one additional RR (the OPT).
_HEADER = b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01"
# OPT RR: root owner, type 41, UDP payload 1232, extended RCODE/version/flags 0, no options.
_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
_RR = struct.Struct("!HHIH")
_COUNTS = struct.Struct("!4H")
_MAX_HOPS = 16  # dnspython's MAX_COMPRESSION_POINTER_CHAIN

FALLBACK = object()
"""What :func:`decode` returns when dnspython must read the datagram."""


class _Malformed(Exception):
    """The datagram is not a DNS message dnspython would accept."""


@dataclass(frozen=True, slots=True)
class Query:
    """One question, encoded once; :meth:`wire` adds the message ID."""

    name: str
    """The name as asked."""
    qtype: int
    key: bytes
    """The question name in wire form, lower-cased: what an answer must echo."""
    tail: bytes
    """QTYPE and QCLASS as sent."""
    body: bytes
    """The message after its 2-octet ID."""

    def wire(self, query_id: int) -> bytes:
        return query_id.to_bytes(2, "big") + self.body


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded answer: header fields, and the answer section's class-IN RRsets of the
    question type and of CNAME."""

    flags: int
    rcode: int
    """Including the extended RCODE bits of the OPT RR."""
    qname: bytes
    """The question name as echoed, lower-cased wire form."""
    rrsets: dict[tuple[bytes, int], list[Record]]
    """``(owner, type)`` to its records, deduplicated and in order, as dnspython merges
    them; a CNAME RRset keeps only its last RR (dnspython treats CNAME as a singleton)."""
    aliases: dict[bytes, bytes]
    """CNAME owner to target (the RRset's one RR)."""
    negative: bool = False
    """True when the authority section carries an SOA: a negative answer (RFC 2308)
    rather than a chain the resolver stopped following."""

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)


def rdtype_code(rdtype: str) -> int:
    """The numeric type of ``rdtype`` (``dns.rdatatype.from_text`` for unusual ones)."""
    code = FAST_TYPES.get(rdtype.upper())
    if code is None:
        import dns.rdatatype

        code = int(dns.rdatatype.from_text(rdtype))
    return code


def encode_name(name: str) -> bytes:
    """``name`` (relative names are taken as absolute) in uncompressed wire form.

    Raises what ``dns.name.from_text`` raises for a name it rejects (empty label, label
    over 63 or name over 255 octets, bad escape, IDNA error).
    """
    if name.isascii() and "\\" not in name and name not in ("", "@", "."):
        labels = (name[:-1] if name.endswith(".") else name).split(".")
        out = bytearray()
        for label in labels:
            if not 0 < len(label) < 64:
                break
            out.append(len(label))
            out += label.encode("ascii")
        else:
            if len(out) < 255:
                out.append(0)
                return bytes(out)
    import dns.name  # escapes, IDNA, and the exact error for a bad name

    return dns.name.from_text(name).to_wire()  # type: ignore[return-value]


def encode_query(name: str, qname: bytes, qtype: int) -> Query:
    """A recursive query for ``qname`` (from :func:`encode_name`) with EDNS0, payload 1232."""
    tail = qtype.to_bytes(2, "big") + b"\x00\x01"
    return Query(name, qtype, qname.lower(), tail, _HEADER + qname + tail + _OPT)


def decode(data: bytes, query: Query) -> Reply | object | None:
    """Read ``data`` (whose ID matched ``query``'s) as the answer to ``query``.

    Returns a :class:`Reply`; ``None`` when dnspython would not take the datagram as
    the answer (malformed, not a response, another question); or :data:`FALLBACK`
    when the message holds something only dnspython reads (other question types,
    RR types with their own syntax, EDNS options, TSIG, several questions).
    Never raises.
    """
    try:
        return _decode(data, query)
    except _Malformed:
        return None
    except Exception:  # any doubt: let dnspython decide
        return FALLBACK


def _decode(data: bytes, query: Query) -> Reply | object | None:
    end = len(data)
    if end < 12:
        raise _Malformed
    flags = (data[2] << 8) | data[3]
    if not flags & 0x8000 or flags & 0x7800:
        return None  # not a response, or not to a standard QUERY
    qdcount, ancount, nscount, arcount = _COUNTS.unpack_from(data, 4)
    qtype = query.qtype
    if qdcount != 1 or qtype not in _FAST_CODES:
        return FALLBACK
    # Usually the name comes back as sent, in place: the same octets but for the case of
    # letters (length octets are below 64, which lower() leaves alone), so the same name
    # _name would read; and owner names are pointers to it.
    key = query.key
    echoed = data[12 : 12 + len(key)].lower() == key
    qname, pos = (key, 12 + len(key)) if echoed else _name(data, 12, end)
    if pos + 4 > end:
        raise _Malformed
    if qname != key or data[pos : pos + 4] != query.tail:
        return None  # a well-formed answer to another question
    pos += 4
    rrsets: dict[tuple[bytes, int], dict[Record, None]] = {}
    aliases: dict[bytes, bytes] = {}
    ext_rcode = 0
    has_opt = negative = False
    answers, before_additional = ancount, ancount + nscount
    for index in range(before_additional + arcount):
        if echoed and pos + 1 < end and data[pos] == 0xC0 and data[pos + 1] == 12:
            owner, pos = qname, pos + 2
        else:
            owner, pos = _name(data, pos, end)
        if pos + 10 > end:
            raise _Malformed
        rdtype, rdclass, ttl, rdlen = _RR.unpack_from(data, pos)
        pos += 10
        rdend = pos + rdlen
        if rdend > end:
            raise _Malformed
        if rdtype == OPT:
            if index < before_additional or has_opt or owner != b"\x00":
                raise _Malformed  # dnspython's BadEDNS
            if rdlen:
                return FALLBACK  # EDNS options: dnspython parses each kind its own way
            has_opt, ext_rcode = True, ttl >> 20 & 0xFF0
        elif rdclass == IN and rdtype in _FAST_CODES:
            record, target = _rdata(data, pos, rdend, rdtype)
            if index >= answers or (rdtype != qtype and rdtype != CNAME):
                pass  # checked (dnspython would reject a bad one) but not needed
            elif rdtype == CNAME:  # a singleton type in dnspython: the last RR wins
                rrsets[(owner, CNAME)] = {record: None}
                aliases[owner] = target  # type: ignore[assignment]
            else:
                rrsets.setdefault((owner, rdtype), {})[record] = None
        elif rdclass == IN and rdtype == SOA:
            negative = negative or answers <= index < before_additional
            pos = _name(data, pos, rdend)[1]
            if _name(data, pos, rdend)[1] + 20 != rdend:
                raise _Malformed
        elif rdclass == IN and rdtype == DNAME:
            if _name(data, pos, rdend, compressed=False)[1] != rdend:
                raise _Malformed
        elif rdtype == TSIG or not _generic(rdclass, rdtype):
            return FALLBACK
        pos = rdend
    return Reply(
        flags,
        (flags & 0xF) | ext_rcode,
        qname,
        {key: list(records) for key, records in rrsets.items()},
        aliases,
        negative,
    )


def _rdata(data: bytes, pos: int, end: int, rdtype: int) -> tuple[Record, bytes | None]:
    """One class-IN RR of a fast type, and the target name of a CNAME."""
    if rdtype in (TXT, SPF):
        strings = []
        while pos < end:
            nxt = pos + 1 + data[pos]
            if nxt > end:
                raise _Malformed
            strings.append(data[pos + 1 : nxt])
            pos = nxt
        if not strings:
            raise _Malformed  # dnspython: "the list of strings must not be empty"
        return TxtRecord(tuple(strings)), None
    if rdtype == A:
        if end - pos != 4:
            raise _Malformed
        return AddressRecord(f"{data[pos]}.{data[pos + 1]}.{data[pos + 2]}.{data[pos + 3]}"), None
    if rdtype == AAAA:
        if end - pos != 16:
            raise _Malformed
        from dns.ipv6 import inet_ntoa  # its text form ('::ffff:192.0.2.1' and all)

        return AddressRecord(inet_ntoa(data[pos:end])), None
    if rdtype == MX:
        if end - pos < 2:
            raise _Malformed
        exchange, after = _name(data, pos + 2, end)
        if after != end:
            raise _Malformed
        return MxRecord((data[pos] << 8) | data[pos + 1], record_name(exchange)), None
    target, after = _name(data, pos, end)  # NS, CNAME, PTR
    if after != end:
        raise _Malformed
    return NameRecord(record_name(target)), target


def _name(data: bytes, pos: int, limit: int, compressed: bool = True) -> tuple[bytes, int]:
    """The name at ``pos`` (lower-cased wire form) and the offset after it.

    dnspython's rules (``dns.name.from_wire_parser``): labels end before ``limit``; a
    compression pointer must point before the part of the name that holds it, and
    what it leads to must end before that part too; at most 16 pointers; at most 255
    octets. Anything else is malformed.
    """
    parts = []
    after = -1
    segment = pos  # where the part being read starts
    hops = 0
    while True:
        if pos >= limit:
            raise _Malformed
        count = data[pos]
        if count == 0:
            break
        if count < 64:
            nxt = pos + 1 + count
            if nxt > limit:
                raise _Malformed
            parts.append(data[pos:nxt])
            pos = nxt
        elif count >= 192 and compressed and pos + 1 < limit:
            target = ((count & 0x3F) << 8) | data[pos + 1]
            if target >= segment or hops == _MAX_HOPS:
                raise _Malformed
            hops += 1
            if after < 0:
                after = pos + 2
            limit = segment
            pos = segment = target
        else:
            raise _Malformed
    parts.append(b"\x00")
    name = b"".join(parts)
    if len(name) > 255:
        raise _Malformed
    # Length octets are below 64, so lower() changes only the letters (as dnspython
    # compares names: ASCII case-insensitively).
    return name.lower(), (pos + 1 if after < 0 else after)


_GENERIC: dict[tuple[int, int], bool] = {}


def _generic(rdclass: int, rdtype: int) -> bool:
    """Whether dnspython reads this RR as opaque octets (so it can be skipped)."""
    known = _GENERIC.get((rdclass, rdtype))
    if known is None:
        import dns.rdata

        known = _GENERIC[(rdclass, rdtype)] = (
            dns.rdata.get_rdata_class(rdclass, rdtype) is dns.rdata.GenericRdata
        )
    return known


_ESCAPED = frozenset(b'"().;\\@$')
_SAFE = bytes(c for c in range(0x21, 0x7F) if c not in _ESCAPED)


def plain(name: bytes) -> str:
    """``name`` (wire form) as dnspython writes it without the final dot; the root is ``.``."""
    if name == b"\x00":
        return "."
    labels = []
    pos = 0
    while name[pos]:
        nxt = pos + 1 + name[pos]
        label = name[pos + 1 : nxt]
        labels.append(_escape(label) if label.translate(None, _SAFE) else label.decode("ascii"))
        pos = nxt
    return ".".join(labels)


def record_name(name: bytes) -> str:
    """A name in record data as our records hold it: like :func:`plain`, root ``""``."""
    return "" if name == b"\x00" else plain(name)


def _escape(label: bytes) -> str:
    """dnspython's ``_escapify``: specials backslashed, other non-printables ``\\DDD``."""
    return "".join(
        "\\" + chr(c) if c in _ESCAPED else chr(c) if 0x20 < c < 0x7F else f"\\{c:03d}"
        for c in label
    )
