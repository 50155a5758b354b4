"""SPF macro expansion (RFC 7208 §7) and validated PTR names (§5.5, the ``%{p}`` macro).

Parsing lives in :mod:`dmarc_audit.records.spf_macro`; this module turns the parts
into text for one evaluation. Expansion raises :class:`MacroError` for bad syntax
and never for DNS trouble: ``%{p}`` falls back to ``unknown``.
"""

from __future__ import annotations

import ipaddress
import re
import string
import time
from dataclasses import dataclass

from dmarc_audit.dns.types import Resolver
from dmarc_audit.records.spf_macro import Literal, MacroError, MacroExpand, parse_macro_string
from dmarc_audit.spf.identity import MAX_NAME_LENGTH, split_sender

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PTR_NAME_LIMIT = 10
"""At most this many PTR names are checked (RFC 7208 §4.6.4)."""

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")

__all__ = [
    "MacroContext",
    "MacroError",
    "PtrCheck",
    "client_ip",
    "dot_format",
    "expand",
    "expand_domain",
    "reverse_name",
    "transform",
    "truncate_name",
    "url_escape",
    "validate_ptr",
]


@dataclass(frozen=True, slots=True)
class MacroContext:
    """What the macro letters stand for during one ``check_host()`` call.

    ``resolver`` is needed only for ``%{p}``; without one ``%{p}`` is ``unknown``.
    ``timestamp`` fixes ``%{t}`` (seconds since the epoch) for reproducible output.
    """

    ip: IPAddress
    sender: str
    domain: str
    helo: str = "unknown"
    receiver: str = "unknown"
    timestamp: int | None = None
    resolver: Resolver | None = None


def client_ip(text: str) -> IPAddress:
    """Parse the client IP; an IPv4-mapped IPv6 address is IPv4 (§5, §5.6).

    Raises :class:`ValueError` for anything else.
    """
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def dot_format(ip: IPAddress) -> str:
    """``%{i}``: dotted quad, or 32 dot-separated hex nibbles for IPv6 (§7.3)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return ".".join(ip.packed.hex().upper())


def reverse_name(ip: IPAddress) -> str:
    """The PTR owner: ``4.3.2.1.in-addr.arpa`` or the nibble ``ip6.arpa`` name."""
    return ip.reverse_pointer.lower()


def url_escape(text: str) -> str:
    """Percent-encode everything outside RFC 3986 ``unreserved`` (upper-case macros)."""
    out: list[str] = []
    for ch in text:
        if ch in _UNRESERVED:
            out.append(ch)
            continue
        octets = ch.encode("latin-1") if ord(ch) < 256 else ch.encode("utf-8")
        out.extend(f"%{octet:02X}" for octet in octets)
    return "".join(out)


def transform(value: str, macro: MacroExpand) -> str:
    """Apply delimiters, reversal, right-hand part count and URL escaping (§7.3)."""
    if macro.digits is not None or macro.reverse or macro.delimiters:
        delimiters = macro.delimiters or "."
        parts = re.split("[" + re.escape(delimiters) + "]", value)
        if macro.reverse:
            parts.reverse()
        if macro.digits is not None:
            parts = parts[-macro.digits :]
        value = ".".join(parts)
    return url_escape(value) if macro.url_escape else value


async def expand(text: str, ctx: MacroContext, *, explanation: bool = False) -> str:
    """Expand a macro-string; ``explanation`` allows ``c``, ``r``, ``t`` (exp= text)."""
    out: list[str] = []
    for part in parse_macro_string(text, explanation=explanation):
        if isinstance(part, Literal):
            out.append(part.text)
        else:
            out.append(transform(await _letter_value(part.letter, ctx), part))
    return "".join(out)


async def expand_domain(spec: str, ctx: MacroContext) -> str:
    """Expand a domain-spec into a target name: no trailing dot, at most 253 octets."""
    name = await expand(spec, ctx)
    if name.endswith("."):
        name = name[:-1]
    return truncate_name(name)


def truncate_name(name: str) -> str:
    """Drop left-hand labels until the name fits in 253 octets (§7.3)."""
    while len(name) > MAX_NAME_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


async def _letter_value(letter: str, ctx: MacroContext) -> str:
    local, sender_domain = split_sender(ctx.sender)
    if letter == "s":
        return ctx.sender
    if letter == "l":
        return local
    if letter == "o":
        return sender_domain
    if letter == "d":
        return ctx.domain
    if letter == "i":
        return dot_format(ctx.ip)
    if letter == "p":
        return await _validated_name(ctx)
    if letter == "v":
        return "in-addr" if ctx.ip.version == 4 else "ip6"
    if letter == "h":
        return ctx.helo
    if letter == "c":
        return str(ctx.ip)
    if letter == "r":
        return ctx.receiver
    if letter == "t":
        return str(ctx.timestamp if ctx.timestamp is not None else int(time.time()))
    raise MacroError(0, f"unknown macro letter {letter!r}")


@dataclass(frozen=True, slots=True)
class PtrCheck:
    """Outcome of validating the PTR names of an IP (RFC 7208 §5.5)."""

    validated: tuple[str, ...]
    """Names whose A/AAAA records include the IP, in PTR answer order."""
    names: tuple[str, ...] = ()
    """PTR names considered (at most :data:`PTR_NAME_LIMIT`)."""
    ignored: int = 0
    """PTR names beyond the limit, not looked at."""
    skipped: tuple[str, ...] = ()
    """Names whose address lookup failed (a DNS error skips the name)."""
    error: str | None = None
    """Why the PTR lookup itself failed, if it did."""


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


async def validate_ptr(resolver: Resolver, ip: IPAddress, *, under: str | None = None) -> PtrCheck:
    """Find the validated domain names of ``ip`` (§5.5).

    Only the first :data:`PTR_NAME_LIMIT` PTR names count. With ``under``, names
    that are not ``under`` or below it are not looked up (they could not match).
    DNS errors never raise: a failed PTR lookup gives no names, a failed address
    lookup skips that name.
    """
    answer = await resolver.query(reverse_name(ip), "PTR")
    if answer.failed:
        return PtrCheck((), error=f"PTR {reverse_name(ip)}: {answer.describe()}")
    all_names = [name.lower().rstrip(".") for name in answer.targets]
    names = all_names[:PTR_NAME_LIMIT]
    rdtype = "A" if ip.version == 4 else "AAAA"
    validated: list[str] = []
    skipped: list[str] = []
    for name in names:
        if under is not None and not _under(name, under.lower()):
            continue
        addresses = await resolver.query(name, rdtype)
        if addresses.failed:
            skipped.append(name)
            continue
        if any(_same_address(text, ip) for text in addresses.addresses):
            validated.append(name)
    return PtrCheck(tuple(validated), tuple(names), len(all_names) - len(names), tuple(skipped))


def _same_address(text: str, ip: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


async def _validated_name(ctx: MacroContext) -> str:
    """``%{p}``: the domain itself, else a subdomain of it, else any validated name."""
    if ctx.resolver is None:
        return "unknown"
    check = await validate_ptr(ctx.resolver, ctx.ip)
    domain = ctx.domain.lower()
    if domain in check.validated:
        return domain
    for name in check.validated:
        if _under(name, domain):
            return name
    return check.validated[0] if check.validated else "unknown"
