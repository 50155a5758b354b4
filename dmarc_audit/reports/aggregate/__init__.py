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

The package, by job:

- :mod:`.engine`: the pass engine and its restarts (after a repair, or when the
  fast reader gives up);
- :mod:`.repair`: the repair planner;
- :mod:`.feed`: transcoding to UTF-8, repairs spliced in, loose-text detection;
- :mod:`.careful` and :mod:`.fast`: the expat callbacks, careful and fast;
- :mod:`.handler`: the state they share and their rarer paths;
- :mod:`.build`: records and metadata built from the collected text;
- :mod:`.vocabulary` and :mod:`.signals`: element names, limits, and the
  exceptions and warning list the others share.
"""

from __future__ import annotations

from collections.abc import Iterator

from dmarc_audit.reports.aggregate.engine import Engine, Opener
from dmarc_audit.reports.aggregate.vocabulary import MAX_REPAIRS, MAX_WARNINGS, NS_DMARC_2
from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateReport,
    ParseWarning,
    ReportError,
)
from dmarc_audit.reports.safety import CorruptData, LimitExceeded

__all__ = ["MAX_REPAIRS", "MAX_WARNINGS", "NS_DMARC_2", "Opener", "read_aggregate"]


def read_aggregate(
    source: str, opener: Opener, warnings: tuple[ParseWarning, ...] = (), *, fast: bool = True
) -> AggregateReport | ReportError:
    """Read the metadata now; records stream from ``report.records``.

    Returns a :class:`ReportError` when the metadata cannot be read. Once the
    report is returned, ``records`` raises :class:`ReportError` if the document
    turns out to be cut off or broken beyond repair further on: the caller must
    then discard the records it has taken from this report.
    """
    engine = Engine(source, opener, fast)
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
        meta=meta,
        records=_records(run, source),
        source=source,
        warnings=engine.warnings.items,
        omitted=engine.warnings.omitted,
    )
    engine.report = report
    report.skipped_records = engine.skipped
    return report


def _records(run: Iterator[object], source: str) -> Iterator[AggregateRecord]:
    try:
        yield from run  # type: ignore[misc]
    except (LimitExceeded, CorruptData, OSError) as exc:
        raise ReportError(source, str(exc)) from None
