"""The hand-made query encoder and answer decoder give exactly what dnspython gives.

Every answer is read both ways: by :func:`wire.decode` + ``reply_to_answer`` and by
``dns.message.from_wire`` + ``Message.is_response`` + ``response_to_answer`` (the path
the resolver used before, and still uses when the fast path declines). The two must
agree on whether the datagram is taken as the answer, on the TC flag, and on the
:class:`Answer`, or the fast path must decline (``FALLBACK``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from dmarc_audit.dns import wire
from dmarc_audit.dns.live import LiveResolver, Nameserver, reply_to_answer, response_to_answer
from dmarc_audit.dns.types import AddressRecord, MxRecord, NameRecord, Outcome, TxtRecord
from dmarc_audit.dns.udp import UdpPool, make_request

SOURCE = "live test"
IGNORED = "ignored"
QID = 0x4242


def query_for(name: str, rdtype: str) -> wire.Query:
    return wire.encode_query(name, wire.encode_name(name), wire.rdtype_code(rdtype))


def via_dnspython(data: bytes, name: str, rdtype: str) -> object:
    """What the resolver made of ``data`` before the fast path existed."""
    request = make_request(name, dns.rdatatype.from_text(rdtype))
    request.id = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
    try:
        response = dns.message.from_wire(data, ignore_trailing=True)
    except Exception:  # any exception: the datagram was not taken
        return IGNORED
    if not request.is_response(response):
        return IGNORED
    return bool(response.flags & dns.flags.TC), response_to_answer(name, rdtype, response, SOURCE)


def via_fast(data: bytes, name: str, rdtype: str) -> object:
    query = query_for(name, rdtype)
    reply = wire.decode(data, query)
    if reply is None:
        return IGNORED
    if reply is wire.FALLBACK:
        return wire.FALLBACK
    assert isinstance(reply, wire.Reply)
    return reply.truncated, reply_to_answer(name, rdtype, query.qtype, reply, SOURCE)


def same(data: bytes, name: str, rdtype: str) -> object:
    """Assert both ways agree (or the fast path declines); the fast path's result."""
    fast, slow = via_fast(data, name, rdtype), via_dnspython(data, name, rdtype)
    assert fast is wire.FALLBACK or fast == slow, (fast, slow)
    return fast


# -- the query ------------------------------------------------------------------------------

LONG_LABEL = "a" * 63
MAX_NAME = ".".join([LONG_LABEL] * 3 + ["b" * 61])  # 255 octets in wire form


@pytest.mark.parametrize(
    "name",
    [
        "example.com",
        "Example.COM.",
        "_dmarc.example.com",
        "s1._domainkey.example.com",
        f"{LONG_LABEL}.example",
        MAX_NAME,
        MAX_NAME + ".",
        "a",
        "x y.example",
        "a@b.example",
        "xn--bcher-kva.example",
        "bücher.example",
        r"weird\.dot.example",
        r"\065bc.example",
        r"\000\255.example",
        ".",
        "@",
        "",
    ],
)
@pytest.mark.parametrize("rdtype", ["A", "txt", "SPF", "TLSA", "TYPE65280"])
def test_query_wire_is_dnspythons(name: str, rdtype: str) -> None:
    request = make_request(name, dns.rdatatype.from_text(rdtype))
    request.id = 0xBEEF
    query = query_for(name, rdtype)
    assert query.wire(0xBEEF) == request.to_wire()
    assert query.qtype == dns.rdatatype.from_text(rdtype)
    assert query.name == name


@pytest.mark.parametrize(
    "name",
    [
        "a" * 64 + ".example",
        MAX_NAME + "b",
        ".".join([LONG_LABEL] * 4),
        "a..b",
        ".a",
        "a..",
        "a\\",
        r"\999.example",
        r"\1x.example",
        "\u00e9" * 70,
        "a\u3002\u3002b",
    ],
)
def test_bad_names_fail_as_in_dnspython(name: str) -> None:
    with pytest.raises((dns.exception.DNSException, UnicodeError)) as expected:
        dns.name.from_text(name)
    with pytest.raises(type(expected.value)) as got:
        wire.encode_name(name)
    assert str(got.value) == str(expected.value)


def test_bad_name_answer_detail_is_unchanged() -> None:
    resolver = LiveResolver([Nameserver("127.0.0.1", 9)])
    answer = asyncio.run(resolver.query("a" * 64 + ".example.com", "TXT"))
    assert answer.outcome is Outcome.NXDOMAIN
    try:
        dns.name.from_text("a" * 64 + ".example.com")
    except dns.exception.DNSException as exc:
        assert answer.detail == f"not a valid DNS name: {exc}"


