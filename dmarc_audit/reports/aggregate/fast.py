"""The fast path: records read with an end callback only.

Most of a report is records, and most records are ordinary, so while inside
them expat calls no start handler at all and one end handler, built here as a
closure so that every name it uses is a local. It keeps no stack: each text run
holds the whitespace before a start tag and the element's content, and
:class:`.feed.LooseText` tells the engine when a chunk may hold anything else.
At the first oddity it raises :class:`.signals.Careful` and the pass is read
again by the careful callbacks (:mod:`.careful`), which know where they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dmarc_audit.reports.aggregate.signals import Careful
from dmarc_audit.reports.aggregate.vocabulary import (
    AUTH,
    DKIM_SPF,
    DOMAIN,
    ENDS,
    GROUP,
    OPTIONAL_EMPTY_OK,
    REASON,
    REC,
)

if TYPE_CHECKING:
    from dmarc_audit.reports.aggregate.handler import Handler


def fast_end_callback(
    h: Handler, start: Callable[[str, dict[str, str]], None], end: Callable[[str], None]
) -> Callable[[str], None]:
    """The end callback for records; ``start``/``end`` take over after ``</feedback>``.

    Leaves and auth results are read inline: they are most of the calls. Group,
    reason and record ends (a few per record) go to :func:`_other_end_callback`.
    """
    text = h.text
    clear, join = text.clear, "".join
    ends = ENDS.get
    optional = OPTIONAL_EMPTY_OK
    other = _other_end_callback(h, start, end)

    def fast_end(name: str) -> None:
        value = join(text).strip()
        clear()
        kind = ends(name)
        if kind in (REC, AUTH, DOMAIN):
            if "\n" in value:
                raise Careful
            if kind == REC:
                if name in h.rec:  # type: ignore[operator]
                    raise Careful  # twice in one record: nesting the reader cannot see
                h.rec[name] = value  # type: ignore[index]
            else:
                h.auth[name] = value  # type: ignore[index]
            if not value and name not in optional and name != "envelope_to":
                h.empty(name)
        elif kind == DKIM_SPF:
            if h.auth and not value:  # the end of an auth result
                h.auth["method"] = name
                h.end_auth()
                h.auth = {}
            elif not h.auth and value and "\n" not in value and name not in h.rec:  # type: ignore[operator]
                h.rec[name] = value  # type: ignore[index]  # an aligned verdict
            else:
                raise Careful
        else:
            other(name, kind, value)

    return fast_end


def _other_end_callback(
    h: Handler, start: Callable[[str, dict[str, str]], None], end: Callable[[str], None]
) -> Callable[[str, int | None, str], None]:
    """Ends of groups and reason fields inline; records, reasons and feedback below."""
    structure = _structure_end_callback(h, start, end)

    def other(name: str, kind: int | None, value: str) -> None:
        if kind == GROUP:
            if value or h.auth:
                raise Careful
        elif kind == REASON:
            if "\n" in value:
                raise Careful
            if h.reason is None:
                h.reason = {}
            h.reason[name] = value
        else:
            structure(name, value)

    return other


def _structure_end_callback(
    h: Handler, start: Callable[[str, dict[str, str]], None], end: Callable[[str], None]
) -> Callable[[str, str], None]:
    """``</record>``, ``</reason>``, ``</feedback>``; anything else is odd here."""
    stack, parser = h.stack, h.parser

    def structure(name: str, value: str) -> None:
        if name == "record":
            if value or h.auth or h.reason is not None:
                raise Careful
            h.end_record()
            h.begin_record()
        elif name == "reason":
            if value or h.reason is None:
                raise Careful
            h.end_reason()
        elif name == "feedback" and not value and not h.auth and not h.rec:
            h.rec = None
            h.closed = True
            h.fast_mode = False
            del stack[h.fb :]  # back to the careful callbacks for what follows
            parser.EndElementHandler = end
            parser.StartElementHandler = start
        elif not h.closed:
            raise Careful

    return structure
