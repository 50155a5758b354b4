"""Find report payloads in paths: files, directories, stdin, archives and mail.

The format is taken from the content (magic bytes, the first characters), never
from the file name. Containers are unwrapped recursively: gzip, zip (every
member), mbox files, Maildir folders, and MIME messages with reports attached
inline, nested, base64 or quoted-printable. What comes out is a :class:`Payload`
(an XML or JSON document that can be opened again as a fresh stream, or a message
that carries a failure report) or a :class:`ReportError` for a part that failed.

Source names chain the path and the parts inside it with ``!``:
``mail.mbox!message 3!google.com!example.com!1!2.zip!report.xml``.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.utils
import io
import os
import quopri
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32
from enum import Enum

from dmarc_audit.reports.model import ParseWarning, ReportError
from dmarc_audit.reports.safety import (
    CHUNK,
    MAX_NESTING,
    Budget,
    ChargedReader,
    CorruptData,
    GzipReader,
    LimitExceeded,
    Readable,
    Warn,
    check_zip_entries,
    describe_size,
    read_capped,
    zip_member_problem,
)

STDIN = "-"
STDIN_SOURCE = "<stdin>"
HEAD = 4096
"""Bytes looked at to tell a format."""
MAX_MESSAGE_BYTES = 256 << 20
"""A message is parsed whole, so it gets a lower cap than streamed XML."""
MAX_PART_DEPTH = 32

Opener = Callable[[Warn], Readable]


class Format(str, Enum):
    """What a byte stream is, told from its first bytes."""

    EMPTY = "empty"
    GZIP = "gzip"
    ZIP = "zip"
    XML = "xml"
    JSON = "json"
    MBOX = "mbox"
    EMAIL = "email"
    UNKNOWN = "unknown"


class PayloadKind(str, Enum):
    XML = "xml"
    """An XML document: a DMARC aggregate report, if anything."""
    JSON = "json"
    """A JSON document: an SMTP TLS report, if anything."""
    FEEDBACK = "feedback"
    """A message with a ``message/feedback-report`` part (RFC 6591 / 9991)."""
    MESSAGE = "message"
    """A message in which no report part was found (maybe a plain-text failure report)."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One document to parse. ``open`` gives a fresh stream each call (XML, JSON)."""

    source: str
    kind: PayloadKind
    open: Opener | None = None
    message: Message | None = None
    parts: tuple[str, ...] = ()
    """For MESSAGE: the content types seen, to explain why nothing was found."""


@dataclass(frozen=True, slots=True)
class _Blob:
    source: str
    open: Opener
    depth: int
    budget: Budget


def iter_payloads(
    paths: list[str] | tuple[str, ...], limit: int, stdin: Readable | None = None
) -> Iterator[Payload | ReportError]:
    """Payloads in ``paths``: files, directories (recursively), ``-`` for stdin."""
    for path in paths:
        if path == STDIN:
            yield from _guarded(STDIN_SOURCE, _stdin(stdin or sys.stdin.buffer, limit))
        elif os.path.isdir(path):
            for file in walk(path):
                yield from payloads_in_file(file, limit)
        elif os.path.exists(path):
            yield from payloads_in_file(path, limit)
        else:
            yield ReportError(path, "no such file or directory")


def _guarded(
    source: str, items: Iterator[Payload | ReportError]
) -> Iterator[Payload | ReportError]:
    """A bug or an exhausted resource in one input ends that input, not the batch.

    Every part of a container (a zip member, a message part) is read under its own
    guard too, so one damaged part never ends the reading of its siblings.
    """
    try:
        yield from items
    except (RecursionError, MemoryError) as exc:
        yield ReportError(source, f"too complex to read ({type(exc).__name__})")
    except Exception as exc:
        yield ReportError(source, f"cannot read: {type(exc).__name__}: {exc}")


ARCHIVE_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    NotImplementedError,
    struct.error,
    zlib.error,
)
"""What the standard library's zipfile raises on a damaged or cut-off archive
(``ValueError: negative seek value``, ``IndexError`` on a cut header, ...)."""


def payloads_in_file(path: str, limit: int) -> Iterator[Payload | ReportError]:
    def opener(_warn: Warn) -> Readable:
        return open(path, "rb")  # the caller closes it

    yield from _guarded(path, _expand(_Blob(path, opener, 0, Budget(limit))))


