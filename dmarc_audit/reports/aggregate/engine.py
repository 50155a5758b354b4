"""The pass engine: runs expat over one document, restarting after each repair.

A pass reads the document from the start. When expat stops at an error that the
repair planner (:mod:`.repair`) can fix, the edit is recorded and a new pass
starts with it applied; records already handed out are not handed out again.
When the fast reader gives up, the pass is read again by the careful one.

Untrusted XML: a DOCTYPE is refused before its internal subset is read, so no
entity is ever declared, expanded or fetched; expat never opens files itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any
from xml.parsers import expat

from dmarc_audit.reports.aggregate.build import Item
from dmarc_audit.reports.aggregate.careful import bind
from dmarc_audit.reports.aggregate.feed import Feeder, LooseText
from dmarc_audit.reports.aggregate.handler import Handler
from dmarc_audit.reports.aggregate.repair import Repair, plan_repair
from dmarc_audit.reports.aggregate.signals import Careful, Reject, Restart, Warnings
from dmarc_audit.reports.aggregate.vocabulary import (
    MAX_DEPTH,
    MAX_REPAIRS,
    MAX_TEXT_RUNS,
    MAX_TOKEN,
)
from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateReport,
    ParseWarning,
    ReportError,
)
from dmarc_audit.reports.safety import CHUNK, Readable, Warn

Opener = Callable[[Warn], Readable]


class Engine:
    """Runs parse passes over one document, restarting after each repair."""

    def __init__(self, source: str, opener: Opener, fast: bool = True) -> None:
        self.source = source
        self.opener = opener
        self.fast = fast
        """Read records with the fast end-only callback until something looks odd."""
        self.warnings = Warnings()
        self.repairs: dict[int, tuple[int, bytes]] = {}
        self.done = 0
        """Records (kept or skipped) already handed out, counted in document order."""
        self.meta_sent = False
        self.skipped = 0
        self.report: AggregateReport | None = None

    def run(self) -> Iterator[AggregateMeta | AggregateRecord]:
        """The metadata first, then the records; passes repeat until one completes."""
        try:
            while True:
                try:
                    yield from self._pass()
                    return
                except Restart:
                    continue
                except Careful:
                    self.fast = False
        finally:
            self.warnings.finish()

    def warn(self, warning: ParseWarning) -> None:
        self.warnings.add(warning.message, warning.where)

    def _pass(self) -> Iterator[AggregateMeta | AggregateRecord]:
        parser, handler = self._parser()
        with closing(self.opener(self.warn)) as stream:
            feeder = Feeder(stream, self.repairs, self.warnings)
            loose_text = LooseText()
            for chunk in feeder:
                if handler.fast and not handler.closed and loose_text.found(chunk):
                    if handler.fast_mode:
                        raise Careful
                    handler.fast = False
                if not self._feed(parser, handler, feeder, chunk, final=False):
                    break
                yield from self._drain(handler)
            else:
                self._feed(parser, handler, feeder, b"", final=True)
            yield from self._drain(handler)
        self._finish(handler)
        yield from self._drain(handler)

    def _parser(self) -> tuple[Any, Handler]:
        parser = expat.ParserCreate("utf-8")  # our feeder transcodes to UTF-8
        handler = Handler(parser, self.warnings, self.fast)
        parser.buffer_text = True
        parser.buffer_size = CHUNK
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        parser.EntityDeclHandler = _refuse_entity
        parser.StartElementHandler, parser.EndElementHandler = bind(handler)
        parser.CharacterDataHandler = handler.text.append
        return parser, handler

    def _feed(
        self, parser: Any, handler: Handler, feeder: Feeder, chunk: bytes, final: bool
    ) -> bool:
        """Parse one chunk; False once the rest of the document is to be ignored."""
        try:
            parser.Parse(chunk, final)
        except Reject as exc:
            raise self._error(f"{exc} (line {parser.CurrentLineNumber})") from None
        except expat.ExpatError as exc:
            return self._on_error(exc, parser, handler, feeder, final)
        self._check_limits(parser, handler, feeder)
        return True

    def _check_limits(self, parser: Any, handler: Handler, feeder: Feeder) -> None:
        """Refuse text, nesting or tokens that no report needs (memory stays bounded)."""
        line = parser.CurrentLineNumber
        if len(handler.text) > MAX_TEXT_RUNS:
            raise self._error(f"an element's text is longer than 1 MiB (line {line}): not a report")
        if len(handler.stack) > MAX_DEPTH:
            raise self._error(
                f"elements nested more than {MAX_DEPTH} deep (line {line}): not a report"
            )
        if feeder.fed - max(parser.CurrentByteIndex, 0) > MAX_TOKEN:
            raise self._error(
                f"an XML token (comment, tag or declaration) is longer "
                f"than 1 MiB (line {line}): not a report"
            )

    def _drain(self, handler: Handler) -> Iterator[AggregateMeta | AggregateRecord]:
        out = handler.out
        if not out:
            return
        items = list(out)
        out.clear()
        for item in items:
            if isinstance(item, Item):
                if item.ordinal > self.done:
                    self.done = item.ordinal
                    if item.record is None:
                        self._skipped(item)
                    else:
                        yield item.record
            elif not self.meta_sent:
                self.meta_sent = True
                yield item

    def _skipped(self, item: Item) -> None:
        self.skipped += 1
        self.warnings.add(f"record skipped: {item.why}", item.where, key=("skip", item.ordinal))
        if self.report is not None:
            self.report.skipped_records = self.skipped

    def _finish(self, handler: Handler) -> None:
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
        if handler.records == 0 and handler.unknown:
            unplaced = ", ".join(f"<{name}> in <{parent}>" for parent, name in handler.unknown[:5])
            raise self._error(
                f"no <record> read, and elements the reader cannot place: {unplaced}; "
                "not stored, so no records are dropped unseen"
            )
        if handler.records == 0:
            self.warnings.add("the report has no <record> elements")

    def _error(self, message: str) -> ReportError:
        return ReportError(self.source, message)

    def _on_error(
        self, exc: expat.ExpatError, parser: Any, handler: Handler, feeder: Feeder, final: bool
    ) -> bool:
        """False: ignore the rest; otherwise raises (a repair restarts the pass)."""
        if handler.fast_mode:
            raise Careful  # the careful reader knows where it is; let it explain
        where = f"line {exc.lineno}, column {exc.offset + 1}"
        reason = expat.errors.messages[exc.code]
        if handler.closed:
            self._after_feedback(handler, final, where, reason)
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
            repair = plan_repair(exc.code, parser.ErrorByteIndex, handler.stack, feeder)
        if repair is None:
            raise self._error(f"XML is not well-formed at {where}: {reason}")
        self._apply(repair, handler, where, reason)
        raise Restart

    def _after_feedback(self, handler: Handler, final: bool, where: str, reason: str) -> None:
        """Not well-formed after ``</feedback>``: the report is complete, so warn."""
        if final and handler.stack:
            self.warnings.add(
                f"the document ends inside <{handler.root}>, which is never closed; "
                "the report was read up to </feedback>",
                where,
            )
        elif not final:
            self.warnings.add(
                f"the document is not well-formed after </feedback> ({reason}); ignored", where
            )

    def _apply(self, repair: Repair, handler: Handler, where: str, reason: str) -> None:
        """Record the edit for the next pass, with its warning."""
        if repair.offset in self.repairs or len(self.repairs) >= MAX_REPAIRS:
            raise self._error(
                f"XML is not well-formed at {where}: {reason} (too damaged to repair)"
            )
        self.repairs[repair.offset] = (repair.length, repair.replacement)
        element = handler.stack[-1] if handler.stack else "document"
        self.warnings.add(
            f"not well-formed XML repaired: {repair.description} in <{element}>",
            where,
            key=("repair", repair.offset),
        )


def _refuse_doctype(*_: object) -> None:
    raise Reject(
        "a DOCTYPE declaration is not allowed in a report (entity expansion "
        "and external entities are refused)"
    )


def _refuse_entity(*_: object) -> None:  # unreachable: the DOCTYPE is refused first
    raise Reject("entity declarations are not allowed in a report")
