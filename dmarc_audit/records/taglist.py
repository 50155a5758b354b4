"""The one tag-list splitter: ``tag=value`` specs separated by ``;`` (RFC 6376 §3.2 shape).

DMARC (RFC 7489 §6.4, RFC 9989 §4.8), DKIM keys (RFC 6376 §3.6.1), BIMI, MTA-STS
(RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) all write records this way.
:func:`split_tags` does the part they share: it cuts the text at each ``;``, trims
the whitespace around each spec and around its first ``=``, and keeps the offset of
every spec. It judges nothing that differs between the grammars: tag-name syntax,
value characters, case and duplicates stay with each record's parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

WSP = " \t"
"""Whitespace in DMARC, BIMI, MTA-STS and TLS-RPT tag lists."""
FWS = " \t\r\n"
"""Whitespace in a DKIM tag list (folding white space, unfolded or not)."""


@dataclass(frozen=True, slots=True)
class Tag:
    """One ``name=value`` spec as written, with its 0-based offset in the record."""

    name: str
    """The text before the first ``=``, whitespace trimmed, case kept."""
    value: str
    """The text after the first ``=``, whitespace trimmed."""
    offset: int
    """Where the spec starts (its first non-whitespace character)."""
    text: str
    """The whole spec, surrounding whitespace trimmed."""
    spaced: bool
    """Whitespace stood next to the ``=``."""


class TagListIssue(str, Enum):
    """What can be wrong with a spec before any grammar looks at it."""

    EMPTY = "empty"
    """Nothing (or only whitespace) between two ``;``."""
    NO_EQUALS = "no-equals"
    """A spec without ``=``."""


@dataclass(frozen=True, slots=True)
class TagListProblem:
    """A spec that is not ``name=value``; ``offset`` is where it starts.

    For an empty spec the offset is that of the ``;`` that ends it.
    """

    issue: TagListIssue
    offset: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class TagList:
    """The specs of a record, split: ``name=value`` tags and the specs that are not."""

    tags: tuple[Tag, ...]
    problems: tuple[TagListProblem, ...]
    trailing_space: bool
    """Whitespace follows the last value (the record does not end with it or with ``;``)."""

    @property
    def blank(self) -> bool:
        """Nothing but whitespace (and at most one final ``;``) was split."""
        return not self.tags and not self.problems

    def in_order(self) -> tuple[Tag | TagListProblem, ...]:
        """Tags and problems together, in record order."""
        if not self.problems:
            return self.tags
        return tuple(sorted((*self.tags, *self.problems), key=lambda item: item.offset))


def split_tags(text: str, *, start: int = 0, wsp: str = WSP) -> TagList:
    """Split ``text[start:]`` at each ``;``; offsets count from the start of ``text``.

    One final ``;`` is allowed (the last, empty spec is not a problem); every other
    empty spec and every spec without ``=`` is a :class:`TagListProblem`.
    """
    tags: list[Tag] = []
    problems: list[TagListProblem] = []
    pieces = text[start:].split(";") if start else text.split(";")
    last = len(pieces) - 1
    offset = start
    for index, piece in enumerate(pieces):
        spec = piece.strip(wsp)
        at = offset + len(piece) - len(piece.lstrip(wsp))
        offset += len(piece) + 1
        if not spec:
            if index < last:
                problems.append(TagListProblem(TagListIssue.EMPTY, at))
            continue
        raw_name, eq, raw_value = spec.partition("=")
        if not eq:
            problems.append(TagListProblem(TagListIssue.NO_EQUALS, at, spec))
            continue
        name, value = raw_name.rstrip(wsp), raw_value.lstrip(wsp)
        spaced = len(name) != len(raw_name) or len(value) != len(raw_value)
        tags.append(Tag(name, value, at, spec, spaced))
    tail = pieces[-1]
    trailing_space = tail[-1:] in wsp and bool(tail.strip(wsp)) if tail else False
    return TagList(tuple(tags), tuple(problems), trailing_space)
