"""Streaming reader for DMARC aggregate reports.

Reads RFC 7489 (appendix C), the pre-RFC draft schema and RFC 9990
(``urn:ietf:params:xml:ns:dmarc-2.0``) with expat directly: no tree is built,
records are yielded one by one, so memory does not grow with the report.

Untrusted XML: a DOCTYPE is refused before its internal subset is read, so no
entity is ever declared, expanded or fetched; expat never opens files itself.

Not well-formed XML is repaired only where the intent is unambiguous: an
unescaped ``<`` or ``&`` in text, an undefined entity, a control character.
Each repair is a one-character edit at a known offset; the document is then read
again from the start with the edit applied (records already handed out are not
repeated). A document cut off before ``</feedback>`` is an error.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any
from xml.parsers import expat

from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateReport,
    AggregateSchema,
    AuthResult,
    ParseWarning,
    PolicyPublished,
    ReportError,
)
from dmarc_audit.reports.safety import CHUNK, CorruptData, LimitExceeded, Readable, Warn

NS_DMARC_2 = "urn:ietf:params:xml:ns:dmarc-2.0"
MAX_REPAIRS = 20
MAX_WARNINGS = 100
"""Per report; further distinct warnings are counted in one closing line."""

Opener = Callable[[Warn], Readable]

_E = expat.errors
_INVALID_TOKEN = _E.codes[_E.XML_ERROR_INVALID_TOKEN]
_UNDEFINED_ENTITY = _E.codes[_E.XML_ERROR_UNDEFINED_ENTITY]
_TAG_MISMATCH = _E.codes[_E.XML_ERROR_TAG_MISMATCH]

# What an element's end means, by name (see _Handler.end).
_REC, _AUTH, _GROUP, _DKIM_SPF, _DOMAIN, _REASON, _META, _ERROR, _POLICY, _VERSION, _CONTAINER = (
    range(11)
)
_ENDS: dict[str, int] = {
    **dict.fromkeys(
        ("source_ip", "count", "disposition", "header_from", "envelope_from", "envelope_to"), _REC
    ),
    **dict.fromkeys(("selector", "scope", "result", "human_result"), _AUTH),
    "dkim": _DKIM_SPF,
    "spf": _DKIM_SPF,
    "domain": _DOMAIN,
    "type": _REASON,
    "comment": _REASON,
    **dict.fromkeys(
        ("org_name", "email", "extra_contact_info", "report_id", "generator", "begin", "end"), _META
    ),
    "error": _ERROR,
    **dict.fromkeys(
        ("p", "sp", "np", "adkim", "aspf", "pct", "fo", "testing", "discovery_method"), _POLICY
    ),
    "version": _VERSION,
    **dict.fromkeys(("row", "policy_evaluated", "identifiers", "auth_results"), _GROUP),
    **dict.fromkeys(
        ("feedback", "report_metadata", "date_range", "policy_published", "record", "reason"),
        _CONTAINER,
    ),
}
_STARTS = frozenset(
    {"feedback", "record", "policy_published", "report_metadata", "dkim", "spf", "reason"}
)
"""Elements whose start needs more than a push on the stack."""
_EXTENSIONS = frozenset({"extensions", "extension"})
_MAX_TEXT_RUNS = 16
"""Text runs of up to 64 KiB buffered for one element: 1 MiB, then the report is refused."""
_MAX_DEPTH = 256
_MAX_TOKEN = (1 << 20) + 2 * CHUNK
"""Bytes expat may hold unparsed (a comment or tag it has not seen the end of)."""
_MAX_PER_RECORD = 100
"""Auth results or reasons kept per record; a real record has one to three."""
# Elements a schema requires that real reporters leave out: read as absent, with a
# warning. From the XSDs of the dmarc.org draft, RFC 7489 appendix C and RFC 9990.
_REQUIRED_POLICY = {
    AggregateSchema.DRAFT: ("sp", "pct"),
    AggregateSchema.RFC7489: ("pct", "fo"),
    AggregateSchema.RFC9990: ("sp",),
}
_REQUIRED_AUTH = {
    AggregateSchema.RFC7489: {"spf": "scope"},
    AggregateSchema.RFC9990: {"dkim": "selector"},
}
_CONTAINERS = frozenset(k for k, v in _ENDS.items() if v in (_CONTAINER, _GROUP)) | {"dkim", "spf"}
_KNOWN = frozenset(_ENDS)
_OPTIONAL_EMPTY_OK = frozenset(
    {"extra_contact_info", "comment", "human_result", "selector", "org_name", "type"}
)
"""Leaves whose emptiness is not worth a warning."""


class _Reject(Exception):
    """Raised inside expat handlers: the document cannot be a usable report."""


class _Restart(Exception):
    """A repair was planned: read the document again from the start."""


class _Careful(Exception):
    """The fast record reader met something unusual: read again, carefully."""


class _Warnings:
    """De-duplicated, bounded warning list (the report's own list object)."""

    def __init__(self) -> None:
        self.items: list[ParseWarning] = []
        self._seen: set[object] = set()
        self.dropped = 0

    def add(self, message: str, where: str = "", key: object = None) -> None:
        key = message if key is None else key
        if key in self._seen:
            return
        if len(self.items) >= MAX_WARNINGS:
            self.dropped += 1  # the key is not kept, so the seen-set stays bounded
            return
        self._seen.add(key)
        self.items.append(ParseWarning(message, where))

    def finish(self) -> None:
        if self.dropped:
            self.items.append(ParseWarning(f"{self.dropped} more warning(s) not listed"))
            self.dropped = 0


def read_aggregate(
    source: str, opener: Opener, warnings: tuple[ParseWarning, ...] = (), *, fast: bool = True
) -> AggregateReport | ReportError:
    """Read the metadata now; records stream from ``report.records``.

    Returns a :class:`ReportError` when the metadata cannot be read. Once the
    report is returned, ``records`` raises :class:`ReportError` if the document
    turns out to be cut off or broken beyond repair further on: the caller must
    then discard the records it has taken from this report.
    """
    engine = _Engine(source, opener, fast)
    for warning in warnings:
        engine.warnings.add(warning.message, warning.where)
    run = engine.run()
    try:
        meta = next(run)
    except ReportError as exc:
        return exc
    except (LimitExceeded, CorruptData, OSError) as exc:
        return ReportError(source, str(exc))
    assert isinstance(meta, AggregateMeta)
    report = AggregateReport(
        meta=meta, records=_records(run, source), source=source, warnings=engine.warnings.items
    )
    engine.report = report
    report.skipped_records = engine.skipped
    return report


def _records(run: Iterator[object], source: str) -> Iterator[AggregateRecord]:
    try:
        yield from run  # type: ignore[misc]
    except (LimitExceeded, CorruptData, OSError) as exc:
        raise ReportError(source, str(exc)) from None


class _Engine:
    """Runs parse passes over one document, restarting after each repair."""

    def __init__(self, source: str, opener: Opener, fast: bool = True) -> None:
        self.source = source
        self.opener = opener
        self.fast = fast
        """Read records with the fast end-only callback until something looks odd."""
        self.warnings = _Warnings()
        self.repairs: dict[int, tuple[int, bytes]] = {}
        self.done = 0
        """Records (kept or skipped) already handed out, counted in document order."""
        self.meta_sent = False
        self.skipped = 0
        self.report: AggregateReport | None = None

    def run(self) -> Iterator[AggregateMeta | AggregateRecord]:
        try:
            while True:
                try:
                    yield from self._pass()
                    return
                except _Restart:
                    continue
                except _Careful:
                    self.fast = False
        finally:
            self.warnings.finish()

    def _warn(self, warning: ParseWarning) -> None:
        self.warnings.add(warning.message, warning.where)

    def _pass(self) -> Iterator[AggregateMeta | AggregateRecord]:
        parser = expat.ParserCreate("utf-8")  # our feeder transcodes to UTF-8
        handler = _Handler(parser, self.warnings, self.fast)
        parser.buffer_text = True
        parser.buffer_size = CHUNK
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        parser.EntityDeclHandler = _refuse_entity
        parser.StartElementHandler, parser.EndElementHandler = handler.bind()
        parser.CharacterDataHandler = handler.text.append
        with closing(self.opener(self._warn)) as stream:
            feeder = _Feeder(stream, self.repairs, self.warnings)
            loose_text = _LooseText()
            for chunk in feeder:
                if handler.fast and not handler.closed and loose_text.found(chunk):
                    if handler.fast_mode:
                        raise _Careful
                    handler.fast = False
                if not self._feed(parser, handler, feeder, chunk, final=False):
                    break
                yield from self._drain(handler)
            else:
                self._feed(parser, handler, feeder, b"", final=True)
            yield from self._drain(handler)
        self._finish(handler)
        yield from self._drain(handler)

    def _feed(
        self, parser: Any, handler: _Handler, feeder: _Feeder, chunk: bytes, final: bool
    ) -> bool:
        """Parse one chunk; False once the rest of the document is to be ignored."""
        try:
            parser.Parse(chunk, final)
            if len(handler.text) > _MAX_TEXT_RUNS:
                raise self._error(
                    f"an element's text is longer than 1 MiB (line "
                    f"{parser.CurrentLineNumber}): not a report"
                )
            if len(handler.stack) > _MAX_DEPTH:
                raise self._error(
                    f"elements nested more than {_MAX_DEPTH} deep (line "
                    f"{parser.CurrentLineNumber}): not a report"
                )
            if feeder.fed - max(parser.CurrentByteIndex, 0) > _MAX_TOKEN:
                raise self._error(
                    f"an XML token (comment, tag or declaration) is longer "
                    f"than 1 MiB (line {parser.CurrentLineNumber}): not a report"
                )
            return True
        except _Reject as exc:
            raise self._error(f"{exc} (line {parser.CurrentLineNumber})") from None
        except expat.ExpatError as exc:
            return self._on_error(exc, parser, handler, feeder, final)

    def _drain(self, handler: _Handler) -> Iterator[AggregateMeta | AggregateRecord]:
        out = handler.out
        if not out:
            return
        items = list(out)
        out.clear()
        for item in items:
            if isinstance(item, AggregateMeta):
                if not self.meta_sent:
                    self.meta_sent = True
                    yield item
                continue
            ordinal, record, why, where = item
            if ordinal <= self.done:
                continue
            self.done = ordinal
            if record is None:
                self.skipped += 1
                self.warnings.add(f"record skipped: {why}", where, key=("skip", ordinal))
                if self.report is not None:
                    self.report.skipped_records = self.skipped
            else:
                yield record

    def _finish(self, handler: _Handler) -> None:
        if handler.fb < 0:
            root = handler.root or "nothing"
            raise self._error(
                f"no <feedback> element (the XML holds <{root}>): not a DMARC aggregate report"
            )
        if not handler.closed:
            inside = handler.stack[-1] if handler.stack else "feedback"
            raise self._error(
                f"the report is cut off: the XML ends inside <{inside}> before </feedback>"
            )
        if handler.records == 0:
            self.warnings.add("the report has no <record> elements")

    def _error(self, message: str) -> ReportError:
        return ReportError(self.source, message)

    def _on_error(
        self, exc: expat.ExpatError, parser: Any, handler: _Handler, feeder: _Feeder, final: bool
    ) -> bool:
        if handler.fast_mode:
            raise _Careful  # the careful reader knows where it is; let it explain
        where = f"line {exc.lineno}, column {exc.offset + 1}"
        reason = expat.errors.messages[exc.code]
        if handler.closed:
            tail = (
                "which is never closed"
                if final
                else f"is not well-formed after </feedback> ({reason})"
            )
            if final and handler.stack:
                self.warnings.add(
                    f"the document ends inside <{handler.root}>, "
                    f"{tail}; the report was read up to </feedback>",
                    where,
                )
            elif not final:
                self.warnings.add(f"the document {tail}; ignored", where)
            return False
        if final:
            inside = handler.stack[-1] if handler.stack else None
            if handler.fb < 0 and inside is None:
                raise self._error("no XML element found: not a DMARC aggregate report")
            raise self._error(
                f"the report is cut off: the XML ends inside <{inside}> "
                f"before </feedback> ({reason}, {where})"
            )
        repair = None
        if handler.fb >= 0:  # only a report is worth repairing
            repair = self._plan_repair(exc.code, parser.ErrorByteIndex, handler, feeder)
        if repair is None:
            raise self._error(f"XML is not well-formed at {where}: {reason}")
        offset, old_len, new, what = repair
        if offset in self.repairs or len(self.repairs) >= MAX_REPAIRS:
            raise self._error(
                f"XML is not well-formed at {where}: {reason} (too damaged to repair)"
            )
        self.repairs[offset] = (old_len, new)
        element = handler.stack[-1] if handler.stack else "document"
        self.warnings.add(
            f"not well-formed XML repaired: {what} in <{element}>", where, key=("repair", offset)
        )
        raise _Restart

    def _plan_repair(
        self, code: int, index: int, handler: _Handler, feeder: _Feeder
    ) -> tuple[int, int, bytes, str] | None:
        """An edit (original offset, length, replacement, description), or None."""
        window, base = feeder.window()
        at = index - base
        if not 0 <= at <= len(window):
            return None
        if code in (_INVALID_TOKEN, _UNDEFINED_ENTITY):
            char = window[at : at + 1]
            if char and char[0] < 0x20 and char not in b"\t\n\r":
                return (
                    feeder.original(index),
                    1,
                    "\ufffd".encode(),
                    f"control character {char!r} replaced with U+FFFD",
                )
            if window[at : at + 3] in (b"\xef\xbf\xbe", b"\xef\xbf\xbf"):
                return (
                    feeder.original(index),
                    3,
                    "\ufffd".encode(),
                    "non-character replaced with U+FFFD",
                )
            low = window.rfind(b">", 0, at) + 1  # the text run the error sits in
            amp = -1
            for match in _BARE_AMP.finditer(window, low):  # lookahead may pass the error
                if match.start() > at:
                    break
                amp = match.start()
            lt = window.rfind(b"<", low, at)
            if amp < 0 and lt < 0:
                return None
            if amp > lt:
                return feeder.original(base + amp), 1, b"&amp;", "unescaped '&' read as text"
            return feeder.original(base + lt), 1, b"&lt;", "unescaped '<' read as text"
        if code == _TAG_MISMATCH and len(handler.stack) >= 2:
            name, parent = handler.stack[-1], handler.stack[-2]
            if name in _KNOWN or parent in _CONTAINERS or not 0 < at <= len(window):
                return None
            tag = b"<" + name.encode()
            lt = window.rfind(tag, 0, at)
            if lt < 0 or window[lt + len(tag) : lt + len(tag) + 1] not in (b">", b" ", b"/"):
                return None
            return (feeder.original(base + lt), 1, b"&lt;", f"unescaped '<{name}' read as text")
        return None


class _LooseText:
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


def _refuse_doctype(*_: object) -> None:
    raise _Reject(
        "a DOCTYPE declaration is not allowed in a report (entity expansion "
        "and external entities are refused)"
    )


def _refuse_entity(*_: object) -> None:  # unreachable: the DOCTYPE is refused first
    raise _Reject("entity declarations are not allowed in a report")


class _Feeder:
    """Decode the byte stream as declared, and hand expat UTF-8 with repairs applied.

    Honours a BOM or the XML declaration's encoding; bytes that do not decode
    become U+FFFD with a warning. Leading whitespace and a UTF-8 BOM are dropped.
    Offsets: *original* = the UTF-8 stream before repairs; *fed* = what expat saw.
    """

    def __init__(
        self, stream: Readable, repairs: dict[int, tuple[int, bytes]], warnings: _Warnings
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
        match = _DECLARATION.match(head.lstrip())
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


_BARE_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
"""An ``&`` that does not start one of XML's own references."""
_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]*)[\"']")


