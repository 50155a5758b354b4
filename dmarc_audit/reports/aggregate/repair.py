"""The repair planner: a one-character edit that makes not well-formed XML readable.

Only where the intent is unambiguous: an unescaped ``<`` or ``&`` in text, an
undefined entity, a control character or a non-character. The engine applies
the edit and reads the document again from the start (see :mod:`.engine`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol
from xml.parsers import expat

from dmarc_audit.reports.aggregate.vocabulary import CONTAINERS, KNOWN

_E = expat.errors
INVALID_TOKEN = _E.codes[_E.XML_ERROR_INVALID_TOKEN]
UNDEFINED_ENTITY = _E.codes[_E.XML_ERROR_UNDEFINED_ENTITY]
TAG_MISMATCH = _E.codes[_E.XML_ERROR_TAG_MISMATCH]

_BARE_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
"""An ``&`` that does not start one of XML's own references."""
_REPLACEMENT = "\ufffd".encode()
_NON_CHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


class Repair(NamedTuple):
    """Replace ``length`` bytes at ``offset`` of the unrepaired stream."""

    offset: int
    length: int
    replacement: bytes
    description: str


class _Edit(NamedTuple):
    """The same, at an offset into the window expat last saw."""

    at: int
    length: int
    replacement: bytes
    description: str


class Window(Protocol):
    """What the planner needs from the feeder (see :class:`.feed.Feeder`)."""

    def window(self) -> tuple[bytes, int]: ...

    def original(self, fed: int) -> int: ...


def plan_repair(code: int, index: int, stack: Sequence[str], feeder: Window) -> Repair | None:
    """The edit for expat error ``code`` at fed offset ``index``, or None."""
    window, base = feeder.window()
    at = index - base
    if not 0 <= at <= len(window):
        return None
    edit = None
    if code in (INVALID_TOKEN, UNDEFINED_ENTITY):
        edit = _bad_character(window, at) or _unescaped_text(window, at)
    elif code == TAG_MISMATCH and len(stack) >= 2 and at > 0:
        edit = _unescaped_tag(window, at, stack[-1], stack[-2])
    if edit is None:
        return None
    return Repair(feeder.original(base + edit.at), *edit[1:])


def _bad_character(window: bytes, at: int) -> _Edit | None:
    """A control character or a non-character: replaced with U+FFFD."""
    char = window[at : at + 1]
    if char and char[0] < 0x20 and char not in b"\t\n\r":
        return _Edit(at, 1, _REPLACEMENT, f"control character {char!r} replaced with U+FFFD")
    if window[at : at + 3] in _NON_CHARACTERS:
        return _Edit(at, 3, _REPLACEMENT, "non-character replaced with U+FFFD")
    return None


def _unescaped_text(window: bytes, at: int) -> _Edit | None:
    """The last bare ``&`` or ``<`` before the error in its text run: escaped."""
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
        return _Edit(amp, 1, b"&amp;", "unescaped '&' read as text")
    return _Edit(lt, 1, b"&lt;", "unescaped '<' read as text")


def _unescaped_tag(window: bytes, at: int, name: str, parent: str) -> _Edit | None:
    """``<name`` that opened an unknown element inside a leaf: it was text."""
    if name in KNOWN or parent in CONTAINERS:
        return None
    tag = b"<" + name.encode()
    lt = window.rfind(tag, 0, at)
    if lt < 0 or window[lt + len(tag) : lt + len(tag) + 1] not in (b">", b" ", b"/"):
        return None
    return _Edit(lt, 1, b"&lt;", f"unescaped '<{name}' read as text")
