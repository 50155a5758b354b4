"""Bytes into expat: transcoding, repairs spliced in, and loose-text detection.

:class:`Feeder` decodes the stream as it declares itself and hands expat UTF-8
with the planned repairs applied; :class:`LooseText` tells the fast reader when
a chunk holds something only the careful reader can place.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from dmarc_audit.reports.aggregate.signals import Warnings
from dmarc_audit.reports.safety import CHUNK, Readable


class Feeder:
    """Decode the byte stream as declared, and hand expat UTF-8 with repairs applied.

    Honours a BOM or the XML declaration's encoding; bytes that do not decode
    become U+FFFD with a warning. Leading whitespace and a UTF-8 BOM are dropped.
    Offsets: *original* = the UTF-8 stream before repairs; *fed* = what expat saw.
    """

    def __init__(
        self, stream: Readable, repairs: dict[int, tuple[int, bytes]], warnings: Warnings
    ) -> None:
        self._stream = stream
        self._repairs = sorted(repairs.items())
        self._warnings = warnings
        self._applied: list[tuple[int, int]] = []  # (fed offset, growth)
        self._recent: list[tuple[int, bytes]] = []
        self._fed = 0
        self._orig = 0
        self._lines = 1
        self._utf8 = True

    def __iter__(self) -> Iterator[bytes]:
        raw = self._stream.read(CHUNK)
        encoding, skip = self._encoding(raw)
        self._utf8 = codecs.lookup(encoding).name == "utf-8"
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        raw = raw[skip:]
        started = False
        carry = b""
        while True:
            final = not raw
            text = decoder.decode(raw, final)
            if not started:
                stripped = text.lstrip()
                if len(stripped) != len(text) and stripped.startswith("<?xml"):
                    self._warnings.add("whitespace before the XML declaration ignored")
                text = stripped
                started = bool(text)
            if "\ufffd" in text:
                self._check_replacement(raw, text)
            self._lines += text.count("\n")
            data = carry + text.encode()
            carry = b""
            if self._repairs:
                data, carry = self._apply(data, final)
            if data:
                self._recent = [*self._recent[-1:], (self._fed, data)]
                self._fed += len(data)
                yield data
            if final:
                return
            raw = self._stream.read(CHUNK)

    def _encoding(self, head: bytes) -> tuple[str, int]:
        for bom, name in (
            (codecs.BOM_UTF32_LE, "utf-32-le"),
            (codecs.BOM_UTF32_BE, "utf-32-be"),
            (codecs.BOM_UTF8, "utf-8"),
            (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"),
        ):
            if head.startswith(bom):
                if name == "utf-8":
                    self._warnings.add("UTF-8 byte-order mark at the start ignored")
                return name, len(bom)
        if head.startswith(b"<\x00"):
            return "utf-16-le", 0
        if head.startswith(b"\x00<"):
            return "utf-16-be", 0
        match = DECLARATION.match(head.lstrip())
        if match is None:
            return "utf-8", 0
        declared = match.group(1).decode("ascii")
        try:
            codecs.lookup(declared)
        except LookupError:
            self._warnings.add(f"unknown encoding {declared!r} declared; read as UTF-8")
            return "utf-8", 0
        return declared, 0

    def _check_replacement(self, raw: bytes, text: str) -> None:
        replaced = text.count("\ufffd")
        if self._utf8:
            replaced -= raw.count(b"\xef\xbf\xbd")
        if replaced > 0:
            line = self._lines + text[: text.index("\ufffd")].count("\n")
            encoding = "UTF-8" if self._utf8 else "the declared encoding"
            self._warnings.add(
                f"bytes that are not valid {encoding} replaced with U+FFFD",
                f"line {line}",
                key="undecodable",
            )

    def _apply(self, data: bytes, final: bool) -> tuple[bytes, bytes]:
        """Splice the repairs into one chunk; an edit cut by the chunk end waits for the next."""
        start, end = self._orig, self._orig + len(data)
        out = bytearray()
        pos = 0
        carry = b""
        for offset, (length, new) in self._repairs:
            if offset < start or offset >= end:
                continue
            at = offset - start
            if at + length > len(data) and not final:
                carry, data, end = data[at:], data[:at], offset
                break
            out += data[pos:at]
            self._applied.append((self._fed + len(out), len(new) - length))
            out += new
            pos = at + length
        out += data[pos:]
        self._orig = end
        return bytes(out), carry

    @property
    def fed(self) -> int:
        """Bytes handed to expat so far."""
        return self._fed

    def window(self) -> tuple[bytes, int]:
        """The last bytes given to expat (two chunks) and the fed offset they start at."""
        if not self._recent:
            return b"", 0
        return b"".join(chunk for _, chunk in self._recent), self._recent[0][0]

    def original(self, fed: int) -> int:
        """Map an offset expat reports to the offset in the unrepaired stream."""
        return fed - sum(growth for at, growth in self._applied if at < fed)


class LooseText:
    """Does a chunk hold text outside leaf elements (``</sp>11<pct>``), or extensions?

    The fast reader has no start callback, so it would read such text as part of
    the next element's value; when this says yes, the careful reader takes over.
    With whitespace removed, every start tag follows a ``>``, and every ``<`` that
    does not is the ``</`` ending a value. Comments or CDATA holding ``<`` also
    answer yes: a false alarm only costs speed. Byte counts keep this cheap.
    """

    def __init__(self) -> None:
        self._carry = b">"

    def found(self, chunk: bytes) -> bool:
        if b"<extension" in chunk or b":extension" in chunk:
            return True  # any content at all, records included: leave it to the careful reader
        data = self._carry + chunk.translate(None, b" \t\r\n")
        cut = data.rfind(b">")
        if cut < 0:
            self._carry = data
            return False
        body, self._carry = data[: cut + 1], data[cut:]
        loose = body.count(b"<") - body.count(b"><")
        value_ends = body.count(b"</") - body.count(b"></")
        return loose != value_ends


DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]*)[\"']")