def payloads_in_bytes(data: bytes, source: str, limit: int) -> Iterator[Payload | ReportError]:
    yield from _guarded(source, _expand(_Blob(source, _bytes_opener(data), 0, Budget(limit))))


def _stdin(stream: Readable, limit: int) -> Iterator[Payload | ReportError]:
    try:
        data = read_capped(stream, limit, "standard input")
    except (OSError, LimitExceeded) as exc:
        yield ReportError(STDIN_SOURCE, str(exc))
        return
    yield from _expand(_Blob(STDIN_SOURCE, _bytes_opener(data), 0, Budget(limit)))


def walk(top: str) -> Iterator[str]:
    """Files under ``top`` in a stable order.

    Hidden files are skipped. In a Maildir (a folder with ``cur``, ``new`` and
    ``tmp``) only ``cur`` and ``new`` are read, plus Maildir++ sub-folders, so
    half-delivered mail and the server's index files are left alone.
    """
    for root, dirs, files in os.walk(top):
        dirs.sort()
        maildir = {"cur", "new", "tmp"} <= set(dirs)
        if maildir:
            dirs.remove("tmp")
            files = []
        for name in sorted(files):
            if not name.startswith(".") and not _is_documentation(name):
                yield os.path.join(root, name)


_DOC_NAMES = ("readme", "license", "licence", "notice", "copying", "attribution")


def _is_documentation(name: str) -> bool:
    """README/LICENSE-style files and Markdown beside reports in a folder are not reports.

    Only directory walks skip them; a file named on the command line is always read.
    """
    lower = name.lower()
    return lower.endswith(".md") or lower.split(".", 1)[0] in _DOC_NAMES


def sniff(head: bytes) -> Format:
    """Tell a format from the first bytes of a stream."""
    if not head:
        return Format.EMPTY
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return Format.ZIP
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        return Format.XML
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return Format.XML
    if text.startswith(b"{"):
        return Format.JSON
    if head.startswith(b"From ") and b"\n" in head:
        return Format.MBOX
    if _HEADER_LINE.match(head) and _MAIL_HEADER.search(head):
        return Format.EMAIL
    if not text:
        return Format.EMPTY
    return Format.UNKNOWN


_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
_MAIL_HEADER = re.compile(
    rb"(?im)^(from|to|subject|date|received|content-type|mime-version|message-id"
    rb"|return-path|delivered-to|dkim-signature):"
)


def _expand(blob: _Blob) -> Iterator[Payload | ReportError]:
    if blob.depth > MAX_NESTING:
        yield ReportError(blob.source, f"containers nested more than {MAX_NESTING} deep")
        return
    try:
        with closing(blob.open(_ignore)) as stream:
            head = _read_head(stream)
    except (OSError, LimitExceeded, CorruptData) as exc:
        yield ReportError(blob.source, _describe(exc))
        return
    kind = sniff(head)
    if kind is Format.GZIP:
        yield from _expand(_Blob(blob.source, _gunzip(blob), blob.depth + 1, blob.budget))
    elif kind is Format.ZIP:
        yield from _expand_zip(blob)
    elif kind is Format.XML:
        yield Payload(blob.source, PayloadKind.XML, blob.open)
    elif kind is Format.JSON:
        yield Payload(blob.source, PayloadKind.JSON, blob.open)
    elif kind is Format.MBOX:
        yield from _expand_mbox(blob)
    elif kind is Format.EMAIL:
        yield from _expand_message_blob(blob)
    elif kind is Format.EMPTY:
        what = "whitespace only" if head else "0 bytes"
        yield ReportError(blob.source, f"empty ({what}): there is no report in it")
    else:
        yield ReportError(
            blob.source,
            f"not a report: the content is not XML, JSON, gzip, "
            f"zip or e-mail (it starts {head[:16]!r})",
        )


def _read_head(stream: Readable) -> bytes:
    """The first HEAD bytes (a decompressing stream may hand them over in pieces)."""
    head = b""
    while len(head) < HEAD and (more := stream.read(HEAD - len(head))):
        head += more
    return head