class _Handler:
    """expat callbacks: a small state machine keyed on element names.

    This is the hot path (two calls per element, ~20 elements per record), so
    it does as little as it can: names that mean one thing are dispatched by name
    alone, and the parent is looked at only for ``dkim``, ``spf`` and ``domain``.
    """

    def __init__(self, parser: Any, warnings: _Warnings, fast: bool = False) -> None:
        self.parser = parser
        self.warnings = warnings
        self.fast = fast
        self.fast_mode = False
        """True while the fast end-only callback is installed."""
        self.ext_depth = 0
        self.schema: AggregateSchema | None = None
        self.required: dict[str, str] = {}
        """Auth result fields the schema requires: method → element."""
        self.envelope_from_required = False
        self.prefixed = False
        """Element names carry a namespace prefix: the fast reader does not handle them."""
        self.text: list[str] = []
        self.stack: list[str] = []
        self.root: str | None = None
        self.fb = -1
        """Depth of <feedback> in the stack, -1 before it opens."""
        self.closed = False
        self.out: list[Any] = []
        self.records = 0
        self.version: str | None = None
        self.namespace: str | None = None
        self.meta_fields: dict[str, str] = {}
        self.errors: list[str] = []
        self.policy: dict[str, str] = {}
        self.policy_open = False
        """Inside the first <policy_published>: its fields are kept."""
        self.policies = 0
        self.meta_done = False
        self.rec: dict[str, str] | None = None
        self.auths: list[AuthResult] = []
        self.auth: dict[str, str] | None = None
        self.reasons: list[tuple[str, str]] = []
        self.reason: dict[str, str] | None = None

    # expat callbacks -------------------------------------------------------

    def bind(self) -> tuple[Callable[[str, dict[str, str]], None], Callable[[str], None]]:
        """The start and end callbacks, as closures: fewer lookups per element.

        Until <feedback> opens, a slower start callback looks for it; then the
        parser is switched to the lean one.
        """
        text, stack, h, parser = self.text, self.stack, self, self.parser
        clear, push, pop = text.clear, stack.append, stack.pop
        ends, starts = _ENDS.get, _STARTS

        def start(name: str, attrs: dict[str, str]) -> None:
            if ":" in name:
                name = h._local(name)
            if text:  # one run: buffer_text joins it, no other handler splits it
                if not text[0].isspace() and not h.ext_depth:
                    h._stray_before()
                clear()
            if name in _EXTENSIONS or h.ext_depth:
                h._in_extension(name, +1)
            elif name in starts:
                if (name == "dkim" or name == "spf") and stack[-1] == "auth_results":
                    h.auth = {"method": name}
                else:
                    h._start_container(name, attrs, stack[-1])
            push(name)

        def end(name: str) -> None:
            if ":" in name:
                name = name[name.index(":") + 1 :]
            pop()
            if text:
                value = (text[0] if len(text) == 1 else "".join(text)).strip()
                clear()
            else:
                value = ""
            if h.ext_depth:
                h._in_extension(name, -1)
                return
            kind = ends(name)
            if kind == _REC:
                rec = h.rec
                if rec is not None:
                    rec[name] = value
                    if not value and name != "envelope_to":
                        h._empty(name)
            elif kind == _AUTH:
                auth = h.auth
                if auth is not None:
                    auth[name] = value
                    if not value and name not in _OPTIONAL_EMPTY_OK:
                        h._empty(name)
            elif kind == _GROUP:
                if value:
                    h._stray(value, name)
            elif kind == _DKIM_SPF:
                parent = stack[-1]
                if parent == "policy_evaluated":
                    rec = h.rec
                    if rec is not None:
                        rec[name] = value
                elif parent == "auth_results" and h.auth is not None:
                    h._end_auth()
            elif kind == _DOMAIN and h.auth is not None:
                h.auth["domain"] = value
                if not value:
                    h._empty(name)
            elif h.fb >= 0 and not h.closed:
                h._end_other(name, kind, value)

        def fast_end(name: str) -> None:
            # No start callback: each text run holds the whitespace before the start
            # tag and the element's content. Anything odd goes to the careful reader.
            if text:
                value = (text[0] if len(text) == 1 else "".join(text)).strip()
                clear()
            else:
                value = ""
            kind = ends(name)
            if kind in (_REC, _AUTH, _DOMAIN):
                if "\n" in value:
                    raise _Careful
                if kind == _REC:
                    if name in h.rec:  # type: ignore[operator]
                        raise _Careful  # twice in one record: nesting the reader cannot see
                    h.rec[name] = value  # type: ignore[index]
                else:
                    h.auth[name] = value  # type: ignore[index]
                if not value and name not in _OPTIONAL_EMPTY_OK and name != "envelope_to":
                    h._empty(name)
            elif kind == _DKIM_SPF:
                if h.auth:
                    if value:
                        raise _Careful
                    h.auth["method"] = name
                    h._end_auth()
                    h.auth = {}
                elif value and "\n" not in value and name not in h.rec:  # type: ignore[operator]
                    h.rec[name] = value  # type: ignore[index]
                else:
                    raise _Careful
            elif kind == _GROUP:
                if value or h.auth:
                    raise _Careful
            elif kind == _REASON:
                if "\n" in value:
                    raise _Careful
                if h.reason is None:
                    h.reason = {}
                h.reason[name] = value
            elif name == "record":
                if value or h.auth or h.reason is not None:
                    raise _Careful
                h._end_record()
                h._begin_record()
            elif name == "reason":
                if value or h.reason is None:
                    raise _Careful
                h._end_reason()
            elif name == "feedback" and not value and not h.auth and not h.rec:
                h.rec = None
                h.closed = True
                h.fast_mode = False
                del stack[h.fb :]  # back to the careful callbacks for what follows
                parser.EndElementHandler = end
                parser.StartElementHandler = start
            elif not h.closed:
                raise _Careful

        def careful_start(name: str, attrs: dict[str, str]) -> None:
            start(name, attrs)
            if name == "record" and h.rec is not None and h.fast and not h.prefixed:
                parser.StartElementHandler = None
                parser.EndElementHandler = fast_end
                h.auth = {}
                h.fast_mode = True

        def outside(name: str, attrs: dict[str, str]) -> None:
            h._outside(name, attrs)
            if h.fb >= 0:
                parser.StartElementHandler = careful_start if h.fast else start

        return outside, end

    def _end_other(self, name: str, kind: int | None, value: str) -> None:
        stack = self.stack
        if kind is None:
            self._unknown(name)
        elif kind == _DOMAIN:
            if stack[-1] == "policy_published":
                self._leaf(_POLICY, name, value)
        elif kind == _CONTAINER:
            if value:
                self._stray(value, name)
            if name == "record":
                self._end_record()
            elif name == "reason":
                self._end_reason()
            elif name == "policy_published":
                self.policy_open = False
            elif len(stack) == self.fb:
                self._end_feedback()
        else:
            self._leaf(kind, name, value)

    # rarer paths -------------------------------------------------------------

    def _start_container(self, name: str, attrs: dict[str, str], parent: str) -> None:
        if self.closed:
            if name == "feedback":
                self.warnings.add("a second <feedback> in the same document ignored")
            return
        if name == "record":  # also inside an unknown wrapper such as <records>
            if self.rec is not None:
                self.warnings.add(
                    "a <record> inside a record: the outer one is dropped", self._line()
                )
            self._begin_record()
        elif parent == "feedback":
            if name == "policy_published":
                self.policies += 1
                self.policy_open = self.policies == 1 and not self.meta_done
                if self.meta_done:
                    self.warnings.add("<policy_published> after the records ignored", self._line())
                elif self.policies > 1:
                    self.warnings.add(
                        "a second <policy_published> ignored; the first is used", self._line()
                    )
            elif name == "report_metadata" and self.meta_done:
                self.warnings.add("<report_metadata> after the records ignored", self._line())
        elif parent == "policy_evaluated" and name == "reason":
            self.reason = {}

    def _leaf(self, kind: int, name: str, value: str) -> None:
        if not value and name not in _OPTIONAL_EMPTY_OK:
            self._empty(name)
        if kind == _REASON:
            if self.reason is not None:
                self.reason[name] = value
        elif kind == _POLICY:
            if self.policy_open:
                self.policy[name] = value
        elif kind == _META:
            if not self.meta_done:
                self.meta_fields.setdefault(name, value)
        elif kind == _ERROR:
            if value and not self.meta_done and len(self.errors) < _MAX_PER_RECORD:
                self.errors.append(value)
        elif kind == _VERSION:
            self.version = value

    def _empty(self, name: str) -> None:
        if self.rec is not None:  # the fast reader keeps no stack
            self.warnings.add(f"empty <{name}> in a record", self._where(), key=("empty", name))
            return
        parent = self.stack[-1] if self.stack else ""
        self.warnings.add(
            f"empty <{name}> in <{parent}>", self._line(), key=("empty", parent, name)
        )

    def _in_extension(self, name: str, step: int) -> None:
        """RFC 9990 <extensions>: any content, read past without a word."""
        if name in _EXTENSIONS:
            self.ext_depth += step

    def _unknown(self, name: str) -> None:
        stack = self.stack
        parent = stack[-1] if stack else ""
        self.warnings.add(
            f"unknown element <{name}> in <{parent}> ignored",
            self._line(),
            key=("unknown", parent, name),
        )

    def _missing(self, name: str, where: str) -> None:
        """An element the report's own schema requires but real reporters leave out."""
        schema = self.schema.value if self.schema else "its"
        self.warnings.add(
            f"{where} without <{name}>, which the {schema} schema requires",
            self._where(),
            key=("required", where, name),
        )

    def _too_many(self, what: str) -> None:
        self.warnings.add(
            f"more than {_MAX_PER_RECORD} of {what} in a record; the rest ignored",
            self._where(),
            key=("too-many", what),
        )

    def _stray_before(self) -> None:
        if self.fb >= 0 and self.stack and self.stack[-1] in _CONTAINERS:
            self._stray("".join(self.text).strip(), self.stack[-1])

    def _end_feedback(self) -> None:
        if not self.meta_done:
            self._build_meta()
        self.closed = True

    def _end_reason(self) -> None:
        reason, self.reason = self.reason, None
        if reason is None:
            return
        kind = reason.get("type", "")
        if len(self.reasons) >= _MAX_PER_RECORD:
            self._too_many("reason")
        elif kind:
            self.reasons.append((self._lower(kind, "type"), reason.get("comment", "")))
        else:
            self.warnings.add(
                "a <reason> without a <type> ignored", self._where(), key="empty-reason"
            )

    # structure -------------------------------------------------------------

    def _local(self, name: str) -> str:
        self.prefixed = True
        prefix, _, local = name.partition(":")
        if self.fb >= 0 or local == "feedback":
            self.warnings.add(
                f"namespace prefix '{prefix}:' on element names ignored", key=("prefix", prefix)
            )
        return local

    def _outside(self, raw: str, attrs: dict[str, str]) -> None:
        """A start tag before <feedback>: the root, a wrapper, or <feedback> itself."""
        if self.root is None:
            self.root = raw
        self.text.clear()
        name = raw.partition(":")[2] if ":" in raw else raw
        self.stack.append(name)
        if name != "feedback":
            return
        if raw != name:
            self._local(raw)
        self.fb = len(self.stack) - 1
        if self.fb > 0:
            self.warnings.add(f"the report is wrapped in <{self.root}>", self._line())
        for attr, value in attrs.items():
            if (attr == "xmlns" or attr.startswith("xmlns:")) and value.strip() == NS_DMARC_2:
                self.namespace = NS_DMARC_2

    def _stray(self, text: str, parent: str) -> None:
        if text:
            self.warnings.add(
                f"stray text {text[:40]!r} in <{parent}> ignored",
                self._line(),
                key=("stray", parent),
            )

    def _line(self) -> str:
        return f"line {self.parser.CurrentLineNumber}"

    def _where(self) -> str:
        """Inside a record: which one, and the line being read."""
        if self.rec is None:
            return self._line()
        return f"record {self.records + 1} (line {self.parser.CurrentLineNumber})"

    def _lower(self, value: str, field: str) -> str:
        low = value.lower()
        if low != value:
            self.warnings.add(
                f"upper-case value {value!r} in <{field}> read as {low!r}",
                self._where(),
                key=("case", field),
            )
        return low

    # records ---------------------------------------------------------------

    def _begin_record(self) -> None:
        if not self.meta_done:
            self._build_meta()
        self.rec = {}
        self.auths = []
        self.reasons = []

    def _end_auth(self) -> None:
        auth, self.auth = self.auth, None
        assert auth is not None
        method = auth["method"]
        result = auth.get("result")
        if result is None:
            self.warnings.add(
                f"a {method} auth result without <result>", self._where(), key=("no-result", method)
            )
            result = ""
        elif not result.islower() and result:
            result = self._lower(result, "result")
        scope = auth.get("scope") or None
        if scope is not None and not scope.islower():
            scope = self._lower(scope, "scope")
        if method in self.required and self.required[method] not in auth:
            self._missing(self.required[method], f"a {method} auth result")
        if len(self.auths) >= _MAX_PER_RECORD:
            self._too_many("auth result")
            return
        self.auths.append(
            AuthResult(
                method=method,
                domain=auth.get("domain", ""),
                result=result,
                selector=auth.get("selector") or None,
                scope=scope,
                human_result=auth.get("human_result") or None,
            )
        )

    def _end_record(self) -> None:
        rec = self.rec
        if rec is None:
            return
        ordinal = self.records + 1
        ip_text = rec.get("source_ip", "")
        try:
            source_ip = _ip(ip_text)
        except ValueError:
            self._skip(ordinal, f"source_ip {ip_text!r} is not an IP address")
            return
        count_text = rec.get("count", "")
        if not (count_text.isdigit() and count_text.isascii()):
            self._skip(ordinal, f"count {count_text!r} is not a whole number")
            return
        disposition = rec.get("disposition")
        dkim = rec.get("dkim")
        spf = rec.get("spf")
        header_from = rec.get("header_from")
        if disposition is None or dkim is None or spf is None or header_from is None:
            for required in ("disposition", "dkim", "spf", "header_from"):
                if required not in rec:
                    self.warnings.add(
                        f"a record without <{required}>", self._where(), key=("missing", required)
                    )
        if self.envelope_from_required and "envelope_from" not in rec:
            self._missing("envelope_from", "a record")
        if disposition and not disposition.islower():
            disposition = self._lower(disposition, "disposition")
        if dkim and not dkim.islower():
            dkim = self._lower(dkim, "dkim")
        if spf and not spf.islower():
            spf = self._lower(spf, "spf")
        record = AggregateRecord(
            source_ip=source_ip,
            count=int(count_text),
            disposition=disposition or "",
            dkim_aligned=dkim or "",
            spf_aligned=spf or "",
            header_from=header_from or "",
            envelope_from=rec.get("envelope_from") or None,
            envelope_to=rec.get("envelope_to") or None,
            reasons=tuple(self.reasons),
            auth_results=tuple(self.auths),
        )
        self.rec = None
        self.records = ordinal
        self.out.append((ordinal, record, "", ""))

    def _skip(self, ordinal: int, why: str) -> None:
        where = self._where()
        self.rec = None
        self.records = ordinal
        self.out.append((ordinal, None, why, where))

    # metadata --------------------------------------------------------------

    def _build_meta(self) -> None:
        self.meta_done = True
        self.schema = schema = self._schema()
        self.envelope_from_required = schema is not AggregateSchema.DRAFT
        self.required = _REQUIRED_AUTH.get(schema, {})
        fields = self.meta_fields
        report_id = fields.get("report_id", "")
        if not report_id:
            raise _Reject("no <report_id> in <report_metadata>")
        begin = self._time(fields.get("begin"), "begin")
        end = self._time(fields.get("end"), "end")
        if end < begin:
            self.warnings.add("the date range ends before it begins")
        email = fields.get("email") or None
        org_name = fields.get("org_name", "")
        if not org_name:
            fallback = email.rpartition("@")[2] if email and "@" in email else ""
            self.warnings.add(
                "empty <org_name>" + (f"; using {fallback!r} from <email>" if fallback else "")
            )
            org_name = fallback
        self.out.append(
            AggregateMeta(
                org_name=org_name,
                email=email,
                report_id=report_id,
                begin=begin,
                end=end,
                policy=self._policy(),
                schema=self.schema,
                extra_contact=fields.get("extra_contact_info") or None,
                errors=tuple(self.errors),
                generator=fields.get("generator") or None,
            )
        )

    def _policy(self) -> PolicyPublished:
        if self.policies == 0:
            raise _Reject("no <policy_published> before the records")
        fields = self.policy
        for name in _REQUIRED_POLICY.get(self.schema, ()):  # type: ignore[arg-type]
            if name not in fields:
                self._missing(name, "<policy_published>")
        domain = fields.get("domain", "")
        if not domain:
            raise _Reject("no <domain> in <policy_published>")
        pct_text = fields.get("pct") or None
        pct = None
        if pct_text is not None:
            if pct_text.isascii() and pct_text.isdigit():
                pct = int(pct_text)
            else:
                self.warnings.add(f"<pct> {pct_text!r} is not a number; ignored")
        values = {
            k: (self._lower(v, k) if v else None)
            for k, v in fields.items()
            if k in ("p", "sp", "np", "adkim", "aspf", "testing", "discovery_method")
        }
        return PolicyPublished(domain=domain, pct=pct, fo=fields.get("fo") or None, **values)

    def _schema(self) -> AggregateSchema:
        if self.namespace == NS_DMARC_2:
            return AggregateSchema.RFC9990
        version = self.version
        if not version:
            return AggregateSchema.DRAFT
        if version.startswith("2"):
            return AggregateSchema.RFC9990
        if version not in ("1", "1.0"):
            self.warnings.add(f"unknown <version> {version!r}; read as RFC 7489")
        return AggregateSchema.RFC7489

    def _time(self, text: str | None, field: str) -> datetime:
        if not text:
            raise _Reject(f"no <{field}> in <date_range>")
        try:
            if text.isascii() and text.isdigit():
                value = int(text)
            elif _DECIMAL.fullmatch(text):
                value = int(float(text))
                self.warnings.add(f"decimal timestamp {text!r} in <{field}> read as {value}")
            else:
                when = datetime.fromisoformat(text)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                self.warnings.add(f"<{field}> {text!r} is a date, not seconds since 1970")
                return when.astimezone(UTC)
            if not 0 <= value < _MAX_EPOCH:
                raise ValueError(value)
            return datetime.fromtimestamp(value, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise _Reject(f"<{field}> {text!r} is not a timestamp") from None


_DECIMAL = re.compile(r"\d+\.\d*")
_MAX_EPOCH = 253402300800  # 10000-01-01


def _ip(text: str) -> str:
    """The address in canonical form (RFC 5952 for IPv6); ValueError if it is none.

    inet_pton is strict (no leading zeros, no zone ids) and ten times faster than
    the ipaddress module, which matters at hundreds of thousands of records.
    """
    try:
        if ":" in text:
            return inet_ntop(AF_INET6, inet_pton(AF_INET6, text))
        return inet_ntop(AF_INET, inet_pton(AF_INET, text))
    except (OSError, ValueError):
        raise ValueError(text) from None
