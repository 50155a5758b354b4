"""Limits for untrusted report input: decompression cap, zip member checks, gzip.

Everything is decompressed as a stream in memory; nothing is extracted to disk.
One :class:`Budget` is shared by every decompressing stream opened for one input
(a file, a message, stdin), so a bomb trips on the cap however its bytes are
spread: one big gzip member, many zip entries, or archives nested in archives.
A high compression ratio alone is never an error; real reports compress 20:1 or more.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol

from dmarc_audit.reports.model import ParseWarning

DEFAULT_MAX_DECOMPRESSED = 1 << 30
"""Default cap on the bytes decompressed from one input (1 GiB)."""
MAX_NESTING = 4
"""How many containers deep a report may sit: message → zip → gzip → XML is 3."""
MAX_ZIP_MEMBERS = 1000
CHUNK = 1 << 16

Warn = Callable[[ParseWarning], None]

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""Only these: bzip2 and lzma members can expand without bound in one read call."""


class LimitExceeded(Exception):
    """Input would decompress past the configured cap, or nests too deep."""


class CorruptData(Exception):
    """A compressed stream or archive is damaged or cut off."""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def describe_size(n: int) -> str:
    """``1073741824`` → ``1 GiB``; exact bytes below 1 KiB."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


class Budget:
    """Decompressed bytes allowed for one input; shared by all its streams.

    Streams charge their running total under a key. Re-reading the same stream
    (the XML reader re-reads after repairing a document) counts once, because a
    key's charge is the most it ever produced, not the sum of passes.
    """

    __slots__ = ("_used", "limit", "total")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._used: dict[str, int] = {}

    def charge(self, key: str, produced: int) -> None:
        """Record that stream ``key`` has produced ``produced`` bytes so far."""
        before = self._used.get(key, 0)
        if produced <= before:
            return
        self._used[key] = produced
        self.total += produced - before
        if self.total > self.limit:
            raise LimitExceeded(
                f"decompresses to more than {describe_size(self.limit)} "
                "(the decompression cap; raise it with max_decompressed_bytes)"
            )

    def fits(self, more: int) -> bool:
        return self.total + more <= self.limit


def read_capped(stream: Readable, limit: int, what: str) -> bytes:
    """Read a whole stream into memory, refusing more than ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise LimitExceeded(f"{what} is larger than {describe_size(limit)}")
        parts.append(chunk)
    return b"".join(parts)


class GzipReader:
    """Stream-decompress gzip data (RFC 1952), charging a :class:`Budget`.

    Handles concatenated members. Bytes after the last member that are not another
    member (seen from real reporters, e.g. a stray CRLF) are ignored with a warning.
    Each decompress call is bounded, so a bomb never sits in memory at once.
    """

    def __init__(self, raw: Readable, budget: Budget, key: str, warn: Warn) -> None:
        self._raw = raw
        self._budget = budget
        self._key = key
        self._warn = warn
        self._d = zlib.decompressobj(31)
        self._pending = b""
        self._produced = 0
        self._eof = False
        self._in_member = True

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (fewer is not the end); ``b""`` only at the end."""
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        while n and not self._eof:
            if out := self._step(n):
                return out
        return b""

    def _step(self, max_out: int) -> bytes:
        if not self._pending:
            self._pending = self._raw.read(CHUNK)
            if not self._pending:
                self._eof = True
                if not self._in_member:
                    return b""
                out = self._d.flush()  # only what zlib already holds: at most a window
                if not self._d.eof:
                    raise CorruptData("gzip data is cut off (it ends inside a member)")
                return self._charge(out)
        if not self._in_member:
            self._start_member_or_stop()
            return b""
        try:
            out = self._d.decompress(self._pending, max_out)
        except zlib.error as exc:
            raise CorruptData(f"gzip data is damaged ({exc})") from None
        self._pending = self._d.unconsumed_tail
        if self._d.eof:
            self._pending = self._d.unused_data
            self._in_member = False
        return self._charge(out)

    def _charge(self, out: bytes) -> bytes:
        if out:
            self._produced += len(out)
            self._budget.charge(self._key, self._produced)
        return out

    def _start_member_or_stop(self) -> None:
        if len(self._pending) < 2 and (more := self._raw.read(CHUNK)):
            self._pending += more
            return
        if self._pending.startswith(_GZIP_MAGIC):
            self._d = zlib.decompressobj(31)
            self._in_member = True
            return
        self._warn(
            ParseWarning(
                f"bytes after the end of the gzip data ignored (they start {self._pending[:8]!r})"
            )
        )
        self._pending = b""
        self._eof = True

    def close(self) -> None:
        self._raw.close()


class ChargedReader:
    """Wrap a decompressing stream (a zip member) to charge a :class:`Budget`.

    ``where`` names the member by its position (``zip member 2 of 3``) in errors.

    Turns the archive library's errors into :class:`CorruptData`.
    """

    def __init__(
        self,
        raw: BinaryIO,
        budget: Budget,
        key: str,
        owned: tuple[Readable, ...] = (),
        where: str = "zip member",
    ) -> None:
        self._where = where
        self._raw = raw
        self._budget = budget
        self._key = key
        self._owned = owned
        self._produced = 0

    def read(self, n: int = -1, /) -> bytes:
        try:
            data = self._raw.read(n)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
        ) as exc:
            raise CorruptData(f"{self._where} is damaged ({exc})") from None
        self._produced += len(data)
        self._budget.charge(self._key, self._produced)
        return data

    def close(self) -> None:
        self._raw.close()
        for item in self._owned:
            item.close()


def zip_member_problem(info: zipfile.ZipInfo, budget: Budget) -> str | None:
    """Why a zip entry must not be read, or None. Checked before any byte is inflated.

    The declared size is binding: Python's zipfile never returns more than
    ``file_size`` bytes and checks the CRC, so reserving it up front is safe.
    """
    if info.flag_bits & 0x1:
        return "the member is encrypted"
    if info.compress_type not in _ZIP_METHODS:
        return f"compression method {info.compress_type} is not allowed (only stored and deflate)"
    if not budget.fits(info.file_size):
        return (
            f"it declares {describe_size(info.file_size)} uncompressed, over the "
            f"decompression cap of {describe_size(budget.limit)} for this input"
        )
    return None


def check_zip_entries(infos: list[zipfile.ZipInfo]) -> str | None:
    """Archive-level check: how many entries there are."""
    if len(infos) > MAX_ZIP_MEMBERS:
        return f"the archive has {len(infos)} entries (at most {MAX_ZIP_MEMBERS} are read)"
    return None