@pytest.mark.parametrize(
    "text",
    [
        "A",
        "a",
        "Txt",
        "SPF",
        "MX",
        "AAAA",
        "PTR",
        "NS",
        "CNAME",
        "TLSA",
        "TYPE99",
        "type16",
        "SOA",
        "ANY",
    ],
)
def test_rdtype_codes(text: str) -> None:
    assert wire.rdtype_code(text) == dns.rdatatype.from_text(text)


def test_unknown_rdtype_raises_as_before() -> None:
    with pytest.raises(dns.rdatatype.UnknownRdatatype):
        wire.rdtype_code("NOPE")


# -- answers built by dnspython -------------------------------------------------------------


def build(
    name: str,
    rdtype: str,
    answer=(),
    authority=(),
    additional=(),
    *,
    rcode: int = dns.rcode.NOERROR,
    qname: str | None = None,
    flags: int = 0,
    options=(),
    edns: bool = True,
) -> bytes:
    """A response to ``(name, rdtype)``; sections as ``(owner, type, rdata...)`` tuples,
    each tuple one RRset on the wire (so repeating one makes a split or duplicate RRset)."""
    request = make_request(name, dns.rdatatype.from_text(rdtype))
    request.id = QID
    if not edns:
        request.use_edns(False)
    response = dns.message.make_response(request)
    if qname is not None:
        question = response.question[0]
        response.question = [
            dns.rrset.RRset(dns.name.from_text(qname), question.rdclass, question.rdtype)
        ]
    if options:
        response.use_edns(0, 0, 1232, options=list(options))
    response.set_rcode(rcode)
    response.flags |= flags
    for section, rrsets in (
        (response.answer, answer),
        (response.authority, authority),
        (response.additional, additional),
    ):
        for owner, kind, *rdatas in rrsets:
            rdclass = "IN"
            if " " in kind:
                rdclass, kind = kind.split()
            section.append(
                dns.rrset.from_text(dns.name.from_text(owner), 300, rdclass, kind, *rdatas)
            )
    return response.to_wire(max_size=65535, want_shuffle=False)