def _ignore(_warning: ParseWarning) -> None:
    """Peeking only: the warnings come again when the payload is read."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read: {exc.strerror}"
    return str(exc)


def _bytes_opener(data: bytes) -> Opener:
    def opener(_warn: Warn) -> Readable:
        return io.BytesIO(data)

    return opener


def _gunzip(blob: _Blob) -> Opener:
    key = f"{blob.source}#gz{blob.depth}"

    def opener(warn: Warn) -> Readable:
        return GzipReader(blob.open(warn), blob.budget, key, warn)

    return opener


# zip -----------------------------------------------------------------------


def _expand_zip(blob: _Blob) -> Iterator[Payload | ReportError]:
    try:
        archive = _seekable(blob)
        with closing(archive(_ignore)) as stream, zipfile.ZipFile(stream) as zf:  # type: ignore[arg-type]
            infos = zf.infolist()
    except (LimitExceeded, CorruptData, *ARCHIVE_DAMAGE) as exc:
        yield ReportError(blob.source, f"not a readable zip archive: {_describe(exc)}")
        return
    if problem := check_zip_entries(infos):
        yield ReportError(blob.source, f"zip archive not read: {problem}")
        return
    members = [(i, info) for i, info in enumerate(infos) if not info.is_dir()]
    if not members:
        yield ReportError(blob.source, "the zip archive holds no files")
    for position, (index, info) in enumerate(members, 1):
        source = f"{blob.source}!{info.filename}"
        where = f"zip member {position} of {len(members)}"
        if problem := zip_member_problem(info, blob.budget):
            yield ReportError(source, f"{where} not read: {problem}")
            continue
        key = f"{source}#zip{blob.depth}.{index}"
        blob.budget.charge(key, info.file_size)  # binding: zipfile never returns more
        member = _Blob(
            source,
            _zip_member(archive, index, key, blob.budget, where),
            blob.depth + 1,
            blob.budget,
        )
        yield from _guarded(source, _expand(member))


def _seekable(blob: _Blob) -> Opener:
    """An opener for the archive bytes that zipfile can seek in.

    A file on disk is opened again each time; anything else (a gzip stream, a
    message part) is read into memory once, within the budget's cap.
    """
    stream = blob.open(_ignore)
    if isinstance(stream, io.BufferedReader | io.BytesIO):
        stream.close()
        return blob.open
    with closing(stream):
        data = read_capped(stream, blob.budget.limit, "the zip archive")
    return _bytes_opener(data)


def _zip_member(archive: Opener, index: int, key: str, budget: Budget, where: str) -> Opener:
    def opener(warn: Warn) -> Readable:
        stream = archive(warn)
        try:
            zf = zipfile.ZipFile(stream)  # type: ignore[arg-type]
            member = zf.open(zf.infolist()[index])
        except ARCHIVE_DAMAGE as exc:
            stream.close()
            raise CorruptData(f"{where} cannot be opened: {exc}") from None
        return ChargedReader(member, budget, key, owned=(zf, stream), where=where)

    return opener


# mbox and messages ---------------------------------------------------------


def _expand_mbox(blob: _Blob) -> Iterator[Payload | ReportError]:
    """Split an mbox on its ``From `` lines; one message keeps the plain source name."""
    pending: bytes | None = None
    count = 0
    try:
        with closing(blob.open(_ignore)) as stream:
            for message in _split_mbox(stream, min(blob.budget.limit, MAX_MESSAGE_BYTES)):
                if pending is not None:
                    yield from _expand_message(pending, f"{blob.source}!message {count}", blob)
                pending = message
                count += 1
    except (OSError, LimitExceeded, CorruptData) as exc:
        yield ReportError(blob.source, _describe(exc))
        return
    if pending is not None:
        source = blob.source if count == 1 else f"{blob.source}!message {count}"
        yield from _expand_message(pending, source, blob)


def _split_mbox(stream: Readable, limit: int) -> Iterator[bytes]:
    lines: list[bytes] = []
    size = 0
    previous_blank = True
    for line in _lines(stream):
        if line.startswith(b"From ") and previous_blank:
            if lines:
                yield b"".join(lines)
            lines, size = [], 0
        else:
            size += len(line)
            if size > limit:
                raise LimitExceeded(f"a message in the mbox is larger than {describe_size(limit)}")
            lines.append(line)
        previous_blank = line in (b"\n", b"\r\n")
    if lines:
        yield b"".join(lines)


def _lines(stream: Readable) -> Iterator[bytes]:
    line = bytearray()
    while chunk := stream.read(CHUNK):
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            line += chunk[start : newline + 1]
            yield bytes(line)
            line.clear()
            start = newline + 1
        line += chunk[start:]
    if line:
        yield bytes(line)


def _expand_message_blob(blob: _Blob) -> Iterator[Payload | ReportError]:
    try:
        with closing(blob.open(_ignore)) as stream:
            data = read_capped(stream, min(blob.budget.limit, MAX_MESSAGE_BYTES), "the message")
    except (OSError, LimitExceeded, CorruptData) as exc:
        yield ReportError(blob.source, _describe(exc))
        return
    yield from _expand_message(data, blob.source, blob)


def _expand_message(data: bytes, source: str, parent: _Blob) -> Iterator[Payload | ReportError]:
    message = email.message_from_bytes(data, policy=compat32)
    yield from _expand_parsed(message, source, parent.depth + 1, parent.budget)


def _expand_parsed(
    message: Message, source: str, depth: int, budget: Budget
) -> Iterator[Payload | ReportError]:
    """Reports in one message: a failure report, or attached aggregate/TLS reports."""
    if depth > MAX_NESTING:
        yield ReportError(source, f"messages nested more than {MAX_NESTING} deep")
        return
    try:
        leaves = list(_leaves(message, ""))
    except LimitExceeded as exc:
        yield ReportError(source, str(exc))
        return
    if any(part.get_content_type() == "message/feedback-report" for _, part in leaves):
        yield Payload(source, PayloadKind.FEEDBACK, message=message)
        return
    found = False
    seen: list[str] = []
    for label, part in leaves:
        ctype = part.get_content_type()
        seen.append(ctype)
        if ctype == "message/rfc822":
            inner = attached_message(part)
            if inner is not None:
                inner_source = f"{source}!{label}"
                parts = _expand_parsed(inner, inner_source, depth + 1, budget)
                for item in _guarded(inner_source, parts):
                    found = True
                    yield item
            continue
        if ctype == "text/html" or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not _looks_like_report(data[:HEAD], ctype):
            continue
        found = True
        part_source = f"{source}!{label}"
        yield from _guarded(
            part_source, _expand(_Blob(part_source, _bytes_opener(data), depth + 1, budget))
        )
    if not found:
        yield Payload(source, PayloadKind.MESSAGE, message=message, parts=tuple(seen))


def attached_message(part: Message) -> Message | None:
    """The message inside a message/rfc822 part, also when it was (wrongly) encoded.

    MIME forbids base64 or quoted-printable on message/* parts, but mailers use
    them; Python then parses the encoded text as a message body, so decode and parse.
    """
    inner = part.get_payload()
    if not isinstance(inner, list) or not inner or not isinstance(inner[0], Message):
        return None
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding not in ("base64", "quoted-printable"):
        return inner[0]
    raw = inner[0].as_bytes()
    try:
        if encoding == "base64":
            data = base64.b64decode(re.sub(rb"\s+", b"", raw))
        else:
            data = quopri.decodestring(raw)
    except (binascii.Error, ValueError):
        return inner[0]
    return email.message_from_bytes(data, policy=compat32)


def _leaves(message: Message, prefix: str) -> Iterator[tuple[str, Message]]:
    """(label, part) for every non-multipart part; attached messages stay whole."""
    if not message.is_multipart() or message.get_content_type() == "message/rfc822":
        yield (_label(message, prefix or "1"), message)
        return
    if prefix.count(".") >= MAX_PART_DEPTH:
        raise LimitExceeded(f"MIME parts nested more than {MAX_PART_DEPTH} deep")
    payload = message.get_payload()
    if not isinstance(payload, list):
        return
    for number, part in enumerate(payload, 1):
        if not isinstance(part, Message):
            continue
        path = f"{prefix}.{number}" if prefix else str(number)
        if part.is_multipart() and not part.get_content_type().startswith("message/"):
            yield from _leaves(part, path)
        else:
            yield (_label(part, path), part)


def _label(part: Message, path: str) -> str:
    name = part.get_filename() or part.get_param("name")
    if isinstance(name, tuple):  # RFC 2231 value
        name = email.utils.collapse_rfc2231_value(name)
    if isinstance(name, str) and name.strip():
        return name.strip()
    return f"part {path}"


def _looks_like_report(head: bytes, ctype: str) -> bool:
    """Is a message part worth reading? Body text and signatures are not."""
    kind = sniff(head)
    if kind in (Format.GZIP, Format.ZIP):
        return True
    if kind is Format.XML:
        return b"feedback" in head
    if kind is Format.JSON:
        return "tlsrpt" in ctype or b"organization-name" in head or b"policies" in head
    return False
