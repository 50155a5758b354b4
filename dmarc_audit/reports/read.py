"""Read DMARC aggregate, failure and SMTP TLS reports from paths or bytes.

The one entry point for the rest of the program::

    for item in read_reports(["reports/"]):
        if isinstance(item, ReportError):
            ...                        # one line: item.source, item.message
        elif isinstance(item, AggregateReport):
            for record in item.records:  # lazy; consume before asking for the next item
                ...

Contract:

* One bad file or part never stops the batch: it becomes a :class:`ReportError`.
  A file (or message) with no report in it is a :class:`ReportError` too.
* ``item.source`` names the file and the part inside it: ``a.zip!report.xml``,
  ``box.mbox!message 2!report.xml.gz``.
* An :class:`AggregateReport`'s ``records`` may raise :class:`ReportError` part way
  (the XML is cut off, damaged beyond repair, or decompresses past the cap). Treat
  the report as failed and keep none of its records. ``warnings`` and
  ``skipped_records`` are complete once ``records`` is exhausted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dmarc_audit.reports.aggregate import read_aggregate
from dmarc_audit.reports.failure import read_failure, read_plain_failure
from dmarc_audit.reports.model import Report, ReportError
from dmarc_audit.reports.safety import (
    DEFAULT_MAX_DECOMPRESSED,
    CorruptData,
    LimitExceeded,
    Readable,
)
from dmarc_audit.reports.sources import (
    Payload,
    PayloadKind,
    iter_payloads,
    payloads_in_bytes,
)
from dmarc_audit.reports.tlsrpt import read_tls


@dataclass(frozen=True, slots=True)
class ReadOptions:
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED
    """Cap on the bytes decompressed from one input (file, stdin, in-memory payload)."""

    def __post_init__(self) -> None:
        if self.max_decompressed_bytes < 1:
            raise ValueError("max_decompressed_bytes must be positive")


def read_reports(
    paths: Sequence[str], options: ReadOptions = ReadOptions(), *, stdin: Readable | None = None
) -> Iterator[Report | ReportError]:
    """Every report in ``paths`` (files, directories, ``-`` for stdin), in order."""
    for payload in iter_payloads(tuple(paths), options.max_decompressed_bytes, stdin):
        yield _read(payload)


def read_report_bytes(
    data: bytes, source: str, options: ReadOptions = ReadOptions()
) -> Iterator[Report | ReportError]:
    """:func:`read_reports` for one in-memory payload named ``source``."""
    for payload in payloads_in_bytes(data, source, options.max_decompressed_bytes):
        yield _read(payload)


def _read(payload: Payload | ReportError) -> Report | ReportError:
    if isinstance(payload, ReportError):
        return payload
    try:
        return _parse(payload)
    except ReportError as exc:
        return exc
    except (LimitExceeded, CorruptData) as exc:
        return ReportError(payload.source, str(exc))
    except OSError as exc:
        return ReportError(payload.source, f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a reader bug must not stop the batch
        return ReportError(payload.source, f"unexpected {type(exc).__name__}: {exc}")


def _parse(payload: Payload) -> Report | ReportError:
    kind = payload.kind
    if kind is PayloadKind.XML:
        assert payload.open is not None
        return read_aggregate(payload.source, payload.open)
    if kind is PayloadKind.JSON:
        assert payload.open is not None
        return read_tls(payload.source, payload.open)
    assert payload.message is not None
    if kind is PayloadKind.FEEDBACK:
        return read_failure(payload.message, payload.source)
    return read_plain_failure(payload.message, payload.source, payload.parts)