SOA = ("example.com", "SOA", "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300")
NXDOMAIN = dns.rcode.NXDOMAIN
CASES: dict[str, tuple[str, str, bytes]] = {
    "a": (
        "www.example.com",
        "A",
        build("www.example.com", "A", [("www.example.com", "A", "192.0.2.80", "192.0.2.81")]),
    ),
    "aaaa forms": (
        "h.example.com",
        "AAAA",
        build(
            "h.example.com",
            "AAAA",
            [
                (
                    "h.example.com",
                    "AAAA",
                    "2001:db8::1",
                    "::",
                    "::1",
                    "::ffff:192.0.2.1",
                    "::192.0.2.1",
                    "1::",
                    "2001:db8:0:0:1:0:0:1",
                    "fe80::1:0:0:0",
                    "1:2:3:4:5:6:7:8",
                    "0:0:1:0:0:0:0:0",
                )
            ],
        ),
    ),
    "mx": (
        "example.com",
        "MX",
        build(
            "example.com",
            "MX",
            [
                (
                    "example.com",
                    "MX",
                    "10 mx1.example.com.",
                    "20 MX2.Example.NET.",
                    "30 mx1.example.com.",
                    "0 .",
                )
            ],
        ),
    ),
    "null mx": (
        "nullmx.example.com",
        "MX",
        build("nullmx.example.com", "MX", [("nullmx.example.com", "MX", "0 .")]),
    ),
    "txt strings": (
        "_dmarc.example.com",
        "TXT",
        build(
            "_dmarc.example.com",
            "TXT",
            [
                (
                    "_dmarc.example.com",
                    "TXT",
                    '"v=DMARC1; p=reject; " "rua=mailto:d@example.com"',
                    '""',
                    '"" "" ""',
                    '"\\128\\255 latin \\000 nul"',
                    '"' + "x" * 255 + '" "y"',
                    " ".join(['"' + "z" * 255 + '"'] * 4),
                )
            ],
        ),
    ),
    "spf type 99": (
        "example.com",
        "SPF",
        build(
            "example.com",
            "SPF",
            [("example.com", "SPF", '"v=spf1 -all"'), ("example.com", "TXT", '"not this"')],
        ),
    ),
    "ptr": (
        "80.2.0.192.in-addr.arpa",
        "PTR",
        build(
            "80.2.0.192.in-addr.arpa",
            "PTR",
            [("80.2.0.192.in-addr.arpa", "PTR", "www.example.com.", "WEB.example.com.")],
        ),
    ),
    "ns with glue": (
        "example.com",
        "NS",
        build(
            "example.com",
            "NS",
            [("example.com", "NS", "ns1.example.com.", "ns2.example.net.")],
            [("example.com", "NS", "ns1.example.com.")],
            [("ns1.example.com", "A", "192.0.2.53"), ("ns1.example.com", "AAAA", "2001:db8::53")],
        ),
    ),
    "cname chain": (
        "alias1.example.com",
        "A",
        build(
            "alias1.example.com",
            "A",
            [
                ("alias1.example.com", "CNAME", "alias2.example.com."),
                ("alias2.example.com", "CNAME", "WWW.example.com."),
                ("www.EXAMPLE.com", "A", "192.0.2.80"),
            ],
        ),
    ),
    "cname chain out of order": (
        "a.example.com",
        "TXT",
        build(
            "a.example.com",
            "TXT",
            [
                ("c.example.com", "TXT", '"end"'),
                ("b.example.com", "CNAME", "c.example.com."),
                ("a.example.com", "CNAME", "b.example.com."),
            ],
        ),
    ),
    "cname to nowhere": (
        "dangling.example.com",
        "TXT",
        build(
            "dangling.example.com",
            "TXT",
            [("dangling.example.com", "CNAME", "gone.example.com.")],
            [SOA],
            rcode=NXDOMAIN,
        ),
    ),
    "cname nodata": (
        "alias.example.com",
        "MX",
        build(
            "alias.example.com", "MX", [("alias.example.com", "CNAME", "www.example.com.")], [SOA]
        ),
    ),
    "cname loop": (
        "loop1.example.com",
        "TXT",
        build(
            "loop1.example.com",
            "TXT",
            [
                ("loop1.example.com", "CNAME", "loop2.example.com."),
                ("loop2.example.com", "CNAME", "LOOP1.example.com."),
            ],
        ),
    ),
    "cname self loop": (
        "self.example.com",
        "TXT",
        build("self.example.com", "TXT", [("self.example.com", "CNAME", "self.example.com.")]),
    ),
    "cname chain too long": (
        "c0.example.com",
        "A",
        build(
            "c0.example.com",
            "A",
            [(f"c{i}.example.com", "CNAME", f"c{i + 1}.example.com.") for i in range(20)]
            + [("c20.example.com", "A", "192.0.2.1")],
        ),
    ),
    "cname question": (
        "alias1.example.com",
        "CNAME",
        build(
            "alias1.example.com", "CNAME", [("alias1.example.com", "CNAME", "alias2.example.com.")]
        ),
    ),
    "two cnames, the last wins": (
        "two.example.com",
        "A",
        build(
            "two.example.com",
            "A",
            [
                ("two.example.com", "CNAME", "first.example.com."),
                ("two.example.com", "CNAME", "second.example.com."),
                ("first.example.com", "A", "192.0.2.1"),
                ("second.example.com", "A", "192.0.2.2"),
            ],
        ),
    ),
    "two cnames asked": (
        "two.example.com",
        "CNAME",
        build(
            "two.example.com",
            "CNAME",
            [
                ("two.example.com", "CNAME", "first.example.com."),
                ("two.example.com", "CNAME", "second.example.com."),
            ],
        ),
    ),
    "split and duplicate rrsets": (
        "example.com",
        "TXT",
        build(
            "example.com",
            "TXT",
            [
                ("example.com", "TXT", '"one"', '"two"'),
                ("www.example.com", "TXT", '"other"'),
                ("EXAMPLE.com", "TXT", '"two"', '"three"', '"One"'),
                ("example.com", "TXT", '"one"'),
            ],
        ),
    ),
    "duplicate names differ in case": (
        "example.com",
        "MX",
        build(
            "example.com",
            "MX",
            [
                ("example.com", "MX", "10 MX.example.com."),
                ("example.com", "MX", "10 mx.EXAMPLE.com."),
                ("example.com", "MX", "20 mx.example.com."),
            ],
        ),
    ),
    "nxdomain": (
        "nope.example.com",
        "TXT",
        build("nope.example.com", "TXT", authority=[SOA], rcode=NXDOMAIN),
    ),
    "nxdomain no soa": ("nope.example.com", "A", build("nope.example.com", "A", rcode=NXDOMAIN)),
    "nodata": ("www.example.com", "TXT", build("www.example.com", "TXT", authority=[SOA])),
    "nodata other type there": (
        "www.example.com",
        "AAAA",
        build("www.example.com", "AAAA", [("www.example.com", "A", "192.0.2.1")]),
    ),
    "records for another name": (
        "www.example.com",
        "A",
        build("www.example.com", "A", [("ftp.example.com", "A", "192.0.2.1")]),
    ),
    "servfail": ("sf.example.com", "TXT", build("sf.example.com", "TXT", rcode=dns.rcode.SERVFAIL)),
    "refused": ("x.test", "A", build("x.test", "A", rcode=dns.rcode.REFUSED)),
    "formerr": ("x.test", "A", build("x.test", "A", rcode=dns.rcode.FORMERR)),
    "notimp": ("x.test", "A", build("x.test", "A", rcode=dns.rcode.NOTIMP)),
    "yxdomain": ("x.test", "A", build("x.test", "A", rcode=dns.rcode.YXDOMAIN)),
    "rcode 11": ("x.test", "A", build("x.test", "A", rcode=11)),
    "badvers (extended rcode)": ("x.test", "A", build("x.test", "A", rcode=dns.rcode.BADVERS)),
    "extended rcode 4095": ("x.test", "A", build("x.test", "A", rcode=4095)),
    "no edns in the answer": (
        "www.example.com",
        "A",
        build("www.example.com", "A", [("www.example.com", "A", "192.0.2.1")], edns=False),
    ),
    "truncated": ("big.example.com", "TXT", build("big.example.com", "TXT", flags=dns.flags.TC)),
    "truncated with records": (
        "big.example.com",
        "TXT",
        build(
            "big.example.com", "TXT", [("big.example.com", "TXT", '"partial"')], flags=dns.flags.TC
        ),
    ),
    "question echoed in upper case": (
        "www.example.com",
        "A",
        build(
            "www.example.com", "A", [("www.example.com", "A", "192.0.2.1")], qname="WWW.EXAMPLE.COM"
        ),
    ),
    "asked in upper case": (
        "WWW.Example.COM.",
        "A",
        build("WWW.Example.COM.", "A", [("www.example.com", "A", "192.0.2.1")]),
    ),
    "escaped octets in names": (
        r"weird\.dot.example.com",
        "TXT",
        build(
            r"weird\.dot.example.com",
            "TXT",
            [
                (r"weird\.dot.example.com", "CNAME", r"\000\001\@\$.Odd\032Name\(\).example.com."),
                (r"\000\001\@\$.odd\032name\(\).example.com", "CNAME", r"x\200\255\;\"q.example."),
                (r"X\200\255\;\"Q.example", "TXT", '"there"'),
            ],
        ),
    ),
    "escaped octets in record names": (
        "e.example.com",
        "MX",
        build(
            "e.example.com",
            "MX",
            [("e.example.com", "MX", r"1 a\.b\\c\".example.", r"2 \127\128\032.example.")],
        ),
    ),
    "max length names": (
        MAX_NAME,
        "CNAME",
        build(
            MAX_NAME, "CNAME", [(MAX_NAME, "CNAME", ".".join(["c" * 63] * 3 + ["d" * 61]) + ".")]
        ),
    ),
    "dname with synthesised cname": (
        "www.old.example",
        "A",
        build(
            "www.old.example",
            "A",
            [
                ("old.example", "DNAME", "new.example."),
                ("www.old.example", "CNAME", "www.new.example."),
                ("www.new.example", "A", "192.0.2.9"),
            ],
        ),
    ),
    "unknown type skipped": (
        "www.example.com",
        "A",
        build(
            "www.example.com",
            "A",
            [
                ("www.example.com", "TYPE65280", r"\# 3 abcdef"),
                ("www.example.com", "A", "192.0.2.1"),
            ],
            [("example.com", "TYPE65281", r"\# 0")],
        ),
    ),
}
FAST_CASES = set(CASES)
FALLBACK_CASES: dict[str, tuple[str, str, bytes]] = {
    "type outside the list": ("example.com", "SOA", build("example.com", "SOA", [SOA])),
    "tlsa": (
        "_25._tcp.mx.example.com",
        "TLSA",
        build(
            "_25._tcp.mx.example.com",
            "TLSA",
            [("_25._tcp.mx.example.com", "TLSA", "3 1 1 " + "ab" * 32)],
        ),
    ),
    "hinfo in the answer": (
        "h.example.com",
        "A",
        build(
            "h.example.com",
            "A",
            [("h.example.com", "HINFO", '"cpu" "os"'), ("h.example.com", "A", "192.0.2.1")],
        ),
    ),
    "srv in additional": (
        "example.com",
        "MX",
        build(
            "example.com",
            "MX",
            [("example.com", "MX", "10 mx.example.com.")],
            additional=[("_x._tcp.example.com", "SRV", "0 0 25 mx.example.com.")],
        ),
    ),
    "edns option (nsid)": (
        "www.example.com",
        "A",
        build(
            "www.example.com",
            "A",
            [("www.example.com", "A", "192.0.2.1")],
            options=[dns.edns.GenericOption(dns.edns.NSID, b"ns1")],
        ),
    ),
    "edns option (ede)": (
        "sf.example.com",
        "A",
        build(
            "sf.example.com",
            "A",
            rcode=dns.rcode.SERVFAIL,
            options=[dns.edns.EDEOption(dns.edns.EDECode.DNSSEC_BOGUS, "bogus")],
        ),
    ),
    "records of another class": (
        "www.example.com",
        "TXT",
        build("www.example.com", "TXT", [("www.example.com", "CH TXT", '"chaos"')]),
    ),
    "soa of another class": (
        "www.example.com",
        "A",
        build("www.example.com", "A", authority=[("example.com", "CH SOA", SOA[2])]),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_equals_dnspython(case: str) -> None:
    name, rdtype, data = CASES[case]
    fast = same(data, name, rdtype)
    assert fast is not wire.FALLBACK and fast != IGNORED


@pytest.mark.parametrize("case", sorted(FALLBACK_CASES))
def test_what_the_fast_path_leaves_to_dnspython(case: str) -> None:
    name, rdtype, data = FALLBACK_CASES[case]
    assert via_fast(data, name, rdtype) is wire.FALLBACK
    assert via_dnspython(data, name, rdtype) != IGNORED


def fast_answer(case: str):
    name, rdtype, data = CASES[case]
    result = via_fast(data, name, rdtype)
    assert isinstance(result, tuple)
    return result[1]


def test_some_results_spelled_out() -> None:
    """The comparison above is not vacuous: what the answers hold."""
    aaaa = fast_answer("aaaa forms").addresses
    assert aaaa[:6] == ["2001:db8::1", "::", "::1", "::ffff:192.0.2.1", "::192.0.2.1", "1::"]
    assert fast_answer("mx").mx == [
        MxRecord(10, "mx1.example.com"),
        MxRecord(20, "mx2.example.net"),
        MxRecord(30, "mx1.example.com"),
        MxRecord(0, ""),
    ]
    txt = fast_answer("txt strings").txt
    assert txt[0] == TxtRecord((b"v=DMARC1; p=reject; ", b"rua=mailto:d@example.com"))
    assert TxtRecord((b"",)) in txt and TxtRecord((b"\x80\xff latin \x00 nul",)) in txt
    assert fast_answer("split and duplicate rrsets").texts == ["one", "two", "three", "One"]
    assert fast_answer("duplicate names differ in case").mx == [
        MxRecord(10, "mx.example.com"),
        MxRecord(20, "mx.example.com"),
    ]
    chain = fast_answer("cname chain")
    assert chain.addresses == ["192.0.2.80"]
    assert chain.cnames == (
        ("alias1.example.com", "alias2.example.com"),
        ("alias2.example.com", "www.example.com"),
    )
    loop = fast_answer("cname loop")
    assert (loop.outcome, loop.detail) == (Outcome.SERVFAIL, "CNAME loop")
    assert fast_answer("two cnames, the last wins").addresses == ["192.0.2.2"]
    assert fast_answer("two cnames asked").records == (NameRecord("second.example.com"),)
    odd = fast_answer("escaped octets in names")
    assert odd.cnames[0] == (
        "weird\\.dot.example.com",
        "\\000\\001\\@\\$.odd\\032name\\(\\).example.com",
    )
    assert odd.texts == ["there"]
    assert fast_answer("escaped octets in record names").mx == [
        MxRecord(1, 'a\\.b\\\\c\\".example'),
        MxRecord(2, "\\127\\128\\032.example"),
    ]
    assert fast_answer("badvers (extended rcode)").detail == "BADVERS"
    assert fast_answer("unknown type skipped").records == (AddressRecord("192.0.2.1"),)
    assert fast_answer("dname with synthesised cname").addresses == ["192.0.2.9"]
    assert via_fast(CASES["truncated"][2], "big.example.com", "TXT")[0] is True


# -- answers built octet by octet -----------------------------------------------------------


def header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, flags: int = 0x8180) -> bytes:
    return struct.pack("!6H", QID, flags, qd, an, ns, ar)


def rr(owner: bytes, rdtype: int, rdata: bytes, rdclass: int = 1) -> bytes:
    return owner + struct.pack("!HHIH", rdtype, rdclass, 300, len(rdata)) + rdata


def pointer(offset: int) -> bytes:
    return bytes([0xC0 | offset >> 8, offset & 0xFF])


def wire_name(text: str) -> bytes:
    return dns.name.from_text(text).to_wire()


QNAME = wire_name("www.example.com")  # at offset 12
QUESTION = QNAME + b"\x00\x01\x00\x01"  # A IN
AFTER_Q = 12 + len(QUESTION)
ADDR = b"\xc0\x00\x02\x01"
OPT_RR = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"


def a_answer(owner: bytes, rdata: bytes = ADDR, extra: bytes = b"", an: int = 1, **counts) -> bytes:
    return header(an=an, **counts) + QUESTION + rr(owner, 1, rdata) + extra


RAW: dict[str, tuple[bytes, str]] = {
    # (wire, what the fast path must make of it: "reply", "ignored" or "fallback")
    "owner points at the question": (a_answer(pointer(12)), "reply"),
    "owner points into the question": (
        a_answer(b"\x03www" + pointer(16)),
        "reply",
    ),  # www + "example.com" at 16
    "pointer to a pointer": (
        header(an=2)
        + QUESTION
        + rr(pointer(12), 5, b"\x03cdn" + pointer(16))
        + rr(b"\x03cdn" + pointer(AFTER_Q + 12), 1, ADDR),
        "reply",
    ),
    "pointer into the header": (  # octets 5-9 (01 00 01 00 00) read as the name \000.\000.
        a_answer(pointer(5)),
        "reply",
    ),
    "forward pointer": (a_answer(pointer(AFTER_Q + 20)), "ignored"),
    "pointer to itself": (a_answer(pointer(AFTER_Q)), "ignored"),
    "pointer loop": (
        header(an=1)
        + QUESTION
        + b"\x01a"
        + pointer(AFTER_Q + 2)
        + pointer(AFTER_Q)
        + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04"
        + ADDR,
        "ignored",
    ),
    "target overlaps the name": (
        header(an=1)
        + QUESTION
        + b"\x01a\x01b"
        + pointer(AFTER_Q + 2)
        + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04"
        + ADDR,
        "ignored",
    ),
    "pointer past the end": (a_answer(pointer(0x3FFF)), "ignored"),
    "pointer cut short": (header(an=1) + QUESTION + b"\xc0", "ignored"),
    "label type 0x40": (a_answer(b"\x41x\x00"), "ignored"),
    "label type 0x80": (a_answer(b"\x81x\x00"), "ignored"),
    "label past the end": (header(an=1) + QUESTION + b"\x05ab", "ignored"),
    "name over 255 octets": (
        a_answer(b"".join(b"\x3f" + b"n" * 63 for _ in range(4)) + b"\x00"),
        "ignored",
    ),
    "name of 255 octets": (
        a_answer(b"".join(b"\x3f" + b"n" * 63 for _ in range(3)) + b"\x3d" + b"n" * 61 + b"\x00"),
        "reply",
    ),
    "rr header cut short": (header(an=1) + QUESTION + pointer(12) + b"\x00\x01\x00", "ignored"),
    "rdata past the end": (
        header(an=1) + QUESTION + pointer(12) + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x08" + ADDR,
        "ignored",
    ),
    "fewer rrs than counted": (a_answer(pointer(12), an=2), "ignored"),
    "trailing octets": (a_answer(pointer(12), extra=b"junk"), "reply"),
    "a of 5 octets": (a_answer(pointer(12), ADDR + b"\x00"), "ignored"),
    "a of 0 octets": (a_answer(pointer(12), b""), "ignored"),
    "aaaa of 4 octets": (header(an=1) + QUESTION + rr(pointer(12), 28, ADDR), "ignored"),
    "txt of 0 octets": (header(an=1) + QUESTION + rr(pointer(12), 16, b""), "ignored"),
    "txt string past its rdata": (
        header(an=1) + QUESTION + rr(pointer(12), 16, b"\x05ab"),
        "ignored",
    ),
    "mx with a trailing octet": (
        header(an=1) + QUESTION + rr(pointer(12), 15, b"\x00\x0a" + pointer(12) + b"\x00"),
        "ignored",
    ),
    "mx of 1 octet": (header(an=1) + QUESTION + rr(pointer(12), 15, b"\x00"), "ignored"),
    "cname name runs past its rdata": (
        header(an=1) + QUESTION + rr(pointer(12), 5, b"\x03abc")[:-4] + b"\x00\x02\x03abc\x00",
        "ignored",
    ),
    "cname pointing into its own rdata": (
        header(an=1)
        + QUESTION
        + pointer(12)
        + b"\x00\x05\x00\x01\x00\x00\x01\x2c\x00\x06"
        + b"\x01q"
        + pointer(AFTER_Q + 12)
        + b"\x00\x00",
        "ignored",
    ),
    "dname compressed": (header(an=1) + QUESTION + rr(pointer(12), 39, pointer(16)), "ignored"),
    "dname uncompressed": (
        header(an=1) + QUESTION + rr(pointer(12), 39, wire_name("n.example")),
        "reply",
    ),
    "soa with a short tail": (
        header(ns=1) + QUESTION + rr(pointer(16), 6, pointer(12) + pointer(12) + b"\x00" * 19),
        "ignored",
    ),
    "soa": (
        header(ns=1) + QUESTION + rr(pointer(16), 6, pointer(12) + pointer(12) + b"\x00" * 20),
        "reply",
    ),
    "opt": (a_answer(pointer(12), extra=OPT_RR, ar=1), "reply"),
    "opt in the answer section": (header(an=1) + QUESTION + OPT_RR, "ignored"),
    "opt in the authority section": (header(ns=1) + QUESTION + OPT_RR, "ignored"),
    "two opts": (header(ar=2) + QUESTION + OPT_RR + OPT_RR, "ignored"),
    "opt with an owner": (header(ar=1) + QUESTION + pointer(12) + OPT_RR[1:], "ignored"),
    "opt with an option": (
        header(ar=1) + QUESTION + OPT_RR[:-2] + b"\x00\x04\x00\x03\x00\x00",
        "fallback",
    ),
    "tsig": (header(ar=1) + QUESTION + rr(b"\x00", 250, b"\x00" * 20, rdclass=255), "fallback"),
    "not a response": (
        a_answer(pointer(12))[:2] + b"\x01\x00" + a_answer(pointer(12))[4:],
        "ignored",
    ),
    "opcode status": (header(an=1, flags=0x9180) + QUESTION + rr(pointer(12), 1, ADDR), "ignored"),
    "another question": (header() + wire_name("ftp.example.com") + b"\x00\x01\x00\x01", "ignored"),
    "another type": (header() + QNAME + b"\x00\x1c\x00\x01", "ignored"),
    "another class": (header() + QNAME + b"\x00\x01\x00\x03", "ignored"),
    "question cut short": (header() + QNAME + b"\x00\x01", "ignored"),
    "no question": (header(qd=0, flags=0x8182), "fallback"),
    "two questions": (header(qd=2) + QUESTION + QUESTION, "fallback"),
    "header only, counts say more": (header(), "ignored"),
    "short header": (header()[:11], "ignored"),
}


@pytest.mark.parametrize("case", sorted(RAW))
def test_raw_answers(case: str) -> None:
    data, expected = RAW[case]
    fast = same(data, "www.example.com", "A")
    kind = "fallback" if fast is wire.FALLBACK else "ignored" if fast == IGNORED else "reply"
    assert kind == expected, fast


def test_pointer_chains_of_16_and_17() -> None:
    """dnspython follows at most 16 compression pointers in one name."""

    def chain(hops: int) -> bytes:
        # The links hide in the rdata of an RR of an unknown type: each points at the one
        # before, the first at the question name; the A RR's owner is "x" + the last link.
        prefix = header(an=2) + QUESTION
        base = len(prefix) + 11  # after that RR's root owner and its 10-octet header
        links = bytearray(pointer(12))
        for i in range(1, hops - 1):
            links += pointer(base + 2 * (i - 1))
        owner = b"\x01x" + pointer(base + len(links) - 2)
        return prefix + rr(b"\x00", 65280, bytes(links)) + rr(owner, 1, ADDR)

    assert via_dnspython(chain(16), "www.example.com", "A") != IGNORED
    assert via_dnspython(chain(17), "www.example.com", "A") == IGNORED
    assert same(chain(16), "www.example.com", "A") not in (IGNORED, wire.FALLBACK)
    assert same(chain(17), "www.example.com", "A") == IGNORED


# -- fuzz ------------------------------------------------------------------------------------

FUZZ_SEED = 20261122
FUZZ_ROUNDS = 6000


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random edits: octets changed, compression pointers planted, cuts, insertions,
    section counts changed. Edits favour the part after the header and question."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if len(out) < 2:
            out += bytes([rng.randrange(256)])
            continue
        low = min(len(out) - 1, 32) if rng.random() < 0.7 else 0
        at = rng.randrange(low, len(out))
        what = rng.random()
        if what < 0.4:
            out[at] = rng.randrange(256)
        elif what < 0.55:
            out[at] = rng.choice((0, 1, 0x3F, 0x40, 0xC0, 0xFF))
        elif what < 0.7:  # a compression pointer, to anywhere
            out[at : at + 2] = pointer(rng.randrange(len(out) + 4))
        elif what < 0.78:
            del out[at:]
        elif what < 0.86:
            del out[at : at + rng.randrange(1, 4)]
        elif what < 0.94:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
        elif len(out) >= 12:  # a section count
            field = rng.randrange(2, 6) * 2
            out[field : field + 2] = rng.randrange(4).to_bytes(2, "big")
    return bytes(out)


def test_fuzz_fast_path_never_raises_and_agrees() -> None:
    rng = random.Random(FUZZ_SEED)
    corpus = [CASES[c] for c in sorted(CASES)]
    corpus += [FALLBACK_CASES[c] for c in sorted(FALLBACK_CASES)]
    corpus += [("www.example.com", "A", RAW[c][0]) for c in sorted(RAW)]
    kinds = {"reply": 0, "ignored": 0, "fallback": 0}
    for _ in range(FUZZ_ROUNDS):
        name, rdtype, data = rng.choice(corpus)
        mutated = mutate(rng, data)
        query = query_for(name, rdtype)
        with contextlib.suppress(wire._Malformed):  # nothing else may escape the decoder
            wire._decode(mutated, query)
        fast = same(mutated, name, rdtype)
        kind = "fallback" if fast is wire.FALLBACK else "ignored" if fast == IGNORED else "reply"
        kinds[kind] += 1
    # every outcome well represented: the mutants exercise the decoder, not just its exits
    assert kinds["reply"] > FUZZ_ROUNDS // 10 and kinds["ignored"] > FUZZ_ROUNDS // 5, kinds
    assert kinds["fallback"] < FUZZ_ROUNDS // 5, kinds


# -- through the UDP pool -------------------------------------------------------------------


class OptionServer(asyncio.DatagramProtocol):
    """Answers every query with a stray, garbage, then the answer with an EDNS option."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        stray = dns.message.make_response(dns.message.make_query("other.example", "A"))
        stray.id = query.id
        self.transport.sendto(stray.to_wire(), addr)
        self.transport.sendto(data[:2] + b"\x81\x80" + b"\xff" * 20, addr)
        response = dns.message.make_response(query)
        response.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.NSID, b"x")])
        response.answer.append(
            dns.rrset.from_text(query.question[0].name, 60, "IN", "TXT", '"hello"')
        )
        self.transport.sendto(response.to_wire(), addr)


def test_pool_hands_what_it_cannot_read_to_dnspython() -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(
            OptionServer, local_addr=("127.0.0.1", port)
        )
        pool = UdpPool("127.0.0.1", port)
        resolver = LiveResolver([Nameserver("127.0.0.1", port)], timeout=2.0)
        try:
            replies = await asyncio.gather(
                *(pool.ask_query(query_for(f"q{i}.example", "TXT"), 2.0) for i in range(10))
            )
            answer = await resolver.query("Q.example", "TXT")
            return [*replies, answer]
        finally:
            pool.close()
            transport.close()

    *replies, answer = asyncio.run(main())
    assert all(isinstance(r, dns.message.Message) for r in replies)
    assert [r.question[0].name.to_text() for r in replies] == [f"q{i}.example." for i in range(10)]
    assert answer.texts == ["hello"] and answer.source.startswith("live 127.0.0.1:")
