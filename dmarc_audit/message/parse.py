"""Read one message: its header fields as they are on the wire, and the RFC5322.From domain.

The raw bytes are kept untouched (DKIM needs them); header fields are split
without any decoding so that 8-bit and malformed values never raise. Only a
file that is not a message at all (binary data, no header section, no message
header fields) raises :class:`NotAMessage`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from enum import Enum

_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_MESSAGE_FIELDS = frozenset(
    {
        "from",
        "date",
        "received",
        "subject",
        "message-id",
        "to",
        "cc",
        "sender",
        "return-path",
        "dkim-signature",
        "mime-version",
        "reply-to",
        "delivered-to",
        "authentication-results",
        "arc-seal",
        "received-spf",
        "list-id",
    }
)
_WSP = b" \t"


class NotAMessage(ValueError):
    """The input is not an Internet message (RFC 5322); the text says why, in one line."""


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field as it is in the message; ``index`` 0 is the topmost."""

    name: str
    raw: bytes
    """The value after the colon, folding kept, without the final line break."""
    index: int
    line: int
    """1-based line number where the field starts."""

    @property
    def key(self) -> str:
        """The field name, lower-cased."""
        return self.name.lower()

    @property
    def text(self) -> str:
        """The value unfolded and decoded (UTF-8, else Latin-1), surrounding space removed."""
        unfolded = re.sub(rb"\r?\n(?=[ \t])", b"", self.raw)
        try:
            value = unfolded.decode("utf-8")
        except UnicodeDecodeError:
            value = unfolded.decode("latin-1")
        return value.strip(" \t\r\n")


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed message: ``raw`` is what the DKIM and ARC verifiers see."""

    raw: bytes
    headers: tuple[HeaderField, ...]
    body: bytes
    notes: tuple[str, ...] = ()
    """Things worth telling about the input itself (an mbox ``From `` line removed)."""

    def all(self, name: str) -> tuple[HeaderField, ...]:
        """Every field called ``name`` (case-insensitive), topmost first."""
        key = name.lower()
        return tuple(h for h in self.headers if h.key == key)

    def first(self, name: str) -> HeaderField | None:
        """The topmost field called ``name``, or None."""
        key = name.lower()
        return next((h for h in self.headers if h.key == key), None)

    def has(self, name: str) -> bool:
        return self.first(name) is not None


def parse_message(data: bytes) -> Message:
    """Split ``data`` into header fields and body. Raises :class:`NotAMessage`."""
    notes: list[str] = []
    if not data.strip():
        raise NotAMessage("the input is empty")
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        notes.append("an mbox 'From ' separator line was removed from the top")
    if b"\x00" in data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]:
        raise NotAMessage("the input contains NUL bytes: binary data, not a message")
    headers, body = _split_fields(data)
    if not any(h.key in _MESSAGE_FIELDS for h in headers):
        raise NotAMessage(
            "no message header fields (From, Date, Received, Subject, ...) were found"
        )
    return Message(raw=data, headers=tuple(headers), body=body, notes=tuple(notes))


def _split_fields(data: bytes) -> tuple[list[HeaderField], bytes]:
    lines = data.split(b"\n")
    fields: list[tuple[str, list[bytes], int]] = []
    body_start = len(lines)
    for number, line in enumerate(lines, start=1):
        stripped = line[:-1] if line.endswith(b"\r") else line
        if not stripped:
            body_start = number
            break
        if stripped[:1] in (b" ", b"\t"):
            if not fields:
                raise NotAMessage("line 1 starts with white space: not a header field")
            fields[-1][1].append(line)
            continue
        match = _FIELD_NAME.match(stripped)
        if match is None:
            what = "the first line" if number == 1 else f"line {number}"
            raise NotAMessage(
                f"{what} is neither a header field nor a continuation ({_preview(stripped)})"
            )
        name = match.group(1).decode("ascii")
        fields.append((name, [line[match.end() :]], number))
    if not fields:
        raise NotAMessage("the input has no header section")
    headers = []
    for index, (name, parts, number) in enumerate(fields):
        raw = b"\n".join(parts)
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        headers.append(HeaderField(name=name, raw=raw, index=index, line=number))
    body = b"\n".join(lines[body_start:]) if body_start < len(lines) else b""
    return headers, body


def _preview(line: bytes) -> str:
    text = line[:40].decode("latin-1")
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(printable + ("…" if len(line) > 40 else ""))


# --- RFC5322.From ---------------------------------------------------------------------


class FromStatus(str, Enum):
    """Whether the message has one usable Author Domain (RFC 9989 §4.4, RFC 7489 §6.6.1)."""

    OK = "ok"
    MISSING = "missing"
    """No From header field."""
    MULTIPLE_FIELDS = "multiple-fields"
    """More than one From header field (RFC 5322 allows exactly one)."""
    MULTIPLE_DOMAINS = "multiple-domains"
    """One From field listing addresses in different domains."""
    NO_DOMAIN = "no-domain"
    """No address with a valid domain could be read from the From field."""


@dataclass(frozen=True, slots=True)
class Author:
    """One address in From: ``domain`` is the A-label form, lower case (None if invalid)."""

    display: str
    address: str
    domain: str | None


@dataclass(frozen=True, slots=True)
class FromInfo:
    """The RFC5322.From domain DMARC is evaluated for, or why there is none."""

    status: FromStatus
    domain: str | None
    authors: tuple[Author, ...]
    fields: int
    reason: str

    @property
    def usable(self) -> bool:
        return self.domain is not None


def from_info(message: Message) -> FromInfo:
    """Find the Author Domain: exactly one From field whose addresses share one domain."""
    fields = message.all("from")
    authors = tuple(author for field in fields for author in _authors(field.text))
    domains = sorted({a.domain for a in authors if a.domain})
    if not fields:
        return FromInfo(
            FromStatus.MISSING,
            None,
            (),
            0,
            "the message has no From header field, so there is no Author Domain",
        )
    if len(fields) > 1:
        listed = ", ".join(a.address for a in authors) or "nothing readable"
        return FromInfo(
            FromStatus.MULTIPLE_FIELDS,
            None,
            authors,
            len(fields),
            f"the message has {len(fields)} From header fields ({listed}); "
            "RFC 5322 allows one, and receivers reject such messages",
        )
    if len(domains) > 1:
        return FromInfo(
            FromStatus.MULTIPLE_DOMAINS,
            None,
            authors,
            1,
            f"From lists addresses in {len(domains)} domains "
            f"({', '.join(domains)}); DMARC needs a single Author Domain",
        )
    if not domains:
        shown = fields[0].text or "(empty)"
        return FromInfo(
            FromStatus.NO_DOMAIN,
            None,
            authors,
            1,
            f"no address with a valid domain in From: {shown}",
        )
    domain = domains[0]
    if len(authors) > 1:
        reason = f"From lists {len(authors)} addresses, all in {domain}"
    else:
        reason = f"From: {authors[0].address}"
    return FromInfo(FromStatus.OK, domain, authors, 1, reason)


def _authors(text: str) -> list[Author]:
    found = []
    for display, address in getaddresses([text]):
        if not address:
            continue
        found.append(Author(display, address, address_domain(address)))
    return found


def address_domain(address: str) -> str | None:
    """The A-label domain of ``local@domain`` (lower case), or None when it is not valid."""
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.errors import InputError

    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or domain.startswith("["):
        return None
    try:
        name = parse_domain(domain).ascii
    except InputError:
        return None
    return name if "." in name else None
